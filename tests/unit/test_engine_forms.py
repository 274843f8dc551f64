"""The engine on the config forms Bento accepts: ``type:``, resources, ``http_server`` inside
brokers, ``stdout`` and a stream without output; and the WebSocket keep-alive schedule.

Real parts: the embedded broker in a tmp dir, the real Bloblang compiler. Waits are bounded by
generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from handlers.websocket import KeepAlive
from streams.contracts import ConfigError
from streams.engine.testing import DEADLINE, read_topic, wait_until
from streams.message import Message
from streams.outputs.stdout import log_line


def _json(msg: Message | None) -> Any:
    assert msg is not None
    return json.loads(msg.content)


def test_type_form_everywhere_builds_the_same_stream(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"type": "http_server", "label": "in", "http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"type": "mapping", "mapping": 'root.n = this.n + 1'}]},
        "output": {"type": "broker", "broker": {"outputs": [{"type": "sync_response"}, {"type": "drop"}]}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    try:
        result = inst.push(Message(b'{"n": 1}'), DEADLINE)
        assert (result.status, json.loads(result.body)) == (200, {"n": 2})
        assert (inst.input_type, inst.output_type) == ("http_server", "broker")
    finally:
        inst.release()


def test_resources_stand_for_their_entries(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input_resources": [{"label": "pushes", "http_server": {"path": "/in"},
                             "processors": [{"mapping": 'root = this.merge({"a": 1})'}]}],
        "output_resources": [{"label": "jobs", "type": "kafka", "kafka": {"addresses": ["x:1"], "topic": "res-jobs"}}],
        "input": {"resource": "pushes"},
        "output": {"broker": {"outputs": [{"resource": "jobs"}, {"sync_response": {}}]}},
    }
    gw, api = gateways(tmp_path, {"s": stream})
    assert [(r.kind, r.path) for r in gw.routes()] == [("push", "/test/in"), ("push_ws", "/test/post/ws")]
    inst = api.open("s", {})
    try:
        result = inst.push(Message(b"{}"), DEADLINE)
    finally:
        inst.release()
    assert (result.status, json.loads(result.body)) == (200, {"a": 1})
    assert [json.loads(r.value) for r in read_topic(broker, "res-jobs")] == [{"a": 1}]


def test_an_unknown_resource_is_a_config_error(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"s": {"input": {"resource": "nope"}}}, start=False)
    with pytest.raises(ConfigError, match=r"streams.s.input.resource: no input_resources entry labelled 'nope'"):
        api.open("s", {})


def test_http_server_inside_brokers_takes_pushes_and_serves_gets(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"broker": {"inputs": [
            {"http_server": {"path": "/in"}, "processors": [{"mapping": 'root = this.merge({"pushed": true})'}]},
            {"generate": {"mapping": 'root = {"generated": true}', "count": 1, "interval": ""}},
        ]}},
        "output": {"broker": {"outputs": [{"http_server": {"path": "/out"}}, {"drop": {}}]}},
    }
    gw, api = gateways(tmp_path, {"s": stream})
    assert sorted((r.kind, r.path) for r in gw.routes()) == [
        ("pull", "/test/out"), ("pull_ws", "/test/get/ws"), ("push", "/test/in"), ("push_ws", "/test/post/ws"),
        ("stream", "/test/get/stream"),
    ]
    inst = api.open("s", {})
    try:
        assert inst.push(Message(b'{"m": 1}'), DEADLINE).status == 200
        got = []
        while len(got) < 2:
            delivery = inst.pull(DEADLINE)
            assert delivery is not None
            got.append(json.loads(delivery.content))
            delivery.ack()
    finally:
        inst.release()
    assert sorted(got, key=str) == sorted([{"m": 1, "pushed": True}, {"generated": True}], key=str)


def test_one_http_server_input_per_broker(tmp_path: Any, gateways: Any) -> None:
    two = {"broker": {"inputs": [{"http_server": {"path": "/a"}}, {"http_server": {"path": "/b"}}]}}
    _, api = gateways(tmp_path, {"s": {"input": two, "output": {"drop": {}}}}, start=False)
    with pytest.raises(ConfigError, match="one http_server input per broker"):
        api.open("s", {})


def test_stdout_and_no_output_log_each_message_with_the_stream(
    tmp_path: Any, gateways: Any, caplog: pytest.LogCaptureFixture
) -> None:
    streams = {
        "quiet": {"input": {"http_server": {"path": "/q"}}},
        "loud": {"input": {"http_server": {"path": "/l"}}, "output": {"stdout": {"codec": "lines"}}},
    }
    _, api = gateways(tmp_path, streams)
    caplog.set_level(logging.INFO, logger="streams.engine")
    for name in streams:
        inst = api.open(name, {})
        try:
            assert inst.push(Message(f"to {name}\nsecond line".encode()), DEADLINE).status == 200
        finally:
            inst.release()
    lines = wait_until(
        lambda: [r for r in caplog.records if getattr(r, "output", None) == "stdout"][:2] or None, "stdout lines"
    )
    assert [(r.getMessage(), r.stream, r.api, r.levelno) for r in lines] == [  # type: ignore[attr-defined]
        ("to quiet\\nsecond line", "quiet", "test", logging.INFO),
        ("to loud\\nsecond line", "loud", "test", logging.INFO),
    ]


def test_a_log_line_is_one_line() -> None:
    assert log_line(b"a\nb\r\nc\\n\xff") == "a\\nb\\r\\nc\\\\n\ufffd"


# --- WebSocket keep-alive (no I/O) -------------------------------------------------------------


def test_pings_come_more_often_than_pong_wait() -> None:
    assert KeepAlive.of(54.0, 60.0) == KeepAlive(54.0, 60.0)
    assert KeepAlive.of(15.0, 3.0) == KeepAlive(pytest.approx(2.7), 3.0)
    assert KeepAlive.of(15.0, 0.0) == KeepAlive(15.0, 0.0)


def test_the_wait_stops_at_the_next_ping_or_the_pong_deadline() -> None:
    keepalive = KeepAlive(ping_period=1.0, pong_wait=3.0)
    assert keepalive.wait(now=10.0, next_ping=10.5, last_heard=9.0) == 0.5
    assert keepalive.wait(now=10.0, next_ping=11.0, last_heard=7.2) == pytest.approx(0.2)
    assert keepalive.wait(now=10.0, next_ping=9.0, last_heard=9.0) == 0.0
    assert KeepAlive(1.0).wait(now=10.0, next_ping=11.0, last_heard=0.0) == 1.0  # no pong_wait


def test_a_client_silent_for_pong_wait_is_given_up() -> None:
    keepalive = KeepAlive(ping_period=1.0, pong_wait=3.0)
    assert not keepalive.silent_too_long(now=12.9, last_heard=10.0)
    assert keepalive.silent_too_long(now=13.0, last_heard=10.0)
    assert not KeepAlive(1.0).silent_too_long(now=1e9, last_heard=0.0)
