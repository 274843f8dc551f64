"""Look-ups of many keys sent as one request: each caller's key goes in the next request.

A thousand users connecting to a worker at once each need their group's committed offsets and
the end of their positions-log partition. One request per user, a few on their way at a time,
started about a hundred hubs a second per worker: a user who connected among the last waited
ten seconds for their stream, and every waiting start held a greenlet and its stack. Kafka
answers many groups in one OffsetFetch (v8+) and many partitions in one ListOffsets, so the
keys asked while one request is on its way go together in the next.

A key joins only a request sent after it was asked, never one already on its way: an answer
then reflects everything acknowledged before the caller asked (what the positions log's
``committed`` promises). A request that fails is sent again for each of its keys alone, so a key
the broker refuses (a group it will not show) fails only its own callers; one that failed for
a reason every key shares (the broker unreachable until the deadline) fails them all at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import gevent
import gevent.event

from streams.brokers.base import BrokerError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class NextFlight(Generic[K, V]):
    """``get(key)``: ``fetch(keys)``'s answer for ``key``, from a request holding every key
    asked meanwhile (at most ``max_keys`` per request; the rest go in the one after)."""

    def __init__(self, fetch: Callable[[list[K]], dict[K, V]], what: str, max_keys: int = 500) -> None:
        self._fetch = fetch
        self._what = what
        self._max_keys = max(1, max_keys)
        self._waiting: dict[K, gevent.event.AsyncResult] = {}
        self._flier: gevent.Greenlet | None = None

    def get(self, key: K) -> V:
        result = self._waiting.get(key)
        if result is None:
            result = self._waiting[key] = gevent.event.AsyncResult()
        if self._flier is None:
            self._flier = gevent.spawn(self._fly)
        value: V = result.get()
        return value

    def _fly(self) -> None:
        """Send requests until no key waits. NOTE: no yield between the last look at the
        waiting keys and letting go of the flier, so a key asked for is never left behind."""
        flying: dict[K, gevent.event.AsyncResult] = {}
        try:
            while self._waiting:
                keys = list(itertools.islice(self._waiting, self._max_keys))
                flying = {key: self._waiting.pop(key) for key in keys}
                self._land(flying)
                flying = {}
        except BaseException:
            # Killed (the worker stops): nobody may wait for an answer that will not come.
            failed = BrokerError(f"{self._what}: look-up interrupted")
            for result in [*flying.values(), *self._waiting.values()]:
                if not result.ready():
                    result.set_exception(failed)
            self._waiting.clear()
            raise
        finally:
            self._flier = None

    def _land(self, flying: dict[K, gevent.event.AsyncResult]) -> None:
        keys = list(flying)
        try:
            got = self._fetch(keys)
        except Exception as exc:
            if len(keys) == 1 or _for_everyone(exc):
                for result in flying.values():
                    result.set_exception(exc)
                return
            for key in keys:
                self._land({key: flying[key]})
            return
        for key in keys:
            if key in got:
                flying[key].set(got[key])
            else:
                flying[key].set_exception(BrokerError(f"{self._what}: no answer for {key!r}"))


def _for_everyone(exc: Exception) -> bool:
    """Whether a failed request failed for a reason that is no key's own: a retriable broker
    error (a timeout, a connection lost) that outlasted its retries. Asking again key by key
    would only wait that long once per key."""
    return bool(getattr(exc.__cause__, "retriable", False))
