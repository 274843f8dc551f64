"""Kafka faults end to end: the seed on ``gunicorn wsgi:app -w 4`` while a worker is SIGKILLed and
the broker is stopped and started.

* 2,000 pushes from 20 clients on a PRIVATE Kafka (port 9095, its own data directory, stopped and
  started by the test): every push answered 200 is in ``jobs`` exactly once and reaches
  ``completed`` exactly once; every other push is in ``jobs`` at most once.
* On the shared Kafka: after each of 4 SIGKILLs of the worker holding the ``Worker`` stream's
  partition, a push reaches a waiting GET within 15 s (the default 10 s session timeout lets the
  group move the dead worker's partition).

Both use their own topics and consumer group (the seed with renamed topics). Topics are read with
kafka-python from the test. Measured numbers are printed (``-s``)."""

from __future__ import annotations

import collections
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import requests
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from tests.e2e.server import ROOT, Gunicorn, start_gunicorn
from tests.private_kafka import PrivateKafka, started_private_kafka

pytestmark = pytest.mark.kafka

SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
CLIENTS = 20
PER_CLIENT = 100
GET_BOUND = 15.0  # seconds from a push to the waiting GET after a worker kill (the bound)


# -- helpers ---------------------------------------------------------------------------------------


class Names:
    """The seed's topics and Worker group, renamed for one test."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.jobs = f"jobs-{tag}"
        self.completed = f"completed-{tag}"
        self.group = f"worker-{tag}"

    def write_definitions(self, directory: Path) -> Path:
        text = SEED.read_text()
        for old, new in (
            ("- jobs\n", f"- {self.jobs}\n"),
            ("topic: jobs\n", f"topic: {self.jobs}\n"),
            ("- completed\n", f"- {self.completed}\n"),
            ("topic: completed\n", f"topic: {self.completed}\n"),
            ("consumer_group: worker\n", f"consumer_group: {self.group}\n"),
        ):
            assert old in text, old
            text = text.replace(old, new)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "streams-demo.yaml").write_text(text)
        return directory


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    yield from started_private_kafka(tmp_path_factory)


def push(server: Gunicorn, user: str, payload: Any, timeout: float = 30) -> int | str:
    """The status of one push, or the name of the error when no answer came."""
    try:
        return requests.post(
            server.url("/stream-demo/push-event"), params={"user": user}, data=json.dumps(payload),
            headers={"Content-Type": "application/json"}, timeout=timeout,
        ).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def read_all(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every committed record of ``topic`` (JSON values), from the beginning to the current end
    (as the gateway's own readers see it: aborted transactions left out)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, isolation_level="read_committed"
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        assert parts, f"topic {topic} has no partitions"
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        values: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, f"reading {topic} did not reach its end"
            for records in consumer.poll(timeout_ms=1000).values():
                values.extend(json.loads(r.value) for r in records)
        return values
    finally:
        consumer.close()


def partition_owner(bootstrap: str, group: str, topic: str) -> int | None:
    """The pid of the gunicorn worker whose group member holds ``topic``'s partition 0 (group
    members are named ``<client>-group-<pid>``), or None while the group is not stable."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        info = admin.describe_groups([group]).get(group) or {}
    finally:
        admin.close()
    if info.get("group_state") != "Stable":
        return None
    for member in info.get("members", []):
        assignment = member.get("member_assignment") or {}
        for part in assignment.get("assigned_partitions", []):
            if part["topic"] == topic and 0 in part["partitions"]:
                return int(member["client_id"].rsplit("-", 1)[1])
    return None


def wait_for_owner(bootstrap: str, names: Names, server: Gunicorn, deadline_s: float = 90) -> int:
    deadline = time.monotonic() + deadline_s
    while True:
        pid = partition_owner(bootstrap, names.group, names.jobs)
        if pid is not None and _is_worker_of(server, pid):
            return pid
        assert time.monotonic() < deadline, "no live worker holds the jobs partition"
        gevent.sleep(0.5)


