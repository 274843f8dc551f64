"""What the ``http`` processor makes of a response status, and how long it waits before a retry.

No I/O: the processor feeds statuses in and sleeps for what comes out. The rules are Bento's
(``internal/httpclient``): a status in ``drop_on`` fails with no retry, one in ``backoff_on``
fails and is retried after an exponentially growing pause (``retry_period`` doubled per
attempt, at most ``max_retry_backoff``), one in ``successful_on`` or 2xx succeeds, anything else
fails and is retried after ``retry_period``; a request that got no response at all is retried
after ``retry_period``. At most ``retries`` retries follow the first attempt.
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
    _backoff: float = field(default=0.0, repr=False)

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
        if backoff:
            self._backoff = self.retry_period if self._backoff == 0 else self._backoff * 2
            self.wait = min(self._backoff, self.max_backoff)
        else:
            self.wait = self.retry_period
        return Next.RETRY
