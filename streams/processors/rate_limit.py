"""``rate_limit`` processor: each message waits until the stream's ``rate_limit_resources``
entry ``resource`` lets it through (counted for the whole host, see
``streams.engine.ratelimit``). Messages are never dropped, only held."""

from __future__ import annotations

from typing import Any

import gevent

from streams import registry
from streams.contracts import MessageProcessor, Transaction
from streams.engine.ratelimit import lookup
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class RateLimitProcessor(MessageProcessor):
    def __init__(self, label: str, res: Resources) -> None:
        self.limit = lookup(res, label)

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        while (wait := self.limit.take()) > 0:
            gevent.sleep(wait)
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> RateLimitProcessor:
    return RateLimitProcessor(conf["resource"], res)


SPEC = registry.processor(
    "rate_limit",
    _factory,
    Field("resource", "string", doc="Label of a rate_limit_resources entry."),
    doc="Hold each message until a rate limit allows it.",
)
