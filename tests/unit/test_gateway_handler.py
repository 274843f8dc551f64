"""``GatewayHandler`` in process: a gevent WSGI server on a loopback port with small WSGI apps,
driven by a real client socket (the e2e tests cover it under gunicorn with the gateway app)."""

from __future__ import annotations

import gc
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.event
import pytest
from gevent.pywsgi import WSGIHandler, WSGIServer
from gunicorn.workers.ggevent import PyWSGIHandler

from handlers.delivery_body import HEAD_APART_KEY, STREAM_BODY_KEY
from handlers.server.handler import COALESCE_BYTES, GatewayHandler
from handlers.server.limits import ServerLimits
from handlers.server.upgrade import accept_websocket

UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class AccessLog:
    """What gunicorn's handler logs through (``server.log.access``); nothing is kept."""

    def write(self, msg: str) -> None:
        pass

    def access(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., int]]:
    servers: list[WSGIServer] = []

    def start(app: Callable[..., Any], log: AccessLog | None = None, **limits: Any) -> int:
        handler = GatewayHandler.configured(ServerLimits(**limits))
        server = WSGIServer(("127.0.0.1", 0), app, handler_class=handler, log=log or AccessLog(), error_log=None)
        server.start()
        servers.append(server)
        return server.server_port

    yield start
    for server in servers:
        server.stop(timeout=1)


def exchange(port: int, data: bytes, timeout: float = 10.0) -> tuple[bytes, bool]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received, False
        return received, True


def test_a_server_error_after_the_upgrade_closes_1013(serve):
    def app(environ, start_response):
        accept_websocket(environ)
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [b'{"error": "refused"}']

    reply, closed = exchange(serve(app), UPGRADE)
    head, frames = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101 ") and closed
    assert frames[0] == 0x88 and struct.unpack("!H", frames[2:4])[0] == 1013
    assert b"refused" not in frames  # the HTTP body never follows a 101


def test_an_upgrade_the_app_does_not_accept_gets_its_reply(serve):
    def app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    reply, closed = exchange(serve(app), UPGRADE)
    assert reply.startswith(b"HTTP/1.1 404 ") and reply.endswith(b"\r\n\r\n{}") and closed


