"""``sync_response`` processor: the batch as it is here becomes the push's reply."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message


class SyncResponseProcessor(Processor):
    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        txn.response = [m.copy() for m in batch]
        return batch


def _factory(conf: dict[str, Any], res: Resources) -> SyncResponseProcessor:
    return SyncResponseProcessor()


SPEC = registry.processor("sync_response", _factory, doc="Use the messages at this point as the HTTP reply.")
