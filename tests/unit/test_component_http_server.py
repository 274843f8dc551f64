"""The http_server input and output: routes, replies, refused listeners, in-process hand-over."""

from __future__ import annotations

import json
from typing import Any

import gevent
import pytest

from streams.contracts import ConfigError
from streams.engine.testing import DEADLINE, Gateways
from streams.message import Message


@pytest.fixture
def gateways() -> Any:
    made = Gateways()
    yield made
    made.drain_all()


@pytest.mark.parametrize("kind", ["input", "output"])
def test_a_second_listener_address_is_refused(tmp_path: Any, gateways: Any, kind: str) -> None:
    stream = {"input": {"http_server": {}}, "output": {"drop": {}}}
    stream[kind] = {"http_server": {"address": "0.0.0.0:4195"}}
    if kind == "output":
        stream["input"] = {"generate": {"mapping": 'root = "x"', "count": 1}}
    _, api = gateways(tmp_path, {"s": stream}, start=False)
    with pytest.raises(ConfigError, match="address"):
        api.open("s", {})


def test_routes_follow_paths_verbs_and_timeouts(tmp_path: Any, gateways: Any) -> None:
    streams = {
        "a": {
            "input": {"http_server": {"path": "/p", "ws_path": "", "allowed_verbs": ["POST", "put"], "timeout": "250ms"}},
            "output": {"http_server": {"path": "/g", "stream_path": "/s", "ws_path": "/w", "timeout": "2s",
                                       "stream_format": "event_source"}},
        }
    }
    gw, _ = gateways(tmp_path, streams, listen_path="/api/v1/", start=False)
    got = {(r.kind, r.path, r.methods, r.timeout, r.stream_format) for r in gw.routes()}
    assert got == {
        ("push", "/api/v1/p", ("POST", "PUT"), 0.25, ""),
        ("pull", "/api/v1/g", ("GET",), 2.0, "event_source"),
        ("stream", "/api/v1/s", ("GET",), 2.0, "event_source"),
        ("pull_ws", "/api/v1/w", ("GET",), 2.0, "event_source"),
    }


def test_sync_response_headers_and_status_are_interpolated(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {
            "http_server": {
                "sync_response": {
                    "status": '${! meta("code") }',
                    "headers": {"X-User": '${! meta("user") }', "Content-Type": "text/plain"},
                    "metadata_headers": {"include_prefixes": ["trace_"]},
                }
            }
        },
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b"ok", {"code": "201", "user": "alice", "trace_id": "t1", "secret": "s"}), 5.0)
    inst.release()
    assert result.status == 201
    assert result.headers == {"X-User": "alice", "Content-Type": "text/plain", "trace_id": "t1"}


def test_a_batch_is_answered_as_multipart(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"s": {"input": {"http_server": {}}, "output": {"sync_response": {}}}})
    inst = api.open("s", {})
    result = inst.push_batch([Message(b"one"), Message(b"two")], 5.0)
    inst.release()
    assert result.status == 200
    boundary = result.headers["Content-Type"].split("boundary=")[1]
    parts = [p for p in result.body.split(b"--" + boundary.encode()) if p.strip(b"-\r\n")]
    assert [p.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n") for p in parts] == [b"one", b"two"]


IN_TO_OUT = {
    "input": {"http_server": {"path": "/in"}},
    "output": {"http_server": {"path": "/out", "timeout": "300ms"}},
}


def test_in_process_push_reaches_a_waiting_get(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"s": IN_TO_OUT})
    inst = api.open("s", {})
    getter = gevent.spawn(inst.pull, DEADLINE)
    gevent.sleep(0.05)
    assert inst.push(Message(b"hi"), 5.0).status == 200
    delivery = getter.get(timeout=DEADLINE)
    assert delivery.content == b"hi"
    inst.release()


def test_in_process_push_with_no_client_is_kept_for_the_next_get(tmp_path: Any, gateways: Any) -> None:
    # The message is stored on the host bus when the push is answered 200 (promise 2), not
    # dropped or refused because no client happened to be attached at that moment.
    _, api = gateways(tmp_path, {"s": IN_TO_OUT})
    inst = api.open("s", {})
    assert inst.push(Message(b"nobody yet", {"who": "alice"}), 5.0).status == 200
    delivery = inst.pull(DEADLINE)
    inst.release()
    assert delivery is not None and delivery.content == b"nobody yet"
    assert delivery.metadata == {"who": "alice"}
    delivery.ack()


def test_in_process_push_on_one_worker_reaches_a_get_on_another(tmp_path: Any, gateways: Any) -> None:
    # Two gateways on one data directory are two workers of one host: an http_server ->
    # http_server stream is one stream for both (DESIGN §10).
    _, api_a = gateways(tmp_path, {"s": IN_TO_OUT})
    _, api_b = gateways(tmp_path, {"s": IN_TO_OUT})
    getter = api_b.open("s", {})
    waiting = gevent.spawn(getter.pull, DEADLINE)
    gevent.sleep(0.1)
    pusher = api_a.open("s", {})
    assert [pusher.push(Message(f"m{i}".encode()), 5.0).status for i in range(3)] == [200, 200, 200]
    first = waiting.get(timeout=DEADLINE)
    first.ack()
    rest = [getter.pull(DEADLINE) for _ in range(2)]
    for delivery in rest:
        delivery.ack()
    assert [d.content for d in [first, *rest]] == [b"m0", b"m1", b"m2"]
    assert pusher.pull(0.3) is None  # none of them is handed out twice, on either worker
    getter.release()
    pusher.release()


def test_in_process_stream_clients_all_get_pushed_messages(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"s": IN_TO_OUT})
    inst = api.open("s", {})
    subs = [inst.subscribe(), inst.subscribe()]
    for i in range(3):
        assert inst.push(Message(json.dumps(i).encode()), 5.0).status == 200
    for sub in subs:
        got = [sub.get(DEADLINE) for _ in range(3)]
        assert [d.content for d in got] == [b"0", b"1", b"2"]
        sub.close()
    inst.release()


def test_nacked_in_process_get_is_handed_to_the_next_get(tmp_path: Any, gateways: Any) -> None:
    _, api = gateways(tmp_path, {"s": IN_TO_OUT})
    inst = api.open("s", {})
    getter = gevent.spawn(inst.pull, DEADLINE)
    gevent.sleep(0.05)
    inst.push(Message(b"keep me"), 5.0)
    getter.get(timeout=DEADLINE).nack()
    assert inst.pull(1.0).content == b"keep me"
    inst.release()


def test_an_in_process_message_handed_back_twice_still_reaches_the_third_get(tmp_path: Any, gateways: Any) -> None:
    # Before, a message handed back by a GET client that went away was re-queued without its
    # hand-back hook: when the next GET client went away too, the message was lost.
    _, api = gateways(tmp_path, {"s": IN_TO_OUT})
    inst = api.open("s", {})
    assert inst.push(Message(b"keep me"), 5.0).status == 200
    for _ in range(2):
        delivery = inst.pull(DEADLINE)
        assert delivery is not None and delivery.content == b"keep me"
        delivery.nack()  # the client went away before the body was written
    third = inst.pull(DEADLINE)
    assert third is not None and third.content == b"keep me"
    third.ack()
    assert inst.pull(0.3) is None
    inst.release()
