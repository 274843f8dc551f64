"""Records of one partition processed side by side, their writes still leaving in offset order.

Why: a consumer-group input that processed one record at a time waited for each produce to be
acknowledged (acks=all) before it read the next, so one partition moved at most one record per
round trip (a few hundred a second) however fast the processors were; a burst queued up for
seconds. Bento's ``checkpoint_limit`` allows that many records of a partition in flight at once;
doing the same while keeping what a reader of the output topic relies on, the order, takes one
rule: record ``i`` may hand its first write to the producer only once every record before it has
handed over its own or finished without one. A producer keeps the order of what it was handed
(idempotent, per partition), so the output topic sees the input's order.

``SendOrder`` is that rule as bookkeeping without IO; the ``kafka`` input wraps it with events.
A record whose write failed and is retried later is the exception: by then the records after it
may have been written (an at-least-once retry, as in Bento, which keeps no order at all there).
"""

from __future__ import annotations


class SendOrder:
    """Which of ``count`` records may write now.

    A record is *released* once it has handed a write over or finished; record ``i`` is *free*
    to write when every record before it is released. Record 0 is free from the start.
    """

    def __init__(self, count: int) -> None:
        if count < 0:
            raise ValueError("count must not be negative")
        self._released = [False] * count
        self._first_unreleased = 0

    @property
    def count(self) -> int:
        return len(self._released)

    def is_free(self, index: int) -> bool:
        self._check(index)
        return index <= self._first_unreleased

    def release(self, index: int) -> range:
        """Mark record ``index`` released; returns the records that became free by it (each
        index is returned once over the life of the order). Releasing twice changes nothing."""
        self._check(index)
        if self._released[index]:
            return range(0)
        self._released[index] = True
        before = self._first_unreleased
        while self._first_unreleased < len(self._released) and self._released[self._first_unreleased]:
            self._first_unreleased += 1
        last_free = min(self._first_unreleased, len(self._released) - 1)
        return range(before + 1, last_free + 1)

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self._released):
            raise IndexError(f"record {index} of {len(self._released)}")
