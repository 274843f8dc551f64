"""Offset look-ups of a worker's hubs, shared and queued.

Every stream client that attaches asks the broker for its user's committed offsets and the
topic's first and last offsets. A thousand users connecting at once are thousands of such
requests on one admin connection, which pipelines only a few: the rest failed with "node not
ready" and were retried in a busy loop until their deadline passed. Here the topic-wide look-ups
(``beginning_offsets``, ``end_offsets``) are single-flight per topic, so callers arriving while
one is on its way share its answer (at most one round trip old, which is as good as asking a
moment earlier), and group-offset writes queue for one of ``CONCURRENCY`` slots. Reads of a
group's position go straight to the broker, which sends those asked at once together (on
Kafka, ``streams.brokers.next_flight``): queued for a slot each, a thousand users' streams took
ten seconds to start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent.event
import gevent.lock

from streams.brokers.base import Broker, BrokerError

CONCURRENCY = 4
"""Offset requests of one worker's hubs on their way at once (kafka-python pipelines five)."""


class SharedLookups:
    """``broker`` for hubs: the offset calls above are shared or queued, the rest is ``broker``'s."""

    def __init__(self, broker: Broker, concurrency: int = CONCURRENCY) -> None:
        self.broker = broker
        self._slots = gevent.lock.BoundedSemaphore(max(1, concurrency))
        self._flights: dict[tuple[str, str], gevent.event.AsyncResult] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def _shared(self, kind: str, topic: str, call: Callable[[str], dict[int, int]]) -> dict[int, int]:
        key = (kind, topic)
        flight = self._flights.get(key)
        if flight is not None:
            return dict(flight.get())
        flight = self._flights[key] = gevent.event.AsyncResult()
        try:
            with self._slots:
                got = call(topic)
        except Exception as exc:
            flight.set_exception(exc)
            raise
        except BaseException:
            # NOTE: the asking greenlet was killed; the others must not die with it.
            flight.set_exception(BrokerError(f"offset look-up of {topic!r} interrupted"))
            raise
        else:
            flight.set(got)
            return dict(got)
        finally:
            del self._flights[key]

    def beginning_offsets(self, topic: str) -> dict[int, int]:
        return self._shared("beginning", topic, self.broker.beginning_offsets)

    def end_offsets(self, topic: str) -> dict[int, int]:
        return self._shared("end", topic, self.broker.end_offsets)

    def committed(self, group: str, topic: str) -> dict[int, int]:
        return self.broker.committed(group, topic)

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        with self._slots:
            self.broker.commit(group, topic, offsets)

    def compare_and_commit(
        self, group: str, topic: str, expected: dict[int, int | None], new: dict[int, int]
    ) -> bool:
        with self._slots:
            return self.broker.compare_and_commit(group, topic, expected, new)
