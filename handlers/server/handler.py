"""``GatewayHandler``: the gateway's HTTP/1.1 connection handler (a gevent pywsgi handler).

gevent's pywsgi parses requests leniently and trusts clients with time; a gateway facing the
internet cannot. On top of pywsgi this handler

* holds the request line, the header section and the query to ``ServerLimits`` (414, 431,
  400 with a JSON body, then close);
* reads a request's framing strictly (``handlers.server.framing``): ambiguous or malformed
  ``Content-Length``/``Transfer-Encoding`` is answered with a JSON 400 (501 for an unknown
  coding) and the connection is closed, so nothing after it (a smuggled request) is served;
* bounds the time to send request headers (``ServerLimits.header_timeout``, slowloris: 408 and
  close) and the silence allowed between kept-alive requests (``keepalive_timeout``: closed);
* switches to WebSocket only when the app asks for it (``handlers.server.upgrade``), so an
  upgrade to an unknown path gets the app's 404 and never a 101;
* serves WebSockets with :class:`GatewayWebSocket` (message size, frame rate, fast unmasking);
* closes a refused or finished connection with a linger: the write side is shut first and what
  the client still sends is read and dropped for a moment, so the client reads our reply or
  close frame instead of a connection reset.

Errors written here (before or outside the app) use the gateway's JSON shape
``{"error": ..., "status": ...}``.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import time
from collections.abc import Callable
from http import HTTPStatus
from http.client import HTTPException
from typing import Any, ClassVar

from gevent import Timeout
from geventwebsocket.websocket import Stream
from gunicorn.workers.ggevent import PyWSGIHandler

from handlers.delivery_body import HEAD_APART_KEY, STREAM_BODY_KEY
from handlers.server.connection import GatewayWebSocket
from handlers.server.framing import FramingError, request_framing
from handlers.server.handshake import SUPPORTED_VERSION, accept_headers, is_upgrade
from handlers.server.headers import parse_header_section
from handlers.server.limits import (
    HeaderBudget,
    RequestLimitError,
    ServerLimits,
    check_query_params,
    check_request_line,
)
from handlers.server.upgrade import UPGRADE_KEY
from streams.logformat import redact

log = logging.getLogger("streams.http")
refusals = logging.getLogger("streams.http.server")
"""Requests refused before the app saw them (the same logger as the server's own error output)."""

_LINGER_BUFFER = 65536
COALESCE_BYTES = 16384
"""The largest first body chunk sent in one write with the reply's head (copied once into
it); a larger one goes in a write of its own, as pywsgi does."""
READ_BUFFER_BYTES = 2048
"""Each connection's read buffer. PERF: an idle SSE or WebSocket client keeps its buffer for
hours; Python's default (8 KiB) was a third of such a connection's memory. A request's line and
headers are read in as many refills as they need, and a body larger than the buffer is read
straight into place, so a small buffer costs a refill or two on large headers only."""


OWN_STATE = ("_accepted_at", "_header_timer", "_held", "_requests", "_websocket")
"""``GatewayHandler``'s own attributes."""

PYWSGI_STATE = (
    "_orig_status", "application", "client_address", "close_connection", "code", "command",
    "connection_upgraded", "content_length", "environ", "headers", "headers_sent", "path",
    "provided_content_length", "provided_date", "request_version", "requestline", "response_headers",
    "response_length", "response_use_chunked", "result", "rfile", "server", "socket", "status",
    "time_finish", "time_start", "wsgi_input",
)
"""The attributes pywsgi's handler sets on itself, held in slots here too. PERF: without
them every connection's handler got a dict of its own, 1.6 KiB for as long as the connection
stays (an idle stream client's, for hours): its 27 attributes and ours overflowed the table of
names instances of a class share. In slots they take 8 bytes each. ``__init__`` starts them at
pywsgi's class-level defaults, which the slots hide. NOTE: named, not written inline, so mypy,
which cannot see the ``__dict__`` of pywsgi's untyped handler, does not hold pywsgi's own
attributes to these slots."""

_PYWSGI_DEFAULTS = tuple(
    (name, getattr(PyWSGIHandler, name)) for name in PYWSGI_STATE if hasattr(PyWSGIHandler, name)
)


_CLOSED_READER = io.BufferedReader(io.BytesIO())
_CLOSED_READER.close()
"""What a stream client's handler reads from once its reply is under way (``_close_read_buffer``)."""

_ERROR_CONTEXT = ("REQUEST_METHOD", "PATH_INFO", STREAM_BODY_KEY)
"""What a stream client's environ keeps once its reply is under way (``_shed_request``)."""


class HeaderTimeout(Timeout):
    """The deadline for one request's line and headers, told apart from any other ``Timeout``
    by its type. PERF: not by identity: a local naming the timer would stay alive in the frame
    that runs the request, with its closed loop timer, for as long as a stream lasts. Each
    connection has one at a time, cancelled once the headers are read."""


def error_reply(status: int, message: str) -> bytes:
    """A complete HTTP response with the gateway's JSON error body, closing the connection."""
    body = json.dumps({"error": message, "status": status}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class GatewayHandler(PyWSGIHandler):
    """One client connection: its requests in turn, or one WebSocket session."""

    __slots__ = OWN_STATE + PYWSGI_STATE

    limits: ClassVar[ServerLimits] = ServerLimits()
    #: Tells handlers/serverlog.py that client errors already come out as one line.
    _streams_client_errors: ClassVar[bool] = True

    @classmethod
    def configured(cls, limits: ServerLimits) -> type[GatewayHandler]:
        """A handler class holding ``limits`` (the server builds one handler per connection)."""
        return type(cls.__name__, (cls,), {"limits": limits})

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        for name, default in _PYWSGI_DEFAULTS:
            setattr(self, name, default)
        if rfile is None:
            rfile = sock.makefile("rb", READ_BUFFER_BYTES)
        super().__init__(sock, address, server, rfile)
        self._accepted_at = time.monotonic()
        self._requests = 0
        self._header_timer: HeaderTimeout | None = None
        self._websocket: GatewayWebSocket | None = None
        self._held: bytearray | None = None

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            # pywsgi pops these from the instance's dict when the connection ends; here they
            # are slots, so they are let go of the same way.
            for name in ("socket", "rfile", "wsgi_input"):
                setattr(self, name, None)

    # -- one request: waiting, header deadline, strict framing ------------------------------
    def handle_one_request(self) -> Any:
        if not self._await_request():
            return None
        try:
            result = super().handle_one_request()
        except HeaderTimeout:
            log.info("request headers from %s not complete within %gs", self.client_address, self.limits.header_timeout)
            result = ("408", error_reply(408, f"request headers not received within {self.limits.header_timeout:g}s"))
        except RequestLimitError as exc:  # the request line (read_requestline)
            result = self._handle_client_error(exc)
        finally:
            self._cancel_header_timer()
            self._requests += 1
        if isinstance(result, tuple):
            self._refuse(*result)
            return None
        return result

    def _await_request(self) -> bool:
        """Wait for the next request's first byte, then start its header deadline.

        The first request's deadline runs from the connection's start (a client that connects
        and sends nothing is a slowloris too); later ones from their first byte, after at most
        ``keepalive_timeout`` of silence."""
        first = self._requests == 0
        if not first and self.limits.keepalive_timeout <= 0:
            return False
        wait = self.limits.header_timeout if first else self.limits.keepalive_timeout
        peeked = b""
        with Timeout(wait, False):
            try:
                peeked = self.rfile.peek(1)
            except (OSError, ValueError):  # reset, or the file closed under us
                peeked = b""
        if not peeked:
            return False
        budget = self.limits.header_timeout
        if first:
            budget -= time.monotonic() - self._accepted_at
        self._header_timer = HeaderTimeout.start_new(max(budget, 0.001))
        return True

    def read_requestline(self) -> str:
        """The request line, refused with 414 over ``max_request_line`` (pywsgi's own limit, a
        bare 414 without a body, is never reached: the setting stays below it)."""
        line: bytes = self.rfile.readline(self.limits.max_request_line + 2)
        check_request_line(line, self.limits.max_request_line)
        text = line.decode("latin-1")
        # NOTE: without its line ending, so a line of 8190 bytes stays under pywsgi's own check;
        # a blank line keeps it (stripped, it would read as the end of the connection).
        return text.rstrip("\r\n") or text

    def read_request(self, raw_requestline: str) -> bool:
        try:
            check_query_params(raw_requestline, self.limits.max_query_params)
            return bool(super().read_request(raw_requestline))
        finally:
            self._cancel_header_timer()  # the body and the app have their own timeouts

    def MessageClass(self, *args: Any) -> Any:  # noqa: N802 - pywsgi's name
        """Parse the header fields, then hold them to ``request_framing`` (raises FramingError).

        A valid list of identical ``Content-Length`` values is left as one value, the only
        form pywsgi and the app read."""
        headers = parse_header_section(HeaderBudget(args[0], self.limits.max_header_bytes))
        if headers.status:  # one field line over 64 KiB (only when max_header_bytes allows that)
            raise RequestLimitError(431, "a request header field is longer than 65536 bytes")
        framing = request_framing(self.request_version, headers.raw_items(), malformed=bool(headers.defects))
        if framing.content_length is not None:
            del headers["Content-Length"]
            headers["Content-Length"] = str(framing.content_length)
        return headers

    def _handle_client_error(self, ex: Exception) -> tuple[str, bytes]:
        if isinstance(ex, (FramingError, RequestLimitError)):
            status, message = ex.status, ex.message
        elif isinstance(ex, HTTPException) and str(ex).startswith("got more than"):
            status, message = 431, "too many request header fields (at most 100)"
        else:
            status, message = 400, "malformed request"
        refusals.warning("invalid request from %s: %s", self.client_address[0], redact(str(ex)))
        return str(status), error_reply(status, message)

    def _refuse(self, status: str, reply: bytes) -> None:
        self.status = status
        try:
            self.socket.sendall(reply)
        except OSError:
            return
        self._linger()

    def log_request(self) -> None:
        """An access line only when the operator asked gunicorn for one (``--access-logfile``):
        the gateway's own per-request lines are the APIs' ``trafficLogs``, which hide query values
        and credentials; gunicorn's would otherwise print every URL in full."""
        if self._access_log():
            super().log_request()

    def _access_log(self) -> bool:
        return bool(getattr(getattr(self.server.log, "cfg", None), "accesslog", None))

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.close()
            self._header_timer = None

    # -- replies: the head and a small first chunk in one write -------------------------------
    def _write_with_headers(self, data: bytes) -> None:
        """pywsgi sends the status line and headers, then the body's first chunk, in two
        writes: two packets, and two wake-ups of the client, for every small reply. A first
        chunk up to ``COALESCE_BYTES`` goes out with the head in one write instead (PERF:
        about one system call less per push). pywsgi still frames it (chunked or not); its
        writes are only held and sent together. NOTE: never for a reply the app marked with
        ``HEAD_APART_KEY`` (a GET's delivery, acknowledged once its body is written)."""
        if not data or len(data) > COALESCE_BYTES or self.environ.get(HEAD_APART_KEY):
            super()._write_with_headers(data)
        else:
            self._held = bytearray()
            try:
                super()._write_with_headers(data)
            finally:
                held, self._held = self._held, None
            super()._sendall(held)
        stream = bool(self.environ.get(STREAM_BODY_KEY))
        if not self._access_log():
            # PERF: sent, and nothing reads them again but gunicorn's access line: an idle
            # SSE client kept about 2 KiB of encoded header pairs for as long as it stayed.
            self.response_headers: list[tuple[bytes, bytes]] = []
            if stream:
                self._shed_request()
        if stream:
            self._close_read_buffer()

    def _shed_request(self) -> None:
        """A stream client's request was read and answered once its reply's head is sent:
        pywsgi reads its parsed headers and its environ again only for gunicorn's access line
        (off here) and, for the environ, to name the request in a server error's log line
        (``handlers.serverlog``: method and path). PERF: the two held about 2 KiB (every
        header twice, the WSGI keys) for as long as the client stays."""
        environ = self.environ
        self.environ: dict[str, Any] = {key: environ[key] for key in _ERROR_CONTEXT if key in environ}
        self.headers = PyWSGIHandler.headers

    def _close_read_buffer(self) -> None:
        """A stream client's reply is under way and ends only with the connection: nothing
        will be read from the client any more (its leaving is seen on the socket itself,
        ``handlers.streaming``), so the read buffer is closed, which frees it (PERF: 2 KiB per
        idle stream client). pywsgi ends the connection after the reply when it finds the file
        closed. Kept open when a request body is still unread, which pywsgi reads out after the
        reply."""
        wsgi_input = self.wsgi_input
        if wsgi_input is not None and (wsgi_input.chunked_input or wsgi_input.position < (wsgi_input.content_length or 0)):
            return
        self.rfile.close()
        # The closed file and its socket wrapper go too (about 300 bytes); what reads it
        # next finds it closed all the same.
        self.rfile: Any = _CLOSED_READER
        if wsgi_input is not None:
            wsgi_input.rfile = _CLOSED_READER

    def process_result(self) -> None:
        """pywsgi's, but a body that writes itself (``write_to``, ``handlers.streaming``) is
        run by a plain call rather than iterated. PERF: an idle stream client's greenlet then
        waits for its next message without a generator's C frame under it (384 bytes of C stack
        kept per idle client)."""
        write_to = getattr(self.result, "write_to", None)
        if write_to is None:
            super().process_result()
            return
        write_to(self.write)
        if self.status and not self.headers_sent:
            self.write(b"")  # as pywsgi: a body that wrote nothing still sends the head
        if self.response_use_chunked:
            self._sendall(b"0\r\n\r\n")

    def _sendall(self, data: bytes) -> None:
        if self._held is not None:
            self._held += data
            return
        super()._sendall(data)

    # -- WebSocket: upgrade only when the app asks ---------------------------------------------
    def run_application(self) -> None:
        if not is_upgrade(self.environ):
            super().run_application()
            return
        self.close_connection = True
        self.environ[UPGRADE_KEY] = self._accept_websocket
        try:
            self.result = self.application(self.environ, self._start_response_until_upgraded)
            if self._websocket is None:  # the app answered over HTTP: 404, 400, 405, ...
                self.process_result()
        finally:
            close = getattr(self.result, "close", None)
            self.result = None
            try:
                if close is not None:
                    close()
            finally:
                if self._websocket is not None:
                    self._end_websocket(self._websocket)

    def _start_response_until_upgraded(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """The app's start_response: ignored once the connection is a WebSocket (the app's
        HTTP reply after a session has nowhere to go), except that a server error after the
        101 (the stream refused the subscription, say) closes the socket with 1013 (503: try
        again later) or 1011 instead of a plain 1000."""
        if self._websocket is not None:
            code = int(status.split(" ", 1)[0])
            if code >= 500 and not self._websocket.closed:
                self._websocket.close(1013 if code == 503 else 1011, status)
            return _discard
        return self.start_response(status, headers, exc_info)

    def _accept_websocket(self) -> GatewayWebSocket:
        if self._websocket is not None:
            return self._websocket
        headers = accept_headers(self.environ)  # raises HandshakeError before anything is sent
        self.start_response("101 Switching Protocols", headers)
        self.write(b"")  # sends the status line and headers now; a 101 has no body
        ws = GatewayWebSocket(
            self.environ,
            Stream(self),
            self,
            max_message_bytes=self.limits.max_message_bytes,
            frames_per_second=self.limits.frames_per_second,
        )
        self._websocket = ws
        self.environ["wsgi.websocket"] = ws
        self.environ["wsgi.websocket_version"] = SUPPORTED_VERSION
        return ws

    def _end_websocket(self, ws: GatewayWebSocket) -> None:
        if not ws.closed:
            try:
                ws.close(1000, "")
            except Exception:
                pass
        self._linger()

    def _linger(self) -> None:
        """Shut our side, then drop what the client still sends until it closes or
        ``limits.linger`` passes (RFC 9112 §9.6: avoids a reset eating our last reply)."""
        sock = self.socket
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        buf = bytearray(_LINGER_BUFFER)
        with Timeout(self.limits.linger, False):
            try:
                while sock.recv_into(buf):
                    pass
            except OSError:
                pass


def _discard(data: bytes) -> None:
    return None
