"""KafkaBroker against a real Apache Kafka (``deploy/kafka/run.sh start``; see tests/conftest.py).

Every test works on its own topics and groups (``unique_name``), so reruns against the same broker
never see each other's records. Waits are bounded loops that fail with a message, never timing
assertions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gevent
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.brokers.base import BrokerError, Position, Record
from streams.brokers.kafka import KafkaBroker

pytestmark = pytest.mark.kafka

DEADLINE = 30.0  # seconds any single wait may take before the test fails


@pytest.fixture
def broker(kafka_bootstrap: str) -> Iterator[KafkaBroker]:
    b = KafkaBroker([kafka_bootstrap], client_id="test")
    yield b
    b.close()


def fetch_until(fetch: Callable[[], list[Record]], count: int) -> list[Record]:
    """Fetch until ``count`` records arrived; fails the test after DEADLINE."""
    got: list[Record] = []
    deadline = time.monotonic() + DEADLINE
    while len(got) < count:
        assert time.monotonic() < deadline, (
            f"only {len(got)} of {count} records arrived"
        )
        got.extend(fetch())
    return got


# -- produce -----------------------------------------------------------------------------------


def test_produced_record_is_acked_and_readable_by_a_plain_consumer(
    broker: KafkaBroker, kafka_bootstrap: str, unique_name: str
) -> None:
    pos = broker.produce(
        unique_name, b"hello", key=b"alice", headers=[("x-user", b"alice"), ("n", b"1")]
    )
    assert pos == Position(unique_name, 0, 0)
    assert broker.produce(unique_name, b"second").offset == 1

    plain = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(unique_name, 0)
        plain.assign([tp])
        plain.seek(tp, 0)
        got = []
        deadline = time.monotonic() + DEADLINE
        while len(got) < 2 and time.monotonic() < deadline:
            for recs in plain.poll(timeout_ms=1000).values():
                got.extend(recs)
    finally:
        plain.close()
    assert [(r.offset, r.key, r.value) for r in got] == [
        (0, b"alice", b"hello"),
        (1, None, b"second"),
    ]
    assert list(got[0].headers) == [("x-user", b"alice"), ("n", b"1")]


def test_produce_to_unreachable_kafka_raises_broker_error() -> None:
    dead = KafkaBroker(["127.0.0.1:1"], connect_timeout=1.0)
    try:
        with pytest.raises(BrokerError):
            dead.produce("nowhere", b"lost", timeout=2.0)
        # The next call tries again (and fails again) rather than hanging on a dead client.
        with pytest.raises(BrokerError):
            dead.produce("nowhere", b"lost", timeout=2.0)
    finally:
        dead.close()


def test_produce_to_a_missing_partition_raises_broker_error(
    broker: KafkaBroker, unique_name: str
) -> None:
    broker.create_topic(unique_name, 1)
    with pytest.raises(BrokerError):
        broker.produce(unique_name, b"x", partition=7, timeout=5.0)


def test_many_greenlets_produce_concurrently_through_one_broker(
    broker: KafkaBroker, unique_name: str
) -> None:
    broker.create_topic(unique_name, 3)
    senders, each = 100, 5

    def send(i: int) -> list[Position]:
        return [
            broker.produce(unique_name, f"{i}-{j}".encode(), key=str(i).encode())
            for j in range(each)
        ]

    jobs = [gevent.spawn(send, i) for i in range(senders)]
    gevent.joinall(jobs, timeout=DEADLINE * 2, raise_error=True)
    positions = [p for job in jobs for p in job.get(block=False)]
    assert (
        len(set(positions)) == senders * each
    )  # every record got its own place in the log
    assert sum(broker.end_offsets(unique_name).values()) == senders * each

    # Same key, same partition, and in the order that greenlet sent them.
    for job in jobs:
        mine = job.get(block=False)
        assert len({p.partition for p in mine}) == 1
        assert [p.offset for p in mine] == sorted(p.offset for p in mine)

    reader = broker.reader(unique_name, {p: 0 for p in broker.partitions(unique_name)})
    values = {r.value for r in fetch_until(lambda: reader.fetch(1.0), senders * each)}
    assert values == {f"{i}-{j}".encode() for i in range(senders) for j in range(each)}


# -- topics and offsets ------------------------------------------------------------------------


def test_partitions_auto_creates_the_topic_and_offsets_follow_produces(
    broker: KafkaBroker, unique_name: str
) -> None:
    assert broker.partitions(unique_name) == [0]
    assert broker.beginning_offsets(unique_name) == {0: 0}
    assert broker.end_offsets(unique_name) == {0: 0}
    broker.produce(unique_name, b"a")
    broker.produce(unique_name, b"b")
    assert broker.end_offsets(unique_name) == {0: 2}


def test_create_topic_keeps_an_existing_partition_count(
    broker: KafkaBroker, unique_name: str
) -> None:
    assert broker.create_topic(unique_name, 4) == 4
    assert broker.create_topic(unique_name, 2) == 4
    assert broker.partitions(unique_name) == [0, 1, 2, 3]


# -- Reader ------------------------------------------------------------------------------------


def test_reader_starts_at_explicit_offsets_and_seeks(
    broker: KafkaBroker, unique_name: str
) -> None:
    for i in range(5):
        broker.produce(unique_name, f"m{i}".encode())
    reader = broker.reader(unique_name, {0: 2})
    assert reader.positions() == {0: 2}
    got = fetch_until(lambda: reader.fetch(1.0), 3)
    assert [(r.offset, r.value) for r in got] == [(2, b"m2"), (3, b"m3"), (4, b"m4")]
    assert reader.positions() == {0: 5}
    assert reader.fetch(0.2) == []

    reader.seek({0: 1})
    assert reader.positions() == {0: 1}
    assert [r.offset for r in fetch_until(lambda: reader.fetch(1.0, max_records=2), 2)][
        :2
    ] == [1, 2]
    with pytest.raises(BrokerError):
        reader.seek({9: 0})
    reader.close()


def test_reader_tells_how_many_offsets_it_passed_over_before_a_record(
    broker: KafkaBroker, kafka_bootstrap: str, unique_name: str
) -> None:
    """One record per transaction: each commit leaves a marker at the next offset, which a
    read_committed reader never returns; the record after it says it skipped one."""
    producer = KafkaProducer(
        bootstrap_servers=[kafka_bootstrap], transactional_id=f"t-{unique_name}", acks="all", enable_idempotence=True
    )
    try:
        producer.init_transactions()
        for i in range(3):
            producer.begin_transaction()
            producer.send(unique_name, f"m{i}".encode(), partition=0).get(10)
            producer.commit_transaction()
    finally:
        producer.close()
    reader = broker.reader(unique_name, {0: 0})
    got = fetch_until(lambda: reader.fetch(1.0), 3)
    assert [(r.offset, r.skipped) for r in got] == [(0, 0), (2, 1), (4, 1)]
    reader.seek({0: 1})  # a GET's reader moved to a position that is a marker
    assert [(r.offset, r.skipped) for r in fetch_until(lambda: reader.fetch(1.0), 2)][:1] == [(2, 1)]
    reader.close()


def test_reader_without_a_start_offset_sees_only_new_records(
    broker: KafkaBroker, unique_name: str
) -> None:
    broker.produce(unique_name, b"old")
    reader = broker.reader(unique_name, {})
    assert reader.positions() == {0: 1}
    waiting = gevent.spawn(fetch_until, lambda: reader.fetch(1.0), 1)
    broker.produce(unique_name, b"new")
    assert [r.value for r in waiting.get(timeout=DEADLINE)] == [b"new"]


def test_readers_do_not_compete(broker: KafkaBroker, unique_name: str) -> None:
    """Two readers of one topic (two connections of a user) both get every record."""
    first = broker.reader(unique_name, {0: 0})
    second = broker.reader(unique_name, {0: 0})
    for i in range(3):
        broker.produce(unique_name, str(i).encode())
    for reader in (first, second):
        got = fetch_until(lambda r=reader: r.fetch(1.0), 3)  # type: ignore[misc]
        assert [r.value for r in got] == [b"0", b"1", b"2"]


def test_close_closes_open_readers(kafka_bootstrap: str, unique_name: str) -> None:
    b = KafkaBroker([kafka_bootstrap])
    b.reader(unique_name, {})
    b.reader(unique_name, {})
    assert b.open_consumers() == 2
    b.close()
    assert b.open_consumers() == 0
    with pytest.raises(BrokerError):
        b.produce(unique_name, b"after close")


def test_open_consumers_are_capped(kafka_bootstrap: str, unique_name: str) -> None:
    b = KafkaBroker([kafka_bootstrap], max_consumers=2)
    try:
        first = b.reader(unique_name, {})
        b.reader(unique_name, {})
        with pytest.raises(BrokerError, match="too many open Kafka consumers"):
            b.reader(unique_name, {})
        first.close()
        assert b.reader(unique_name, {}).positions() == {0: 0}
    finally:
        b.close()


def test_consumer_cap_holds_against_simultaneous_openers(kafka_bootstrap: str, unique_name: str) -> None:
    """Many greenlets opening readers at once: exactly the cap succeed, the rest are refused.

    Opening a reader talks to Kafka (metadata, offsets) before the consumer exists, so the
    openers interleave; the cap must count the ones still being opened."""
    b = KafkaBroker([kafka_bootstrap], max_consumers=3)
    try:
        b.create_topic(unique_name, 1)

        def open_one() -> str:
            try:
                b.reader(unique_name, {})
            except BrokerError as exc:
                return str(exc)
            return "opened"

        jobs = [gevent.spawn(open_one) for _ in range(20)]
        gevent.joinall(jobs, timeout=DEADLINE, raise_error=True)
        outcomes = [job.value for job in jobs]
        assert outcomes.count("opened") == 3, outcomes
        refused = [o for o in outcomes if o != "opened"]
        assert len(refused) == 17
        assert all(o.startswith("too many open Kafka consumers") for o in refused), refused
        assert b.open_consumers() == 3
    finally:
        b.close()


def test_a_reader_that_fails_to_open_gives_its_cap_slot_back(kafka_bootstrap: str, unique_name: str) -> None:
    b = KafkaBroker([kafka_bootstrap], max_consumers=1)
    try:
        b.create_topic(unique_name, 1)
        with pytest.raises(BrokerError, match="no metadata for topic"):
            b.reader(f"{unique_name} not a topic name!", {})
        assert b.open_consumers() == 0
        assert b.reader(unique_name, {0: 0}).positions() == {0: 0}
    finally:
        b.close()


# -- committed / commit without joining --------------------------------------------------------


def test_commit_and_committed_round_trip_across_brokers(
    broker: KafkaBroker, kafka_bootstrap: str, unique_name: str
) -> None:
    group = f"{unique_name}-user-alice"
    broker.create_topic(unique_name, 2)
    assert broker.committed(group, unique_name) == {}
    broker.commit(group, unique_name, {0: 3})
    assert broker.committed(group, unique_name) == {0: 3}
    broker.commit(group, unique_name, {0: 5, 1: 1})

    # Another worker process has its own broker: it sees the same group offsets.
    other = KafkaBroker([kafka_bootstrap])
    try:
        assert other.committed(group, unique_name) == {0: 5, 1: 1}
        assert other.committed(group, f"{unique_name}-other-topic") == {}
        assert other.committed(f"{unique_name}-user-bob", unique_name) == {}
    finally:
        other.close()


def test_committed_offsets_are_what_a_plain_group_consumer_resumes_from(
    broker: KafkaBroker, kafka_bootstrap: str, unique_name: str
) -> None:
    group = f"{unique_name}-g"
    for i in range(4):
        broker.produce(unique_name, f"m{i}".encode())
    broker.commit(group, unique_name, {0: 3})
    plain = KafkaConsumer(
        unique_name,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
    )
    try:
        got = []
        deadline = time.monotonic() + DEADLINE
        while not got and time.monotonic() < deadline:
            for recs in plain.poll(timeout_ms=1000).values():
                got.extend(recs)
    finally:
        plain.close(autocommit=False)
    assert [r.value for r in got] == [b"m3"]


def test_many_groups_share_one_connection(
    broker: KafkaBroker, unique_name: str
) -> None:
    """Offsets of thousands of users must not mean thousands of sockets."""
    broker.create_topic(unique_name)
    broker.commit(f"{unique_name}-u0", unique_name, {0: 0})

    def sockets() -> int:
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
            except OSError:  # the directory listing's own descriptor, gone already
                pass
        return count

    def round_trip(i: int) -> dict[int, int]:
        broker.commit(f"{unique_name}-u{i}", unique_name, {0: i})
        return broker.committed(f"{unique_name}-u{i}", unique_name)

    before = sockets()
    # Concurrently, as requests of many users would: all through the one admin connection.
    jobs = [gevent.spawn(round_trip, i) for i in range(1, 101)]
    gevent.joinall(jobs, timeout=DEADLINE * 2, raise_error=True)
    assert [job.get(block=False) for job in jobs] == [{0: i} for i in range(1, 101)]
    assert sockets() <= before


# -- GroupConsumer -----------------------------------------------------------------------------


def test_group_consumers_compete_each_record_once(
    broker: KafkaBroker, unique_name: str
) -> None:
    topic, group = unique_name, f"{unique_name}-workers"
    broker.create_topic(topic, 2)
    a = broker.group_consumer(group, [topic])
    b = broker.group_consumer(group, [topic])
    try:
        # Let the group settle with one partition each before anything is produced, so no
        # rebalance redelivers records mid-test. Twice the usual wait: on a loaded machine a
        # member that joined before the topic's metadata reached it (an empty first assignment)
        # was once still waiting for the next rebalance after 30 s.
        deadline = time.monotonic() + 2 * DEADLINE
        while not (len(a.assignment()) == 1 and len(b.assignment()) == 1):
            assert time.monotonic() < deadline, (
                f"group never split: {a.assignment()} / {b.assignment()}"
            )
            gevent.joinall([gevent.spawn(a.fetch, 0.5), gevent.spawn(b.fetch, 0.5)])
        assert a.assignment() | b.assignment() == {(topic, 0), (topic, 1)}

        total = 40
        for i in range(total):
            broker.produce(topic, str(i).encode(), partition=i % 2)

        seen: dict[str, list[bytes]] = {"a": [], "b": []}

        def consume(name: str, member) -> None:  # type: ignore[no-untyped-def]
            while (
                sum(len(v) for v in seen.values()) < total
                and time.monotonic() < deadline2
            ):
                records = member.fetch(0.5)
                seen[name].extend(r.value for r in records)
                if records:
                    member.commit(
                        {(r.topic, r.partition): r.offset + 1 for r in records}
                    )

        deadline2 = time.monotonic() + DEADLINE
        gevent.joinall(
            [gevent.spawn(consume, "a", a), gevent.spawn(consume, "b", b)],
            raise_error=True,
        )
        everything = seen["a"] + seen["b"]
        assert sorted(everything) == sorted(
            str(i).encode() for i in range(total)
        )  # each exactly once
        assert len(seen["a"]) == len(seen["b"]) == total // 2
        assert broker.committed(group, topic) == {0: total // 2, 1: total // 2}
    finally:
        a.close()
        b.close()


def test_group_consumer_resumes_from_the_groups_commit(
    broker: KafkaBroker, unique_name: str
) -> None:
    topic, group = unique_name, f"{unique_name}-g"
    for i in range(3):
        broker.produce(topic, f"m{i}".encode())
    first = broker.group_consumer(group, [topic])
    got = fetch_until(lambda: first.fetch(1.0, max_records=1), 1)
    assert [r.value for r in got] == [b"m0"]
    first.commit({(topic, 0): 1})
    first.close()

    second = broker.group_consumer(group, [topic])
    try:
        assert [r.value for r in fetch_until(lambda: second.fetch(1.0), 2)] == [
            b"m1",
            b"m2",
        ]
    finally:
        second.close()


def test_group_consumer_from_newest_skips_old_records_and_pins_its_start(
    broker: KafkaBroker, unique_name: str
) -> None:
    topic, group = unique_name, f"{unique_name}-g"
    broker.produce(topic, b"old")
    member = broker.group_consumer(group, [topic], start_from_oldest=False)
    try:
        # The start is recorded before the member even joined: a crash now loses nothing.
        assert broker.committed(group, topic) == {0: 1}
        waiting = gevent.spawn(fetch_until, lambda: member.fetch(0.5), 1)
        broker.produce(topic, b"new")
        assert [r.value for r in waiting.get(timeout=DEADLINE)] == [b"new"]
    finally:
        member.close()


# -- deploy/kafka/run.sh -----------------------------------------------------------------------

RUN_SH = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "run.sh"


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (all held open while choosing, so none repeats)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def test_run_script_start_status_stop_are_idempotent(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A second broker on free ports and its own data dir (the jars are cached by the first)."""
    port, controller_port = _free_ports(2)
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_DATA_DIR": str(tmp_path / "kafka"),
        "KAFKA_HEAP_OPTS": "-Xmx256m",
    }

    def run(cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(RUN_SH), cmd],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    b = KafkaBroker([f"127.0.0.1:{port}"], connect_timeout=3.0)
    try:
        assert run("status").returncode == 3
        first = run("start")
        assert first.returncode == 0, first.stderr[-4000:]
        again = run("start")
        assert again.returncode == 0 and "already running" in again.stderr, again.stderr
        assert run("status").returncode == 0
        assert b.produce("run-sh", b"x").offset == 0
    finally:
        stopped = run("stop")
    try:
        assert stopped.returncode == 0, stopped.stderr
        assert run("stop").returncode == 0
        assert run("status").returncode == 3
        assert not (tmp_path / "kafka" / "kafka.pid").exists()
        # Kafka gone after the producer was connected: the push must fail (a 502), not hang.
        with pytest.raises(BrokerError):
            b.produce("run-sh", b"y", timeout=2.0)
    finally:
        b.close()
