"""The ``kafka`` input over a transactional group: each partition's records of a fetch are written
through that partition's transaction, and its next offset commits with them; a stop in the
middle aborts instead. A dummy group stands for Kafka here (the real one, with a worker killed
mid-transaction, is tests/e2e/test_kafka_faults.py)."""

from __future__ import annotations

import types
from typing import Any

import gevent.event
import pytest

from streams.brokers.base import BrokerError, Position, Record
from streams.brokers.group import GroupTimeouts
from streams.brokers.sending import Stored, TransactionalGroup
from streams.contracts import Transaction
from streams.inputs import kafka as kafka_input
from streams.inputs.kafka import SPEC, KafkaInput
from streams.message import Message


class Log:
    def __getattr__(self, name: str) -> Any:
        return lambda *a, **kw: None


class DummyTransaction:
    def __init__(self, events: list[tuple[Any, ...]], key: tuple[str, int]) -> None:
        self.events = events
        self.key = key

    def begin(self) -> None:
        self.events.append(("begin", self.key))

    def send(self, topic: str, value: bytes, **kw: Any) -> Stored:
        self.events.append(("send", self.key, value))
        return Stored(Position(topic, 0, 0))

    def commit(self, next_offset: int) -> None:
        self.events.append(("commit", self.key, next_offset))

    def abort(self) -> None:
        self.events.append(("abort", self.key))

    @property
    def failed(self) -> bool:
        return ("fenced", self.key) in self.events


class DummyGroup:
    """Hands out scripted fetches, then nothing."""

    def __init__(self, fetches: list[list[Record]]) -> None:
        self.fetches = list(fetches)
        self.events: list[tuple[Any, ...]] = []
        self.timeouts: GroupTimeouts | None = None
        self.closed = False

    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]:
        if self.fetches:
            return self.fetches.pop(0)
        gevent.sleep(0.01)
        return []

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        raise AssertionError("a transactional group commits through its transactions")

    def transaction(self, topic: str, partition: int) -> DummyTransaction:
        return DummyTransaction(self.events, (topic, partition))

    def rewind(self, topic: str, partition: int, offset: int) -> None:
        self.events.append(("rewind", (topic, partition), offset))

    def close(self) -> None:
        self.closed = True


def make_input(group: DummyGroup, **timeouts: str) -> KafkaInput:
    conf = {f.name: f.default for f in SPEC.fields}
    conf.update(topics=["jobs"], consumer_group="worker", group={"session_timeout": "6s", **timeouts})

    def group_consumer(name: str, topics: list[str], oldest: bool, timeouts: GroupTimeouts) -> DummyGroup:
        group.timeouts = timeouts
        return group

    broker = types.SimpleNamespace(group_consumer=group_consumer)
    res = types.SimpleNamespace(path="streams.Worker.input.kafka", logger=Log, broker=lambda addresses, security=None: broker)
    return KafkaInput(conf, res)  # type: ignore[arg-type]


def rec(partition: int, offset: int) -> Record:
    return Record("jobs", partition, offset, f"p{partition}-o{offset}".encode())


def test_the_dummy_is_a_transactional_group() -> None:
    assert isinstance(DummyGroup([]), TransactionalGroup)


def test_each_partition_commits_its_writes_and_offset_together() -> None:
    group = DummyGroup([[rec(0, 5), rec(1, 0), rec(0, 6)], [rec(1, 1)]])
    inp = make_input(group)
    stopping = gevent.event.Event()
    delivered: list[bytes] = []

    def deliver(batch: list[Message], txn: Transaction | None = None) -> bool:
        assert txn is not None and txn.redeliver_unknown
        delivered.append(batch[0].content)
        txn.sender.send("completed", batch[0].content)
        if len(delivered) == 4:
            stopping.set()
        return True

    inp.run(deliver, stopping)
    assert group.timeouts == GroupTimeouts(6.0, 3.0, 60.0)
    assert group.events == [
        ("begin", ("jobs", 0)),
        ("send", ("jobs", 0), b"p0-o5"),
        ("send", ("jobs", 0), b"p0-o6"),
        ("commit", ("jobs", 0), 7),
        ("begin", ("jobs", 1)),
        ("send", ("jobs", 1), b"p1-o0"),
        ("commit", ("jobs", 1), 1),
        ("begin", ("jobs", 1)),
        ("send", ("jobs", 1), b"p1-o1"),
        ("commit", ("jobs", 1), 2),
    ]
    assert sorted(delivered) == [b"p0-o5", b"p0-o6", b"p1-o0", b"p1-o1"]
    assert group.closed


