"""``skip_bom`` scanner: drops a byte order mark at the start of the source and hands the rest to
``into`` (default ``to_the_end``), as Bento ``internal/impl/pure/scanner_skip_bom.go`` does.

The marks tried, longest first: UTF-32 BE/LE, UTF-8, UTF-16 BE/LE. At most one is dropped; the
first four bytes are held back until they are known (or the source ends).
"""

from __future__ import annotations

from streams.message import Message
from streams.registry import Field
from streams.scanners.base import Scanner, ScannerMaker, spec

MARKS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")
LONGEST = max(len(m) for m in MARKS)


class SkipBomScanner(Scanner):
    def __init__(self, child: Scanner) -> None:
        self.child = child
        self.head: bytes | None = b""  # None once the start was looked at

    def feed(self, chunk: bytes) -> list[Message]:
        if self.head is None:
            return self.child.feed(chunk)
        self.head += chunk
        if len(self.head) < LONGEST:
            return []
        return self.child.feed(self._without_mark())

    def end(self) -> list[Message]:
        out = self.child.feed(self._without_mark()) if self.head else []
        self.head = None
        return out + self.child.end()

    def _without_mark(self) -> bytes:
        head, self.head = self.head or b"", None
        for mark in MARKS:
            if head.startswith(mark):
                return head[len(mark) :]
        return head


def build_with(into: ScannerMaker) -> ScannerMaker:
    return lambda name: SkipBomScanner(into(name))


FIELDS = (Field("into", "scanner", {"to_the_end": {}}, "The scanner that reads the rest of the source."),)
SPEC = spec("skip_bom", lambda conf: build_with(conf["into"]), *FIELDS, doc="Drop a byte order mark.")
