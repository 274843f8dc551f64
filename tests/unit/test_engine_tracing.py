"""A stream's ``tracer.jaeger`` block: one trace per processed message, input -> processors ->
output, sent to a local collector (OTLP JSON) and flushed when the worker drains."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from gevent.pywsgi import WSGIServer

from streams.engine.testing import Gateways
from streams.message import Message


class _Collector:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/traces"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(json.loads(environ["wsgi.input"].read(length)))
        start_response("200 OK", [])
        return [b""]

    def spans(self) -> list[dict[str, Any]]:
        return [s for b in self.bodies for rs in b["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]

    def resources(self) -> list[dict[str, str]]:
        return [
            {a["key"]: a["value"].get("stringValue") for a in rs["resource"]["attributes"]}
            for b in self.bodies
            for rs in b["resourceSpans"]
        ]


@pytest.fixture
def collector() -> Iterator[_Collector]:
    c = _Collector()
    yield c
    c.server.stop()


@pytest.fixture
def gateways() -> Any:
    made = Gateways()
    yield made
    made.drain_all()


def attrs(span: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


def traced(collector: _Collector, mapping: str) -> dict[str, Any]:
    return {
        "input": {"http_server": {"path": "/push"}},
        "pipeline": {"processors": [{"mapping": mapping}]},
        "output": {"drop": {}},
        "tracer": {"jaeger": {"collector_url": collector.url, "flush_interval": "1h", "tags": {"team": "blue"}}},
    }


def test_each_pushed_message_is_a_trace_of_input_processors_output(
    tmp_path: Any, gateways: Any, collector: _Collector
) -> None:
    gw, api = gateways(tmp_path, {"in": traced(collector, 'root = this.merge({"ok": true})')})
    inst = api.open("in", {})
    for n in range(2):
        assert inst.push(Message(json.dumps({"n": n}).encode()), 5.0).status == 200
    inst.release()
    assert collector.bodies == []  # buffered until the flush interval or the drain
    gw.drain(5.0)
    spans = collector.spans()
    assert sorted(s["name"] for s in spans) == sorted(["input_http_server", "processors", "output_drop"] * 2)
    roots = [s for s in spans if "parentSpanId" not in s]
    assert len({s["traceId"] for s in roots}) == 2
    for root in roots:
        children = [s for s in spans if s.get("parentSpanId") == root["spanId"]]
        assert sorted(c["name"] for c in children) == ["output_drop", "processors"]
        assert all(c["traceId"] == root["traceId"] for c in children)
        assert attrs(root)["messages"] == "1"
    assert {"stream": "in", "team": "blue", "service.name": "streams"} in collector.resources()


def test_a_rejected_push_is_an_error_span_and_template_instances_share_the_tracer(
    tmp_path: Any, gateways: Any, collector: _Collector
) -> None:
    conf = traced(collector, 'root = this\nroot.user = "$tyk_context.request_data_user"')
    gw, api = gateways(tmp_path, {"in": conf})
    for user in ("alice", "bob"):
        inst = api.open("in", {"request_data_user": user})
        assert inst.push(Message(json.dumps({"user": user}).encode()), 5.0).status == 200
        assert inst.push(Message(b"not json"), 5.0).status == 400
        inst.release()
    gw.drain(5.0)
    spans = collector.spans()
    roots = [s for s in spans if s["name"] == "input_http_server"]
    assert len(roots) == 4
    failed = [s for s in roots if s["status"].get("code") == 2]
    assert len(failed) == 2 and all(attrs(s)["error"] is True for s in failed)
    assert len(collector.bodies) == 1  # one tracer for the stream, one flush at drain


def test_a_hub_traces_each_record_it_processes_for_its_clients(
    tmp_path: Any, gateways: Any, collector: _Collector
) -> None:
    from streams.brokers.embedded import EmbeddedBroker
    from streams.engine.testing import DEADLINE

    out = {
        "input": {"kafka": {"topics": ["completed"], "consumer_group": "$tyk_context.request_data_user"}},
        "pipeline": {
            "processors": [{"mapping": 'root = if this.user_id != "$tyk_context.request_data_user" { deleted() }'}]
        },
        "output": {"http_server": {}},
        "tracer": {"jaeger": {"collector_url": collector.url, "flush_interval": "1h"}},
    }
    gw, api = gateways(tmp_path, {"out": out})
    inst = api.open("out", {"request_data_user": "alice"})
    sub = inst.subscribe()
    broker = EmbeddedBroker(str(tmp_path))
    try:
        for who in ("bob", "alice"):
            broker.produce("completed", json.dumps({"user_id": who}).encode())
    finally:
        broker.close()
    delivery = sub.get(DEADLINE)
    assert delivery is not None and json.loads(delivery.content) == {"user_id": "alice"}
    delivery.ack()
    sub.close()
    inst.release()
    gw.drain(5.0)
    roots = [s for s in collector.spans() if s["name"] == "input_kafka"]
    assert sorted((attrs(s)["kafka.offset"], attrs(s)["messages"]) for s in roots) == [("0", "0"), ("1", "1")]
    children = [s for s in collector.spans() if s["name"] == "processors"]
    assert sorted(c["parentSpanId"] for c in children) == sorted(s["spanId"] for s in roots)
