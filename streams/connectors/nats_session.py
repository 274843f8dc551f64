"""The bookkeeping of a NATS connection, with no I/O: which PINGs wait for their PONG, which
subscriptions to send again after a reconnection, and how long to pause between attempts.
``nats_client`` drives these from its socket; the tests drive them alone."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Generic, TypeVar

from streams.connectors import nats_protocol as proto

T = TypeVar("T")


class Pings(Generic[T]):
    """PINGs sent and not answered yet. The server answers in order, so a PONG belongs to the
    oldest; each PING may carry a waiter (a flush) or none (a keep-alive)."""

    def __init__(self) -> None:
        self._waiting: collections.deque[T | None] = collections.deque()

    @property
    def outstanding(self) -> int:
        return len(self._waiting)

    def sent(self, waiter: T | None = None) -> None:
        self._waiting.append(waiter)

    def answered(self) -> T | None:
        """The waiter of the PING a PONG answers (None for a keep-alive, or an unasked PONG)."""
        return self._waiting.popleft() if self._waiting else None

    def reset(self) -> list[T]:
        """The connection is gone: the waiters that will never get their PONG."""
        waiters = [w for w in self._waiting if w is not None]
        self._waiting.clear()
        return waiters


@dataclass(frozen=True)
class Subscription:
    sid: int
    subject: str
    queue: str

    def frame(self) -> bytes:
        return proto.sub_frame(self.subject, self.sid, self.queue)


class Subscriptions:
    """The client's subscriptions by id; ids are never reused within a client, so a message of
    an old subscription still in flight is not taken for a new one."""

    def __init__(self) -> None:
        self._by_sid: dict[int, Subscription] = {}
        self._next_sid = 1

    def add(self, subject: str, queue: str = "") -> Subscription:
        """Raises ``ValueError`` for a subject or queue group that is not one token."""
        sub = Subscription(self._next_sid, subject, queue)
        sub.frame()  # validates before anything is kept
        self._next_sid += 1
        self._by_sid[sub.sid] = sub
        return sub

    def remove(self, sid: int) -> bool:
        return self._by_sid.pop(sid, None) is not None

    def __contains__(self, sid: object) -> bool:
        return sid in self._by_sid

    def frames(self) -> list[bytes]:
        """``SUB`` of every subscription, for a new connection."""
        return [sub.frame() for sub in self._by_sid.values()]


class Backoff:
    """Pauses between connection attempts: ``low`` doubling up to ``high``; ``reset`` after a
    success."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high
        self._next = low

    def next(self) -> float:
        pause = self._next
        self._next = min(self._next * 2, self.high)
        return pause

    def reset(self) -> None:
        self._next = self.low
