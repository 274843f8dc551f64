"""The embedded broker: one SQLite log shared by processes, with Kafka-like groups and offsets.

Cross-process behaviour is tested with real separate Python processes (``HELPER`` below) on the
same database file, the way gunicorn workers share it. Waits are bounded by generous deadlines
only to keep a broken build from hanging; nothing asserts on how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from streams import brokers
from streams.brokers.base import BrokerError, Position
from streams.brokers.embedded import EmbeddedBroker, _open, decode_headers, encode_headers

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # upper bound for anything waited on; a healthy run needs a small fraction
# Lease for group members: short enough for quick takeovers, long enough that a live member's
# heartbeat (every LEASE / 3) is not missed on a loaded machine.
LEASE = 3.0

# A separate process using the broker; one JSON argument says what to do, JSON lines report back.
HELPER = r"""
from gevent import monkey; monkey.patch_all()
import json, sys
import gevent
from streams.brokers.embedded import EmbeddedBroker

args = json.loads(sys.argv[1])
def say(**kw):
    sys.stdout.write(json.dumps(kw) + "\n"); sys.stdout.flush()

broker = EmbeddedBroker(args["dir"], default_partitions=args.get("partitions", 1),
                        lease_seconds=args.get("lease", 10.0))
if args["mode"] == "produce":
    if args.get("wait_line"):
        sys.stdin.readline()
    offsets = [broker.produce(args["topic"], f"{args['prefix']}-{i}".encode(), key=str(i).encode()).offset
               for i in range(args["n"])]
    say(offsets=offsets)
elif args["mode"] == "produce_concurrently":
    jobs = [gevent.spawn(broker.produce, args["topic"], f"{args['prefix']}-{i}".encode()) for i in range(args["n"])]
    gevent.joinall(jobs, raise_error=True)
    say(positions=[[j.value.partition, j.value.offset] for j in jobs])
elif args["mode"] == "consume":
    consumer = broker.group_consumer(args["group"], [args["topic"]])
    last = None
    commit_below = args.get("commit_below")  # None: commit everything fetched
    while True:
        assigned = sorted(p for _, p in consumer.assignment())
        if assigned != last:
            say(assigned=assigned); last = assigned
        records = consumer.fetch(timeout=0.2)
        if not records:
            continue
        say(records=[[r.partition, r.offset, r.value.decode()] for r in records])
        todo = {}
        for r in records:
            if commit_below is None or r.offset < commit_below:
                todo[(r.topic, r.partition)] = r.offset + 1
        if todo:
            consumer.commit(todo)
            say(committed=[[t[1], o] for t, o in todo.items()])
