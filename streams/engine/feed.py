"""Records of one topic from any offset on, for every hub of one worker process that listens.

A hub asks for "the records of this topic from ``start`` on" (``TopicFeed.listen``) and is fed
them in offset order per partition, first the backlog, then live records; the feed decides how:

* **live**: one reader of the topic per worker for every listener at its position. Without it
  each user's hub would hold its own broker reader (a Kafka consumer: connections, buffers and a
  fetch loop each) and read the whole topic on its own.
* **catch-up scan**: a listener behind the live reader (or, when nothing is live yet, behind the
  topic's end) first reads the records in between in a scan shared with every listener that needs
  the range. At most ``MAX_SCANS`` scans run per topic: a listener joins a running scan that has
  not yet passed its start on any partition (it ignores records below its own position), else
  starts one if a slot is free, else waits; when a scan ends, one new scan starts at the lowest
  start of all waiting listeners and takes them all. After each batch the scan moves the
  listeners it brought to the live reader's position over to the live reader (or starts the live
  reader there once the scan reached the end of the log): between the two nothing yields, so no
  record is missed or repeated. A scan closes its reader as soon as no listener is left.

Each record becomes a ``Message`` once per reading (``record_to_message``), shared by every
listener, which takes a ``Message.copy`` (payload shared, metadata copied) before its processors
change it: two thousand users' hubs do not convert every record two thousand times. Nor do they
each look at it: a listener with a ``route`` (it keeps only records whose field has its value,
the seed's per-user filter) is offered only those (``streams.engine.listeners``).
``listen`` and ``leave`` never yield, so hubs may call them from anywhere (also from
inside a ``feed``). ``close`` stops every reader; it runs before the broker is closed.
"""

from __future__ import annotations

from typing import Any, Protocol

import gevent

from streams.brokers.base import Broker, Reader, Record
from streams.engine.listeners import Listeners
from streams.engine.logs import StreamLog
from streams.engine.records import record_to_message
from streams.message import Message

MAX_SCANS = 1
"""Catch-up scans (broker readers) of one topic running at once in a worker.

PERF: one. New users arrive a few at a time (each after its offset look-ups), and a scan only
takes listeners it has not yet passed, so every scan that starts reads the whole backlog again
for the few users it took. With four at once, 1,000 new users on a 16,500-record backlog (one
worker, local Kafka) cost 14 to 63 scans and 10 to 20 s at full CPU before the last one was
live, and the look-ups starved meanwhile; with one, the users who arrive during a scan wait
and the next scan takes them all: 6 to 9 scans, all live within 5 s. A user arriving during
a long scan waits for it to end: the scans in parallel would have shared the CPU anyway."""

FEEDS_PER_YIELD = 64
"""Listeners fed one record between two yields: a record wanted by thousands of hubs (each
running its user's processors) must not hold the worker's loop (accepting connections, the
gunicorn heartbeat, clients' writers) for the whole round."""


class FeedListener(Protocol):
    """May also have ``route`` (a ``FieldFilter``: the records it keeps) and ``read_hook``
    (called for the records of its stream the feed reads), see ``streams.engine.listeners``."""

    def feed(self, topic: str, record: Record, message: Message) -> None:
        """One record at or past the listener's start, in offset order per partition, as a
        message shared with every other listener: copy it before changing it."""
        ...

    def feed_failed(self, topic: str) -> None:
        """The reader feeding this listener failed; it is no longer fed."""
        ...


def _feed_all(listeners: Listeners, topic: str, record: Record) -> None:
    """Feed ``record`` to every listener of the live set ``listeners`` (listener -> skip below,
    per partition) at or past it that may keep it (``Listeners.chosen``), yielding now and then:
    a listener added meanwhile is fed too (it joined at or below this record, or its skip
    position says no), one removed is not."""
    message = record_to_message(record)
    for hook in listeners.reads(record.partition, record.offset):
        hook(record)
    fed: set[Any] = set()
    count = 0
    pending = listeners.chosen(message)
    while pending:
        for listener in pending:
            skip = listeners.get(listener)
            if skip is None:
                continue
            fed.add(listener)
            if record.offset >= skip.get(record.partition, 0):
                listener.feed(topic, record, message)
            count += 1
            if count % FEEDS_PER_YIELD == 0:
                gevent.sleep(0)
        if count < FEEDS_PER_YIELD:
            return  # never yielded: nobody could have joined
        pending = [listener for listener in listeners.chosen(message) if listener not in fed]


