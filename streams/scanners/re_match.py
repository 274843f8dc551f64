"""``re_match`` scanner: segments that each start where ``pattern`` matches (Bento
``internal/impl/pure/scanner_re_match.go``).

A segment runs from one match to the next: the bytes before the first match are a segment of
their own, and a match is only cut once a second match (or the end of the source) shows where
its segment ends, so ``(?m)^\\d\\d:\\d\\d:\\d\\d`` keeps a multi-line log entry together. Bytes held
past ``max_buffer_size`` without a cut fail the source.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Any

from streams.registry import Field
from streams.scanners.base import Buffered, ScanConfigError, ScannerMaker, spec
from streams.scanners.lines import DEFAULT_MAX_BUFFER


class ReMatchScanner(Buffered):
    def __init__(self, pattern: re.Pattern[bytes], max_buffer: int) -> None:
        super().__init__(max_buffer)
        self.pattern = pattern

    def next_token(self, data: bytes, start: int, at_end: bool) -> tuple[int, bytes] | None:
        rest = data[start:]  # NOTE: a slice, not a search from ``start``: ``^`` must match there
        starts = [m.start() for m in islice(self.pattern.finditer(rest), 2)]
        if not starts or (len(starts) == 1 and starts[0] == 0):
            return (len(data), rest) if at_end else None
        if len(starts) == 1:
            return (start + starts[0], rest[: starts[0]]) if at_end else None
        cut = starts[1] if starts[0] == 0 else starts[0]
        return start + cut, rest[:cut]


def build(conf: dict[str, Any]) -> ScannerMaker:
    try:
        pattern = re.compile(str(conf["pattern"]).encode())
    except re.error as exc:
        raise ScanConfigError(("pattern",), f"invalid regular expression: {exc}") from exc
    max_buffer = int(conf["max_buffer_size"])
    return lambda name: ReMatchScanner(pattern, max_buffer)


SPEC = spec(
    "re_match",
    build,
    Field("pattern", "string", doc="Where each segment starts."),
    Field("max_buffer_size", "int", DEFAULT_MAX_BUFFER, "Longest segment, in bytes."),
    doc="Segments starting at each match of a regular expression.",
)
