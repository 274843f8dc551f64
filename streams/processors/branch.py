"""``branch`` processor: run processors on a copy shaped by ``request_map`` and fold the result
back into the original with ``result_map`` (where ``this`` is the branch result and ``root``
starts as the original document).

Differences from Bento: ``result_map`` works on the payload only (metadata assignments in it
are not supported); a ``request_map`` that deletes the message skips the branch for it, as in
Bento.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import Processor, Transaction
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class BranchProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.request_map = res.mapping(conf["request_map"], "request_map") if conf["request_map"] else None
        self.result_map = res.mapping(conf["result_map"], "result_map") if conf["result_map"] else None
        self.procs = res.build_processors(conf["processors"], f"{res.path}.processors")

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        for index, msg in enumerate(batch):
            try:
                part = self.request_map.apply_message(msg, batch, index) if self.request_map else msg.copy()
            except MappingError as exc:
                msg.error = str(exc)
                continue
            if part is None:
                continue
            results = run_processors(self.procs, [part], Transaction())
            if len(results) != 1:
                msg.error = f"branch processors resulted in {len(results)} messages, expected one"
                continue
            result = results[0]
            if result.error is not None:
                msg.error = result.error
                continue
            if self.result_map is None:
                continue
            try:
                msg.set_value(self.result_map.query_value(result.value, overlay=msg.value))
            except (MappingError, ValueError) as exc:
                msg.error = f"branch result_map failed: {exc}"
        return batch

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> BranchProcessor:
    return BranchProcessor(conf, res)


SPEC = registry.processor(
    "branch",
    _factory,
    Field("request_map", "string", "", "Bloblang mapping building the branch's message; empty = a copy."),
    Field("processors", "processor_list", doc="Processors run on the branch's message."),
    Field("result_map", "string", "", "Bloblang mapping folding the result into the original."),
    doc="Run processors on a copy and map the result back.",
)
