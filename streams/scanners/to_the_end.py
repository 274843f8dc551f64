"""``to_the_end`` scanner: the whole source as one message, delivered when it ends (Bento
``internal/impl/pure/scanner_to_the_end.go``). Only for sources with an end that fits in memory."""

from __future__ import annotations

from typing import Any

from streams.message import Message
from streams.scanners.base import Scanner, ScannerMaker, spec


class ToTheEndScanner(Scanner):
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Message]:
        self.parts.append(chunk)
        return []

    def end(self) -> list[Message]:
        body, self.parts = b"".join(self.parts), []
        return [Message(body)]


def build(conf: dict[str, Any]) -> ScannerMaker:
    return lambda name: ToTheEndScanner()


SPEC = spec("to_the_end", build, doc="The whole source as one message.")
