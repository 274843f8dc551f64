"""``wsgi:app`` with a record of the garbage collector's passes, for ``bench/gc_pauses.py``.

Each worker appends its counts, total and longest pass per generation to
``$GC_PROBE_DIR/<pid>.json`` every second. ``GC_PROBE_UNFREEZE=1`` gives the start-up heap back
to the collector a second after start (the worker froze it, ``handlers/server/heap.py``), for
an A/B run against the frozen default. ``GC_PROBE_THRESHOLD=a,b,c`` sets the collector's
thresholds a second after start instead of the worker's own (``handlers/server/heap.py``), for
the same (``700,10,10`` is CPython's default).
"""

from __future__ import annotations

import gc
import json
import os
import time
from typing import Any

import gevent

from wsgi import app

__all__ = ["app"]

_passes = {g: {"n": 0, "total_ms": 0.0, "max_ms": 0.0} for g in (0, 1, 2)}
_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = (time.perf_counter() - _started[0]) * 1000
    record = _passes[info["generation"]]
    record["n"] += 1
    record["total_ms"] += took
    record["max_ms"] = max(record["max_ms"], took)


def _write_loop(directory: str) -> None:
    path = os.path.join(directory, f"{os.getpid()}.json")
    while True:
        gevent.sleep(1)
        doc = {"tracked": len(gc.get_objects()), "frozen": gc.get_freeze_count(), "passes": _passes}
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f)
        os.replace(path + ".tmp", path)


if os.environ.get("GC_PROBE_DIR"):
    gc.callbacks.append(_on_gc)
    gevent.spawn(_write_loop, os.environ["GC_PROBE_DIR"])
    if os.environ.get("GC_PROBE_THRESHOLD"):
        gevent.spawn_later(1, gc.set_threshold, *(int(n) for n in os.environ["GC_PROBE_THRESHOLD"].split(",")))
    if os.environ.get("GC_PROBE_UNFREEZE") == "1":
        gevent.spawn_later(1, gc.unfreeze)
