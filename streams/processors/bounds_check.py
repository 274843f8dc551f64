"""``bounds_check`` processor: drops a whole batch whose message count, or any of whose
messages' sizes, falls outside the bounds (Bento's defaults: 1 to 100 messages of 1 byte to
1 GiB). A dropped batch is logged at debug, as Bento does, and never flagged."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class BoundsCheckProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.max_part_size = int(conf["max_part_size"])
        self.min_part_size = int(conf["min_part_size"])
        self.max_parts = int(conf["max_parts"])
        self.min_parts = int(conf["min_parts"])
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        problem = self.problem(batch)
        if problem:
            self.log.debug(f"batch dropped: {problem}")
            return []
        return batch

    def problem(self, batch: list[Message]) -> str:
        """Why ``batch`` is out of bounds; "" when it is within them."""
        if len(batch) < self.min_parts:
            return f"{len(batch)} messages, below the minimum of {self.min_parts}"
        if len(batch) > self.max_parts:
            return f"{len(batch)} messages, above the maximum of {self.max_parts}"
        for msg in batch:
            size = len(msg.content)
            if size < self.min_part_size or size > self.max_part_size:
                return f"a message of {size} bytes, outside {self.min_part_size}..{self.max_part_size}"
        return ""


def _factory(conf: dict[str, Any], res: Resources) -> BoundsCheckProcessor:
    return BoundsCheckProcessor(conf, res)


SPEC = registry.processor(
    "bounds_check",
    _factory,
    Field("max_part_size", "int", 1024 * 1024 * 1024, "Largest message allowed, in bytes."),
    Field("min_part_size", "int", 1, "Smallest message allowed, in bytes."),
    Field("max_parts", "int", 100, "Most messages a batch may hold."),
    Field("min_parts", "int", 1, "Fewest messages a batch may hold."),
    doc="Drop batches (and their messages) outside size bounds.",
)
