"""The limits the gateway's server puts on each connection, gathered from the gateway settings
and gunicorn's configuration in one place so the handler needs neither."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.settings import Settings


@dataclass(frozen=True)
class ServerLimits:
    """Per-connection limits of :class:`handlers.server.handler.GatewayHandler`.

    * ``header_timeout``: seconds from a connection's start (or, on a kept-alive connection,
      from the next request's first byte) to the end of the request headers; a client that is
      slower (slowloris) is answered 408 and dropped. ``STREAMS_HEADER_TIMEOUT``.
    * ``keepalive_timeout``: seconds a kept-alive connection may sit silent between requests
      (gunicorn's ``keepalive``); 0 closes the connection after each response.
    * ``max_message_bytes``: the largest WebSocket message, all its fragments together; the
      same limit as a pushed HTTP body (``STREAMS_MAX_BODY_BYTES``), so a WebSocket is no way
      around it. Over it the connection is closed with 1009.
    * ``frames_per_second``: frames a WebSocket client may send per second, bursts of as many;
      over it the connection is closed with 1008. ``STREAMS_WS_FRAMES_PER_SECOND``.
    * ``linger``: seconds a closing connection keeps reading (and dropping) what the client is
      still sending, so the reply or close frame reaches it instead of a reset.
    * ``max_request_line``: bytes of the request line (method, URL, version); over it 414.
      ``STREAMS_MAX_REQUEST_LINE``.
    * ``max_header_bytes``: bytes of the header section, every field line together; over it,
      or over 100 fields, 431. ``STREAMS_MAX_HEADER_BYTES``.
    * ``max_query_params``: query parameters in the URL; over it 400 (not 414: the URL is
      within the length allowed, it is what it holds that is refused).
      ``STREAMS_MAX_QUERY_PARAMS``.

    gunicorn's ``limit_request_line``/``limit_request_fields``/``limit_request_field_size``
    do not apply: this handler (gevent's pywsgi underneath) parses requests, not gunicorn.
    """

    header_timeout: float = 10.0
    keepalive_timeout: float = 5.0
    max_message_bytes: int = 1048576
    frames_per_second: int = 200
    linger: float = 3.0
    max_request_line: int = 8190
    max_header_bytes: int = 16384
    max_query_params: int = 100

    @classmethod
    def from_settings(cls, settings: Settings, keepalive: float) -> ServerLimits:
        return cls(
            header_timeout=settings.header_timeout,
            keepalive_timeout=keepalive,
            max_message_bytes=settings.max_body_bytes,
            frames_per_second=settings.ws_frames_per_second,
            max_request_line=settings.max_request_line,
            max_header_bytes=settings.max_header_bytes,
            max_query_params=settings.max_query_params,
        )


class RequestLimitError(ValueError):
    """A request over one of the limits above, refused before the app sees it; ``status`` is
    the reply's (414, 431, 400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_request_line(line: bytes, limit: int) -> None:
    """Refuse (414) a request line longer than ``limit`` bytes, its line ending not counted."""
    if len(line.rstrip(b"\r\n")) > limit:
        raise RequestLimitError(414, f"request line longer than {limit} bytes")


def check_query_params(request_line: str, limit: int) -> None:
    """Refuse (400) a request whose URL holds more than ``limit`` query parameters (``&`` or
    ``;``-separated, empty ones not counted)."""
    words = request_line.split()
    target = words[1] if len(words) > 1 else ""
    query = target.partition("?")[2].partition("#")[0]
    if not query:
        return
    count = sum(1 for part in query.replace(";", "&").split("&") if part)
    if count > limit:
        raise RequestLimitError(400, f"too many query parameters: {count}, at most {limit} allowed")


class HeaderBudget:
    """The connection's reader as the header parser sees it: counts the bytes of the header
    section and refuses (431) once they pass ``limit``, before reading further."""

    def __init__(self, rfile: Any, limit: int) -> None:
        self._rfile = rfile
        self._left = limit
        self.limit = limit

    def readline(self, size: int = -1) -> bytes:
        want = self._left + 3 if size < 0 else min(size, self._left + 3)  # room for a final CRLF
        line: bytes = self._rfile.readline(want)
        if line in (b"\r\n", b"\n"):
            return line
        self._left -= len(line)
        if self._left < 0:
            raise RequestLimitError(431, f"request header fields larger than {self.limit} bytes")
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rfile, name)