class _Scan:
    __slots__ = ("greenlet", "listeners", "pos")

    def __init__(self, start: dict[int, int], listeners: Listeners) -> None:
        self.pos = dict(start)
        self.listeners = listeners
        self.greenlet: gevent.Greenlet | None = None

    def accepts(self, start: dict[int, int]) -> bool:
        """True when this scan has not passed ``start`` on any partition."""
        return all(offset <= start.get(p, offset) for p, offset in self.pos.items())


class TopicFeed:
    """One topic's records for the listeners of one worker (see module doc)."""

    def __init__(self, broker: Broker, topic: str, log: StreamLog, max_scans: int = MAX_SCANS) -> None:
        self.broker = broker
        self.topic = topic
        self.log = log
        self.max_scans = max(1, max_scans)
        self.pos: dict[int, int] = {}  # the live reader's next offsets
        self._live = Listeners()  # listener -> skip below, per partition
        self._running = False
        self._greenlet: gevent.Greenlet | None = None
        self._scans: list[_Scan] = []
        self._waiting = Listeners()
        self._closed = False

    # -- what tests and metrics look at ----------------------------------------------------

    @property
    def live(self) -> int:
        """Listeners fed by the live reader."""
        return len(self._live)

    @property
    def scans(self) -> int:
        return len(self._scans)

    @property
    def waiting(self) -> int:
        """Listeners waiting for a scan slot."""
        return len(self._waiting)

    @property
    def readers(self) -> int:
        """Broker readers this feed runs (live and scans)."""
        return int(self._running) + len(self._scans)

    # -- listeners -------------------------------------------------------------------------

    def listen(self, listener: FeedListener, start: dict[int, int], head: dict[int, int] | None = None) -> None:
        """Feed ``listener`` from ``start`` (next offsets per partition) on. ``head``: the
        topic's end, when the caller knows it; with nothing live yet, a listener behind it scans
        first, so the live reader starts at the end (one user far behind must not make every
        other user wait while the shared reader replays old records). Never yields."""
        if self._closed:
            return
        self.leave(listener)
        if self._to_live(listener, start, head or {}, start):
            return
        for scan in self._scans:
            if scan.accepts(start):
                scan.listeners[listener] = dict(start)
                return
        if len(self._scans) < self.max_scans:
            self._start_scan(start, Listeners({listener: dict(start)}))
        else:
            self._waiting[listener] = dict(start)

    def leave(self, listener: FeedListener) -> None:
        """Stop feeding ``listener``. Never yields."""
        self._live.pop(listener)
        self._waiting.pop(listener)
        for scan in self._scans:
            scan.listeners.pop(listener)

    def position_of(self, listener: FeedListener) -> dict[int, int]:
        """The next offsets of the reader feeding ``listener`` ({} when none does): every
        record below them was offered to it, or was one its route says it deletes. Never
        yields."""
        if listener in self._live:
            return dict(self.pos)
        for scan in self._scans:
            if listener in scan.listeners:
                return dict(scan.pos)
        return {}

    def close(self) -> None:
        """Stop every reader of this feed (the worker drains); listeners are no longer fed."""
        self._closed = True
        self._live.clear()
        self._waiting.clear()
        greenlets = [g for g in [self._greenlet, *(s.greenlet for s in self._scans)] if g is not None]
        for scan in self._scans:
            scan.listeners = Listeners()
        gevent.killall(greenlets, timeout=5.0)

    # -- live ------------------------------------------------------------------------------

    def _to_live(
        self, listener: FeedListener, start: dict[int, int], head: dict[int, int], skip: dict[int, int]
    ) -> bool:
        """Put ``listener``, read up to ``start``, on the live reader if it is not behind it (or,
        with nothing live, behind ``head``), starting the live reader if needed; it is fed
        nothing below ``skip``. Never yields."""
        if not self._running:
            if any(start.get(p, 0) < offset for p, offset in head.items()):
                return False
            self.pos = dict(start)
            self._running = True
            self._live[listener] = dict(skip)
            self._greenlet = gevent.spawn(self._run_live, dict(start))
            return True
        if any(start.get(p, 0) < pos for p, pos in self.pos.items()):
            return False
        self._live[listener] = dict(skip)
        return True

    def _reached(self, positions: dict[int, int]) -> bool:
        """True when the live reader runs and ``positions`` are at or past it everywhere."""
        return self._running and all(positions.get(p, 0) >= pos for p, pos in self.pos.items())

    def _run_live(self, start: dict[int, int]) -> None:
        reader = None
        try:
            reader = self.broker.reader(self.topic, start)
            while self._live:
                for record in reader.fetch(timeout=0.5):
                    _feed_all(self._live, self.topic, record)
                    self.pos[record.partition] = record.offset + 1
                    # Let clients' writers run between records (a burst is not a slow client).
                    gevent.sleep(0)
                    if not self._live:
                        break
        except Exception:
            self.log.exception("topic reader failed", topic=self.topic)
            failed, self._live = list(self._live), Listeners()
            _tell_failed(failed, self.topic)
        finally:
            # NOTE: decided without yielding after the last check, so a listener from now on
            # starts a new reader.
            self._running = False
            self._live = Listeners()
            _close(reader)

    # -- scans -----------------------------------------------------------------------------

    def _start_scan(self, start: dict[int, int], listeners: Listeners) -> None:
        scan = _Scan(start, listeners)
        self._scans.append(scan)
        scan.greenlet = gevent.spawn(self._run_scan, scan)

    def _start_waiting(self) -> None:
        if self._closed or not self._waiting or len(self._scans) >= self.max_scans:
            return
        waiting, self._waiting = self._waiting, Listeners()
        starts = [start for _, start in waiting.items()]
        parts = {p for start in starts for p in start}
        lowest = {p: min(start[p] for start in starts if p in start) for p in parts}
        self._start_scan(lowest, waiting)

    def _run_scan(self, scan: _Scan) -> None:
        reader: Reader | None = None
        try:
            reader = self.broker.reader(self.topic, scan.pos)
            while scan.listeners:
                records = reader.fetch(timeout=0.2, max_records=500)
                for record in records:
                    _feed_all(scan.listeners, self.topic, record)
                    scan.pos[record.partition] = record.offset + 1
                    # Let clients' writers (and new listeners) run between records.
                    gevent.sleep(0)
                    if not scan.listeners:
                        break
                positions = reader.positions()
                if not records or self._reached(positions):
                    self._hand_over(scan, positions)
        except Exception:
            self.log.exception("catch-up reader failed", topic=self.topic)
            failed, scan.listeners = list(scan.listeners), Listeners()
            _tell_failed(failed, self.topic)
        finally:
            self._scans.remove(scan)
            left, scan.listeners = list(scan.listeners), Listeners()
            if not self._closed:  # killed: nobody feeds them any more
                _tell_failed(left, self.topic)
            self._start_waiting()
            _close(reader)

    def _hand_over(self, scan: _Scan, positions: dict[int, int]) -> None:
        """Move the scan's listeners to the live reader (caught up with it, or at the end of the
        log with nothing live). Never yields."""
        for listener, own in list(scan.listeners.items()):
            skip = {p: max(o, positions.get(p, 0)) for p, o in own.items()}
            if self._to_live(listener, positions, {}, {**positions, **skip}):
                scan.listeners.pop(listener)


def _tell_failed(listeners: list[FeedListener], topic: str) -> None:
    for listener in listeners:
        listener.feed_failed(topic)


def _close(reader: Reader | None) -> None:
    if reader is None:
        return
    try:
        reader.close()
    except Exception:  # noqa: BLE001 - closing is best effort
        pass
