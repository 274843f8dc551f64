"""``drop`` output: acknowledges and discards."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.engine.components import Output, Transaction
from streams.engine.resources import Resources
from streams.message import Message


class DropOutput(Output):
    def write(self, batch: list[Message], txn: Transaction) -> None:
        return None


@registry.output("drop", doc="Drop every message (acknowledged at once).")
def _factory(conf: dict[str, Any], res: Resources) -> DropOutput:
    return DropOutput()
