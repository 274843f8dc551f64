"""``sync_response`` output: the batch becomes the reply to the push that carried it."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Output, Transaction
from streams.engine.resources import Resources
from streams.message import Message


class SyncResponseOutput(Output):
    waits = False  # nothing to wait on: a broker fan-out needs no greenlet for it

    def write(self, batch: list[Message], txn: Transaction) -> None:
        txn.response = [m.copy() for m in batch]


def _factory(conf: dict[str, Any], res: Resources) -> SyncResponseOutput:
    return SyncResponseOutput()


SPEC = registry.output("sync_response", _factory, doc="Reply to the HTTP request that delivered the message.")
