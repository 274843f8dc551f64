"""Where each value of a JSON document sits: line and column of every key and list item.

A definition written as JSON is read with :func:`json.loads`; this scan of the same text tells
the validator where each config path is, so a problem deep inside points at its key. Columns
count characters from 1, a tab being one character (as JSON's own error positions and
``file:line:column`` tools count them), so a file indented with tabs is placed as exactly as one
indented with spaces. (Reading JSON as YAML for positions, as YAML files are, fails on tabs.)

Only for text :func:`json.loads` accepted and no deeper than the loader's nesting limit: the
scan trusts the grammar and recurses once per level.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from json import decoder
from typing import Any, cast

Path = tuple[Any, ...]

# NOTE: the json module's own string scanner (C-accelerated), not in its typeshed stubs.
scanstring = cast(Callable[[str, int], tuple[str, int]], getattr(decoder, "scanstring"))  # noqa: B009
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


@dataclass
class JsonPositions:
    """1-based positions by config path (``("x-tyk-streaming", "streams", "in")``)."""

    lines: dict[Path, int] = field(default_factory=dict)
    columns: dict[Path, int] = field(default_factory=dict)
    value_columns: dict[Path, int] = field(default_factory=dict)
    """Where a scalar member's text starts (after the opening quote of a string)."""
    duplicates: list[tuple[Path, int, int]] = field(default_factory=list)
    """Keys written twice in one object: path, line, column of the later one."""


def json_positions(text: str) -> JsonPositions:
    """The positions of every key and item of ``text`` (valid JSON)."""
    scan = _Scan(text)
    scan.value(scan.skip(0), ())
    return scan.found


class _Scan:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found = JsonPositions()

    def where(self, i: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, i)
        return line, i - self.line_starts[line - 1] + 1

    def skip(self, i: int) -> int:
        match = _WHITESPACE.match(self.text, i)
        return match.end() if match else i

    def place(self, path: Path, i: int, *, replace: bool) -> None:
        line, column = self.where(i)
        if replace or path not in self.found.lines:
            self.found.lines[path] = line
            self.found.columns[path] = column

    def value(self, i: int, path: Path) -> int:
        self.place(path, i, replace=False)
        c = self.text[i]
        if c == "{":
            return self.members(self.skip(i + 1), path)
        if c == "[":
            return self.items(self.skip(i + 1), path)
        if c == '"':
            return scanstring(self.text, i + 1)[1]
        match = _SCALAR.match(self.text, i)
        if match is None:
            raise ValueError(f"not JSON at character {i}")
        return match.end()

    def members(self, i: int, path: Path) -> int:
        seen: set[str] = set()
        if self.text[i] == "}":
            return i + 1
        while True:
            key, after = scanstring(self.text, i + 1)
            sub = path + (key,)
            if key in seen:
                self.found.duplicates.append((sub, *self.where(i)))
            seen.add(key)
            self.place(sub, i, replace=True)
            start = self.skip(self.skip(after) + 1)  # past the colon
            column = self.where(start)[1]
            if self.text[start] not in "{[":
                self.found.value_columns[sub] = column + (1 if self.text[start] == '"' else 0)
            i = self.skip(self.value(start, sub))
            if self.text[i] == "}":
                return i + 1
            i = self.skip(i + 1)  # past the comma

    def items(self, i: int, path: Path) -> int:
        if self.text[i] == "]":
            return i + 1
        index = 0
        while True:
            i = self.skip(self.value(i, path + (index,)))
            index += 1
            if self.text[i] == "]":
                return i + 1
            i = self.skip(i + 1)
