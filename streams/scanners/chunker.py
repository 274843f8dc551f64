"""``chunker`` scanner: messages of ``size`` bytes each, the last one shorter if the source ends
between (Bento ``internal/impl/pure/scanner_chunker.go``)."""

from __future__ import annotations

from typing import Any

from streams.message import Message
from streams.registry import Field
from streams.scanners.base import ScanConfigError, Scanner, ScannerMaker, spec


class ChunkerScanner(Scanner):
    def __init__(self, size: int) -> None:
        self.size = size
        self.pending = b""

    def feed(self, chunk: bytes) -> list[Message]:
        self.pending += chunk
        whole = len(self.pending) - len(self.pending) % self.size
        out = [Message(self.pending[i : i + self.size]) for i in range(0, whole, self.size)]
        self.pending = self.pending[whole:]
        return out

    def end(self) -> list[Message]:
        rest, self.pending = self.pending, b""
        return [Message(rest)] if rest else []


def build(conf: dict[str, Any]) -> ScannerMaker:
    size = int(conf["size"])
    if size < 1:
        raise ScanConfigError(("size",), f"must be at least 1 byte, got {size}")
    return lambda name: ChunkerScanner(size)


SPEC = spec("chunker", build, Field("size", "int", doc="Bytes per chunk."), doc="Fixed-size chunks of bytes.")