def test_ambiguous_framing_never_reaches_the_app(serve):
    calls = []

    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    port = serve(app)
    reply, closed = exchange(port, b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 03\r\n\r\nabc")
    assert reply.startswith(b"HTTP/1.1 200 ")  # identical values (3 and 03) are one length
    reply, closed = exchange(port, b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    assert reply.startswith(b"HTTP/1.1 400 ") and closed
    assert calls == ["/a"]


def test_keepalive_zero_closes_after_each_response(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    reply, closed = exchange(serve(app, keepalive_timeout=0), b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 2)
    assert reply.count(b"HTTP/1.1 200 ") == 1 and closed


def test_headers_slower_than_the_deadline_get_408_and_close(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    reply, closed = exchange(serve(app, header_timeout=0.3), b"GET / HTTP/1.1\r\nHost: t\r\n")
    assert reply.startswith(b"HTTP/1.1 408 ") and closed
    assert reply.endswith(b'{"error": "request headers not received within 0.3s", "status": 408}')


def test_a_timeout_of_the_app_is_no_header_timeout(serve):
    def app(environ, start_response):
        with gevent.Timeout(0.01):
            gevent.sleep(1)
        return []

    reply, closed = exchange(serve(app, header_timeout=5), b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 500 ") and closed


def test_a_handler_keeps_its_own_state_out_of_its_attribute_dict(serve):
    handlers: list[Any] = []

    def app(environ, start_response):
        handlers.extend(o for o in gc.get_referrers(environ) if isinstance(o, GatewayHandler))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    exchange(serve(app), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    # pywsgi's attributes and ours live in slots: a connection's handler holds no dict of its
    # own (1.6 KiB for the connection's life when its attributes overflowed the shared keys).
    assert handlers and vars(handlers[0]) == {}
    assert handlers[0].socket is None and handlers[0].rfile is None  # let go of at the end, as pywsgi does


@pytest.fixture
def socket_writes(monkeypatch) -> list[bytes]:
    """Every write pywsgi's handlers make to a client socket, in order."""
    writes: list[bytes] = []
    send = WSGIHandler._sendall

    def recording(self: Any, data: bytes) -> None:
        writes.append(bytes(data))
        send(self, data)

    monkeypatch.setattr(WSGIHandler, "_sendall", recording)
    return writes


@pytest.mark.parametrize("chunked", [False, True])
def test_a_small_reply_leaves_in_one_write_with_its_head(serve, socket_writes, chunked):
    body = b'{"job_id": "1"}'

    def app(environ, start_response):
        start_response("200 OK", [] if chunked else [("Content-Length", str(len(body)))])
        return iter([body]) if chunked else [body]  # pywsgi counts a one-item list's length

    reply, closed = exchange(serve(app), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    framed = b"f\r\n" + body + b"\r\n" if chunked else body
    assert closed and reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert socket_writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and socket_writes[0].endswith(b"\r\n\r\n" + framed)
    assert socket_writes[1:] == ([b"0\r\n\r\n"] if chunked else [])
    assert b"".join(socket_writes) == reply


def test_a_large_first_chunk_is_not_copied_into_the_head(serve, socket_writes):
    body = b"x" * (COALESCE_BYTES + 1)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    reply, closed = exchange(serve(app), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert closed and reply.endswith(b"\r\n\r\n" + body)
    assert len(socket_writes) == 2 and socket_writes[0].endswith(b"\r\n\r\n") and socket_writes[1] == body


def test_a_reply_marked_head_apart_is_written_as_pywsgi_writes_it(serve, socket_writes):
    # A GET's delivery is acknowledged once its body's write succeeds: in one write with the
    # head, a client that had left would not make it fail (handlers/delivery_body.py).
    def app(environ, start_response):
        environ[HEAD_APART_KEY] = True
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    reply, closed = exchange(serve(app), b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert closed and reply.endswith(b"\r\n\r\nok")
    assert len(socket_writes) == 2 and socket_writes[0].endswith(b"\r\n\r\n") and socket_writes[1] == b"ok"


class RecordingAccessLog(AccessLog):
    """An access log the operator asked for (``--access-logfile``): keeps what it was given."""

    class cfg:  # noqa: N801 - gunicorn's attribute name
        accesslog = "-"

    def __init__(self) -> None:
        self.lines: list[tuple[Any, ...]] = []

    def access(self, *args: Any) -> None:
        self.lines.append(args)


def _open_stream(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    return sock


@pytest.mark.parametrize("access_log", [False, True])
def test_an_open_streams_handler_lets_go_of_the_headers_it_sent(serve, access_log):
    """An idle SSE client kept its reply's encoded headers for as long as it stayed; only
    gunicorn's access line reads them after the head is sent, so they stay when it is on."""
    handlers: list[Any] = []
    done = gevent.event.Event()

    def app(environ, start_response):
        handlers.extend(o for o in gc.get_referrers(environ) if isinstance(o, GatewayHandler))
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])

        def body() -> Iterator[bytes]:
            yield b": open\n\n"
            done.wait(10)

        return body()

    log = RecordingAccessLog() if access_log else AccessLog()
    port = serve(app, log=log)
    try:
        sock = _open_stream(port)
        gevent.sleep(0.05)
        (handler,) = handlers
        headers = dict(handler.response_headers)
        if access_log:
            assert headers[b"Content-Type"] == b"text/event-stream"
        else:
            assert headers == {}
        done.set()
        sock.close()
        gevent.sleep(0.05)
        if access_log:
            assert log.lines and dict(log.lines[0][0].headers)[b"Cache-Control"] == b"no-cache"
    finally:
        done.set()


def _stream_app(handlers: list[Any], done: gevent.event.Event, marked: bool = True) -> Callable[..., Any]:
    """A stream client's reply (marked ``STREAM_BODY_KEY`` as the gateway's streams are) that
    stays open until ``done``."""

    def app(environ, start_response):
        handlers.extend(o for o in gc.get_referrers(environ) if isinstance(o, GatewayHandler))
        environ[STREAM_BODY_KEY] = marked
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def body() -> Iterator[bytes]:
            yield b": open\n\n"
            done.wait(10)

        return body()

    return app


@pytest.mark.parametrize("marked", [True, False])
def test_a_stream_reply_frees_the_read_buffer_and_ends_the_connection(serve, marked):
    """Nothing is read from a stream client once its reply started: its read buffer is freed
    (closed) while it idles, and the connection ends with the stream, so a request the client
    sent behind it is not served. An unmarked reply keeps both, as pywsgi does."""
    handlers: list[Any] = []
    done = gevent.event.Event()
    port = serve(_stream_app(handlers, done, marked))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        (handler,) = handlers
        assert handler.rfile.closed is marked
        # Its request is let go of too, but for what names it in a server error's log line.
        if marked:
            assert handler.environ == {"REQUEST_METHOD": "GET", "PATH_INFO": "/", STREAM_BODY_KEY: True}
            assert handler.headers is PyWSGIHandler.headers
        else:
            assert handler.environ["HTTP_HOST"] == "t" and handler.headers["Host"] == "t"
        sock.sendall(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
        done.set()
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if not marked and received.count(b"HTTP/1.1 200 OK") == 1 and len(handlers) == 2:
                break
    assert len(handlers) == (1 if marked else 2)


def test_a_stream_reply_with_an_unread_body_keeps_its_read_buffer(serve):
    """pywsgi reads out a body the app left unread after the reply: the buffer stays for it."""
    handlers: list[Any] = []
    done = gevent.event.Event()
    port = serve(_stream_app(handlers, done))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        (handler,) = handlers
        assert not handler.rfile.closed
        done.set()


def test_a_stream_reply_keeps_its_request_for_the_access_line(serve):
    """With gunicorn's access log on, the line written when the stream ends names the request's
    headers: they stay."""
    handlers: list[Any] = []
    done = gevent.event.Event()
    log = RecordingAccessLog()
    port = serve(_stream_app(handlers, done), log=log)
    try:
        sock = _open_stream(port)
        gevent.sleep(0.05)
        (handler,) = handlers
        assert handler.rfile.closed and handler.environ["HTTP_HOST"] == "t"
        done.set()
        sock.close()
        gevent.sleep(0.05)
        assert log.lines and dict(log.lines[0][1])["Host"] == "t"
    finally:
        done.set()
