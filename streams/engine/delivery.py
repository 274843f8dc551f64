"""What the engine hands to the HTTP layer: push results, deliveries and subscriptions.

A ``Delivery`` is one message on its way to a client. The handler calls ``ack()`` once it wrote
the message and ``nack()`` when the client went away first; the engine commits broker offsets
only for acknowledged messages (DESIGN §4, promise 2). A ``Subscription`` is one live stream
connection (SSE, WS, chunked) with a bounded queue: a client that falls ``client_queue``
messages behind is cut off (``closed_reason = "slow client"``) so it can never block the others
or grow memory (promise 6); it reconnects with ``Last-Event-ID`` and resumes.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gevent.hub import Waiter, get_hub

from streams.engine.ledger import ClientLedger

_CLOSED: Any = object()
_EMPTY: Any = object()


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


class _Mailbox:
    """A queue with one kind of reader, in a fraction of ``gevent.queue.Queue``'s memory.

    PERF: every idle stream client holds one, and waits in it. A gevent ``Queue`` (three deques
    and its hub bookkeeping, about 3.7 KiB) was the largest part of an idle subscription. Items
    live in a deque made at the first offer. A reader waits on a ``Waiter`` of its own (a hub
    switch) rather than an ``Event``: a greenlet parked in ``Event.wait`` keeps 720 bytes more
    of C stack copied aside (3,640 against 2,920 under pywsgi), for every idle client."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: collections.deque[Any] | None = None
        self._waiters: list[Waiter] | None = None

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else 0

    def put(self, item: Any) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        """Wake the longest-waiting reader (from the hub: ``Waiter.switch`` runs only there)."""
        waiters = self._waiters
        if waiters:
            waiter = waiters.pop(0)
            if not waiters:
                self._waiters = None
            get_hub().loop.run_callback(waiter.switch, None)

    def get(self, timeout: float | None) -> Any:
        """The oldest item, or ``_EMPTY`` when none came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._items:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return _EMPTY
            self._wait(left)
        item = self._items.popleft()
        if self._items:
            self._wake_one()  # another reader (if any) takes the next one
        return item

    def _wait(self, timeout: float | None) -> None:
        """Until a ``put`` wakes this reader or ``timeout`` passes (the caller looks again)."""
        waiter = Waiter()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        timer = None
        if timeout is not None:
            timer = get_hub().loop.timer(timeout)
            timer.start(waiter.switch, None)
        try:
            waiter.get()
        except BaseException:
            if not self._forget(waiter) and self._items:
                self._wake_one()  # killed after a put woke it: that item is another reader's
            raise
        else:
            self._forget(waiter)  # timed out: still on the list
        finally:
            if timer is not None:
                timer.close()

    def _forget(self, waiter: Waiter) -> bool:
        """Take ``waiter`` off the list (it timed out, or was killed); False when not on it."""
        waiters = self._waiters
        if waiters is None or waiter not in waiters:
            return False
        waiters.remove(waiter)
        if not waiters:
            self._waiters = None
        return True


class Subscription:
    """One attached stream client: a bounded queue the instance offers messages to.

    Its ``ledger`` remembers, per ``(topic, partition)``, the offsets queued but not yet
    acknowledged (bounded by the queue), so the hub can commit the lowest position every attached
    client acknowledged.
    """

    # PERF: slotted: every stream client holds one for as long as it stays.
    __slots__ = ("limit", "_queue", "_on_close", "_on_handed", "closed_reason", "closed", "ledger")

    def __init__(self, limit: int, on_close: Callable[[Subscription], None] | None = None) -> None:
        self.limit = max(1, limit)
        # Bounded by ``offer`` (at ``limit``) and ``close`` (one more item, to wake a blocked ``get``).
        self._queue = _Mailbox()
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
        if len(self._queue) >= self.limit:
            self.close("slow client")
            return False
        if key is not None:
            self.ledger.queued(key, offset)
        self._queue.put(delivery)
        return True

    def get(self, timeout: float | None = None) -> Delivery | None:
        """The next message, or None when nothing came within ``timeout`` or the stream closed."""
        if self.closed:
            return None
        item = self._queue.get(timeout)
        if item is _EMPTY or item is _CLOSED or self.closed:
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
        self._queue.put(_CLOSED)
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
