"""tracer.jaeger: spans reach a local collector as Jaeger Thrift or OTLP JSON."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from gevent.pywsgi import WSGIServer

from streams.tracing import Tracer, jaeger_batch, start_tracer


class _Collector:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None)
        self.server.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.requests.append({"path": environ["PATH_INFO"], "type": environ.get("CONTENT_TYPE"),
                              "body": environ["wsgi.input"].read(length)})
        start_response("202 Accepted", [])
        return [b""]


@pytest.fixture
def collector() -> Iterator[_Collector]:
    c = _Collector()
    yield c
    c.server.stop()


def _read_struct(data: bytes, pos: int) -> tuple[dict[int, Any], int]:
    """A generic Thrift binary-protocol struct reader: {field id: value}."""
    out: dict[int, Any] = {}
    while True:
        ftype = data[pos]
        pos += 1
        if ftype == 0:
            return out, pos
        (fid,) = struct.unpack_from(">h", data, pos)
        pos += 2
        out[fid], pos = _read_value(ftype, data, pos)


def _read_value(ftype: int, data: bytes, pos: int) -> tuple[Any, int]:
    if ftype == 2:
        return data[pos] == 1, pos + 1
    if ftype == 4:
        return struct.unpack_from(">d", data, pos)[0], pos + 8
    if ftype == 8:
        return struct.unpack_from(">i", data, pos)[0], pos + 4
    if ftype == 10:
        return struct.unpack_from(">q", data, pos)[0], pos + 8
    if ftype == 11:
        (n,) = struct.unpack_from(">i", data, pos)
        return data[pos + 4:pos + 4 + n].decode(), pos + 4 + n
    if ftype == 12:
        return _read_struct(data, pos)
    if ftype == 15:
        elem, n = struct.unpack_from(">bi", data, pos)
        pos += 5
        items = []
        for _ in range(n):
            item, pos = _read_value(elem, data, pos)
            items.append(item)
        return items, pos
    raise AssertionError(f"unexpected thrift type {ftype}")


def _tags(raw: list[dict[int, Any]]) -> dict[str, Any]:
    value_field = {0: 3, 1: 4, 2: 5, 3: 6}
    return {t[1]: t[value_field[t[2]]] for t in raw}


def test_jaeger_thrift_batch_reaches_the_collector(collector: _Collector) -> None:
    tracer = start_tracer("in", {"jaeger": {"collector_url": collector.base + "/api/traces",
                                            "tags": {"env": "test"}, "flush_interval": "1h"}})
    assert tracer is not None and not tracer.otlp
    with tracer.span("input", topic="jobs") as parent, tracer.span("mapping", parent=parent, index=0, ok=True, ratio=0.5):
        pass
    with pytest.raises(ValueError), tracer.span("output"):
        raise ValueError("kafka down")
    tracer.stop()
    (req,) = collector.requests
    assert req["path"] == "/api/traces" and req["type"] == "application/x-thrift"
    batch, end = _read_struct(req["body"], 0)
    assert end == len(req["body"])
    process, spans = batch[1], batch[2]
    assert process[1] == "streams" and _tags(process[2]) == {"stream": "in", "env": "test"}
    by_name = {s[5]: s for s in spans}
    assert set(by_name) == {"input", "mapping", "output"}
    child, root = by_name["mapping"], by_name["input"]
    assert (child[1], child[2]) == (root[1], root[2])  # same trace
    assert child[4] == root[3] and root[4] == 0  # parent link
    assert _tags(child[10]) == {"index": 0, "ok": True, "ratio": 0.5}
    assert _tags(by_name["output"][10]) == {"error": True, "error.message": "kafka down"}
    assert all(s[7] == 1 and s[9] >= 0 and s[8] > 1_600_000_000_000_000 for s in spans)


def test_otlp_json_for_v1_traces_urls(collector: _Collector) -> None:
    tracer = Tracer("out", collector.base + "/v1/traces", tags={"team": "a"}, spawn=False)
    with tracer.span("deliver", user="alice"):
        pass
    assert tracer.flush() is True
    (req,) = collector.requests
    assert req["type"] == "application/json"
    body = json.loads(req["body"])
    rs = body["resourceSpans"][0]
    attrs = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
    assert attrs == {"service.name": "streams", "stream": "out", "team": "a"}
    (span,) = rs["scopeSpans"][0]["spans"]
    assert span["name"] == "deliver" and len(span["traceId"]) == 32 and len(span["spanId"]) == 16
    assert span["attributes"] == [{"key": "user", "value": {"stringValue": "alice"}}]
    assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])


def test_const_zero_sampler_sends_nothing(collector: _Collector) -> None:
    tracer = Tracer("s", collector.base + "/api/traces", sampler_param=0, spawn=False)
    with tracer.span("x"):
        pass
    tracer.stop()
    assert collector.requests == []


def test_collector_down_is_counted_not_raised() -> None:
    tracer = Tracer("s", "http://127.0.0.1:9/api/traces", spawn=False)
    with tracer.span("x"):
        pass
    assert tracer.flush() is False and tracer.errors == 1


def test_no_tracer_without_collector_url() -> None:
    assert start_tracer("s", None) is None
    assert start_tracer("s", {"none": {}}) is None
    assert start_tracer("s", {"jaeger": {"agent_address": "localhost:6831"}}) is None


def test_ids_above_int63_are_encoded_signed() -> None:
    from streams.tracing import Span

    data = jaeger_batch("svc", {}, [Span("op", (1 << 128) - 1, (1 << 64) - 1)])
    batch, _ = _read_struct(data, 0)
    (span,) = batch[2]
    assert span[1] == -1 and span[2] == -1 and span[3] == -1
