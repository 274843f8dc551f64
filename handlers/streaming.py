"""Long-lived HTTP streams of a subscription: Server-Sent Events or newline-delimited messages.

The body (``SubscriptionBody``) hands the WSGI server its chunks one at a time. Each message is
acknowledged once the server took its chunk and asked for the next (it wrote it); a body closed
while a message is in flight hands it back. Heartbeat comments go out whenever nothing was sent for a
while, which both keeps proxies from timing out the connection and detects dead clients.

When the worker stops, the engine closes the subscription with ``GOING_AWAY``: an SSE stream
ends with a last ``retry:`` line (EventSource reconnects after that delay, to another worker or
the restarted gateway, and resumes with ``Last-Event-ID``); a newline-delimited stream just ends.
"""

from __future__ import annotations

import logging
import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

from gevent import monkey

from streams.engine.delivery import Delivery, Subscription
from streams.engine.instance import StreamInstance
from streams.engine.shutdown import GOING_AWAY

log = logging.getLogger("streams.http")

_POLL: Callable[[], Any] = monkey.get_original("select", "poll")
"""The operating system's ``poll``, not gevent's: asked with a zero timeout it never waits, and
unlike ``select`` it takes any descriptor (``select`` refuses those from 1024 up, which a worker
holding a thousand connections hands out)."""
_GONE_EVENTS = select.POLLHUP | select.POLLERR | select.POLLNVAL

SSE_RETRY_MS = 2000
SSE_DRAIN_RETRY_MS = 1000
"""Reconnect delay announced to EventSource clients of a stopping worker."""


def sse_event(event_id: str, content: bytes) -> bytes:
    """One SSE event; a multi-line payload becomes several ``data:`` lines, as the spec requires."""
    lines = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    data = b"".join(b"data: " + line + b"\n" for line in lines)
    return b"id: " + event_id.encode() + b"\n" + data + b"\n"


def ndjson_line(content: bytes) -> bytes:
    return content.replace(b"\n", b" ") + b"\n"


def peer_gone_check(sock: Any) -> Callable[[], bool]:
    """``check()`` is True once the client closed its side of ``sock`` (a read would end).

    A client that left is only noticed by a write that fails, and the first write after it
    left usually succeeds into the kernel's buffer: the message it carried would count as
    delivered to nobody, and a GET waiting elsewhere for the user's next message would never
    get it. Looking before each message (never waiting: a zero-timeout ``poll``, then a peek)
    hands such a message back instead. A client that sent bytes (it should not) counts as here.
    """
    if sock is None:
        return _never_gone
    return _PeerGone(sock)


def _never_gone() -> bool:
    return False


class _PeerGone:
    """``peer_gone_check``'s check. PERF: an object with one slot, not a closure (a function
    and its cell), as every idle stream client keeps one."""

    __slots__ = ("sock",)

    def __init__(self, sock: Any) -> None:
        self.sock = sock

    def __call__(self) -> bool:
        sock = self.sock
        try:
            poller = _POLL()
            poller.register(sock.fileno(), select.POLLIN)
            ready = poller.poll(0)
            if not ready:
                return False
            if ready[0][1] & _GONE_EVENTS:
                return True
            return sock.recv(1, socket.MSG_PEEK) == b""  # readable: at once, bytes or the end
        except (OSError, ValueError):  # reset or closed under us
            return True


def subscription_body(
    subscription: Subscription,
    instance: StreamInstance,
    *,
    sse: bool,
    heartbeat: float,
    peer_gone: Callable[[], bool] = _never_gone,
) -> SubscriptionBody:
    """The stream's chunks until the client leaves or the subscription is closed."""
    return SubscriptionBody(subscription, instance, sse, heartbeat, peer_gone)


class SubscriptionBody:
    """A stream client's reply body: an iterable of chunks any WSGI server drains, which the
    gateway's own server runs by ``write_to`` instead.

    PERF: an idle client's greenlet waits inside the body for its next message. Resumed as a
    generator from pywsgi's loop, the wait ran one interpreter call deeper in C, and the
    greenlet kept 384 more bytes of C stack copied aside while idle, besides the generator and
    its frame; ``write_to`` waits in plain calls (``handlers.server.handler``). Both drive the
    same steps: ``_next`` (the next chunk, None at the end), ``_written`` (the chunk reached
    the server, so its message counts as delivered) and ``close`` (a message still in flight is
    handed back; the subscription and the instance are let go of, once)."""

    __slots__ = ("_subscription", "_instance", "_sse", "_heartbeat", "_peer_gone", "_delivery", "_state")

    def __init__(
        self,
        subscription: Subscription,
        instance: StreamInstance,
        sse: bool,
        heartbeat: float,
        peer_gone: Callable[[], bool],
    ) -> None:
        self._subscription = subscription
        self._instance = instance
        self._sse = sse
        self._heartbeat = heartbeat
        self._peer_gone = peer_gone
        self._delivery: Delivery | None = None
        self._state = _OPENING

    def write_to(self, write: Callable[[bytes], None]) -> None:
        """Write every chunk with ``write`` (the server's), then end."""
        try:
            while (chunk := self._next()) is not None:
                write(chunk)
                self._written()
        finally:
            self.close()

    def __iter__(self) -> Iterator[bytes]:
        try:
            while (chunk := self._next()) is not None:
                yield chunk
                self._written()
        finally:
            self.close()

    def _next(self) -> bytes | None:
        sse = self._sse
        if self._state == _OPENING:
            # An opening chunk makes the server send the headers now, so clients see the stream
            # open before the first message (and EventSource learns the reconnect delay). NOTE:
            # not empty for a newline-delimited stream: the server sends nothing for an empty
            # chunk, and the client would wait for the headers until the first message; a blank
            # line is what its heartbeats send anyway.
            self._state = _STREAMING
            return (b"retry: %d\n\n" % SSE_RETRY_MS) if sse else b"\n"
        if self._state != _STREAMING:
            return None
        subscription = self._subscription
        delivery = subscription.get(self._heartbeat)
        if delivery is None:
            if not subscription.closed:
                return b": keepalive\n\n" if sse else b"\n"
            reason = subscription.closed_reason
            log.info("stream closed: %s", reason or "by the gateway")
            self._state = _ENDED
            return (b"retry: %d\n\n" % SSE_DRAIN_RETRY_MS) if sse and reason == GOING_AWAY else None
        self._delivery = delivery  # handed back by close() unless written
        if self._peer_gone():
            log.info("stream closed: the client left")
            self._state = _ENDED
            return None
        return sse_event(delivery.event_id, delivery.content) if sse else ndjson_line(delivery.content)

    def _written(self) -> None:
        delivery, self._delivery = self._delivery, None
        if delivery is not None:
            delivery.ack()

    def close(self) -> None:
        if self._state == _CLOSED:
            return
        self._state = _CLOSED
        delivery, self._delivery = self._delivery, None
        try:
            if delivery is not None:
                delivery.nack()
        finally:
            self._subscription.close()
            self._instance.release()


_OPENING, _STREAMING, _ENDED, _CLOSED = range(4)
"""A ``SubscriptionBody``'s steps: the opening chunk is next, messages are, nothing more is
(the last chunk went out, if any), and let go of."""
