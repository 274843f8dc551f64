"""A Bloblang query field (``check``, ``skip_on``) run against one message of a batch: the
value the query gives, or whether it gave ``true``, as Bento's ``QueryPart`` reads it."""

from __future__ import annotations

from typing import Any

from streams.bloblang import MappingError
from streams.engine.resources import Resources
from streams.message import Message


class Query:
    def __init__(self, res: Resources, source: str, field_name: str) -> None:
        self.mapping = res.mapping(f"root = {source}\n", field_name)

    def value(self, batch: list[Message], index: int) -> Any:
        """The query's value for ``batch[index]``; ``MappingError`` when it fails or deletes."""
        out = self.mapping.apply_message(batch[index], batch, index)
        if out is None:
            raise MappingError("query deleted the message")
        return out.value

    def holds(self, batch: list[Message], index: int) -> bool:
        """True when the query gives the boolean ``true``; ``MappingError`` when it fails, and
        when it gives anything but a boolean (Bento refuses those too)."""
        got = self.value(batch, index)
        if not isinstance(got, bool):
            raise MappingError(f"expected boolean value, got {_type(got)}")
        return got


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {str: "string", int: "number", float: "number", dict: "object", list: "array"}.get(type(value), "bytes")
