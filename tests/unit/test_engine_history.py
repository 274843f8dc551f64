"""Catch-up scans shared by the hubs of one worker (``streams.engine.history``), on the embedded
broker with listeners that record what they are fed."""

from __future__ import annotations

from typing import Any

import pytest

from streams.brokers.base import Record
from streams.brokers.embedded import EmbeddedBroker
from streams.engine.history import TopicHistory
from streams.engine.logs import StreamLog
from streams.engine.tap import TopicTap
from streams.engine.testing import wait_until


class Recorder:
    """Like a hub: keeps records at or past its start, attaches to the tap once caught up."""

    def __init__(self, tap: TopicTap, start: int) -> None:
        self.tap = tap
        self.start = start
        self.got: list[int] = []
        self.tapped = False
        self.hold = False  # stay in the scan even when caught up

    def feed(self, topic: str, record: Record) -> None:
        if record.offset >= self.start + len(self.got):
            assert record.offset == self.start + len(self.got), "a record was skipped"
            self.got.append(record.offset)

    def scanned(self, topic: str, positions: dict[int, int], caught_up: bool) -> bool:
        if caught_up and not self.hold and self.tap.attach(self, positions):
            self.tapped = True
            return True
        return False

    def tap_failed(self, topic: str) -> None:
        raise AssertionError("reader failed")


@pytest.fixture
def broker(tmp_path: Any) -> Any:
    b = EmbeddedBroker(str(tmp_path))
    yield b
    b.close()


def test_hubs_beyond_the_scan_limit_wait_and_then_share_one_scan(broker: Any) -> None:
    for n in range(50):
        broker.produce("t", str(n).encode())
    log = StreamLog(component="test")
    tap = TopicTap(broker, "t", log)
    history = TopicHistory(broker, "t", tap, log, max_scans=1)
    first = Recorder(tap, 0)
    first.hold = True
    history.join(first, {0: 0})
    wait_until(lambda: len(first.got) == 50, "the first scan at the end")
    late = [Recorder(tap, start) for start in (0, 10, 25, 40)]
    for r in late:
        history.join(r, {0: r.start})  # the only scan is past them: they wait
    assert (history.scans, history.waiting) == (1, 4)
    first.hold = False
    everyone = [first, *late]
    wait_until(lambda: all(r.tapped for r in everyone), "every listener on the tap")
    for n in range(50, 55):
        broker.produce("t", str(n).encode())
    wait_until(lambda: all(len(r.got) == 55 - r.start for r in everyone), "the new records")
    for r in everyone:
        assert r.got == list(range(r.start, 55))
    assert history.scans == 0 and history.waiting == 0
    for r in everyone:
        tap.detach(r)