def _is_worker_of(server: Gunicorn, pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid


def first_result(server: Gunicorn, user: str, deadline_s: float) -> dict[str, Any] | None:
    """GET get-event until a message comes (each GET waits up to the stream's 5 s)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            resp = requests.get(server.url("/stream-demo/get-event"), params={"user": user}, timeout=30)
        except requests.RequestException:
            gevent.sleep(0.2)  # the worker serving it was the one killed
            continue
        if resp.status_code == 200:
            return resp.json()  # type: ignore[no-any-return]
    return None


def warm_up(server: Gunicorn, bootstrap: str) -> None:
    """One push through the whole pipeline: the Worker group has formed."""
    user = f"warm-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + 120
    while push(server, user, {"warm": True}) != 200:
        assert time.monotonic() < deadline, "the gateway never accepted a push"
        gevent.sleep(1)
    assert first_result(server, user, 120) is not None, "the warm-up job never came back"


# -- 2,000 pushes through a worker kill and a broker restart ------------------------------------------


def test_pushes_land_once_through_a_worker_kill_and_a_broker_restart(
    private_kafka: PrivateKafka, tmp_path: Path
) -> None:
    names = Names()
    bootstrap = private_kafka.bootstrap
    server = start_gunicorn(
        tmp_path, workers=4,
        env={"STREAMS_KAFKA_BROKERS": bootstrap, "STREAMS_DEFINITIONS_DIR": str(names.write_definitions(tmp_path / "apis"))},
    )
    run = uuid.uuid4().hex
    statuses: dict[tuple[int, int], int | str] = {}
    answered_at: list[tuple[float, int | str]] = []
    events: dict[str, float] = {}
    try:
        warm_start = time.monotonic()
        warm_up(server, bootstrap)
        events["warm"] = time.monotonic() - warm_start

        def client(c: int) -> None:
            for n in range(PER_CLIENT):
                status = push(server, f"faults-{c}", {"run": run, "c": c, "n": n})
                statuses[(c, n)] = status
                answered_at.append((time.monotonic(), status))

        def faults() -> None:
            while len(statuses) < 500:
                gevent.sleep(0.05)
            victim = wait_for_owner(bootstrap, names, server, 30)
            os.kill(victim, signal.SIGKILL)
            events["killed"] = time.monotonic()
            while len(statuses) < 900:
                gevent.sleep(0.05)
            events["stop"] = time.monotonic()
            private_kafka.run("stop")
            events["stopped"] = time.monotonic()
            gevent.sleep(2)
            events["start"] = time.monotonic()
            private_kafka.run("start")
            events["started"] = time.monotonic()

        started = time.monotonic()
        jobs = [gevent.spawn(client, c) for c in range(CLIENTS)] + [gevent.spawn(faults)]
        gevent.joinall(jobs, timeout=240, raise_error=True)
        assert all(j.dead for j in jobs), f"pushes did not finish in 240 s ({len(statuses)} answered)"
        pushing = time.monotonic() - started

        acked = {key for key, status in statuses.items() if status == 200}
        deadline = time.monotonic() + 120
        while True:  # the Worker catches up with what was pushed
            done = {(v["c"], v["n"]) for v in read_all(bootstrap, names.completed) if v.get("run") == run}
            if acked <= done or time.monotonic() > deadline:
                break
            gevent.sleep(2)
        catch_up = time.monotonic() - started - pushing

        in_jobs = collections.Counter((v["c"], v["n"]) for v in read_all(bootstrap, names.jobs) if v.get("run") == run)
        in_completed = collections.Counter(
            (v["c"], v["n"]) for v in read_all(bootstrap, names.completed) if v.get("run") == run
        )
    finally:
        server.stop()

    counts = collections.Counter(str(s) for s in statuses.values())
    recovered = [t for t, s in sorted(answered_at) if s == 200 and t > events.get("stopped", float("inf"))]
    print(
        f"\nwarm-up {events['warm']:.1f}s; {len(statuses)} pushes in {pushing:.1f}s: {dict(counts)}; "
        f"the Worker done {catch_up:.1f}s after the last push"
        f"\nbroker down {events['started'] - events['stop']:.1f}s (start took {events['started'] - events['start']:.1f}s)"
        f"\nrecovery: first 200 {recovered[0] - events['start']:.1f}s after the start command, "
        f"{recovered[0] - events['started']:.1f}s after the broker answered"
        if recovered else "\nno push succeeded after the restart"
    )
    twice_in_jobs = {k: n for k, n in in_jobs.items() if n > 1}
    print(f"jobs: {sum(in_jobs.values())} records, {len(twice_in_jobs)} written more than once; "
          f"completed: {sum(in_completed.values())} records, "
          f"{sum(1 for k in acked if in_completed[k] > 1)} acked jobs more than once")

    assert len(statuses) == CLIENTS * PER_CLIENT
    assert recovered, "no push succeeded after the broker restart"
    assert counts["200"] < len(statuses), "the outage failed no push: the test did not exercise it"
    not_once = {k: in_jobs[k] for k in acked if in_jobs[k] != 1}
    assert not not_once, f"acked pushes not exactly once in jobs: {sorted(not_once.items())[:10]}"
    assert not twice_in_jobs, f"pushes written more than once: {sorted(twice_in_jobs.items())[:10]}"
    completed_not_once = {k: in_completed[k] for k in acked if in_completed[k] != 1}
    assert not completed_not_once, (
        f"{len(completed_not_once)} acked jobs not exactly once in completed: {sorted(completed_not_once.items())[:10]}"
    )


# -- a waiting GET after each of 4 worker kills -------------------------------------------------------


def test_a_push_reaches_a_waiting_get_after_each_worker_kill(kafka_bootstrap: str, tmp_path: Path) -> None:
    names = Names()
    server = start_gunicorn(
        tmp_path, workers=4,
        env={
            "STREAMS_KAFKA_BROKERS": kafka_bootstrap,
            "STREAMS_DEFINITIONS_DIR": str(names.write_definitions(tmp_path / "apis")),
        },
    )
    took: list[float] = []
    try:
        warm_up(server, kafka_bootstrap)
        for kill in range(4):
            steady(server, kafka_bootstrap, names.group)  # the last kill's replacement has joined
            victim = wait_for_owner(kafka_bootstrap, names, server)
            os.kill(victim, signal.SIGKILL)
            user = f"kill-{kill}-{uuid.uuid4().hex[:8]}"
            waiting = gevent.spawn(first_result, server, user, GET_BOUND + 30)
            gevent.sleep(0.5)  # the GET is waiting before the push
            pushed = time.monotonic()
            status = push(server, user, {"kill": kill})
            assert status == 200, f"push after kill {kill}: {status}"
            result = waiting.get(timeout=GET_BOUND + 40)
            took.append(time.monotonic() - pushed)
            assert result is not None and result["kill"] == kill, f"kill {kill}: nothing came back"
    finally:
        server.stop()
    print(f"\npush -> waiting GET after each SIGKILL of the partition owner: {', '.join(f'{t:.1f}s' for t in took)}")
    assert len(took) == 4
    assert max(took) <= GET_BOUND, f"a push took longer than {GET_BOUND}s to reach the GET: {took}"


# -- the first start after an unclean stop ---------------------------------------------------------


def test_a_restart_after_every_worker_died_serves_a_waiting_get_in_time(kafka_bootstrap: str, tmp_path: Path) -> None:
    names = Names()
    env = {"STREAMS_KAFKA_BROKERS": kafka_bootstrap, "STREAMS_DEFINITIONS_DIR": str(names.write_definitions(tmp_path / "apis"))}
    first = start_gunicorn(tmp_path / "first", workers=4, env=env)
    try:
        warm_up(first, kafka_bootstrap)
        workers = _children(first.process.pid)
        assert len(workers) == 4
        # NOTE: killed in a steady state. A member killed while a rebalance is under way still
        # counts as joined in the round it started and may be given partitions it then holds
        # for another session timeout (Kafka's classic group protocol): up to twice as long.
        wait_stable(kafka_bootstrap, names.group, workers)
        # The master is frozen first, or it would boot replacements (new members) in between.
        first.process.send_signal(signal.SIGSTOP)
        for pid in workers:  # nobody leaves the group: every member is left for dead
            os.kill(pid, signal.SIGKILL)
        first.process.kill()
        first.process.wait(10)
        killed = time.monotonic()
    finally:
        first.stop()
    second = start_gunicorn(tmp_path / "second", workers=4, env=env)
    try:
        user = f"restart-{uuid.uuid4().hex[:8]}"
        waiting = gevent.spawn(first_result, second, user, GET_BOUND + 30)
        gevent.sleep(0.5)
        pushed = time.monotonic()
        assert push(second, user, {"after": "restart"}) == 200
        result = waiting.get(timeout=GET_BOUND + 40)
        took = time.monotonic() - pushed
    finally:
        second.stop()
    print(f"\nrestart after SIGKILL of every worker: serving {pushed - killed:.1f}s after the kill, "
          f"push -> waiting GET {took:.1f}s")
    assert result is not None and result["after"] == "restart"
    assert took <= GET_BOUND, f"the restarted gateway took {took:.1f}s to deliver a push"


def wait_stable(bootstrap: str, group: str, pids: list[int], deadline_s: float = 60) -> None:
    """Until the group is stable with exactly the members of ``pids``."""
    wanted = sorted(pids)
    deadline = time.monotonic() + deadline_s
    while True:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            info = admin.describe_groups([group]).get(group) or {}
        finally:
            admin.close()
        members = sorted(int(m["client_id"].rsplit("-", 1)[1]) for m in info.get("members", []))
        if info.get("group_state") == "Stable" and members == wanted:
            return
        assert time.monotonic() < deadline, f"group {group} not stable with {wanted}: {info.get('group_state')} {members}"
        gevent.sleep(0.5)


def steady(server: Gunicorn, bootstrap: str, group: str, deadline_s: float = 90) -> None:
    """Until the server has its 4 workers and they are exactly the group's members (see the NOTE
    in the restart test on killing a member during a rebalance)."""
    deadline = time.monotonic() + deadline_s
    while len(_children(server.process.pid)) != 4:
        assert time.monotonic() < deadline, "gunicorn did not get its 4 workers back"
        gevent.sleep(0.2)
    try:
        wait_stable(bootstrap, group, _children(server.process.pid), max(1.0, deadline - time.monotonic()))
    except AssertionError as exc:
        trouble = [line for line in server.log().splitlines() if " WARNING " in line or " ERROR " in line]
        raise AssertionError(f"{exc}\nthe gateway's last warnings and errors:\n" + "\n".join(trouble[-40:])) from None


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids
