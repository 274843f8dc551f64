"""``try`` processor: processors in order, skipping the rest for a message once it failed."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class TryProcessor(Processor):
    def __init__(self, procs: list[Processor]) -> None:
        self.procs = procs

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        out: list[Message] = []
        for msg in batch:
            current = [msg]
            for proc in self.procs:
                ok = [m for m in current if m.error is None]
                failed = [m for m in current if m.error is not None]
                current = failed + (proc.process(ok, txn) if ok else [])
                if not current:
                    break
            out.extend(current)
        return out

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> TryProcessor:
    return TryProcessor(res.build_processors(conf["processors"], res.path))


SPEC = registry.processor(
    "try",
    _factory,
    Field("processors", "processor_list", doc="Processors to run until one fails."),
    scalar_field="processors",
    doc="Run processors, stopping for a message at its first failure.",
)
