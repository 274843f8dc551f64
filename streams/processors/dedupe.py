"""``dedupe`` processor: drop a message whose key was seen recently on this host.

As in Bento, the key goes into a cache with the cache's ``Add``: a key that is already there
(and has not expired) means a duplicate, which is dropped. The cache is the host's shared one
(``HostState``, DESIGN §10), so every worker process of the host sees the same keys and a key
passes once per host, however many workers serve the stream. Keys are kept per stream instance
and cache label: in the ``memory`` cache resource of that label (itself host-wide), else in the
same host store for five minutes.

A key that cannot be computed, or a cache that fails, drops the message (``drop_on_err``, the
default) or flags it with the error.

``strategy`` says which message of a batch survives when several share a key: ``FIFO`` (the
default) keeps the first, ``LIFO`` the last, as Bento does by walking the batch from its end.
Either way the survivors keep their order in the batch.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.caches.base import Cache, CacheError, KeyExists
from streams.caches.host_memory import HostMemoryCache
from streams.contracts import MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

DEFAULT_TTL = 300.0
SEEN = b"t"
"""The value stored for a key (Bento stores the same)."""


class DedupeProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.key = res.interpolation(conf["key"])
        self.drop_on_err = bool(conf["drop_on_err"])
        self.last_wins = conf["strategy"] == "LIFO"
        declared = res.scope.caches.get(conf["cache"])
        if isinstance(declared, HostMemoryCache):
            self.cache: Cache = declared
        else:
            ttl = res.scope.cache_ttls.get(conf["cache"], DEFAULT_TTL)
            self.cache = HostMemoryCache(res.host, f"{res.scope.instance_key}/{conf['cache']}", ttl)

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        if not self.last_wins:
            return super().process(batch, txn)
        kept = [self.process_message(batch[i], batch, i, txn) for i in reversed(range(len(batch)))]
        return [m for m in reversed(kept) if m is not None]

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message | None:
        try:
            key = self.key.render(msg, batch, index)
        except MappingError as exc:
            return self._failed(msg, f"dedupe key failed: {exc}")
        try:
            self.cache.add(key, SEEN)
        except KeyExists:
            return None
        except CacheError as exc:
            return self._failed(msg, f"dedupe cache failed: {exc}")
        return msg

    def _failed(self, msg: Message, error: str) -> Message | None:
        if self.drop_on_err:
            return None
        msg.error = error
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> DedupeProcessor:
    return DedupeProcessor(conf, res)


SPEC = registry.processor(
    "dedupe",
    _factory,
    Field("cache", "string", doc="Cache resource label (its memory default_ttl is how long keys are kept)."),
    Field("key", "string", doc="Interpolated key identifying a message."),
    Field("drop_on_err", "bool", True, "Drop messages whose key cannot be computed."),
    Field("strategy", "string", "FIFO", "Which of a batch's messages with one key is kept: FIFO the first, LIFO the last.",
          options=("FIFO", "LIFO")),
    doc="Drop messages whose key was seen recently on this host.",
)
