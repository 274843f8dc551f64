"""``decompress`` scanner: the source decompressed with ``algorithm`` and handed to ``into``
(default ``to_the_end``), as Bento ``internal/impl/pure/scanner_decompress.go`` does.

``gzip``/``pgzip`` (concatenated members too), ``zlib``, ``flate`` (raw deflate) and ``bzip2`` are
decompressed as the bytes arrive. ``snappy`` (framed) and ``lz4`` (frame format) are decompressed
when the source ends, whole: the libraries at hand have no incremental reader for them. A source
that ends inside the compressed data, or is not data of the algorithm, fails.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import cramjam

from streams.message import Message
from streams.registry import Field
from streams.scanners.base import ScanConfigError, ScanError, Scanner, ScannerMaker, spec


class Inflater(Protocol):
    """Incremental decompression of one algorithm: ``feed`` what arrived, ``end`` at the end."""

    def feed(self, data: bytes) -> bytes: ...

    def end(self) -> bytes: ...


class StdlibInflater:
    """zlib/gzip/deflate or bzip2 through the standard library; a new stream starts where one ends
    (gzip and bzip2 files may be several members back to back)."""

    def __init__(self, make: Callable[[], Any], members: bool) -> None:
        self.make = make
        self.members = members
        self.current = make()
        self.started = False

    def feed(self, data: bytes) -> bytes:
        out = b""
        while data:
            if self.current.eof:
                if not self.members:
                    return out  # bytes after the end of the stream are not read
                self.current = self.make()
            self.started = True
            out += self.current.decompress(data)
            data = self.current.unused_data if self.current.eof else b""
        return out

    def end(self) -> bytes:
        if self.started and not self.current.eof:
            raise ScanError("unexpected EOF: the source ended inside the compressed data")
        return b""


class WholeInflater:
    """Collects the source and decompresses it at its end (snappy, lz4)."""

    def __init__(self, run: Callable[[bytes], Any]) -> None:
        self.run = run
        self.parts: list[bytes] = []

    def feed(self, data: bytes) -> bytes:
        self.parts.append(data)
        return b""

    def end(self) -> bytes:
        data = b"".join(self.parts)
        return bytes(self.run(data)) if data else b""


INFLATERS: dict[str, Callable[[], Inflater]] = {
    "gzip": lambda: StdlibInflater(lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), members=True),
    "pgzip": lambda: StdlibInflater(lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), members=True),
    "zlib": lambda: StdlibInflater(lambda: zlib.decompressobj(zlib.MAX_WBITS), members=False),
    "flate": lambda: StdlibInflater(lambda: zlib.decompressobj(-zlib.MAX_WBITS), members=False),
    "bzip2": lambda: StdlibInflater(bz2.BZ2Decompressor, members=True),
    "snappy": lambda: WholeInflater(cramjam.snappy.decompress),
    "lz4": lambda: WholeInflater(cramjam.lz4.decompress),
}


class DecompressScanner(Scanner):
    def __init__(self, algorithm: str, inflater: Inflater, child: Scanner) -> None:
        self.algorithm = algorithm
        self.inflater = inflater
        self.child = child

    def feed(self, chunk: bytes) -> list[Message]:
        return self.child.feed(self._run(self.inflater.feed, chunk))

    def end(self) -> list[Message]:
        return self.child.feed(self._run(lambda _: self.inflater.end(), b"")) + self.child.end()

    def _run(self, step: Callable[[bytes], bytes], data: bytes) -> bytes:
        try:
            return step(data)
        except (zlib.error, OSError, EOFError, cramjam.DecompressionError) as exc:
            raise ScanError(f"{self.algorithm}: {exc}") from exc


def build(conf: dict[str, Any]) -> ScannerMaker:
    algorithm = str(conf["algorithm"])
    inflater = INFLATERS.get(algorithm)
    if inflater is None:
        known = ", ".join(INFLATERS)
        raise ScanConfigError(("algorithm",), f"decompression type not recognised: {algorithm} (expected one of: {known})")
    into: ScannerMaker = conf["into"]
    return lambda name: DecompressScanner(algorithm, inflater(), into(name))


SPEC = spec(
    "decompress",
    build,
    Field("algorithm", "string", doc="gzip, pgzip, zlib, bzip2, flate, snappy or lz4."),
    Field("into", "scanner", {"to_the_end": {}}, "The scanner that reads the decompressed bytes."),
    doc="Decompress the source before another scanner reads it.",
)
