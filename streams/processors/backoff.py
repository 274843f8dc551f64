"""Exponential backoff as Bento's ``backoff`` fields configure it (cenkalti/backoff's defaults:
each wait 1.5 times the last, randomised by ±50%, capped at ``max_interval``; ``Stop`` once
``max_elapsed_time`` has passed since the start, never when it is 0).

Plain bookkeeping with an injectable clock and random source; the caller sleeps."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

MULTIPLIER = 1.5
RANDOMIZATION = 0.5


class Backoff:
    def __init__(
        self,
        initial: float,
        maximum: float,
        max_elapsed: float,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.max_elapsed = max_elapsed
        self.clock = clock
        self.rand = rand
        self.current = initial
        self.started = clock()

    def next(self) -> float | None:
        """Seconds to wait before the next attempt, or None when no attempt is left."""
        if self.max_elapsed > 0 and self.clock() - self.started > self.max_elapsed:
            return None
        delta = RANDOMIZATION * self.current
        wait = self.current - delta + self.rand() * 2 * delta
        self.current = min(self.current * MULTIPLIER, self.maximum)
        if self.max_elapsed > 0 and self.clock() - self.started + wait > self.max_elapsed:
            return None
        return wait
