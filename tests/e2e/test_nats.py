"""NATS streams end to end on ``gunicorn wsgi:app -w 2`` against a real ``nats-server``:

* a push (``http_server`` POST) goes out through the ``nats`` output, comes back through the
  ``nats`` input and reaches a GET and an SSE client of the ``http_server`` output, each message
  once although two workers run the stream;
* what a NATS client outside the gateway receives from a push: one message per push, with the
  configured header, whichever worker took the POST;
* a queue-group input subscribes in both workers and still hands each message on once.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import gevent

from streams.connectors.nats_client import NatsClient
from streams.connectors.nats_options import NatsOptions
from streams.connectors.nats_protocol import Msg
from streams.engine.testing import wait_until
from tests.e2e.clients import SSEClient
from tests.e2e.test_message_brokers import LISTEN, get, next_non_probe, push, serve
from tests.message_brokers import nats_publish


class _QuietLog:
    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass


def messages(sse: SSEClient, count: int) -> list[Any]:
    """The SSE client's messages past the probes, once ``count`` came, and a moment later (room
    for a doubled one to show)."""
    def real() -> list[Any]:
        return [e.json() for e in sse.events if e.data != b'"probe"']

    wait_until(lambda: len(real()) >= count, f"{count} messages at the SSE client")
    gevent.sleep(0.5)
    return real()


def round_trip(nats: str, subject: str, queue: str = "") -> dict[str, Any]:
    return {
        "in": {"input": {"http_server": {"path": "/push"}}, "output": {"nats": {"urls": [nats], "subject": subject}}},
        "out": {
            "input": {"nats": {"urls": [nats], "subject": subject, "queue": queue}},
            "output": {"http_server": {"path": "/get", "stream_path": "/stream"}},
        },
    }


def test_push_through_nats_reaches_get_and_sse_once_each(tmp_path: Path, nats: str) -> None:
    subject = f"e2e.{uuid.uuid4().hex[:10]}"
    server = serve(tmp_path, round_trip(nats, subject))
    try:
        # The input subscribes a moment after the workers start: probe until a GET gets one.
        wait_until(lambda: push(server, "probe").status_code == 200 and get(server) == "probe", "a probe via NATS")
        assert push(server, {"n": "get"}).status_code == 200
        assert next_non_probe(server) == {"n": "get"}
        sse = SSEClient(server.url(f"{LISTEN}/stream")).start()
        try:
            assert sse.opened.wait(10) and sse.status == 200
            for n in range(20):
                assert push(server, {"n": n}).status_code == 200
            nats_publish(nats, subject, [b'{"n":"outside"}'])  # a publisher that is not the gateway
            values = messages(sse, 21)
        finally:
            sse.close()
        assert values == [*({"n": n} for n in range(20)), {"n": "outside"}]
    finally:
        server.stop()


def test_each_push_reaches_an_outside_subscriber_once_with_its_header(tmp_path: Path, nats: str) -> None:
    subject = f"e2e.{uuid.uuid4().hex[:10]}"
    received: list[Msg] = []
    outside = NatsClient(NatsOptions.from_config({"urls": [nats]}, "test"), _QuietLog(), on_message=received.append)
    outside.connect()
    stream = {
        "input": {"http_server": {"path": "/push"}},
        "output": {"nats": {"urls": [nats], "subject": subject, "headers": {"X-Kind": '${! json("kind") }'}}},
    }
    server = serve(tmp_path, {"in": stream})
    try:
        outside.subscribe(subject)
        outside.flush(10)
        for n in range(10):
            assert push(server, {"kind": "order", "n": n}).status_code == 200
        wait_until(lambda: len(received) >= 10, "ten messages at the outside subscriber")
        outside.flush(10)  # anything doubled would have arrived by now
        assert sorted(json.loads(m.payload)["n"] for m in received) == list(range(10))
        assert {m.headers["X-Kind"][0] for m in received} == {"order"}
    finally:
        server.stop()
        outside.close()


def test_a_queue_group_input_runs_in_both_workers_and_hands_each_message_on_once(tmp_path: Path, nats: str) -> None:
    subject = f"e2e.{uuid.uuid4().hex[:10]}"
    server = serve(tmp_path, round_trip(nats, subject, queue="gateway"))
    try:
        wait_until(lambda: push(server, "probe").status_code == 200 and get(server) == "probe", "a probe via NATS")
        sse = SSEClient(server.url(f"{LISTEN}/stream")).start()
        try:
            assert sse.opened.wait(10) and sse.status == 200
            nats_publish(nats, subject, [json.dumps({"n": n}).encode() for n in range(30)])
            values = messages(sse, 30)
        finally:
            sse.close()
        assert sorted(v["n"] for v in values) == list(range(30))
        assert "nats input subscribed to" in server.log() and server.log().count(f"subscribed to {subject} in queue group gateway") == 2
    finally:
        server.stop()
