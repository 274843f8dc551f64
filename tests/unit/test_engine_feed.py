"""One worker's records of a topic for its hubs (``streams.engine.feed``): shared catch-up scans,
then one live reader; on the embedded broker with listeners that record what they are fed."""

from __future__ import annotations

from typing import Any

import gevent
import gevent.event
import pytest

from streams.brokers.base import Record
from streams.brokers.embedded import EmbeddedBroker
from streams.engine.feed import TopicFeed
from streams.engine.logs import StreamLog
from streams.engine.testing import wait_until
from tests.unit.engine_helpers import CountingReaders


class Recorder:
    """Like a hub: keeps the records it is fed, checks none is skipped or repeated."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.got: list[int] = []
        self.failed = False
        self.stall_at: int | None = None  # hold the feeding greenlet at this offset
        self.go = gevent.event.Event()

    def feed(self, topic: str, record: Record, message: Any) -> None:
        assert message.content == record.value
        assert record.offset == self.start + len(self.got), f"fed {record.offset} after {self.got[-1:]}"
        if record.offset == self.stall_at:
            self.go.wait()
        self.got.append(record.offset)

    def feed_failed(self, topic: str) -> None:
        self.failed = True




@pytest.fixture
def broker(tmp_path: Any) -> Any:
    b = EmbeddedBroker(str(tmp_path))
    yield b
    b.close()


def produce(broker: Any, ns: range) -> None:
    for n in ns:
        broker.produce("t", str(n).encode())


def test_listeners_beyond_the_scan_limit_wait_and_then_share_one_scan(broker: Any) -> None:
    produce(broker, range(50))
    feed = TopicFeed(broker, "t", StreamLog(component="test"), max_scans=1)
    first = Recorder(0)
    first.stall_at = 30
    feed.listen(first, {0: 0}, head={0: 50})
    wait_until(lambda: len(first.got) == 30, "the first scan at offset 30")
    late = [Recorder(start) for start in (0, 10, 25, 40)]
    for r in late:
        feed.listen(r, {0: r.start}, head={0: 50})  # the scan is past 0, 10 and 25: they wait; 40 rides along
    assert (feed.scans, feed.waiting) == (1, 3)
    first.go.set()
    everyone = [first, *late]
    wait_until(lambda: feed.live == 5, "every listener on the live reader")
    produce(broker, range(50, 55))
    wait_until(lambda: all(len(r.got) == 55 - r.start for r in everyone), "the new records")
    for r in everyone:
        assert r.got == list(range(r.start, 55))
    assert (feed.scans, feed.waiting, feed.readers) == (0, 0, 1)
    for r in everyone:
        feed.leave(r)
    wait_until(lambda: feed.readers == 0, "the live reader stopped")
    feed.close()


def test_a_listener_at_the_end_goes_live_at_once_and_one_behind_scans_first(broker: Any) -> None:
    produce(broker, range(5))
    counting = CountingReaders(broker)
    feed = TopicFeed(counting, "t", StreamLog(component="test"))
    now = Recorder(5)
    feed.listen(now, {0: 5}, head={0: 5})
    assert (feed.live, feed.scans) == (1, 0)
    behind = Recorder(2)
    feed.listen(behind, {0: 2}, head={0: 5})
    assert (feed.live, feed.scans) == (1, 1)
    wait_until(lambda: feed.live == 2, "the late listener on the live reader")
    produce(broker, range(5, 7))
    wait_until(lambda: now.got == [5, 6] and behind.got == [2, 3, 4, 5, 6], "everything, once")
    assert counting.opened == 2  # the live reader and one scan
    feed.close()


def test_nothing_live_and_a_listener_behind_the_end_scans_then_starts_the_live_reader_at_the_end(
    broker: Any,
) -> None:
    produce(broker, range(3))
    feed = TopicFeed(broker, "t", StreamLog(component="test"))
    r = Recorder(0)
    feed.listen(r, {0: 0}, head={0: 3})
    assert (feed.live, feed.scans) == (0, 1)
    wait_until(lambda: feed.live == 1 and feed.scans == 0, "on the live reader")
    assert feed.pos == {0: 3}
    produce(broker, range(3, 4))
    wait_until(lambda: r.got == [0, 1, 2, 3], "the new record")
    feed.close()


def test_close_stops_every_reader_of_the_feed(broker: Any) -> None:
    produce(broker, range(20))
    counting = CountingReaders(broker)
    feed = TopicFeed(counting, "t", StreamLog(component="test"), max_scans=1)
    live, scanning, waiting = Recorder(20), Recorder(0), Recorder(0)
    scanning.stall_at = 5
    feed.listen(live, {0: 20}, head={0: 20})
    feed.listen(scanning, {0: 0}, head={0: 20})
    wait_until(lambda: len(scanning.got) == 5, "the scan held at offset 5")
    feed.listen(waiting, {0: 0})
    assert (feed.live, feed.scans, feed.waiting, counting.open) == (1, 1, 1, 2)
    feed.close()
    assert counting.open == 0
    assert feed.readers == 0
    feed.listen(Recorder(20), {0: 20})  # a closed feed starts nothing
    assert counting.open == 0 and not scanning.failed


def test_a_failing_reader_tells_its_listeners(broker: Any) -> None:
    class Failing(CountingReaders):
        def reader(self, topic: str, start: dict[int, int]) -> Any:
            raise RuntimeError("broker unreachable")

    feed = TopicFeed(Failing(broker), "t", StreamLog(component="test"))
    r = Recorder(0)
    feed.listen(r, {0: 0})
    wait_until(lambda: r.failed, "the listener told")
    assert feed.readers == 0
    feed.close()
