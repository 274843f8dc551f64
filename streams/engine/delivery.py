"""What the engine hands to the HTTP layer: push results, deliveries and subscriptions.

A ``Delivery`` is one message on its way to a client. The handler calls ``ack()`` once it wrote
the message and ``nack()`` when the client went away first; the engine commits broker offsets
only for acknowledged messages (DESIGN §4, promise 2). A ``Subscription`` is one live stream
connection (SSE, WS, chunked) with a bounded queue: a client that falls ``client_queue``
messages behind is cut off (``closed_reason = "slow client"``) so it can never block the others
or grow memory (promise 6); it reconnects with ``Last-Event-ID`` and resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent.queue

from streams.engine.ledger import ClientLedger

_CLOSED: Any = object()


@dataclass
class PushResult:
    """The HTTP answer to a push: 200 + sync response, 502 output failed, 408 timed out, ..."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class Delivery:
    """One message for one client; exactly one of ``ack``/``nack`` takes effect.

    ``parts``: for a GET of a record the processors made several messages of, the content of
    each (``content`` and ``metadata`` are the first's); the batch is acknowledged as a whole.
    """

    __slots__ = ("_done", "_on_ack", "_on_nack", "content", "event_id", "metadata", "parts")

    def __init__(
        self,
        content: bytes,
        metadata: dict[str, Any],
        event_id: str,
        on_ack: Callable[[], None] | None = None,
        on_nack: Callable[[], None] | None = None,
        parts: tuple[bytes, ...] | None = None,
    ) -> None:
        self.content = content
        self.parts = parts if parts is not None else (content,)
        self.metadata = metadata
        self.event_id = event_id
        self._on_ack = on_ack
        self._on_nack = on_nack
        self._done = False

    def ack(self) -> None:
        """The message was written to the client."""
        if not self._done:
            self._done = True
            if self._on_ack:
                self._on_ack()

    def nack(self) -> None:
        """The client went away before the message was written: it must not be lost."""
        if not self._done:
            self._done = True
            if self._on_nack:
                self._on_nack()

    def __repr__(self) -> str:
        return f"Delivery({self.event_id}, {self.content!r})"


class Subscription:
    """One attached stream client: a bounded queue the instance offers messages to.

    Its ``ledger`` remembers, per ``(topic, partition)``, the offsets queued but not yet
    acknowledged (bounded by the queue), so the hub can commit the lowest position every attached
    client acknowledged.
    """

    def __init__(self, limit: int, on_close: Callable[[Subscription], None] | None = None) -> None:
        self.limit = max(1, limit)
        # One slot more than the limit, so ``close`` can always wake a blocked ``get``.
        self._queue: gevent.queue.Queue = gevent.queue.Queue(self.limit + 1)
        self._on_close: list[Callable[[Subscription], None]] = [on_close] if on_close else []
        self._on_handed: Callable[[], None] | None = None
        self.closed_reason: str | None = None
        self.closed = False
        self.ledger = ClientLedger()

    def on_close(self, callback: Callable[[Subscription], None]) -> None:
        """Call ``callback(self)`` when the subscription closes (after the hub's own)."""
        self._on_close.append(callback)

    def on_handed(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` for every message ``get`` hands to the client (the stream's
        ``output_sent`` count)."""
        self._on_handed = callback

    def offer(self, delivery: Delivery, key: tuple[str, int] | None = None, offset: int = -1) -> bool:
        """Queue a delivery without waiting; a full queue closes this subscription as a slow client."""
        if self.closed:
            return False
        if self._queue.qsize() >= self.limit:
            self.close("slow client")
            return False
        if key is not None:
            self.ledger.queued(key, offset)
        self._queue.put_nowait(delivery)
        return True

    def get(self, timeout: float | None = None) -> Delivery | None:
        """The next message, or None when nothing came within ``timeout`` or the stream closed."""
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None
        if item is _CLOSED or self.closed:
            return None
        if self._on_handed is not None:
            self._on_handed()
        return item

    def close(self, reason: str | None = None) -> None:
        """Detach from the instance; queued, unacknowledged messages are not committed."""
        if self.closed:
            return
        self.closed = True
        self.closed_reason = reason
        try:
            self._queue.put_nowait(_CLOSED)
        except gevent.queue.Full:
            pass
        for callback in self._on_close:
            callback(self)


class Hub(Protocol):
    """What serves the clients of an ``http_server`` output (``streams.engine.hub.BrokerHub``,
    chosen by ``StreamInstance``): a GET's next message, live stream clients, and its life."""

    def pull(self, timeout: float) -> Delivery | None: ...

    def subscribe(self, last_event_id: str | None = None) -> Subscription: ...

    def pin_start(self) -> None: ...

    @property
    def clients(self) -> int: ...

    def close(self, reason: str = "stream closed") -> None: ...
