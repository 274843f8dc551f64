"""WebSocket endpoints, on gevent-websocket's socket object (``wsgi.websocket`` in the environ).

* Input side (``ws_path`` of an ``http_server`` input): every frame is one message pushed through
  the stream; the sync response (or a JSON error) comes back as a text frame.
* Output side (``ws_path`` of an ``http_server`` output): one frame per message, text when the
  payload is UTF-8 (unless ``ws_message_type: binary``); a ping goes out every ``ping_period``
  (the output's, else the heartbeat interval), busy or not, as Bento does; with ``pong_wait`` a
  client that sent nothing (no pong, no frame) for that long is closed, as Bento's read deadline
  does. A reader greenlet notices the client's close frame.

When the worker stops (the engine's ``GOING_AWAY`` reason) both sides close with 1001 (going
away; a push being processed still gets its reply first); any other end of a subscription closes
with 1013 (try again later).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent import Greenlet
from gevent.event import Event
from gevent.lock import Semaphore
from geventwebsocket.exceptions import WebSocketError
from geventwebsocket.websocket import WebSocket

from handlers.errors import error_body
from streams.engine.instance import StreamInstance
from streams.engine.shutdown import GOING_AWAY
from streams.message import Message

log = logging.getLogger("streams.http")

OPCODE_PING = 0x9
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013

CLOSE_GRACE = 1.0
"""Seconds a client has to answer a close frame the server sent (its own close frame, or any
frame already on its way) before the TCP connection is shut down regardless."""


def close_code(reason: str) -> int:
    """The close code for a subscription the engine ended with ``reason``."""
    return CLOSE_GOING_AWAY if reason == GOING_AWAY else CLOSE_TRY_AGAIN_LATER


def frame_payload(content: bytes, binary: bool) -> bytes | str:
    """Text frames for UTF-8 payloads (what browsers and wscat print), binary otherwise."""
    if binary:
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content


def serve_push(
    ws: WebSocket,
    instance: StreamInstance,
    *,
    timeout: float,
    metadata: dict[str, Any],
    check: Callable[[], bytes | None] | None = None,
) -> None:
    """Push every received frame through the stream and answer each with its sync response.

    ``check`` counts each message against the API's rate limit: a message it refuses is not
    pushed and is answered with the error frame it returns; the session goes on.

    On shutdown the session closes with 1001 at once when idle, or right after the reply to the
    push being processed."""
    busy = False
    leaving: list[str] = []
    send_lock = Semaphore()

    def leave(reason: str) -> None:
        leaving.append(reason)
        if not busy:
            _close(ws, send_lock, close_code(reason), reason)
            # The session's greenlet is waiting for a frame: the client's answer ends that wait
            # (and the session); this bounds it.
            gevent.spawn_later(CLOSE_GRACE, _shut_down_tcp, ws)

    token: int | None = None
    try:
        token = instance.on_shutdown(leave)
        while not leaving:
            frame = ws.receive()
            if frame is None or leaving:
                if leaving:  # the client answered the close frame the server sent
                    _shut_down_tcp(ws)
                return  # a frame read after the close frame went out is not pushed: no reply could follow
            refused = check() if check is not None else None
            if refused is not None:
                with send_lock:
                    ws.send(refused.decode())
                continue
            busy = True
            content = frame.encode("utf-8") if isinstance(frame, str) else bytes(frame)
            result = instance.push(Message(content, metadata), timeout)
            with send_lock:
                if result.status == 200:
                    if result.body:
                        ws.send(frame_payload(result.body, binary=False))
                else:
                    ws.send(error_body(result.status, result.error or "push failed").decode())
            busy = False
        _close(ws, send_lock, close_code(leaving[0]), leaving[0])
        _await_answer(ws)
        _shut_down_tcp(ws)
    except Exception as exc:  # a dead socket ends the session; anything else is logged
        if not leaving and not _is_disconnect(exc):
            log.exception("websocket push session failed")
    finally:
        if token is not None:
            instance.forget(token)
        instance.release()


@dataclass(frozen=True)
class KeepAlive:
    """When to ping a WebSocket client and when to give up on a silent one (no I/O)."""

    ping_period: float
    pong_wait: float = 0.0
    """0: never give up."""

    @classmethod
    def of(cls, ping_period: float, pong_wait: float) -> KeepAlive:
        """Pings must come more often than ``pong_wait``, or a healthy client that only answers
        pings would be closed: Bento's defaults keep them at 54s for 60s, so does this."""
        if pong_wait > 0 and ping_period >= pong_wait:
            ping_period = pong_wait * 0.9
        return cls(ping_period, pong_wait)

    def wait(self, now: float, next_ping: float, last_heard: float) -> float:
        """How long to wait for a message before the next ping or the pong deadline."""
        until = next_ping - now
        if self.pong_wait > 0:
            until = min(until, last_heard + self.pong_wait - now)
        return max(0.0, until)

    def silent_too_long(self, now: float, last_heard: float) -> bool:
        return self.pong_wait > 0 and now - last_heard >= self.pong_wait


