"""``resource`` processor: runs the stream's ``processor_resources`` entry of that label (one
instance shared by every place that names it, as in Bento)."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import ConfigError, Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class ResourceProcessor(Processor):
    def __init__(self, label: str, res: Resources) -> None:
        if label not in res.scope.processor_labels:
            raise ConfigError(f"{res.path}: processor resource {label!r} was not found")
        self.label = label
        self.scope = res.scope

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return [m for part in self.process_batches(batch, txn) for m in part]

    def process_batches(self, batch: list[Message], txn: Transaction) -> list[list[Message]]:
        # Looked up when run: a resource may name another one listed after it.
        return self.scope.processor_resources[self.label].process_batches(batch, txn)


def _factory(conf: dict[str, Any], res: Resources) -> ResourceProcessor:
    return ResourceProcessor(conf["resource"], res)


SPEC = registry.processor(
    "resource",
    _factory,
    Field("resource", "string", doc="Label of a processor_resources entry."),
    scalar_field="resource",
    doc="Run a processor resource.",
)
