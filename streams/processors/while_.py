"""``while`` processor: runs its processors on the batch again and again while ``check`` (a
Bloblang query on the batch's first message) gives true; ``at_least_once`` runs them once before
the first check, ``max_loops`` (when above 0) caps the rounds; a pass nobody waits for any more
(its push answered 408) stops looping. A check that fails counts as
false (logged), and a round that leaves no message ends the loop, as in Bento."""

from __future__ import annotations

from typing import Any

import gevent

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, Processor, Transaction
from streams.engine.pipeline import run_batches
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.query import Query
from streams.registry import Field


class WhileProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        if not conf["check"]:
            raise ConfigError(f"{res.path}.check: a check query is required")
        self.check = Query(res, conf["check"], "check")
        self.at_least_once = bool(conf["at_least_once"])
        self.max_loops = int(conf["max_loops"])
        self.procs = res.build_processors(conf["processors"], f"{res.path}.processors")
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return [m for part in self.process_batches(batch, txn) for m in part]

    def process_batches(self, batch: list[Message], txn: Transaction) -> list[list[Message]]:
        batches = [batch]
        loops = 0
        again = self.at_least_once or self._holds(batch)
        while again:
            if (self.max_loops > 0 and loops >= self.max_loops) or txn.abandoned:
                break
            gevent.sleep(0)  # a long loop must not hold the worker's other requests
            batches = [out for part in batches for out in run_batches(self.procs, part, txn)]
            if not batches:
                return []
            again = self._holds(batches[0])
            loops += 1
        return batches

    def _holds(self, batch: list[Message]) -> bool:
        try:
            return self.check.holds(batch, 0)
        except MappingError as exc:
            self.log.error(f"while check failed: {exc}")
            return False

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> WhileProcessor:
    return WhileProcessor(conf, res)


SPEC = registry.processor(
    "while",
    _factory,
    Field("at_least_once", "bool", False, "Run the processors once before the first check."),
    Field("max_loops", "int", 0, "Most rounds (0: no limit)."),
    Field("check", "string", "", "Bloblang query: loop again while it gives true."),
    Field("processors", "processor_list", doc="Processors run each round."),
    doc="Run processors while a condition holds.",
)
