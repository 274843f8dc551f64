"""The worker's heap after start-up: frozen out of the cyclic garbage collector's full passes,
and the young generation collected when it has grown, not every 700 objects.

A worker holds tens of thousands of objects that live as long as it does: the modules, the
Bloblang library, the compiled definitions, the Kafka client. CPython's full collections walk
all of them, and under load a full pass came every second or so: measured under push load,
65-81 ms each, 1.2 s of one worker's CPU in 16 s, every one of them a pause in every request of
that worker. ``gc.freeze`` moves what is alive into a generation the collector never walks; full
passes then walk only what the worker made since (a few thousand objects instead of about
95,000, measured the same way: 65-118 ms of full passes in 12 s instead of 1.1-1.4 s).

The price: a frozen object that later ends up unreachable inside a reference cycle is never
reclaimed. Freezing once, right after start-up and before any request, bounds that to what
start-up made; what requests make is collected as before.

The young generation: CPython collects it once 700 more container objects were made than freed.
Under push load a worker's objects in flight (requests, Kafka batches and futures, messages)
pass that mark all the time, so passes came 150 to 370 times a second, and each one moved what
was in flight into the older generations, to be walked again by their passes. Counted by
``bench/gc_pauses.py`` on one worker in 12 s of push load: 1,713 young passes, 156 middle and
14 full, 522 ms in all. With the mark at ``YOUNG_THRESHOLD`` what is in flight no longer
reaches it, and what requests leave behind in cycles is still collected once that many pile up.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
"""Container objects made and not yet freed that start a young-generation pass (CPython: 700).
A pass's cost grows with what is alive in the generation, not with the mark, and the garbage it
may leave waiting is bounded by it: at most this many objects in cycles, a few MiB."""


def freeze_startup_heap() -> int:
    """Collect, then freeze every object alive now; returns how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def raise_young_threshold(threshold: int = YOUNG_THRESHOLD) -> tuple[int, int, int]:
    """Collect the young generation only past ``threshold`` (never lower than it was); the
    older generations keep their counts. Returns the thresholds now in force."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, threshold), middle, old)
    return gc.get_threshold()