"""


class Child:
    """One helper process and the JSON lines it has printed."""

    def __init__(self, **args: Any) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HELPER, json.dumps(args)],
            cwd=str(ROOT),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.lines: list[dict[str, Any]] = []
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(json.loads(raw))

    def wait_for(self, predicate: Any) -> dict[str, Any]:
        """The first line satisfying ``predicate``; fails if the process exits or DEADLINE passes."""
        end = time.monotonic() + DEADLINE
        seen = 0
        while time.monotonic() < end:
            for line in self.lines[seen:]:
                if predicate(line):
                    return line
            seen = len(self.lines)
            if self._reader.dead and seen == len(self.lines):
                raise AssertionError(f"helper exited ({self.proc.poll()}) without the expected line: {self.lines}")
            gevent.sleep(0.02)
        raise AssertionError(f"helper never printed the expected line: {self.lines}")

    def records(self) -> list[tuple[int, int, str]]:
        return [tuple(r) for line in self.lines for r in line.get("records", ())]  # type: ignore[misc]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    return str(tmp_path / "var")


@pytest.fixture
def broker(data_dir: str) -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(data_dir, lease_seconds=LEASE)
    yield b
    b.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    procs: list[Child] = []
    yield procs
    for child in procs:
        child.stop(signal.SIGKILL)


def fetch_until(reader: Any, count: int) -> list[Any]:
    """Fetch until ``count`` records arrived (or DEADLINE)."""
    out: list[Any] = []
    end = time.monotonic() + DEADLINE
    while len(out) < count and time.monotonic() < end:
        out.extend(reader.fetch(timeout=0.5))
    return out


# -- produce, read, offsets --------------------------------------------------------------------


def test_produce_then_read_back_key_value_headers(broker: EmbeddedBroker) -> None:
    pos = broker.produce("orders", b"first", key=b"k1", headers=[("trace", b"\x00\x01"), ("user", b"alice")])
    broker.produce("orders", b"second")
    assert pos == Position("orders", 0, 0)
    records = broker.reader("orders", {0: 0}).fetch(timeout=1)
    assert [(r.offset, r.value, r.key) for r in records] == [(0, b"first", b"k1"), (1, b"second", None)]
    assert records[0].headers == (("trace", b"\x00\x01"), ("user", b"alice"))
    assert records[1].headers == ()
    assert records[0].timestamp_ms > 0
    assert broker.beginning_offsets("orders") == {0: 0}
    assert broker.end_offsets("orders") == {0: 2}


def test_topics_are_auto_created_with_the_default_partition_count(data_dir: str) -> None:
    b = EmbeddedBroker(data_dir, default_partitions=3)
    try:
        assert b.partitions("new-topic") == [0, 1, 2]
        assert b.create_topic("explicit", 5) == 5
        assert b.partitions("explicit") == [0, 1, 2, 3, 4]
        assert b.end_offsets("explicit") == {p: 0 for p in range(5)}
    finally:
        b.close()


def test_keyed_records_stay_on_one_partition_and_explicit_partitions_are_checked(data_dir: str) -> None:
    b = EmbeddedBroker(data_dir, default_partitions=4)
    try:
        parts = {b.produce("keyed", b"v", key=b"user-42").partition for _ in range(10)}
        assert len(parts) == 1
        assert b.produce("keyed", b"v", partition=3).partition == 3
        with pytest.raises(BrokerError):
            b.produce("keyed", b"v", partition=4)
        spread = {b.produce("keyed", b"v").partition for _ in range(8)}
        assert spread == {0, 1, 2, 3}  # unkeyed records go round robin
    finally:
        b.close()


def test_commit_and_committed(broker: EmbeddedBroker) -> None:
    broker.create_topic("events")
    assert broker.committed("g", "events") == {}
    broker.commit("g", "events", {0: 5})
    broker.commit("g", "events", {0: 7})
    broker.commit("other", "events", {0: 1})
    assert broker.committed("g", "events") == {0: 7}
    assert broker.committed("other", "events") == {0: 1}
    assert broker.committed("g", "elsewhere") == {}


def test_reader_seek_positions_and_absent_partitions_start_at_the_end(broker: EmbeddedBroker) -> None:
    broker.create_topic("seek", 2)
    for i in range(5):
        broker.produce("seek", f"a{i}".encode(), partition=0)
    broker.produce("seek", b"b0", partition=1)
    reader = broker.reader("seek", {0: 2})
    assert reader.positions() == {0: 2, 1: 1}  # partition 1 was absent: starts at its end
    assert [r.value for r in reader.fetch(timeout=1)] == [b"a2", b"a3", b"a4"]
    assert reader.positions() == {0: 5, 1: 1}
    reader.seek({0: 1})
    assert [r.value for r in reader.fetch(timeout=1, max_records=2)] == [b"a1", b"a2"]
    reader.seek({1: 0})
    got = fetch_until(reader, 3)
    assert sorted(r.value for r in got) == [b"a3", b"a4", b"b0"]
    assert reader.fetch(timeout=0.05) == []
    with pytest.raises(BrokerError):
        reader.seek({7: 0})
    reader.close()
    assert reader.fetch(timeout=DEADLINE) == []  # closed: returns at once instead of waiting


def test_headers_encoding_round_trips() -> None:
    headers = (("", b""), ("ü", b"\xff" * 300), ("x", b"1"))
    assert decode_headers(encode_headers(headers)) == headers
    assert encode_headers(()) is None and decode_headers(None) == ()


def test_retention_keeps_the_newest_records_per_partition(data_dir: str) -> None:
    b = EmbeddedBroker(data_dir, max_records_per_partition=5)
    try:
        for i in range(12):
            b.produce("short", str(i).encode())
        assert b.beginning_offsets("short") == {0: 7}
        assert b.end_offsets("short") == {0: 12}
        reader = b.reader("short", {0: 0})
        assert [r.offset for r in fetch_until(reader, 5)] == [7, 8, 9, 10, 11]
    finally:
        b.close()


# -- waiting for records ----------------------------------------------------------------------


def test_blocking_fetch_wakes_on_produce_from_another_greenlet(broker: EmbeddedBroker) -> None:
    reader = broker.reader("wake", {})
    # The fetch may wait far longer than we wait for it, so only a wakeup can end it in time.
    waiting = gevent.spawn(reader.fetch, 10 * DEADLINE)
    gevent.sleep(0.05)  # let the fetch find nothing and start waiting
    assert not waiting.ready()
    broker.produce("wake", b"hello")
    records = waiting.get(timeout=DEADLINE)
    assert [r.value for r in records] == [b"hello"]
    waiting.kill()


def test_blocking_fetch_wakes_on_produce_from_another_process(
    broker: EmbeddedBroker, data_dir: str, children: list[Child]
) -> None:
    reader = broker.reader("cross", {})
    waiting = gevent.spawn(reader.fetch, 10 * DEADLINE)  # only a wakeup ends it in time
    child = Child(mode="produce", dir=data_dir, topic="cross", n=1, prefix="remote", wait_line=True)
    children.append(child)
    gevent.sleep(0.05)
    assert not waiting.ready()
    assert child.proc.stdin is not None
    child.proc.stdin.write(b"go\n")
    child.proc.stdin.flush()
    records = waiting.get(timeout=DEADLINE)
    assert [r.value for r in records] == [b"remote-0"]
    waiting.kill()
    child.wait_for(lambda line: "offsets" in line)


def test_fetch_timeout_returns_nothing_when_nothing_arrives(broker: EmbeddedBroker) -> None:
    assert broker.reader("quiet", {}).fetch(timeout=0.1) == []


# -- concurrency and durability --------------------------------------------------------------


def test_many_greenlets_producing_get_unique_contiguous_offsets(broker: EmbeddedBroker) -> None:
    def produce_some(worker: int) -> list[int]:
        return [broker.produce("busy", f"{worker}-{i}".encode()).offset for i in range(20)]

    jobs = [gevent.spawn(produce_some, w) for w in range(50)]
    gevent.joinall(jobs, raise_error=True)
    offsets = sorted(o for j in jobs for o in j.value)
    assert offsets == list(range(1000))
    records = fetch_until(broker.reader("busy", {0: 0}), 1000)
    assert len(records) == 1000
    # Each producer's records are stored in the order it produced them.
    for w in range(50):
        mine = [r.value for r in records if r.value.startswith(f"{w}-".encode())]
        assert mine == [f"{w}-{i}".encode() for i in range(20)]


def test_several_processes_producing_at_once_lose_nothing(
    broker: EmbeddedBroker, data_dir: str, children: list[Child]
) -> None:
    broker.create_topic("shared-log")
    procs = [Child(mode="produce_concurrently", dir=data_dir, topic="shared-log", n=200, prefix=f"p{k}") for k in range(3)]
    children.extend(procs)
    local = [gevent.spawn(broker.produce, "shared-log", f"local-{i}".encode()) for i in range(100)]
    gevent.joinall(local, raise_error=True)
    reported = [pos for child in procs for pos in child.wait_for(lambda line: "positions" in line)["positions"]]
    offsets = sorted([o for _, o in reported] + [j.value.offset for j in local])
    assert offsets == list(range(700))
    values = {r.value for r in fetch_until(broker.reader("shared-log", {0: 0}), 700)}
    assert len(values) == 700


def test_a_failing_write_shares_a_transaction_without_spoiling_the_others(broker: EmbeddedBroker) -> None:
    def bad(conn: Any) -> None:
        conn.execute("INSERT INTO group_offsets (grp, topic, partition, next_offset) VALUES ('g', 't', 0, 1)")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    broker.create_topic("mixed")
    jobs = [gevent.spawn(broker.produce, "mixed", str(i).encode()) for i in range(20)]
    failing = gevent.spawn(broker.write, bad)
    commits = [gevent.spawn(broker.commit, f"g{i}", "mixed", {0: i}) for i in range(20)]
    gevent.joinall(jobs + commits + [failing])
    assert isinstance(failing.exception, BrokerError) and "no_such_table" in str(failing.exception)
    assert sorted(j.get().offset for j in jobs) == list(range(20))
    assert all(c.successful() for c in commits)
    assert [broker.committed(f"g{i}", "mixed") for i in range(20)] == [{0: i} for i in range(20)]
    assert broker.committed("g", "t") == {}  # the failed job's first insert was undone


def test_records_and_offsets_survive_reopening(data_dir: str) -> None:
    first = EmbeddedBroker(data_dir)
    first.produce("durable", b"one")
    first.produce("durable", b"two")
    first.commit("g", "durable", {0: 1})
    first.close()
    again = EmbeddedBroker(data_dir)
    try:
        assert [r.value for r in again.reader("durable", {0: 0}).fetch(timeout=1)] == [b"one", b"two"]
        assert again.committed("g", "durable") == {0: 1}
        assert again.produce("durable", b"three").offset == 2
    finally:
        again.close()


def test_a_broker_used_before_fork_opens_its_own_connection_in_the_child(broker: EmbeddedBroker) -> None:
    broker.produce("forked", b"parent")
    pid = os.fork()
    if pid == 0:  # child: must never return into pytest
        code = 1
        try:
            code = 0 if broker.produce("forked", b"child").offset == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert [r.value for r in fetch_until(broker.reader("forked", {0: 0}), 2)] == [b"parent", b"child"]
    assert broker.produce("forked", b"parent again").offset == 2  # the parent's connection still works


# -- consumer groups -------------------------------------------------------------------------


def test_group_consumer_reads_commits_and_resumes(broker: EmbeddedBroker) -> None:
    for i in range(5):
        broker.produce("jobs", str(i).encode())
    consumer = broker.group_consumer("workers", ["jobs"])
    got = consumer.fetch(timeout=1, max_records=3)
    assert [r.value for r in got] == [b"0", b"1", b"2"]
    consumer.commit({("jobs", 0): 3})
    consumer.close()
    assert broker.committed("workers", "jobs") == {0: 3}
    resumed = broker.group_consumer("workers", ["jobs"])
    try:
        assert [r.value for r in resumed.fetch(timeout=1)] == [b"3", b"4"]
    finally:
        resumed.close()


def test_group_consumer_over_two_topics_wakes_for_either(broker: EmbeddedBroker) -> None:
    consumer = broker.group_consumer("both", ["left", "right"])
    try:
        assert consumer.assignment() == {("left", 0), ("right", 0)}
        waiting = gevent.spawn(consumer.fetch, 10 * DEADLINE)  # only a wakeup ends it in time
        gevent.sleep(0.05)
        broker.produce("right", b"r")
        assert [(r.topic, r.value) for r in waiting.get(timeout=DEADLINE)] == [("right", b"r")]
        broker.produce("left", b"l")
        assert [(r.topic, r.value) for r in fetch_until(consumer, 1)] == [("left", b"l")]
    finally:
        consumer.close()


def test_group_consumer_starting_from_newest_skips_history_but_not_later_records(broker: EmbeddedBroker) -> None:
    broker.produce("late", b"old")
    consumer = broker.group_consumer("fresh", ["late"], start_from_oldest=False)
    try:
        broker.produce("late", b"new")
        assert [r.value for r in consumer.fetch(timeout=DEADLINE)] == [b"new"]
        # The starting point was committed, so a member that takes over would also start there.
        assert broker.committed("fresh", "late") == {0: 1}
    finally:
        consumer.close()


def test_members_in_one_process_split_partitions_and_take_over_on_close(data_dir: str) -> None:
    b = EmbeddedBroker(data_dir, default_partitions=4, lease_seconds=LEASE)
    try:
        a = b.group_consumer("split", ["four"])
        c = b.group_consumer("split", ["four"])
        end = time.monotonic() + DEADLINE
        while (len(a.assignment()), len(c.assignment())) != (2, 2) and time.monotonic() < end:
            gevent.sleep(0.05)
        assert len(a.assignment()) == 2 and len(c.assignment()) == 2
        assert not (a.assignment() & c.assignment())
        c.close()
        while len(a.assignment()) != 4 and time.monotonic() < end:
            gevent.sleep(0.05)
        assert a.assignment() == {("four", p) for p in range(4)}
        a.close()
    finally:
        b.close()


def wait_until(condition: Any) -> None:
    end = time.monotonic() + DEADLINE
    while not condition() and time.monotonic() < end:
        gevent.sleep(0.02)
    assert condition()


def test_a_partition_moves_to_a_new_member_only_after_its_fetched_records_are_committed(data_dir: str) -> None:
    b = EmbeddedBroker(data_dir, default_partitions=2, lease_seconds=LEASE)
    try:
        for p in (0, 1):
            for i in range(3):
                b.produce("rev", f"p{p}-{i}".encode(), partition=p)
        first = b.group_consumer("handover", ["rev"])
        assert len(fetch_until(first, 6)) == 6  # in flight: nothing committed yet
        second = b.group_consumer("handover", ["rev"])
        wait_until(lambda: len(first.paused()) == 1)
        [moving] = first.paused()
        staying = ("rev", 1 - moving[1])
        b.produce("rev", b"late", partition=moving[1])
        assert first.fetch(timeout=0.2) == []  # the moving partition is drained, not read further
        assert second.assignment() == set()  # still held: its records are not committed
        first.commit({moving: 3, staying: 3})
        wait_until(lambda: second.assignment() == {moving})
        assert first.assignment() == {staying}
        assert [r.value for r in fetch_until(second, 1)] == [b"late"]
        second.close()
        first.close()
    finally:
        b.close()


def test_commit_for_a_partition_held_by_another_member_is_refused(broker: EmbeddedBroker) -> None:
    broker.produce("owned", b"x")
    holder = broker.group_consumer("g", ["owned"])
    other = broker.group_consumer("g", ["owned"])
    try:
        assert holder.assignment() == {("owned", 0)} and other.assignment() == set()
        with pytest.raises(BrokerError):
            other.commit({("owned", 0): 1})
        assert broker.committed("g", "owned") == {}
        holder.commit({("owned", 0): 1})
        assert broker.committed("g", "owned") == {0: 1}
    finally:
        holder.close()
        other.close()


def test_competing_consumers_in_two_processes_get_disjoint_records(
    broker: EmbeddedBroker, data_dir: str, children: list[Child]
) -> None:
    broker.create_topic("work", 4)
    members = [Child(mode="consume", dir=data_dir, topic="work", group="crew", lease=LEASE) for _ in range(2)]
    children.extend(members)
    for m in members:  # both hold two partitions before anything is produced
        m.wait_for(lambda line: line.get("assigned") is not None and len(line["assigned"]) == 2)
    for i in range(200):
        broker.produce("work", f"job-{i}".encode(), key=str(i).encode())
    end = time.monotonic() + DEADLINE
    while sum(len(m.records()) for m in members) < 200 and time.monotonic() < end:
        gevent.sleep(0.05)
    got = [m.records() for m in members]
    values = [v for records in got for _, _, v in records]
    assert sorted(values) == sorted(f"job-{i}" for i in range(200))  # all of them, none twice
    assert all(got), "both members took part"
    assert not ({p for p, _, _ in got[0]} & {p for p, _, _ in got[1]})


def test_uncommitted_records_of_a_killed_member_go_to_another_after_the_lease(
    broker: EmbeddedBroker, data_dir: str, children: list[Child]
) -> None:
    for i in range(10):
        broker.produce("fragile", f"r{i}".encode())
    doomed = Child(mode="consume", dir=data_dir, topic="fragile", group="team", lease=LEASE, commit_below=4)
    children.append(doomed)
    doomed.wait_for(lambda line: line.get("committed") == [[0, 4]])
    assert sorted(v for _, _, v in doomed.records()) == [f"r{i}" for i in range(10)]

    other_worker = EmbeddedBroker(data_dir, lease_seconds=LEASE)
    survivor = other_worker.group_consumer("team", ["fragile"])
    try:
        assert survivor.assignment() == set()  # the doomed member still holds the partition
        doomed.stop(signal.SIGKILL)
        # r0..r3 were committed; r4..r9 were delivered but never committed, so they come again.
        got = fetch_until(survivor, 6)
        assert [r.value for r in got] == [f"r{i}".encode() for i in range(4, 10)]
        survivor.commit({("fragile", 0): 10})
        assert broker.committed("team", "fragile") == {0: 10}
    finally:
        other_worker.close()


# -- connect / shared -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("embedded", ("embedded",)),
        (["embedded"], ("embedded",)),
        ("EMBEDDED", ("embedded",)),
        ("k1:9092, k2:9093", ("k1:9092", "k2:9093")),
        (("k1:9092", "k1:9092"), ("k1:9092",)),
    ],
)
def test_normalize_addresses(given: Any, expected: tuple[str, ...]) -> None:
    assert brokers.normalize(given) == expected


@pytest.mark.parametrize("bad", ["", [], "no-port", "embedded,k1:9092", "host:abc"])
def test_bad_addresses_are_refused(bad: Any) -> None:
    with pytest.raises(BrokerError):
        brokers.normalize(bad)


def test_connect_and_shared_give_the_embedded_broker_once_per_process(data_dir: str) -> None:
    fresh = brokers.connect("embedded", data_dir=data_dir)
    assert isinstance(fresh, EmbeddedBroker) and fresh.data_dir == os.path.abspath(data_dir)
    fresh.close()
    one = brokers.shared(["embedded"], data_dir)
    try:
        assert brokers.shared("embedded", data_dir) is one
        assert brokers.shared("embedded", data_dir + "-other") is not one
        one.produce("via-shared", b"x")
    finally:
        brokers.close_shared()
    assert brokers.shared("embedded", data_dir) is not one
    brokers.close_shared()


def test_connect_with_addresses_gives_a_kafka_broker_without_connecting() -> None:
    from streams.brokers.kafka import KafkaBroker

    kafka = brokers.connect("127.0.0.1:1, 127.0.0.1:2", data_dir="unused", client_id="gw")
    try:
        assert isinstance(kafka, KafkaBroker)
        assert kafka.bootstrap == ["127.0.0.1:1", "127.0.0.1:2"] and kafka.client_id == "gw"
    finally:
        kafka.close()


def test_an_unusable_data_dir_is_a_broker_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    b = EmbeddedBroker(str(blocker / "var"))
    with pytest.raises((BrokerError, OSError)):
        b.produce("t", b"x")


def test_a_file_that_is_not_a_database_is_a_broker_error(tmp_path: Path) -> None:
    (tmp_path / "embedded-broker.sqlite3").write_bytes(b"this is not sqlite" * 100)
    b = EmbeddedBroker(str(tmp_path))
    with pytest.raises(BrokerError):
        b.produce("t", b"x")


def test_close_during_a_write_fails_its_caller_instead_of_leaving_it_waiting(tmp_path: Path) -> None:
    thread_sleep = gevent.monkey.get_original("time", "sleep")
    b = EmbeddedBroker(str(tmp_path))
    b.create_topic("t")
    state = b._local()
    slow = gevent.spawn(state.write, lambda conn: thread_sleep(0.3))  # e.g. a commit waiting on fsync
    gevent.sleep(0.05)  # now on the write thread
    b.close()
    with pytest.raises(BrokerError):
        slow.get(timeout=5)


def test_a_connection_without_busy_timeout_still_waits_out_a_lock_held_while_it_opens(tmp_path: Path) -> None:
    """The write thread's connection retries its own transactions (busy timeout 0), but opening it
    reads the schema, which waits while another process briefly locks the file (a checkpoint, or
    recovery when the last connection closes). It used to fail at once: "database is locked"."""
    prepared = EmbeddedBroker(str(tmp_path))
    prepared.create_topic("t")
    prepared.close()  # an open connection would keep the holder below from locking the file
    path = str(tmp_path / "embedded-broker.sqlite3")
    start_thread = gevent.monkey.get_original("_thread", "start_new_thread")
    thread_sleep = gevent.monkey.get_original("time", "sleep")
    locked, released = (gevent.monkey.get_original("_thread", "allocate_lock")() for _ in range(2))
    locked.acquire()
    released.acquire()

    def hold_the_file_exclusively() -> None:
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        locked.release()
        thread_sleep(0.3)
        holder.execute("COMMIT")
        holder.close()
        released.release()

    start_thread(hold_the_file_exclusively, ())
    assert locked.acquire(timeout=DEADLINE)
    conn = _open(path, "NORMAL", busy_timeout_ms=0)
    assert released.acquire(timeout=DEADLINE)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert conn.execute("SELECT topic FROM topics").fetchall() == [("t",)]