def serve_subscription(ws: WebSocket, instance: StreamInstance, *, keepalive: KeepAlive, binary: bool) -> None:
    """Send the subscription's messages as frames until either side closes.

    The caller's reference on ``instance`` is released here whatever happens, a refused
    ``subscribe`` included (an instance still referenced is never idle-closed)."""
    try:
        subscription = instance.subscribe(None)
    except BaseException:
        instance.release()
        raise
    send_lock = Semaphore()
    closed = Event()

    def read_until_close() -> None:
        # Frames from the client are not messages here; reading them lets gevent-websocket
        # answer pings and tells us when the client is gone.
        try:
            while ws.receive() is not None:
                pass
        except Exception:
            pass
        closed.set()
        subscription.close()

    reader: Greenlet | None = None
    delivery = None
    next_ping = time.monotonic() + keepalive.ping_period
    try:
        reader = gevent.spawn(read_until_close)
        while not closed.is_set():
            now = time.monotonic()
            last_heard = getattr(ws, "last_heard", now)
            if keepalive.silent_too_long(now, last_heard):
                log.info("websocket client silent for %gs (pong_wait): closed", keepalive.pong_wait)
                _close_and_end(ws, send_lock, CLOSE_NORMAL, f"no pong within {keepalive.pong_wait:g}s", closed)
                return
            if now >= next_ping:
                with send_lock:
                    ws.send_frame(b"", OPCODE_PING)
                next_ping = now + keepalive.ping_period
            delivery = subscription.get(keepalive.wait(now, next_ping, last_heard))
            if delivery is None:
                if subscription.closed_reason:
                    reason = subscription.closed_reason
                    _close_and_end(ws, send_lock, close_code(reason), reason, closed)
                    return
                continue
            with send_lock:
                ws.send(frame_payload(delivery.content, binary))
            delivery.ack()
            delivery = None
    except Exception as exc:
        if not _is_disconnect(exc):
            log.exception("websocket subscription failed")
    finally:
        if delivery is not None:
            delivery.nack()
        subscription.close()
        if reader is not None:
            reader.kill(block=False)
        instance.release()


def _close(ws: WebSocket, lock: Semaphore, code: int, reason: str) -> None:
    """Send a close frame with ``code`` and ``reason`` (the server's GatewayWebSocket sends
    both, once), after any frame being written."""
    try:
        with lock:
            ws.close(code, reason)
    except Exception:
        pass


def _close_and_end(ws: WebSocket, lock: Semaphore, code: int, reason: str, answered: Event) -> None:
    """A close the server starts while a reader greenlet listens: the close frame, then the
    TCP shutdown once the reader heard the client's answer (``answered``) or after
    ``CLOSE_GRACE``."""
    _close(ws, lock, code, reason)
    answered.wait(CLOSE_GRACE)
    _shut_down_tcp(ws)


def _await_answer(ws: WebSocket) -> None:
    """Wait (at most ``CLOSE_GRACE``) until the client sends anything after the server's close
    frame: its own close frame, or a frame it wrote before it read ours. The socket object reads
    nothing after ``close``, so the connection's buffered reader is watched directly."""
    rfile = getattr(getattr(ws, "handler", None), "rfile", None)
    if rfile is None:
        return
    with gevent.Timeout(CLOSE_GRACE, False):
        try:
            rfile.read(1)
        except (OSError, ValueError):
            pass


def _shut_down_tcp(ws: WebSocket) -> None:
    """After a close the server started and the client answered (or had ``CLOSE_GRACE`` to),
    end the TCP connection now rather than when the request finishes: the rest
    of the request (releasing the instance, middleware, the access log) can take a while on a
    busy worker, and a client's writes meanwhile would land in a connection nobody reads. FIN
    goes after what is already written (the close frame); later data from the client is answered
    with a reset, so its writes fail instead of vanishing."""
    sock = getattr(getattr(ws, "handler", None), "socket", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


def _is_disconnect(exc: Exception) -> bool:
    return isinstance(exc, (WebSocketError, OSError, ConnectionError))
