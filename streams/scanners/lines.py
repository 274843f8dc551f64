"""``lines`` scanner: a message per line (Bento ``internal/impl/pure/scanner_lines.go``).

Without ``custom_delimiter`` a line ends at ``\\n`` and a ``\\r`` before it is dropped, as Go's
``bufio.ScanLines`` does; with one, the text between delimiters is taken as is. A last line
without a terminator is still a message. ``omit_empty`` skips empty lines; a line that grows past
``max_buffer_size`` bytes (Go's ``bufio.MaxScanTokenSize``, 65536, by default) fails the source.
"""

from __future__ import annotations

from typing import Any

from streams.registry import Field
from streams.scanners.base import Buffered, ScannerMaker, spec

DEFAULT_MAX_BUFFER = 64 * 1024


class LinesScanner(Buffered):
    def __init__(self, delimiter: str, max_buffer: int, omit_empty: bool) -> None:
        super().__init__(max_buffer)
        self.delimiter = delimiter.encode() or b"\n"
        self.strip_cr = not delimiter
        self.omit_empty = omit_empty

    def next_token(self, data: bytes, start: int, at_end: bool) -> tuple[int, bytes] | None:
        i = data.find(self.delimiter, start)
        if i >= 0:
            return i + len(self.delimiter), self._clean(data[start:i])
        if at_end:
            return len(data), self._clean(data[start:])
        return None

    def _clean(self, line: bytes) -> bytes:
        return line[:-1] if self.strip_cr and line.endswith(b"\r") else line

    def keep(self, part: bytes) -> bool:
        return bool(part) or not self.omit_empty


def build(conf: dict[str, Any]) -> ScannerMaker:
    delimiter = str(conf["custom_delimiter"] or "")
    max_buffer, omit_empty = int(conf["max_buffer_size"]), bool(conf["omit_empty"])
    return lambda name: LinesScanner(delimiter, max_buffer, omit_empty)


SPEC = spec(
    "lines",
    build,
    Field("custom_delimiter", "string", "", "Ends a line instead of a line break."),
    Field("max_buffer_size", "int", DEFAULT_MAX_BUFFER, "Longest line, in bytes."),
    Field("omit_empty", "bool", False, "Skip empty lines."),
    doc="A message per line of data.",
)
