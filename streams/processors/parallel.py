"""``parallel`` processor: like ``for_each``, but the messages go through the processors at the
same time (greenlets, at most ``cap`` at once; 0: all of them). The results keep the batch's
order."""

from __future__ import annotations

from typing import Any

import gevent.pool

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class ParallelProcessor(Processor):
    def __init__(self, procs: list[Processor], cap: int) -> None:
        self.procs = procs
        self.cap = cap

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        pool = gevent.pool.Pool(self.cap if self.cap > 0 else max(len(batch), 1))
        results = pool.map(lambda msg: run_processors(self.procs, [msg], txn), batch)
        return [out for result in results for out in result]

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> ParallelProcessor:
    return ParallelProcessor(res.build_processors(conf["processors"], f"{res.path}.processors"), int(conf["cap"]))


SPEC = registry.processor(
    "parallel",
    _factory,
    Field("cap", "int", 0, "Most messages processed at once (0: no limit)."),
    Field("processors", "processor_list", doc="Processors run on each message."),
    doc="Run processors on the messages of a batch in parallel.",
)
