"""What an HTTP client component does with a response status, and how long it waits before the
next attempt (Bento's ``internal/httpclient``): a code in ``drop_on`` fails without retries, one
in ``backoff_on`` is retried after an exponentially growing pause (``retry_period`` doubled per
attempt, at most ``max_retry_backoff``), one in ``successful_on`` or 2xx succeeds, anything else
is retried after ``retry_period``. Plain bookkeeping, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Verdict(enum.Enum):
    SUCCESS = "success"
    FAIL = "fail"  # no retry (drop_on)
    RETRY = "retry"  # after retry_period
    BACKOFF = "backoff"  # after a growing pause (backoff_on, e.g. 429)


@dataclass(frozen=True)
class StatusPolicy:
    successful_on: frozenset[int] = frozenset()
    drop_on: frozenset[int] = frozenset()
    backoff_on: frozenset[int] = frozenset({429})

    @classmethod
    def of(cls, successful_on: Iterable[int], drop_on: Iterable[int], backoff_on: Iterable[int]) -> StatusPolicy:
        return cls(frozenset(map(int, successful_on)), frozenset(map(int, drop_on)), frozenset(map(int, backoff_on)))

    def verdict(self, code: int) -> Verdict:
        if code in self.drop_on:
            return Verdict.FAIL
        if code in self.backoff_on:
            return Verdict.BACKOFF
        if code in self.successful_on or 200 <= code <= 299:
            return Verdict.SUCCESS
        return Verdict.RETRY


class RetryPauses:
    """The pauses between the attempts of one request: ``retry_period`` after an ordinary
    failure, ``retry_period * 2**n`` (at most ``max_backoff``) after the n-th backoff in a row."""

    def __init__(self, retry_period: float, max_backoff: float) -> None:
        self.retry_period = retry_period
        self.max_backoff = max_backoff
        self._backoffs = 0

    def after(self, verdict: Verdict) -> float:
        if verdict is Verdict.BACKOFF:
            pause = min(self.retry_period * (2**self._backoffs), self.max_backoff)
            self._backoffs += 1
            return pause
        self._backoffs = 0
        return self.retry_period
