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
from streams.bloblang.targets import assigned_paths, read_paths
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
            result = self.result_for(msg, batch, index)
            error = result if isinstance(result, str) else self.overlay(msg, result) if result is not None else None
            if error is not None:
                msg.error = error
        return batch

    def result_for(self, msg: Message, batch: list[Message], index: int) -> Message | str | None:
        """The branch's result for ``batch[index]``: its one message, the error that stopped it,
        or None when the ``request_map`` deleted the message (the branch is skipped for it)."""
        try:
            part = self.request_map.apply_message(msg, batch, index) if self.request_map else msg.copy()
        except MappingError as exc:
            return str(exc)
        if part is None:
            return None
        part.error = None
        results = run_processors(self.procs, [part], Transaction())
        if len(results) != 1:
            return f"branch processors resulted in {len(results)} messages, expected one"
        if results[0].error is not None:
            return results[0].error
        return results[0]

    def overlay(self, msg: Message, result: Message) -> str | None:
        """Fold ``result`` into ``msg`` with the ``result_map``; the error when that fails."""
        if self.result_map is None:
            return None
        try:
            msg.set_value(self.result_map.query_value(result.value, overlay=msg.value))
        except (MappingError, ValueError) as exc:
            return f"branch result_map failed: {exc}"
        return None

    def targets_used(self) -> list[tuple[str, ...]]:
        """The document paths the ``request_map`` reads (``this.a.b``): a workflow runs this
        branch after those that provide them."""
        return read_paths(self.request_map) if self.request_map is not None else []

    def targets_provided(self) -> list[tuple[str, ...]]:
        """The document paths the ``result_map`` assigns (``root.a``)."""
        return assigned_paths(self.result_map) if self.result_map is not None else []

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
