"""``catch`` processor: run processors on messages that carry an error, then clear it."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class CatchProcessor(Processor):
    def __init__(self, procs: list[Processor]) -> None:
        self.procs = procs

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        out: list[Message] = []
        for msg in batch:
            if msg.error is None:
                out.append(msg)
                continue
            for result in run_processors(self.procs, [msg], txn):
                result.error = None
                out.append(result)
        return out

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> CatchProcessor:
    return CatchProcessor(res.build_processors(conf["processors"], res.path))


SPEC = registry.processor(
    "catch",
    _factory,
    Field("processors", "processor_list", doc="Processors for failed messages."),
    scalar_field="processors",
    doc="Handle messages that failed an earlier processor.",
)
