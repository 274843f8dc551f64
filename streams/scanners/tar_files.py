"""``tar`` scanner: a message per archive entry, its name in metadata ``tar_name`` (Bento
``internal/impl/pure/scanner_tar.go``, Go's ``archive/tar``).

Every entry Go's reader returns is a message, directories too (with an empty body). Extended
headers are applied to the entry that follows, not returned: PAX ``path`` and GNU long names
replace the name; global PAX headers and GNU long link names are skipped. An all-zero block ends
the archive. A source that ends inside an entry, or a header with a bad checksum, fails.
"""

from __future__ import annotations

import tarfile
from typing import Any

from streams.message import Message
from streams.scanners.base import ScanError, Scanner, ScannerMaker, spec

BLOCK = 512
SKIPPED = {tarfile.XGLTYPE, tarfile.GNUTYPE_LONGLINK}


class TarScanner(Scanner):
    def __init__(self) -> None:
        self.pending = b""
        self.next_name: str | None = None
        self.finished = False

    def feed(self, chunk: bytes) -> list[Message]:
        self.raise_held()
        if self.finished:
            return []
        self.pending += chunk
        out: list[Message] = []
        try:
            while (entry := self._entry()) is not None:
                out.extend(entry)
        except ScanError as exc:
            return self.hold(out, exc)
        return out

    def end(self) -> list[Message]:
        self.raise_held()
        if self.pending and not self.finished:
            raise ScanError("archive/tar: unexpected EOF inside an entry")
        return []

    def _entry(self) -> list[Message] | None:
        """The next entry's message (or nothing, for headers and the end), None for "need more"."""
        if self.finished or len(self.pending) < BLOCK:
            return None
        header = self.pending[:BLOCK]
        if header == bytes(BLOCK):
            self.finished, self.pending = True, b""
            return []
        try:
            info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise ScanError(f"archive/tar: invalid tar header: {exc}") from exc
        size = info.size if info.type not in (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE) else 0
        total = BLOCK + -(-size // BLOCK) * BLOCK
        if len(self.pending) < total:
            return None
        body, self.pending = self.pending[BLOCK : BLOCK + size], self.pending[total:]
        return self._message_of(info, body)

    def _message_of(self, info: tarfile.TarInfo, body: bytes) -> list[Message]:
        if info.type == tarfile.GNUTYPE_LONGNAME:
            self.next_name = body.rstrip(b"\x00").decode("utf-8", "surrogateescape")
            return []
        if info.type == tarfile.XHDTYPE:
            self.next_name = _pax_path(body) or self.next_name
            return []
        if info.type in SKIPPED:
            return []
        name, self.next_name = self.next_name or info.name, None
        return [Message(body, {"tar_name": name})]


def _pax_path(body: bytes) -> str | None:
    """The ``path`` record of a PAX extended header (records are ``"<len> key=value\\n"``)."""
    path = None
    while body:
        length, _, rest = body.partition(b" ")
        try:
            size = int(length)
        except ValueError:
            raise ScanError("archive/tar: invalid PAX record") from None
        record, body = rest[: size - len(length) - 2], body[size:]
        key, _, value = record.partition(b"=")
        if key == b"path":
            path = value.decode("utf-8", "surrogateescape")
    return path


def build(conf: dict[str, Any]) -> ScannerMaker:
    return lambda name: TarScanner()


SPEC = spec("tar", build, doc="A message per file of a tar archive.")
