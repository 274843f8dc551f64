"""``streams.engine.delivery._Mailbox``: the queue every stream client waits in."""

from __future__ import annotations

import time

import gevent
import gevent.event
import greenlet

from streams.engine.delivery import _EMPTY, _Mailbox


def test_items_come_out_in_order_without_waiting() -> None:
    box = _Mailbox()
    for n in range(3):
        box.put(n)
    assert len(box) == 3
    assert [box.get(0) for _ in range(3)] == [0, 1, 2]
    assert box.get(0) is _EMPTY


def test_a_waiting_reader_is_woken_by_a_put() -> None:
    box = _Mailbox()
    reader = gevent.spawn(box.get, 5)
    gevent.sleep(0.01)
    box.put("m")
    assert reader.get(timeout=1) == "m"
    assert box._waiters is None  # nothing left behind


def test_a_wait_times_out_empty_and_leaves_no_waiter() -> None:
    box = _Mailbox()
    started = time.monotonic()
    assert box.get(0.05) is _EMPTY
    assert time.monotonic() - started >= 0.05
    assert box._waiters is None
    box.put(1)  # no reader: it waits for the next get
    assert box.get(0) == 1


def test_two_readers_each_get_one_item() -> None:
    box = _Mailbox()
    readers = [gevent.spawn(box.get, 5) for _ in range(2)]
    gevent.sleep(0.01)
    box.put("a")
    box.put("b")
    assert sorted(r.get(timeout=1) for r in readers) == ["a", "b"]


def test_a_reader_killed_after_its_wake_up_passes_it_on() -> None:
    box = _Mailbox()
    first = gevent.spawn(box.get, 5)
    second = gevent.spawn(box.get, 5)
    gevent.sleep(0.01)
    first.kill(block=False)  # scheduled: it lands before the wake-up the put schedules next
    box.put("m")  # takes the first reader off the list and wakes it
    assert second.get(timeout=1) == "m"
    assert first.dead


def test_a_waiting_reader_keeps_less_c_stack_than_an_event_wait() -> None:
    """The reason for the ``Waiter``: measured against ``Event.wait`` from the same depth."""
    box = _Mailbox()
    event = gevent.event.Event()
    boxed = gevent.spawn(box.get, None)
    evented = gevent.spawn(event.wait)
    gevent.sleep(0.01)
    assert isinstance(boxed, greenlet.greenlet)
    assert boxed._stack_saved < evented._stack_saved
    box.put(None)
    event.set()
    gevent.joinall([boxed, evented], timeout=1)
