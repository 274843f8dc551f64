"""The server side of the WebSocket opening handshake (RFC 6455 §4.2), without I/O.

``is_upgrade`` tells whether a request asks to switch to WebSocket at all; ``accept_headers``
checks the rest of the request and returns the 101 reply's headers, or raises
:class:`HandshakeError` with the status to answer instead (426 with the supported version when
the client speaks another one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUPPORTED_VERSION = "13"


class HandshakeError(ValueError):
    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


def is_upgrade(environ: Mapping[str, object]) -> bool:
    """A request that asks for a WebSocket (``Upgrade: websocket`` and ``Connection: upgrade``)."""
    upgrade = str(environ.get("HTTP_UPGRADE", "")).lower()
    connection = str(environ.get("HTTP_CONNECTION", "")).lower()
    return upgrade == "websocket" and "upgrade" in (t.strip() for t in connection.split(","))


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + _GUID).encode("ascii")).digest()).decode("ascii")


def accept_headers(environ: Mapping[str, object]) -> list[tuple[str, str]]:
    """The 101 reply's headers for a valid upgrade request (§4.2.1), else HandshakeError."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
        raise HandshakeError(400, "a WebSocket upgrade is a GET over HTTP/1.1")
    if str(environ.get("HTTP_SEC_WEBSOCKET_VERSION", "")).strip() != SUPPORTED_VERSION:
        raise HandshakeError(
            426, "unsupported WebSocket version", [("Sec-WebSocket-Version", SUPPORTED_VERSION)]
        )
    key = str(environ.get("HTTP_SEC_WEBSOCKET_KEY", "")).strip()
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise HandshakeError(400, "Sec-WebSocket-Key must be 16 bytes in base64")
    return [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_key(key))]
