"""A worker freezes its start-up heap: what was alive is never walked again, what comes after is
still collected; and its young generation is collected past a raised mark. Run in a child
interpreter: freezing and the collector's thresholds are for the whole process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CYCLES = textwrap.dedent(
    """
    import gc, weakref

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return a
    """
)
"""What both children start with: a maker of two-object reference cycles."""


def run_child(script: str) -> str:
    """Run ``script`` in a fresh interpreter at the project root; its output, once it succeeded."""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


CHILD = CYCLES + textwrap.dedent(
    """
    from handlers.server.heap import freeze_startup_heap

    early = cycle()
    early_ref = weakref.ref(early)
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count() > 1000, frozen
    tracked = {id(o) for o in gc.get_objects()}
    assert id(early) not in tracked and id(early.other) not in tracked  # no pass walks them

    late_ref = weakref.ref(cycle())  # made after the freeze, unreachable at once
    del early
    gc.collect()
    assert late_ref() is None, "a cycle made after the freeze is still collected"
    assert early_ref() is not None, "a frozen cycle is kept even once unreachable"
    print("ok", frozen)
    """
)


def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    out = run_child(CHILD)
    assert out.startswith("ok "), out


YOUNG_CHILD = CYCLES + textwrap.dedent(
    """
    from handlers.server.heap import YOUNG_THRESHOLD, raise_young_threshold

    middle, old = gc.get_threshold()[1:]
    assert raise_young_threshold() == (YOUNG_THRESHOLD, middle, old), gc.get_threshold()
    gc.collect()
    garbage = weakref.ref(cycle())
    held = [[] for _ in range(1_000)]  # past CPython's 700: a pass would have come by now
    assert garbage() is not None, "collected before the young generation reached its new mark"
    held += [[] for _ in range(YOUNG_THRESHOLD)]
    assert garbage() is None, "a cycle is still collected once the young generation passes the mark"

    gc.set_threshold(YOUNG_THRESHOLD * 2, middle, old)
    assert raise_young_threshold()[0] == YOUNG_THRESHOLD * 2, "a higher mark an operator set is kept"
    print("ok")
    """
)


def test_young_generation_is_collected_past_the_raised_mark_only() -> None:
    out = run_child(YOUNG_CHILD)
    assert out.strip() == "ok", out
