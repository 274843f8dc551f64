"""``for_each`` processor: its processors run on each message of the batch on its own (as a
batch of one), the results joined in order. Bento's ``for_each`` (and the older ``process_batch``
behaviour): a batch-wide processor inside sees one message at a time."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class ForEachProcessor(Processor):
    def __init__(self, procs: list[Processor]) -> None:
        self.procs = procs

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return [out for msg in batch for out in run_processors(self.procs, [msg], txn)]

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> ForEachProcessor:
    return ForEachProcessor(res.build_processors(conf["processors"], res.path))


SPEC = registry.processor(
    "for_each",
    _factory,
    Field("processors", "processor_list", doc="Processors run on each message alone."),
    scalar_field="processors",
    doc="Run processors on each message of a batch individually.",
)
