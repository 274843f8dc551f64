"""The stream engine, push side: statuses 200/502/408/429, processors, broker output patterns.

Real parts only: the embedded broker (SQLite in a tmp dir), the real Bloblang compiler. Two
``Gateway`` objects over one data dir behave as two gunicorn workers. Waits are bounded by
generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import gevent
import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.contracts import ConfigError
from streams.engine.testing import read_topic
from streams.message import Message


def jmsg(value: Any) -> Message:
    return Message(json.dumps(value).encode())


def read_all(broker: EmbeddedBroker, topic: str) -> list[Any]:
    return [json.loads(r.value) for r in read_topic(broker, topic)]


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
    assert result.headers == {}  # the HTTP layer picks the content type


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


def _wait_for(check: Any, deadline_s: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.05)
    return True


def test_an_output_failing_after_its_push_timed_out_is_logged(tmp_path: Any, gateways: Any, caplog: Any) -> None:
    """The push is answered 408 first; the write it started fails later (a webhook that accepts
    the connection and never answers), and that failure and its reason reach the log at error."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    stream = {
        "input": {"http_server": {}},
        "output": {"http_client": {"url": f"http://127.0.0.1:{port}/hook", "retries": 0, "timeout": "1s"}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    try:
        with caplog.at_level(logging.INFO):
            assert inst.push(Message(b"x"), 0.2).status == 408
            late = lambda: [r for r in caplog.records if r.getMessage().startswith("output failed after its push timed out")]  # noqa: E731
            assert _wait_for(lambda: bool(late())), caplog.text
        assert late()[0].levelno == logging.ERROR and f"127.0.0.1:{port}" in late()[0].getMessage()
    finally:
        inst.release()
        silent.close()


def test_a_write_abandoned_because_its_push_timed_out_is_not_an_error(tmp_path: Any, gateways: Any, caplog: Any) -> None:
    """A processor still busy when the push is answered 408: the write never starts, which the
    timeout's warning already says; no error line follows."""
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"sleep": {"duration": "500ms"}}]},
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    try:
        with caplog.at_level(logging.INFO):
            assert inst.push(Message(b"x"), 0.1).status == 408
            gevent.sleep(1.5)  # the sleep ended and the pass gave up its write
        assert any(r.getMessage() == "push timed out" for r in caplog.records), caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    finally:
        inst.release()


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


def test_fan_out_with_one_waiting_output_writes_each_and_answers_with_the_sync_response(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    # kafka + sync_response (the seed's `in`): both run in the pushing greenlet, one after the other.
    bad = {"http_client": {"url": "http://127.0.0.1:9/x", "retries": 0, "timeout": "1s"}}
    streams = {
        "good": {
            "input": {"http_server": {"path": "/good"}},
            "output": {"broker": {"outputs": [{"kafka": {"topic": "good"}}, {"sync_response": {}}]}},
        },
        "bad": {
            "input": {"http_server": {"path": "/bad"}},
            "output": {"broker": {"outputs": [bad, {"sync_response": {}}, {"drop": {}}]}},
        },
    }
    _, api = gateways(tmp_path, streams)
    good = api.open("good", {})
    result = good.push(jmsg({"n": 1}), 10.0)
    good.release()
    assert (result.status, json.loads(result.body)) == (200, {"n": 1})
    assert read_all(broker, "good") == [{"n": 1}]
    failing = api.open("bad", {})
    result = failing.push(jmsg({"n": 2}), 10.0)
    failing.release()
    assert result.status == 502 and "127.0.0.1:9" in (result.error or "")


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


def test_a_push_the_pipeline_fails_on_is_400_and_written_nowhere(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"mapping": "root = this\nroot.seen = true"}]},
        "output": {"broker": {"outputs": [{"kafka": {"topic": "jobs"}}, {"sync_response": {}}]}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b"not json{"), 5.0)
    inst.release()
    assert result.status == 400 and "json" in (result.error or "")
    assert read_all(broker, "jobs") == []


