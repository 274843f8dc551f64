"""``dedupe`` processor (in memory): drop a message whose key was seen recently.

Bento keeps keys in a cache resource; here the keys live in this instance's memory (per worker
process) for the TTL of the named ``memory`` cache resource when the stream declares one, else
five minutes, and at most ``MAX_KEYS`` keys (oldest forgotten first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

MAX_KEYS = 100_000
DEFAULT_TTL = 300.0


class DedupeProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.key = res.interpolation(conf["key"])
        self.drop_on_err = bool(conf["drop_on_err"])
        self.ttl = res.scope.cache_ttls.get(conf["cache"], DEFAULT_TTL)
        self._seen: OrderedDict[str, float] = OrderedDict()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message | None:
        try:
            key = self.key.render(msg, batch, index)
        except MappingError as exc:
            if self.drop_on_err:
                return None
            msg.error = f"dedupe key failed: {exc}"
            return msg
        now = time.monotonic()
        while self._seen:
            _, at = next(iter(self._seen.items()))
            if now - at < self.ttl and len(self._seen) < MAX_KEYS:
                break
            self._seen.popitem(last=False)
        if key in self._seen:
            return None
        self._seen[key] = now
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> DedupeProcessor:
    return DedupeProcessor(conf, res)


SPEC = registry.processor(
    "dedupe",
    _factory,
    Field("cache", "string", doc="Cache resource label (keys are kept in memory here)."),
    Field("key", "string", doc="Interpolated key identifying a message."),
    Field("drop_on_err", "bool", True, "Drop messages whose key cannot be computed."),
    doc="Drop messages whose key was seen recently.",
)
