"""KeptGreenlets: jobs run, their results and failures reach the caller, greenlets are reused."""

from __future__ import annotations

import gevent
import pytest
from gevent.event import Event
from greenlet import getcurrent

from streams.engine.kept_greenlets import KeptGreenlets


def test_a_job_returns_its_value_and_the_next_job_reuses_the_greenlet() -> None:
    kept = KeptGreenlets(keep=4)
    seen = []

    def where(n: int) -> int:
        seen.append(getcurrent())
        return n * 2

    first = kept.run(where, 1)
    assert first.wait(1) and first.value == 2
    assert kept.idle == 1
    second = kept.run(where, 2)
    assert second.wait(1) and second.value == 4
    assert seen[0] is seen[1]
    assert seen[0] is not getcurrent()


def test_jobs_run_side_by_side_and_only_keep_greenlets_stay() -> None:
    kept = KeptGreenlets(keep=2)
    gate = Event()
    jobs = [kept.run(gate.wait, 5) for _ in range(5)]
    gevent.sleep(0)
    assert not any(job.ready() for job in jobs)  # all five started and wait together
    gate.set()
    assert all(job.wait(1) for job in jobs)
    assert kept.idle == 2


def test_a_raising_job_keeps_its_exception_and_its_greenlet_is_not_kept() -> None:
    kept = KeptGreenlets()

    def fail() -> None:
        raise ValueError("boom")

    job = kept.run(fail)
    assert job.wait(1)
    assert isinstance(job.exception, ValueError) and job.value is None
    assert kept.idle == 0


def test_on_done_is_called_when_the_job_ends_or_at_once_after() -> None:
    kept = KeptGreenlets()
    gate = Event()
    calls = []
    job = kept.run(lambda: gate.wait(5) and "done")
    job.on_done(lambda j: calls.append(("late", j.value)))
    assert not job.wait(0.05)
    gate.set()
    assert job.wait(1)
    job.on_done(lambda j: calls.append(("after", j.value)))
    assert calls == [("late", "done"), ("after", "done")]


def test_an_idle_greenlet_killed_while_waiting_is_replaced() -> None:
    kept = KeptGreenlets()
    holder = []
    assert kept.run(lambda: holder.append(getcurrent())).wait(1)
    assert kept.idle == 1
    gevent.kill(holder[0])  # ends quietly and leaves the idle list
    gevent.sleep(0)
    assert kept.idle == 0
    job = kept.run(lambda: "fresh")
    assert job.wait(1) and job.value == "fresh"


@pytest.mark.parametrize("keep", [0, 1])
def test_keep_zero_never_parks(keep: int) -> None:
    kept = KeptGreenlets(keep=keep)
    assert all(kept.run(lambda: None).wait(1) for _ in range(3))
    assert kept.idle == keep


def test_a_finished_job_holds_no_arguments_and_an_idle_greenlet_no_job() -> None:
    import gc
    import weakref

    class Payload:
        pass

    kept = KeptGreenlets()
    payload = Payload()
    gone = weakref.ref(payload)
    job = kept.run(lambda p: "seen", payload)
    assert job.wait(1) and job.value == "seen"
    del payload
    gc.collect()
    assert gone() is None and kept.idle == 1
