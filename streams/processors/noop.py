"""``noop`` processor: passes every batch on untouched (a placeholder in a config)."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message


class NoopProcessor(Processor):
    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return batch


def _factory(conf: dict[str, Any], res: Resources) -> NoopProcessor:
    return NoopProcessor()


SPEC = registry.processor("noop", _factory, doc="Do nothing.")
