"""``split`` processor: breaks a batch into batches of at most ``size`` messages, and, with
``byte_size``, of at most that many payload bytes (a single larger message still gets a batch
of its own). What follows in the pipeline sees each batch apart (``archive`` makes one message
of each)."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class SplitProcessor(Processor):
    def __init__(self, size: int, byte_size: int) -> None:
        self.size = size
        self.byte_size = byte_size

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return batch

    def process_batches(self, batch: list[Message], txn: Transaction) -> list[list[Message]]:
        out: list[list[Message]] = []
        current: list[Message] = []
        current_bytes = 0
        for msg in batch:
            size = len(msg.content) if self.byte_size > 0 else 0
            too_many = self.size > 0 and len(current) >= self.size
            too_big = self.byte_size > 0 and current and current_bytes + size > self.byte_size
            if current and (too_many or too_big):
                out.append(current)
                current, current_bytes = [], 0
            current.append(msg)
            current_bytes += size
        if current:
            out.append(current)
        return out


def _factory(conf: dict[str, Any], res: Resources) -> SplitProcessor:
    return SplitProcessor(int(conf["size"]), int(conf["byte_size"]))


SPEC = registry.processor(
    "split",
    _factory,
    Field("size", "int", 1, "Most messages per resulting batch (0: no count limit)."),
    Field("byte_size", "int", 0, "Most payload bytes per resulting batch (0: no size limit)."),
    doc="Break a batch into smaller batches.",
)