def test_a_stop_while_a_write_fails_aborts_instead_of_committing() -> None:
    group = DummyGroup([[rec(0, 0), rec(0, 1)]])
    inp = make_input(group)
    stopping = gevent.event.Event()
    attempts: list[Transaction] = []

    def deliver(batch: list[Message], txn: Transaction | None = None) -> bool:
        assert txn is not None
        attempts.append(txn)
        if batch[0].content == b"p0-o0":
            return True
        if len(attempts) == 4:
            stopping.set()  # the second record's write kept failing until the stream stopped
        return False

    inp.run(deliver, stopping)
    assert [e[0] for e in group.events] == ["begin", "abort"]
    assert len(attempts) == 4
    assert attempts[1] is attempts[2] is attempts[3]  # retries of one record reuse its transaction
    assert attempts[0] is not attempts[1]


def test_a_transaction_that_failed_ends_the_run_instead_of_retrying_its_write_forever() -> None:
    for records in ([rec(0, 0)], [rec(0, 0), rec(0, 1)]):  # alone, and side by side in order
        group = DummyGroup([records])
        inp = make_input(group)
        last = records[-1].value
        attempts: list[bytes] = []

        def deliver(batch: list[Message], txn: Transaction | None = None) -> bool:
            attempts.append(batch[0].content)
            if batch[0].content != last:
                return True
            group.events.append(("fenced", ("jobs", 0)))  # the partition's next holder fenced us
            return False

        with gevent.Timeout(5, AssertionError("the failed write was retried for 5 s")):
            with pytest.raises(BrokerError, match="the transaction of jobs/0 failed"):
                inp.run(deliver, gevent.event.Event())
        assert attempts.count(last) == 1
        assert not [e for e in group.events if e[0] == "commit"]
        assert group.closed


def test_a_slow_fetch_is_cut_short_before_the_rebalance_timeout(monkeypatch) -> None:
    # rebalance_timeout 1s: a fetch may take 0.5 s of processing; two records are processed at
    # once and each takes 0.6 s, so the first two are committed and the rest read again.
    monkeypatch.setattr(kafka_input, "IN_FLIGHT_PER_PARTITION", 2)
    group = DummyGroup([[rec(0, 0), rec(0, 1), rec(0, 2), rec(1, 0)]])
    inp = make_input(group, heartbeat_interval="100ms", rebalance_timeout="1s")
    stopping = gevent.event.Event()

    def deliver(batch: list[Message], txn: Transaction | None = None) -> bool:
        gevent.sleep(0.6)
        txn.sender.send("completed", batch[0].content)  # type: ignore[union-attr]
        gevent.spawn_later(0.5, stopping.set)
        return True

    inp.run(deliver, stopping)
    assert group.events == [
        ("begin", ("jobs", 0)),
        ("send", ("jobs", 0), b"p0-o0"),
        ("send", ("jobs", 0), b"p0-o1"),
        ("commit", ("jobs", 0), 2),
        ("rewind", ("jobs", 0), 2),
        ("rewind", ("jobs", 1), 0),
    ]


def test_records_of_a_partition_are_processed_at_once_and_written_in_offset_order() -> None:
    # The earlier a record, the longer its processing: done one by one they would take 1.1 s
    # in all; side by side each still waits for the one before it to hand over its write.
    records = [rec(0, n) for n in range(10)]
    group = DummyGroup([records])
    inp = make_input(group)
    stopping = gevent.event.Event()
    running: list[int] = []
    most_at_once = 0
    finished: list[bytes] = []

    def deliver(batch: list[Message], txn: Transaction | None = None) -> bool:
        nonlocal most_at_once
        running.append(1)
        most_at_once = max(most_at_once, len(running))
        offset = int(batch[0].content.decode().rsplit("o", 1)[1])
        gevent.sleep(0.02 * (10 - offset))
        txn.sender.send("completed", batch[0].content)  # type: ignore[union-attr]
        running.pop()
        finished.append(batch[0].content)
        if len(finished) == len(records):
            stopping.set()
        return True

    inp.run(deliver, stopping)
    sends = [e[2] for e in group.events if e[0] == "send"]
    assert sends == [r.value for r in records]
    assert most_at_once == len(records)
    assert group.events[-1] == ("commit", ("jobs", 0), 10)


def test_a_record_without_a_write_lets_the_next_one_write() -> None:
    # A mapping that deletes a record (no write) must not hold the records after it.
    records = [rec(0, n) for n in range(4)]
    group = DummyGroup([records])
    inp = make_input(group)
    stopping = gevent.event.Event()
    seen: list[bytes] = []

    def deliver(batch: list[Message], txn: Transaction | None = None) -> bool:
        seen.append(batch[0].content)
        if batch[0].content != b"p0-o1":
            txn.sender.send("completed", batch[0].content)  # type: ignore[union-attr]
        if len(seen) == len(records):
            gevent.spawn_later(0.05, stopping.set)
        return True

    inp.run(deliver, stopping)
    assert [e[2] for e in group.events if e[0] == "send"] == [b"p0-o0", b"p0-o2", b"p0-o3"]
    assert group.events[-1] == ("commit", ("jobs", 0), 4)
