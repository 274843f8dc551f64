"""``sync_response`` processor: the batch as it is here becomes the push's reply."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.engine.components import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message


class SyncResponseProcessor(Processor):
    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        txn.response = [m.copy() for m in batch]
        return batch


@registry.processor("sync_response", doc="Use the messages at this point as the HTTP reply.")
def _factory(conf: dict[str, Any], res: Resources) -> SyncResponseProcessor:
    return SyncResponseProcessor()
