"""One reader per topic and worker process, feeding every per-user hub that has stream clients.

Without it each user's instance would hold its own broker reader (a Kafka consumer: connections
and a fetch loop each) and read the whole topic on its own. With it a worker reads a topic once
and hands each record to every attached hub, which runs its own processors (the user filter) and
offers the survivors to its clients.

A hub whose committed position is behind the tap first catches up (with a scan shared by every
hub that needs the range, ``streams.engine.history``) and attaches once it reached the tap (``attach`` refuses it until then); a hub ahead of the tap
attaches at once and ignores records below its position. ``feed`` calls happen in the tap's
greenlet in offset order per partition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import gevent

from streams.brokers.base import Broker, Record

FEEDS_PER_YIELD = 64
"""Listeners fed one record between two yields: a record wanted by thousands of hubs (each
running its user's processors) must not hold the worker's loop (accepting connections, the
gunicorn heartbeat, clients' writers) for the whole round."""


class Listener(Protocol):
    def feed(self, topic: str, record: Record) -> None: ...


L = TypeVar("L", bound=Listener)


def feed_all(listeners: dict[L, Any], topic: str, record: Record, wants: Callable[[Any, Record], bool]) -> None:
    """Feed ``record`` to every listener of the live dict ``listeners`` that ``wants`` it,
    yielding now and then: a listener added meanwhile is fed too (it joined at or below this
    record, or ``wants`` says no), one removed meanwhile is not."""
    fed: set[L] = set()
    count = 0
    pending = list(listeners)
    while pending:
        for listener in pending:
            if listener not in listeners:
                continue
            fed.add(listener)
            if wants(listeners[listener], record):
                listener.feed(topic, record)
            count += 1
            if count % FEEDS_PER_YIELD == 0:
                gevent.sleep(0)
        if count < FEEDS_PER_YIELD:
            return  # never yielded: nobody could have joined
        pending = [listener for listener in listeners if listener not in fed]


def _not_skipped(skip: dict[int, int], record: Record) -> bool:
    return record.offset >= skip.get(record.partition, 0)


class TopicTap:
    def __init__(self, broker: Broker, topic: str, log: Any) -> None:
        self.broker = broker
        self.topic = topic
        self.log = log
        self.pos: dict[int, int] = {}
        self._listeners: dict[Listener, dict[int, int]] = {}  # listener -> skip below, per partition
        self._running = False
        self._greenlet: gevent.Greenlet | None = None

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def attach(self, listener: Listener, start: dict[int, int], head: dict[int, int] | None = None) -> bool:
        """Attach a listener positioned at ``start`` (next offsets per partition). False when it
        is behind the tap on some partition: it must catch up first. Never yields.

        A tap that is not running starts at ``head`` (the topic's end, when the caller knows it)
        or ``start``, whichever is later per partition: one user far behind must not make every
        other user wait while the shared reader replays old records.
        """
        if listener in self._listeners:
            return True
        if not self._running:
            if any(start.get(p, 0) < offset for p, offset in (head or {}).items()):
                return False  # behind the end: catch up first, the tap starts when it attaches
            self.pos = dict(start)
            self._running = True
            self._listeners[listener] = {}
            self._greenlet = gevent.spawn(self._loop, dict(start))
            return True
        if any(start.get(p, 0) < pos for p, pos in self.pos.items()):
            return False
        self._listeners[listener] = dict(start)
        return True

    def reached(self, positions: dict[int, int]) -> bool:
        """True when the tap runs and ``positions`` are at or past it on every partition."""
        return self._running and all(positions.get(p, 0) >= pos for p, pos in self.pos.items())

    def detach(self, listener: Listener) -> None:
        """Stop feeding ``listener``. Never yields."""
        self._listeners.pop(listener, None)

    def _loop(self, start: dict[int, int]) -> None:
        reader = None
        try:
            reader = self.broker.reader(self.topic, start)
            while self._listeners:
                for record in reader.fetch(timeout=0.5):
                    feed_all(self._listeners, self.topic, record, _not_skipped)
                    self.pos[record.partition] = record.offset + 1
                    # Let clients' writers run between records (a burst is not a slow client).
                    gevent.sleep(0)
                    if not self._listeners:
                        break
        except Exception:
            self.log.exception("topic reader failed", topic=self.topic)
            for listener in list(self._listeners):
                failed = getattr(listener, "tap_failed", None)
                if failed is not None:
                    failed(self.topic)
            self._listeners.clear()
        finally:
            # NOTE: decided without yielding after the last check, so an attach from now on
            # starts a new reader.
            self._running = False
            if reader is not None:
                reader.close()
