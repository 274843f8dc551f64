"""Catch-up reads of a topic, shared by every hub of one worker process that needs them.

A hub whose position is behind the topic's tap (``streams.engine.tap``) must read the records in
between before it can attach to the tap. Read privately, that costs every hub a broker reader (a
Kafka consumer: sockets, buffers, an IO greenlet) and a full read of the range: a thousand new
users starting from the oldest record were a thousand consumers reading the same records, until
the broker's consumer cap refused the next one.

Here a worker runs at most ``MAX_SCANS`` scans per topic. A hub joins a running scan that has not
yet passed its start on any partition (the hub ignores records below its own position), else
starts a scan if a slot is free, else waits; when a scan ends, one new scan starts at the lowest
start of all waiting hubs and takes them all. After each batch a scan asks its listeners whether
they are done (``scanned``): a hub is once the scan reached the tap (or the end of the log) and
the tap accepted it. A scan closes its reader as soon as no listener is left.

Feeding happens in the scan's greenlet, in offset order per partition; ``join`` and ``leave``
never yield, so hubs may call them from anywhere (also from inside a feed).
"""

from __future__ import annotations

from typing import Any, Protocol

import gevent

from streams.brokers.base import Broker, Record
from streams.engine.tap import TopicTap, feed_all

MAX_SCANS = 4
"""Catch-up scans (broker readers) of one topic running at once in a worker."""


class ScanListener(Protocol):
    def feed(self, topic: str, record: Record) -> None: ...

    def scanned(self, topic: str, positions: dict[int, int], caught_up: bool) -> bool:
        """The scan is at ``positions``; ``caught_up`` when it reached the tap or the end of the
        log. True: the listener leaves the scan (it attached to the tap, or lost interest)."""
        ...

    def tap_failed(self, topic: str) -> None: ...


class _Scan:
    __slots__ = ("listeners", "pos")

    def __init__(self, start: dict[int, int], listeners: list[ScanListener]) -> None:
        self.pos = dict(start)
        self.listeners: dict[ScanListener, None] = dict.fromkeys(listeners)

    def accepts(self, start: dict[int, int]) -> bool:
        """True when this scan has not passed ``start`` on any partition."""
        return all(offset <= start.get(p, offset) for p, offset in self.pos.items())


def _always(_: Any, __: Any) -> bool:
    return True


class TopicHistory:
    def __init__(self, broker: Broker, topic: str, tap: TopicTap, log: Any, max_scans: int = MAX_SCANS) -> None:
        self.broker = broker
        self.topic = topic
        self.tap = tap
        self.log = log
        self.max_scans = max(1, max_scans)
        self._scans: list[_Scan] = []
        self._waiting: dict[ScanListener, dict[int, int]] = {}

    @property
    def scans(self) -> int:
        return len(self._scans)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def join(self, listener: ScanListener, start: dict[int, int]) -> None:
        """Feed ``listener`` from ``start`` (next offsets per partition) on. Never yields."""
        self.leave(listener)
        for scan in self._scans:
            if scan.accepts(start):
                scan.listeners[listener] = None
                return
        if len(self._scans) < self.max_scans:
            self._start(start, [listener])
        else:
            self._waiting[listener] = dict(start)

    def leave(self, listener: ScanListener) -> None:
        """Stop feeding ``listener``. Never yields."""
        self._waiting.pop(listener, None)
        for scan in self._scans:
            scan.listeners.pop(listener, None)

    def _start(self, start: dict[int, int], listeners: list[ScanListener]) -> None:
        scan = _Scan(start, listeners)
        self._scans.append(scan)
        gevent.spawn(self._run, scan)

    def _start_waiting(self) -> None:
        if not self._waiting or len(self._scans) >= self.max_scans:
            return
        waiting, self._waiting = self._waiting, {}
        parts = {p for start in waiting.values() for p in start}
        lowest = {p: min(start[p] for start in waiting.values() if p in start) for p in parts}
        self._start(lowest, list(waiting))

    def _run(self, scan: _Scan) -> None:
        reader = None
        try:
            reader = self.broker.reader(self.topic, scan.pos)
            while scan.listeners:
                records = reader.fetch(timeout=0.2, max_records=500)
                for record in records:
                    feed_all(scan.listeners, self.topic, record, _always)
                    scan.pos[record.partition] = record.offset + 1
                    # Let clients' writers (and new hubs) run between records.
                    gevent.sleep(0)
                    if not scan.listeners:
                        break
                positions = reader.positions()
                caught_up = not records or self.tap.reached(positions)
                for listener in list(scan.listeners):
                    if listener.scanned(self.topic, positions, caught_up):
                        scan.listeners.pop(listener, None)
        except Exception:
            self.log.exception("catch-up reader failed", topic=self.topic)
            failed, scan.listeners = list(scan.listeners), {}
            for listener in failed:
                listener.tap_failed(self.topic)
        finally:
            self._scans.remove(scan)
            for listener in scan.listeners:  # killed: nobody feeds them any more
                listener.tap_failed(self.topic)
            scan.listeners = {}
            self._start_waiting()
            if reader is not None:
                reader.close()
