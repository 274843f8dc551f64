"""The archive formats ``archive`` writes and ``unarchive`` reads, as plain functions over bytes
and values (no messages), so each is tested alone.

``binary`` is Bento's blob: a big-endian uint32 count of parts, then each part as a big-endian
uint32 length and its bytes.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import tarfile
import time
import zipfile
from typing import Any

from streams.bloblang.values import parse_json


class ArchiveError(ValueError):
    """Data that is not in the format asked for (the text flags the message)."""


def pack_binary(parts: list[bytes]) -> bytes:
    out = [struct.pack(">I", len(parts))]
    for part in parts:
        out.append(struct.pack(">I", len(part)))
        out.append(part)
    return b"".join(out)


def unpack_binary(data: bytes) -> list[bytes]:
    if len(data) < 4:
        raise ArchiveError("serialised message bytes were in unexpected format")
    (count,) = struct.unpack_from(">I", data)
    pos, parts = 4, []
    for _ in range(count):
        if len(data) < pos + 4:
            raise ArchiveError("serialised message bytes were in unexpected format")
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        if len(data) < pos + size:
            raise ArchiveError("serialised message bytes were in unexpected format")
        parts.append(data[pos : pos + size])
        pos += size
    return parts


def pack_tar(files: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o666, int(now)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def unpack_tar(data: bytes) -> list[tuple[str, bytes]]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            out = []
            for member in tar:
                handle = tar.extractfile(member)
                out.append((member.name, handle.read() if handle is not None else b""))
            return out
    except (tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"tar: {exc}") from None


def pack_zip(files: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o666 << 16
            archive.writestr(info, content)
    return buf.getvalue()


def unpack_zip(data: bytes) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(info.filename, archive.read(info)) for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"zip: {exc}") from None


def split_json_documents(data: bytes) -> list[Any]:
    """Concatenated JSON documents (whitespace between them optional), as Go's decoder reads a
    stream of them."""
    text = data.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    out: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return out
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ArchiveError(f"invalid JSON document at byte {exc.pos}: {exc.msg}") from None
        out.append(parse_json(text[pos:end].encode("utf-8", "surrogateescape")))
        pos = end


def read_csv(data: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    """Rows of a CSV document with a header row, as objects keyed by the header."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", "surrogateescape"), newline=""), delimiter=delimiter)
    rows: list[dict[str, str]] = []
    headers: list[str] | None = None
    try:
        for record in reader:
            if not record:
                continue  # Go's reader skips empty lines
            if headers is None:
                headers = record
                continue
            if len(record) != len(headers):
                few = len(record) < len(headers)
                raise ArchiveError(f"failed to parse message as csv: row has too {'few' if few else 'many'} values")
            rows.append(dict(zip(headers, record, strict=True)))
    except csv.Error as exc:
        raise ArchiveError(f"failed to parse message as csv: {exc}") from None
    return rows