def test_fan_out_fail_fast_answers_only_once_no_write_is_in_flight(tmp_path: Any, gateways: Any) -> None:
    # Before, the first failure returned at once while the slow output was still writing: the
    # client got 502 for a message that was then stored behind its back.
    import gevent
    import gevent.pywsgi

    finished: list[bool] = []

    def slow_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        gevent.sleep(0.5)
        finished.append(True)
        start_response("200 OK", [])
        return [b"ok"]

    listener = gevent.pywsgi.WSGIServer(("127.0.0.1", 0), slow_app, log=None)
    listener.start()
    try:
        slow = {"http_client": {"url": f"http://127.0.0.1:{listener.server_port}/", "retries": 0}}
        bad = {"http_client": {"url": "http://127.0.0.1:9/x", "retries": 0, "timeout": "1s"}}
        stream = {
            "input": {"http_server": {"path": "/fan"}},
            "output": {"broker": {"pattern": "fan_out_fail_fast", "outputs": [slow, bad]}},
        }
        _, api = gateways(tmp_path, {"fan": stream})
        inst = api.open("fan", {})
        result = inst.push(jmsg({"n": 1}), 10.0)
        assert (result.status, finished) == (502, [True])
        inst.release()
    finally:
        listener.stop()


def test_a_rate_limit_is_shared_by_the_gateways_of_one_host(tmp_path: Any, gateways: Any) -> None:
    # Two gateways on one data directory stand for two worker processes of a host (the
    # cross-process counts are in test_engine_host_state.py).
    stream = {
        "input": {"http_server": {"rate_limit": "lim"}},
        "rate_limit_resources": [{"label": "lim", "local": {"count": 3, "interval": "1h"}}],
        "output": {"drop": {}},
    }
    instances = [gateways(tmp_path, {"s": stream})[1].open("s", {}) for _ in range(2)]
    results = [inst.push(Message(b"x"), 5.0) for inst in instances * 3]
    for inst in instances:
        inst.release()
    assert [r.status for r in results] == [200, 200, 200, 429, 429, 429]
    assert all(1 <= int(r.headers["Retry-After"]) <= 3600 for r in results[3:])


def test_each_stream_instance_has_its_own_rate_limit_window(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {"rate_limit": "lim"}},
        "rate_limit_resources": [{"label": "lim", "local": {"count": 1, "interval": "1h"}}],
        "pipeline": {"processors": [{"mapping": 'root = "$tyk_context.request_data_user"'}]},
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    alice, bob = api.open("s", {"request_data_user": "alice"}), api.open("s", {"request_data_user": "bob"})
    statuses = [inst.push(Message(b"x"), 5.0).status for inst in (alice, bob, alice, bob)]
    alice.release()
    bob.release()
    assert statuses == [200, 200, 429, 429]


@pytest.mark.parametrize(
    ("resources", "rate_limit", "error"),
    [
        ([{"local": {"count": 1}}], "lim", "streams.s.rate_limit_resources.0: a rate limit resource needs a label"),
        ([{"label": "lim", "redis": {}}], "lim", "streams.s.rate_limit_resources.0: only `local` rate limits are supported"),
        (
            [{"label": "lim", "local": {"count": 0, "interval": "1s"}}],
            "lim",
            "streams.s.rate_limit_resources.0.local: count and interval must be positive",
        ),
        ([{"label": "lim", "local": {}}], "other", "no rate_limit_resources entry labelled 'other'"),
    ],
)
def test_bad_rate_limit_resources_are_config_errors(
    tmp_path: Any, gateways: Any, resources: Any, rate_limit: str, error: str
) -> None:
    stream = {
        "input": {"http_server": {"rate_limit": rate_limit}},
        "rate_limit_resources": resources,
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    with pytest.raises(ConfigError) as info:
        api.open("s", {})
    assert error in str(info.value)
