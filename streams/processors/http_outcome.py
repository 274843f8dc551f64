"""What the ``http`` processor makes of a response status, and how long it waits before a retry.

No I/O: the processor feeds statuses in and sleeps for what comes out. The rules are Bento's
(``internal/httpclient``): a status in ``drop_on`` fails with no retry, one in ``backoff_on``
fails and is retried after an exponentially growing pause, one in ``successful_on`` or 2xx
succeeds, anything else fails and is retried; a request that got no response at all is retried.
At most ``retries`` retries follow the first attempt.

The pauses follow Bento's retry throttle: one period, ``retry_period`` at first, that every retry
waits; a ``backoff_on`` retry other than the first doubles it before waiting (up to
``max_retry_backoff``, never below ``retry_period``), and it stays doubled for later retries
of the same request, whatever their status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Next(Enum):
    DONE = "done"  # success: hand the response on
    GIVE_UP = "give_up"  # failure, no more attempts
    RETRY = "retry"  # failure, try again after ``wait`` seconds


@dataclass(frozen=True)
class StatusRules:
    successful_on: frozenset[int] = frozenset()
    drop_on: frozenset[int] = frozenset()
    backoff_on: frozenset[int] = frozenset({429})

    def succeeded(self, code: int) -> bool:
        if code in self.drop_on or code in self.backoff_on:
            return False
        return code in self.successful_on or 200 <= code <= 299


@dataclass
class Attempts:
    """One message's attempts: call ``after_status``/``after_failure`` after each one and read
    ``wait`` when the answer is ``RETRY``."""

    rules: StatusRules
    retries: int
    retry_period: float
    max_backoff: float
    made: int = 0
    wait: float = 0.0
    _period: float = field(default=-1.0, repr=False)

    def after_status(self, code: int) -> Next:
        self.made += 1
        if self.rules.succeeded(code):
            return Next.DONE
        if code in self.rules.drop_on:
            return Next.GIVE_UP
        return self._retry(backoff=code in self.rules.backoff_on)

    def after_failure(self) -> Next:
        """The request got no response (refused, timed out)."""
        self.made += 1
        return self._retry(backoff=False)

    def _retry(self, *, backoff: bool) -> Next:
        if self.made > self.retries:
            return Next.GIVE_UP
        if self._period < 0:
            self._period = self.retry_period
        if backoff and self.made > 1 and self._period < self.max_backoff:
            self._period = min(self._period * 2, self.max_backoff)
        self.wait = self._period
        return Next.RETRY
