"""The stream engine with the embedded broker (real SQLite in a tmp dir): push statuses,
processors, fan-out, pull ordering/commit/rollback across two gateways (= two workers),
broadcast, Last-Event-ID resume, slow clients, idle instances, template vs template-free and
competing workers. Waits are bounded by generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable

import gevent
import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.engine import Gateway
from streams.engine.testing import make_gateway
from streams.message import Message

DEADLINE = 30.0

# --- Bloblang stand-in ------------------------------------------------------------------------
# NOTE: used only while streams.bloblang has no compiler yet; every source below is real
# Bloblang, so the same tests run unchanged against the real compiler once it lands.


class _FakeMapping:
    def __init__(self, fn: Callable[[Message], Message | None]) -> None:
        self.fn = fn

    def apply_message(self, msg: Message, batch: Any = None, index: int = 0) -> Message | None:
        return self.fn(msg)

    mutate_message = apply_message


def _value_msg(msg: Message, value: Any) -> Message:
    out = msg.copy()
    out.set_value(value)
    return out


def _fake_parse(src: str, **_: Any) -> _FakeMapping:
    from streams.bloblang.errors import MappingError

    text = " ".join(src.split())
    if text == "root = deleted()":
        return _FakeMapping(lambda m: None)
    if text == 'root = this.merge({ "result": "bar" })':
        return _FakeMapping(lambda m: _value_msg(m, {**m.value, "result": "bar"}))
    if text == 'root = this.fail.number()':
        def fail(m: Message) -> Message:
            raise MappingError("failed assignment (line 1): expected number value, got null")
        return _FakeMapping(fail)
    if text == 'root = "tick"':
        return _FakeMapping(lambda m: _value_msg(m, "tick"))
    m = re.fullmatch(r'root = this root\.user_id = "(.*?)"(?: #.*?)? root\.job_id = uuid_v4\(\)', text)
    if m:
        import uuid

        user = m.group(1)
        return _FakeMapping(lambda msg: _value_msg(msg, {**msg.value, "user_id": user, "job_id": str(uuid.uuid4())}))
    m = re.fullmatch(r'root = if this\.user_id != "(.*?)" \{ deleted\(\) \}', text)
    if m:
        user = m.group(1)
        return _FakeMapping(lambda msg: msg if msg.value.get("user_id") == user else None)
    m = re.fullmatch(r"root = this\.kind == \"(\w+)\"", text)
    if m:
        kind = m.group(1)
        return _FakeMapping(lambda msg: _value_msg(msg, msg.value.get("kind") == kind))
    raise AssertionError(f"no stand-in for mapping {src!r}")


class _FakeInterpolation:
    def __init__(self, text: str) -> None:
        self.text = text
        self.is_static = "${!" not in text

    def render(self, msg: Message, batch: Any = None, index: int = 0) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1).strip()
            meta = re.fullmatch(r'meta\("(.*?)"\)', expr)
            if meta:
                return str(msg.metadata.get(meta.group(1), ""))
            js = re.fullmatch(r'json\("(.*?)"\)', expr)
            if js:
                return str(msg.value.get(js.group(1), ""))
            raise AssertionError(f"no stand-in for interpolation {expr!r}")

        return re.sub(r"\$\{!(.*?)\}", one, self.text)


@pytest.fixture(autouse=True)
def bloblang_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams import bloblang
    from streams.bloblang import errors

    if not hasattr(bloblang, "parse"):
        monkeypatch.setattr(bloblang, "parse", _fake_parse, raising=False)
        monkeypatch.setattr(bloblang, "parse_interpolation", _FakeInterpolation, raising=False)
        monkeypatch.setattr(bloblang, "MappingError", errors.MappingError, raising=False)


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
