"""What every scanner is: a plain incremental splitter with no I/O.

A scanner (Bento's ``scanner`` config field, ``internal/component/scanner``) cuts one source of
bytes (here: the body of one streamed HTTP response) into messages. Bento's scanners pull from a
reader; ours are pushed to: ``feed`` takes the next chunk and returns the messages it completed,
``end`` says the source ended and returns what was still held back. Neither touches a socket, so
each scanner is tested by feeding it bytes; the caller owns the I/O.

A scanner's config is parsed once into a ``ScannerMaker`` (Bento's "creator"); the maker gives a
fresh ``Scanner`` for each source, told the source's name (what ``switch`` cases match against).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.message import Message
from streams.registry import Field


class ScanError(Exception):
    """The source's bytes cannot be scanned (a line over the buffer limit, broken JSON, a bad
    archive); the text says what was wrong. The source is given up at that point."""


class Scanner(ABC):
    """One source's splitter: fed chunks in order, then ended once.

    Messages completed before a problem are returned first and the ``ScanError`` is raised by the
    next call (``hold``/``raise_held``), so a source yields everything up to its first bad byte."""

    held: ScanError | None = None

    def hold(self, out: list[Message], exc: ScanError) -> list[Message]:
        """``out`` now and ``exc`` at the next call; ``exc`` at once when there is nothing to give."""
        if not out:
            raise exc
        self.held = exc
        return out

    def raise_held(self) -> None:
        if self.held is not None:
            raise self.held

    @abstractmethod
    def feed(self, chunk: bytes) -> list[Message]:
        """The messages the bytes so far complete; raises ``ScanError``."""

    @abstractmethod
    def end(self) -> list[Message]:
        """The messages still held when the source ends; raises ``ScanError``."""


ScannerMaker = Callable[[str], Scanner]
"""``make(source_name) -> Scanner``: one fresh scanner per source."""

Build = Callable[[dict[str, Any]], ScannerMaker]
"""``build(config) -> maker``: the config is validated and has its defaults filled in; a value
only the scanner can judge (a regular expression, an algorithm) raises ``ScanConfigError``."""


class ScanConfigError(Exception):
    """A scanner config that cannot be used; ``where`` is the path inside the scanner config."""

    def __init__(self, where: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(frozen=True)
class ScannerSpec:
    """A scanner's name, its config fields (Bento's names and defaults) and its builder.

    Field types are those of ``streams.registry`` plus ``scanner`` (a nested scanner config).
    ``list_of`` set: the config is a list of objects with those fields (``switch``)."""

    name: str
    build: Build
    fields: tuple[Field, ...] = ()
    list_of: bool = False
    doc: str = ""


def spec(name: str, build: Build, *fields: Field, list_of: bool = False, doc: str = "") -> ScannerSpec:
    """The spec of a scanner (listed in ``streams.scanners.catalog``)."""
    return ScannerSpec(name, build, fields, list_of, doc)


class Buffered(Scanner):
    """A scanner that holds undelivered bytes and cuts tokens from their front (lines, re_match),
    refusing to hold more than ``max_buffer`` bytes as Go's ``bufio.Scanner`` does."""

    def __init__(self, max_buffer: int) -> None:
        self.max_buffer = max_buffer
        self.pending = b""

    def feed(self, chunk: bytes) -> list[Message]:
        self.raise_held()
        self.pending += chunk
        out: list[Message] = []
        try:
            self._cut(out, at_end=False)
            if len(self.pending) > self.max_buffer:
                raise self._too_long()
        except ScanError as exc:
            return self.hold(out, exc)
        return out

    def end(self) -> list[Message]:
        self.raise_held()
        out: list[Message] = []
        try:
            self._cut(out, at_end=True)
        except ScanError as exc:
            return self.hold(out, exc)
        return out

    def _cut(self, out: list[Message], at_end: bool) -> None:
        # PERF: tokens are found from an offset and the buffer is cut once, not once per token.
        data, start = self.pending, 0
        try:
            while start < len(data):
                token = self.next_token(data, start, at_end)
                if token is None:
                    return
                end, part = token
                if end - start > self.max_buffer:
                    raise self._too_long()
                start = end
                if self.keep(part):
                    out.append(Message(part))
        finally:
            self.pending = data[start:]

    def _too_long(self) -> ScanError:
        return ScanError(f"token too long: more than max_buffer_size ({self.max_buffer} bytes) without a split")

    @abstractmethod
    def next_token(self, data: bytes, start: int, at_end: bool) -> tuple[int, bytes] | None:
        """(where the token's bytes end, token) for the token at ``start``, None for "need more"."""

    def keep(self, part: bytes) -> bool:
        return True
