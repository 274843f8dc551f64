"""The stream engine's instances: templates vs template-free, idle close, competing Worker.

Real parts only: the embedded broker (SQLite in a tmp dir), the real Bloblang compiler. Two
``Gateway`` objects over one data dir behave as two gunicorn workers. Waits are bounded by
generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
from typing import Any

import gevent
import gevent.event
import pytest

from streams.engine.testing import wait_until
from tests.unit.engine_helpers import ECHO, OUT, read_all, user

# --- instances ----------------------------------------------------------------------------------


def test_one_instance_per_distinct_substituted_config_of_that_stream(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT, "echo": ECHO})
    a1, a2, b = api.open("out", user("alice")), api.open("out", user("alice")), api.open("out", user("bob"))
    assert a1 is a2 and a1 is not b
    e1, e2 = api.open("echo", user("alice")), api.open("echo", user("bob"))
    assert e1 is e2  # template-free: one per worker whatever the request
    for inst in (a1, a2, b, e1, e2):
        inst.release()


def test_users_instances_share_what_their_config_does_not_vary(tmp_path: Any, gateways: Any) -> None:
    """A templated stream has an instance per user: its loggers and the tables of resources it
    does not declare are one per worker, not one per user; what it does declare stays its own."""
    cached = {**OUT, "cache_resources": [{"label": "seen", "memory": {}}]}
    _, api = gateways(tmp_path, {"out": OUT, "cached": cached})
    a, b = api.open("out", user("alice")), api.open("out", user("bob"))
    assert a.log is b.log and a.input.log is b.input.log
    for table in ("rate_limits", "cache_ttls", "caches", "processor_resources", "input_resources", "output_resources"):
        assert getattr(a.res.scope, table) is getattr(b.res.scope, table), table
    assert a.res.scope.processor_labels is b.res.scope.processor_labels
    c, d = api.open("cached", user("alice")), api.open("cached", user("bob"))
    assert set(c.res.scope.caches) == {"seen"} and c.res.scope.caches["seen"] is not d.res.scope.caches["seen"]
    for inst in (a, b, c, d):
        inst.release()


def test_a_slow_instance_start_holds_up_only_requests_for_that_instance(
    tmp_path: Any, gateways: Any, monkeypatch: Any
) -> None:
    gateway, api = gateways(tmp_path, {"out": OUT})
    release_alice = gevent.event.Event()
    build = gateway.build_instance

    def slow_for_alice(api_: Any, stream: str, conf: Any, key: str, tracer: Any = None) -> Any:
        if "alice" in json.dumps(conf):
            release_alice.wait()  # e.g. the broker is slow to answer alice's offsets
        return build(api_, stream, conf, key, tracer=tracer)

    monkeypatch.setattr(gateway, "build_instance", slow_for_alice)
    alice = [gevent.spawn(api.open, "out", user("alice")) for _ in range(2)]
    gevent.sleep(0)
    with gevent.Timeout(10):
        bob = api.open("out", user("bob"))  # not queued behind alice's start
    assert not any(g.ready() for g in alice)
    release_alice.set()
    a1, a2 = (g.get(timeout=10) for g in alice)
    assert a1 is a2 and a1 is not bob  # alice's concurrent requests share the one build
    for inst in (a1, a2, bob):
        inst.release()


def test_a_build_outlives_a_caller_that_stopped_waiting_and_a_failed_one_reaches_the_caller(
    tmp_path: Any, gateways: Any, monkeypatch: Any
) -> None:
    gateway, api = gateways(tmp_path, {"out": OUT})
    release = gevent.event.Event()
    built: list[Any] = []
    build = gateway.build_instance

    def slow(api_: Any, stream: str, conf: Any, key: str, tracer: Any = None) -> Any:
        if "carol" in json.dumps(conf):
            raise RuntimeError("carol's stream cannot start")
        release.wait()
        built.append(build(api_, stream, conf, key, tracer=tracer))
        return built[-1]

    monkeypatch.setattr(gateway, "build_instance", slow)
    gone = gevent.spawn(api.open, "out", user("alice"))
    gevent.sleep(0.05)
    gone.kill()  # the client left while its stream was being built
    release.set()
    wait_until(lambda: built, "alice's instance built all the same")
    with gevent.Timeout(10):
        again = api.open("out", user("alice"))
    assert again is built[0] and not again.closed  # the next request gets it, not a second build
    assert len(built) == 1
    again.release()
    with pytest.raises(RuntimeError, match="carol's stream cannot start"):
        api.open("out", user("carol"))


def test_idle_template_instance_is_closed_but_one_in_use_is_not(tmp_path: Any, gateways: Any) -> None:
    gw, api = gateways(tmp_path, {"out": OUT}, instance_idle_timeout=0.05)
    idle = api.open("out", user("alice"))
    idle.release()
    busy = api.open("out", user("bob"))
    gevent.sleep(0.1)
    gw.reap()
    assert idle.closed and not busy.closed
    busy.release()
    again = api.open("out", user("alice"))  # a new request gets a fresh instance
    assert again is not idle and not again.closed
    again.release()


def test_worker_stream_competes_across_two_workers_and_processes_each_job_once(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    broker.create_topic("jobs", 4)
    worker = {
        "input": {"kafka": {"addresses": ["localhost:9093"], "consumer_group": "worker", "topics": ["jobs"]}},
        "pipeline": {"processors": [{"mapping": 'root = this.merge({ "result": "bar" })'}]},
        "output": {"kafka": {"addresses": ["localhost:9093"], "topic": "completed"}},
    }
    gateways(tmp_path, {"Worker": worker})
    gateways(tmp_path, {"Worker": worker})
    for i in range(20):
        broker.produce("jobs", json.dumps({"id": i}).encode(), key=str(i).encode())
    done = wait_until(lambda: (r := read_all(broker, "completed")) and len(r) >= 20 and r, "20 completed jobs")
    gevent.sleep(0.3)
    done = read_all(broker, "completed")
    assert sorted(d["id"] for d in done) == list(range(20))
    assert all(d["result"] == "bar" for d in done)
    wait_until(lambda: sum(broker.committed("worker", "jobs").values()) == 20, "worker commits")


def test_worker_reports_consumer_lag(tmp_path: Any, gateways: Any, broker: Any) -> None:
    from streams.observability import METRICS

    for i in range(3):
        broker.produce("lagjobs", json.dumps({"id": i}).encode())
    worker = {"input": {"kafka": {"topics": ["lagjobs"], "consumer_group": "lag"}}, "output": {"drop": {}}}
    gateways(tmp_path, {"LagWorker": worker})
    wait_until(lambda: broker.committed("lag", "lagjobs") == {0: 3}, "the commit")
    wait_until(lambda: METRICS.value("consumer_lag", api="test", stream="LagWorker") == 0, "a lag of zero")
