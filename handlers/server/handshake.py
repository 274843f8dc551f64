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


def _has_token(environ: Mapping[str, object], key: str, token: str) -> bool:
    """Whether a comma-separated header holds ``token``, whatever its case (repeated header
    lines arrive joined by commas)."""
    return any(t.strip().lower() == token for t in str(environ.get(key, "")).split(","))


def missing_upgrade_token(environ: Mapping[str, object]) -> str | None:
    """What keeps a request from being a WebSocket upgrade, in gorilla/websocket's words (the
    upgrader behind Bento's and so Tyk's ``ws_path``), or None when it asks for one: the
    ``upgrade`` token in ``Connection`` (``Upgrade``, ``keep-alive, Upgrade``, any case) and the
    ``websocket`` token in ``Upgrade``."""
    if not _has_token(environ, "HTTP_CONNECTION", "upgrade"):
        return "'upgrade' token not found in 'Connection' header"
    if not _has_token(environ, "HTTP_UPGRADE", "websocket"):
        return "'websocket' token not found in 'Upgrade' header"
    return None


def is_upgrade(environ: Mapping[str, object]) -> bool:
    """A request that asks for a WebSocket (see :func:`missing_upgrade_token`)."""
    return missing_upgrade_token(environ) is None


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
