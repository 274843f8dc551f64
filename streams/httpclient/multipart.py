"""A batch as one ``multipart/form-data`` body (Bento's ``batch_as_multipart``; Go's
``multipart.Writer``): one part per message, each with its own headers, under a random boundary."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping


def multipart_body(parts: Iterable[tuple[Mapping[str, str], bytes]]) -> tuple[str, bytes]:
    """The ``Content-Type`` (with its boundary) and the body of ``parts`` (headers, content)."""
    boundary = uuid.uuid4().hex
    chunks = []
    for headers, content in parts:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode() + content + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks) + f"--{boundary}--\r\n".encode()
