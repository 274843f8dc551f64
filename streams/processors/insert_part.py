"""``insert_part`` processor: adds a message made of ``content`` (interpolated against the
batch's first message) at ``index`` of the batch. A negative index counts from the end (-1:
after the last message); an index beyond either end is clamped to it. The new message has no
metadata."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class InsertPartProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.content = res.interpolation(conf["content"])
        self.index = int(conf["index"])
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        try:
            content = self.content.render_bytes(batch[0] if batch else None, batch, 0)
        except MappingError as exc:
            self.log.error(f"insert_part content failed: {exc}")
            content = b""
        return [*batch[: self.position(len(batch))], Message(content), *batch[self.position(len(batch)) :]]

    def position(self, size: int) -> int:
        """Where the new message goes in a batch of ``size`` messages."""
        if self.index < 0:
            return max(size + self.index + 1, 0)
        return min(self.index, size)


def _factory(conf: dict[str, Any], res: Resources) -> InsertPartProcessor:
    return InsertPartProcessor(conf, res)


SPEC = registry.processor(
    "insert_part",
    _factory,
    Field("content", "string", "", "Interpolated content of the new message."),
    Field("index", "int", -1, "Where it goes (negative: from the end, -1 last)."),
    doc="Insert a new message into a batch.",
)
