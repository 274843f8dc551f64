"""Response bodies that acknowledge a delivery only once the client really took it.

A WSGI server pulls the next chunk from the body iterator only after it has written the previous
one, so "the iterator was asked for more" is our evidence that the bytes left the process. A body
whose iterator is closed before that (the client went away mid-write) hands the message back to
the engine with ``nack()``, so nothing acknowledged is lost (DESIGN §4, promise 2).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Protocol


class Settleable(Protocol):
    """What a body needs of a delivery (the engine's ``Delivery``)."""

    @property
    def content(self) -> bytes: ...

    def ack(self) -> None: ...

    def nack(self) -> None: ...


HEAD_APART_KEY = "streams.head_apart"
"""Set (True) in the WSGI environ of a reply whose body is a ``DeliveryBody``: the server then
writes the head and the body apart, as pywsgi does, never in one write
(``handlers.server.handler``). The body's write is the evidence: to a client that already
left, the head's write draws a reset and the body's then fails, so the delivery is handed back.
In one write the bytes would be taken by the kernel, the delivery acknowledged and the message
lost."""

STREAM_BODY_KEY = "streams.stream_body"
"""Set (True) in the WSGI environ of a reply whose body is a stream client's (SSE or
newline-delimited, ``handlers.streaming``): it ends only with the connection, so once its head is
sent the server closes the connection's read buffer (``handlers.server.handler``). PERF: an idle
stream client kept its 2 KiB buffer for hours, and nothing reads a request after such a reply."""

PART_HEAD = b"Content-Type: application/octet-stream\r\n\r\n"


def multipart_batch(parts: tuple[bytes, ...] | list[bytes]) -> tuple[str, bytes]:
    """A GET's reply to a batch of several messages as Bento's ``http_server`` output writes it
    (Go's ``multipart.Writer``): ``multipart/form-data``, one ``application/octet-stream`` part
    per message. Returns the Content-Type and the body."""
    boundary = secrets.token_hex(30)
    dash = b"--" + boundary.encode("ascii")
    body = b"\r\n".join(dash + b"\r\n" + PART_HEAD + part for part in parts)
    return f"multipart/form-data; boundary={boundary}", body + b"\r\n" + dash + b"--\r\n"


class DeliveryBody:
    """A one-chunk body for a GET that acks the delivery after the chunk was written."""

    def __init__(self, delivery: Settleable, content: bytes | None = None) -> None:
        self._delivery = delivery
        self._content = delivery.content if content is None else content
        self._settled = False

    def __iter__(self) -> Iterator[bytes]:
        yield self._content
        self._settle(ack=True)

    def close(self) -> None:
        """Called by the server in every case; a body never fully iterated is a lost client."""
        self._settle(ack=False)

    def _settle(self, ack: bool) -> None:
        if self._settled:
            return
        self._settled = True
        if ack:
            self._delivery.ack()
        else:
            self._delivery.nack()
