"""``select_parts`` processor: a new batch of the messages at ``parts`` (in that order; a
negative index counts from the end, an index out of range is skipped). A batch left with no
message is dropped."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import ConfigError, Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class SelectPartsProcessor(Processor):
    def __init__(self, parts: list[int]) -> None:
        self.parts = parts

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        out = []
        for index in self.parts:
            if index < 0:
                index += len(batch)
            if 0 <= index < len(batch):
                out.append(batch[index].copy())
        return out


def _factory(conf: dict[str, Any], res: Resources) -> SelectPartsProcessor:
    parts = conf["parts"]
    if not isinstance(parts, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        raise ConfigError(f"{res.path}.parts: expected a list of integers")
    return SelectPartsProcessor(parts)


SPEC = registry.processor(
    "select_parts",
    _factory,
    Field("parts", "any", [], "Indexes of the messages to keep (negative: from the end)."),
    doc="Keep the messages of a batch at chosen indexes.",
)
