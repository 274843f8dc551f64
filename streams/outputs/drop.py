"""``drop`` output: acknowledges and discards."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Output, Transaction
from streams.engine.resources import Resources
from streams.message import Message


class DropOutput(Output):
    waits = False  # nothing to wait on: a broker fan-out needs no greenlet for it

    def write(self, batch: list[Message], txn: Transaction) -> None:
        return None


def _factory(conf: dict[str, Any], res: Resources) -> DropOutput:
    return DropOutput()


SPEC = registry.output("drop", _factory, doc="Drop every message (acknowledged at once).")
