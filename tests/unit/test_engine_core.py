"""The stream engine with the embedded broker (real SQLite in a tmp dir): push statuses,
processors, fan-out, pull ordering/commit/rollback across two gateways (= two workers),
broadcast, Last-Event-ID resume, slow clients, idle instances, template vs template-free and
competing workers. Waits are bounded by generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import gevent
import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.engine import Gateway
from streams.engine.testing import make_gateway
from streams.message import Message

DEADLINE = 30.0

# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def gateways() -> Any:
    made: list[Gateway] = []

    def make(data_dir: Any, streams: dict[str, Any], **kw: Any) -> Any:
        gw, api = make_gateway(str(data_dir), streams, **kw)
        made.append(gw)
        return gw, api

    yield make
    for gw in made:
        gw.drain(5.0)


@pytest.fixture
def broker(tmp_path: Any) -> Any:
    b = EmbeddedBroker(str(tmp_path))
    yield b
    b.close()


def wait_until(cond: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        gevent.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def jmsg(value: Any) -> Message:
    return Message(json.dumps(value).encode())


def read_all(broker: EmbeddedBroker, topic: str) -> list[Any]:
    reader = broker.reader(topic, broker.beginning_offsets(topic))
    try:
        return [json.loads(r.value) for r in reader.fetch(timeout=0.5, max_records=10000)]
    finally:
        reader.close()


ECHO = {"input": {"http_server": {"path": "/in"}}, "output": {"sync_response": {}}}


# --- push ---------------------------------------------------------------------------------------


def test_push_echoes_sync_response(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"echo": ECHO})
    inst = api.open("echo", {})
    try:
        result = inst.push(Message(b"hello"), 5.0)
    finally:
        inst.release()
    assert (result.status, result.body, result.error) == (200, b"hello", None)
    assert result.headers["Content-Type"] == "application/octet-stream"


def test_push_to_kafka_and_sync_response_is_acked_in_the_topic(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"mapping": 'root = this.merge({ "result": "bar" })'}]},
        "output": {"broker": {"outputs": [{"kafka": {"addresses": ["x:1"], "topic": "jobs"}}, {"sync_response": {}}]}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(jmsg({"a": 1}), 5.0)
    inst.release()
    assert result.status == 200
    assert json.loads(result.body) == {"a": 1, "result": "bar"}
    # The 200 came after the produce was acknowledged: the record is there now.
    assert read_all(broker, "jobs") == [{"a": 1, "result": "bar"}]


def test_push_answers_502_with_the_error_when_an_output_fails(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "output": {"http_client": {"url": "http://127.0.0.1:9/hook", "retries": 0, "timeout": "2s"}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b"x"), 10.0)
    inst.release()
    assert result.status == 502
    assert "127.0.0.1:9" in (result.error or "")


def test_push_answers_408_when_outputs_do_not_finish_in_time(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"sleep": {"duration": "30s"}}]},
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b"x"), 0.2)
    inst.release()
    assert result.status == 408


def test_message_deleted_by_a_processor_gives_200_empty(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"mapping": "root = deleted()"}]},
        "output": {"broker": {"outputs": [{"kafka": {"topic": "never"}}, {"sync_response": {}}]}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b"x"), 5.0)
    inst.release()
    assert (result.status, result.body) == (200, b"")
    assert read_all(broker, "never") == []


def test_failed_mapping_flags_the_message_and_catch_handles_it(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {
            "processors": [
                {"mapping": "root = this.fail.number()"},
                {"catch": [{"mapping": 'root = "tick"'}]},
            ]
        },
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(jmsg({"a": 1}), 5.0)
    inst.release()
    assert (result.status, result.body) == (200, b"tick")


def test_fan_out_fails_when_any_output_fails_but_sequential_stops_early(tmp_path: Any, gateways: Any, broker: Any) -> None:
    bad = {"http_client": {"url": "http://127.0.0.1:9/x", "retries": 0, "timeout": "1s"}}
    streams = {
        "fan": {
            "input": {"http_server": {"path": "/fan"}},
            "output": {"broker": {"pattern": "fan_out_fail_fast", "outputs": [{"kafka": {"topic": "fan"}}, bad]}},
        },
        "seq": {
            "input": {"http_server": {"path": "/seq"}},
            "output": {
                "broker": {"pattern": "fan_out_sequential_fail_fast", "outputs": [bad, {"kafka": {"topic": "seq"}}]}
            },
        },
    }
    _, api = gateways(tmp_path, streams)
    for name in ("fan", "seq"):
        inst = api.open(name, {})
        assert inst.push(jmsg({"n": name}), 10.0).status == 502
        inst.release()
    assert read_all(broker, "fan") == [{"n": "fan"}]  # fan-out wrote the good output anyway
    assert read_all(broker, "seq") == []  # sequential never reached the second output


def test_round_robin_alternates_outputs(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "output": {"broker": {"pattern": "round_robin", "outputs": [{"kafka": {"topic": "a"}}, {"kafka": {"topic": "b"}}]}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    for i in range(4):
        assert inst.push(jmsg(i), 5.0).status == 200
    inst.release()
    assert sorted(read_all(broker, "a") + read_all(broker, "b")) == [0, 1, 2, 3]
    assert len(read_all(broker, "a")) == 2


def test_switch_routes_by_check(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {
            "processors": [
                {
                    "switch": [
                        {"check": 'this.kind == "a"', "processors": [{"mapping": 'root = "tick"'}]},
                        {"processors": [{"mapping": "root = deleted()"}]},
                    ]
                }
            ]
        },
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    assert inst.push(jmsg({"kind": "a"}), 5.0).body == b"tick"
    assert inst.push(jmsg({"kind": "b"}), 5.0).body == b""
    inst.release()


def test_rate_limit_answers_429_with_retry_after(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {"rate_limit": "lim"}},
        "rate_limit_resources": [{"label": "lim", "local": {"count": 2, "interval": "1h"}}],
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    statuses = [inst.push(Message(b"x"), 5.0).status for _ in range(3)]
    inst.release()
    assert statuses == [200, 200, 429]


# --- pull: per-user position in the consumer group, across workers ----------------------------

OUT = {
    "input": {
        "kafka": {
            "addresses": ["localhost:9093"],
            "consumer_group": "$tyk_context.request_data_user",
            "topics": ["completed"],
        }
    },
    "pipeline": {
        "processors": [{"mapping": 'root = if this.user_id != "$tyk_context.request_data_user" {\n  deleted()\n}\n'}]
    },
    "output": {"http_server": {"path": "/get-event"}},
}


def user(name: str) -> dict[str, str]:
    return {"request_data_user": name}


def pull(api: Any, who: str, timeout: float = 5.0, ack: bool = True) -> Any:
    inst = api.open("out", user(who))
    try:
        delivery = inst.pull(timeout)
    finally:
        inst.release()
    if delivery is not None and ack:
        delivery.ack()
    return delivery


def test_sequential_gets_on_two_workers_are_in_order_none_twice_none_skipped(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    for i in range(6):
        broker.produce("completed", json.dumps({"user_id": "alice", "n": i}).encode())
        broker.produce("completed", json.dumps({"user_id": "bob", "n": i}).encode())
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    got = [json.loads(pull(api1 if i % 2 else api2, "alice").content)["n"] for i in range(6)]
    assert got == [0, 1, 2, 3, 4, 5]
    assert pull(api1, "alice", timeout=0.3) is None
    assert pull(api2, "alice", timeout=0.3) is None
    # bob's position is his own, and he never sees alice's messages
    bobs = [json.loads(pull(api2, "bob").content) for _ in range(6)]
    assert [b["n"] for b in bobs] == [0, 1, 2, 3, 4, 5] and {b["user_id"] for b in bobs} == {"bob"}


def test_get_waits_for_the_next_message(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT})
    job = gevent.spawn(pull, api, "alice", 10.0)
    gevent.sleep(0.2)
    broker.produce("completed", json.dumps({"user_id": "bob", "n": 1}).encode())
    broker.produce("completed", json.dumps({"user_id": "alice", "n": 2}).encode())
    delivery = job.get(timeout=DEADLINE)
    assert json.loads(delivery.content) == {"user_id": "alice", "n": 2}
    assert delivery.event_id == "0-1"
    assert delivery.metadata["kafka_topic"] == "completed" and delivery.metadata["kafka_offset"] == 1


def test_nack_hands_the_message_back_to_the_next_get_on_another_worker(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    for i in range(2):
        broker.produce("completed", json.dumps({"user_id": "alice", "n": i}).encode())
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    first = pull(api1, "alice", ack=False)
    assert json.loads(first.content)["n"] == 0
    first.nack()  # the client went away before the body was written
    again = pull(api2, "alice")
    assert json.loads(again.content)["n"] == 0
    assert json.loads(pull(api1, "alice").content)["n"] == 1


def test_nack_after_a_later_get_moved_on_does_not_rewind(tmp_path: Any, gateways: Any, broker: Any) -> None:
    for i in range(3):
        broker.produce("completed", json.dumps({"user_id": "alice", "n": i}).encode())
    _, api = gateways(tmp_path, {"out": OUT})
    first = pull(api, "alice", ack=False)
    second = pull(api, "alice")
    first.nack()
    assert (json.loads(first.content)["n"], json.loads(second.content)["n"]) == (0, 1)
    assert json.loads(pull(api, "alice").content)["n"] == 2


def test_messages_deleted_by_the_mapping_are_committed_past(tmp_path: Any, gateways: Any, broker: Any) -> None:
    for i in range(5):
        broker.produce("completed", json.dumps({"user_id": "bob", "n": i}).encode())
    _, api = gateways(tmp_path, {"out": OUT})
    assert pull(api, "alice", timeout=0.5) is None
    assert broker.committed("alice", "completed") == {0: 5}


# --- broadcast to stream clients ----------------------------------------------------------------


def drain_sub(sub: Any, n: int, ack: bool = True) -> list[Any]:
    out = []
    while len(out) < n:
        d = sub.get(DEADLINE)
        assert d is not None, f"subscription ended after {len(out)} of {n}: {sub.closed_reason}"
        if ack:
            d.ack()
        out.append(d)
    return out


def produce_for(broker: Any, who: str, ns: range) -> None:
    for i in ns:
        broker.produce("completed", json.dumps({"user_id": who, "n": i}).encode())


def test_every_stream_client_of_the_user_on_every_worker_gets_every_message(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    insts = [api1.open("out", user("alice")), api1.open("out", user("alice")), api2.open("out", user("alice"))]
    subs = [inst.subscribe() for inst in insts]
    bob = api2.open("out", user("bob")).subscribe()
    produce_for(broker, "alice", range(3))
    produce_for(broker, "bob", range(1))
    for sub in subs:
        assert [json.loads(d.content)["n"] for d in drain_sub(sub, 3)] == [0, 1, 2]
    assert [json.loads(d.content) for d in drain_sub(bob, 1)] == [{"user_id": "bob", "n": 0}]
    assert bob.get(0.3) is None  # nothing of alice's
    for sub in subs:
        sub.close()
    # everything acknowledged by every client is committed
    wait_until(lambda: broker.committed("alice", "completed").get(0) == 4, "alice's commit")


def test_last_event_id_resumes_without_loss_or_repeat(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    inst1 = api1.open("out", user("alice"))
    first = inst1.subscribe()
    produce_for(broker, "alice", range(4))
    got = drain_sub(first, 2)
    first.close()  # connection dropped after two messages
    produce_for(broker, "alice", range(4, 6))
    inst2 = api2.open("out", user("alice"))
    resumed = inst2.subscribe(got[-1].event_id)  # reconnect lands on the other worker
    rest = drain_sub(resumed, 4)
    assert [json.loads(d.content)["n"] for d in got + rest] == [0, 1, 2, 3, 4, 5]
    # and it is now on the shared reader: new messages still arrive, once
    produce_for(broker, "alice", range(6, 7))
    assert [json.loads(d.content)["n"] for d in drain_sub(resumed, 1)] == [6]
    assert resumed.get(0.3) is None
    resumed.close()


def test_slow_client_is_cut_off_and_others_get_everything(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT}, client_queue=2)
    inst = api.open("out", user("alice"))
    slow = inst.subscribe()
    fast = inst.subscribe()
    received: list[Any] = []

    def reader() -> None:
        received.extend(drain_sub(fast, 6))

    job = gevent.spawn(reader)
    produce_for(broker, "alice", range(6))
    job.get(timeout=DEADLINE)
    assert [json.loads(d.content)["n"] for d in received] == list(range(6))
    assert slow.closed_reason == "slow client"
    assert slow.get(0.1) is None


def test_waiting_get_takes_the_next_broadcast_message(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("alice"))
    sub = inst.subscribe()
    gevent.sleep(0.1)
    job = gevent.spawn(pull, api, "alice", 10.0)
    gevent.sleep(0.1)
    produce_for(broker, "alice", range(1))
    assert json.loads(job.get(timeout=DEADLINE).content)["n"] == 0
    assert json.loads(drain_sub(sub, 1)[0].content)["n"] == 0
    sub.close()


# --- instances ----------------------------------------------------------------------------------


def test_one_instance_per_distinct_substituted_config_of_that_stream(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT, "echo": ECHO})
    a1, a2, b = api.open("out", user("alice")), api.open("out", user("alice")), api.open("out", user("bob"))
    assert a1 is a2 and a1 is not b
    e1, e2 = api.open("echo", user("alice")), api.open("echo", user("bob"))
    assert e1 is e2  # template-free: one per worker whatever the request
    for inst in (a1, a2, b, e1, e2):
        inst.release()


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


# --- the seed demo, in-process ---------------------------------------------------------------------

SEED = "/work/shared/seed/streams-demo.yaml"


def seed_gateway(tmp_path: Any, made: list[Gateway]) -> Gateway:
    import shutil

    from streams.engine.testing import make_settings

    defs = tmp_path / "apis"
    defs.mkdir(exist_ok=True)
    shutil.copy(SEED, defs / "streams-demo.yaml")
    gw = Gateway.from_settings(make_settings(str(tmp_path / "data"), definitions_dir=str(defs)))
    made.append(gw)
    gw.start()
    return gw


@pytest.fixture
def seed(tmp_path: Any) -> Any:
    made: list[Gateway] = []
    yield lambda: seed_gateway(tmp_path, made)
    for gw in made:
        gw.drain(5.0)


def test_seed_routes(seed: Any) -> None:
    gw = seed()
    assert gw.problems == []
    routes = {(r.stream, r.kind): (r.path, r.methods) for r in gw.routes()}
    assert routes == {
        ("in", "push"): ("/stream-demo/push-event", ("POST",)),
        ("in", "push_ws"): ("/stream-demo/ws-out", ("GET",)),
        ("out", "pull"): ("/stream-demo/get-event", ("GET",)),
        ("out", "stream"): ("/stream-demo/get/stream", ("GET",)),
        ("out", "pull_ws"): ("/stream-demo/ws-in", ("GET",)),
    }
    [api] = gw.apis
    assert api.templates == {"in", "out"}  # Worker is template-free: it runs from start()
    assert [i.name for i in gw.instances()] == ["Worker"]


def test_seed_end_to_end_push_worker_pull(seed: Any) -> None:
    gw1, gw2 = seed(), seed()  # two workers
    [api1], [api2] = gw1.apis, gw2.apis
    inst = api1.open("in", user("alice"))
    pushed = inst.push(jmsg({"foo": "hello"}), 5.0)
    inst.release()
    assert pushed.status == 200
    echo = json.loads(pushed.body)
    assert echo["user_id"] == "alice" and echo["foo"] == "hello" and echo["job_id"]
    got = pull(api2, "alice", timeout=DEADLINE)
    assert got is not None
    result = json.loads(got.content)
    assert result == {**echo, "result": "bar"}
    assert pull(api1, "bob", timeout=0.5) is None  # bob gets nothing of alice's
    assert pull(api1, "alice", timeout=0.3) is None  # and alice's job came once
