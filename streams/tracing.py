"""Spans for a stream's ``tracer.jaeger`` block, sent to the collector over HTTP.

``collector_url`` decides the wire format: a URL ending in ``/v1/traces`` gets OTLP/HTTP JSON
(the OpenTelemetry collector, or Jaeger's OTLP port 4318); any other URL, such as Jaeger's
``http://host:14268/api/traces`` written in Tyk's examples, gets a Jaeger Thrift ``Batch`` in the
binary protocol (``application/x-thrift``), which is what that endpoint reads. ``agent_address``
(UDP to a Jaeger agent) is not supported: such a block logs a warning and traces nothing.

Spans are buffered and sent from one greenlet every ``flush_interval`` (default 1s); a full
buffer drops the oldest spans, and a collector that is down costs a log line, never a message.
Sampling follows the block: ``sampler_type: const`` with ``sampler_param`` 1 (all, the default)
or 0 (none), ``probabilistic`` with the probability; other types sample everything.
"""

from __future__ import annotations

import collections
import contextlib
import json
import random
import struct
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

from streams.durations import parse_duration
from streams.logformat import get_logger

MAX_BUFFERED = 10_000
SERVICE_NAME = "streams"


@dataclass
class Span:
    """One finished (or running) unit of work of a stream."""

    operation: str
    trace_id: int  # 128 bits
    span_id: int  # 64 bits
    parent_id: int = 0
    start_us: int = 0
    duration_us: int = 0
    tags: dict[str, Any] = field(default_factory=dict)
    sampled: bool = True

    def set_tag(self, key: str, value: Any) -> None:
        self.tags[key] = value


class Tracer:
    """Collects spans of one stream and ships them to the collector."""

    def __init__(
        self,
        stream: str,
        collector_url: str,
        *,
        tags: Mapping[str, Any] | None = None,
        sampler_type: str = "const",
        sampler_param: float = 1.0,
        flush_interval: float = 1.0,
        spawn: bool = True,
    ) -> None:
        self.stream = stream
        self.url = collector_url
        self.otlp = collector_url.rstrip("/").endswith("/v1/traces")
        self.process_tags = {"stream": stream, **dict(tags or {})}
        self.sampler_type, self.sampler_param = sampler_type, float(sampler_param)
        self.flush_interval = flush_interval
        self.sent = 0
        self.errors = 0
        self._buffer: collections.deque[Span] = collections.deque(maxlen=MAX_BUFFERED)
        self._log = get_logger("streams.tracing", stream=stream, collector_url=collector_url)
        self._greenlet: gevent.Greenlet | None = None
        self._stopped: gevent.event.Event | None = None
        if spawn:
            self._stopped = gevent.event.Event()
            self._greenlet = gevent.spawn(self._run)

    # --- recording ---------------------------------------------------------------------------

    def _sample(self) -> bool:
        if self.sampler_type == "const":
            return self.sampler_param != 0
        if self.sampler_type == "probabilistic":
            return random.random() < self.sampler_param
        return True

    def start_span(self, operation: str, parent: Span | None = None, **tags: Any) -> Span:
        """A running span; a child shares its parent's trace and sampling decision."""
        if parent is not None:
            trace_id, parent_id, sampled = parent.trace_id, parent.span_id, parent.sampled
        else:
            trace_id, parent_id, sampled = random.getrandbits(128) or 1, 0, self._sample()
        return Span(operation, trace_id, random.getrandbits(64) or 1, parent_id,
                    start_us=time.time_ns() // 1000, tags=dict(tags), sampled=sampled)

    def finish(self, span: Span) -> None:
        """End a span now and queue it for sending."""
        span.duration_us = max(0, time.time_ns() // 1000 - span.start_us)
        if span.sampled:
            self._buffer.append(span)

    @contextlib.contextmanager
    def span(self, operation: str, parent: Span | None = None, **tags: Any) -> Iterator[Span]:
        """``with tracer.span("process", parent=...) as s:`` (an exception marks it ``error``)."""
        s = self.start_span(operation, parent, **tags)
        try:
            yield s
        except BaseException as err:
            s.tags["error"] = True
            s.tags["error.message"] = str(err)
            raise
        finally:
            self.finish(s)

    # --- sending -----------------------------------------------------------------------------

    def flush(self) -> bool:
        """Send every queued span in one request; False (and logged) when the collector fails."""
        if not self._buffer:
            return True
        spans = list(self._buffer)
        self._buffer.clear()
        if self.otlp:
            body, ctype = json.dumps(otlp_payload(self.process_tags, spans)).encode(), "application/json"
        else:
            body, ctype = jaeger_batch(SERVICE_NAME, self.process_tags, spans), "application/x-thrift"
        req = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
        except Exception as err:  # noqa: BLE001 - tracing is a side channel
            self.errors += 1
            if self.errors == 1 or self.errors % 100 == 0:
                self._log.warning("sending %d spans failed (%d failures so far): %s", len(spans), self.errors, err)
            return False
        self.sent += len(spans)
        return True

    def _run(self) -> None:
        stopped = self._stopped
        while stopped is not None and not stopped.wait(self.flush_interval):
            self.flush()

    def stop(self) -> None:
        """Stop the sender after sending what is queued (idempotent)."""
        if self._stopped is not None and not self._stopped.is_set():
            self._stopped.set()
            if self._greenlet is not None:
                self._greenlet.join(timeout=self.flush_interval + 5)
        self.flush()


def start_tracer(stream_name: str, block: Mapping[str, Any] | None) -> Tracer | None:
    """A running tracer for a stream's ``tracer`` block, or None (no block, ``none``, or no
    collector URL)."""
    if not block or "jaeger" not in block:
        return None
    conf = block["jaeger"] or {}
    url = conf.get("collector_url")
    if not url:
        if conf.get("agent_address"):
            get_logger("streams.tracing", stream=stream_name).warning(
                "tracer.jaeger.agent_address is not supported; set collector_url to send spans"
            )
        return None
    interval = parse_duration(conf.get("flush_interval") or "1s")
    return Tracer(
        stream_name,
        url,
        tags={str(k): str(v) for k, v in (conf.get("tags") or {}).items()},
        sampler_type=conf.get("sampler_type") or "const",
        sampler_param=conf.get("sampler_param", 1.0),
        flush_interval=interval if interval > 0 else 1.0,
    )


# --- OTLP/HTTP JSON ---------------------------------------------------------------------------


def _otlp_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def otlp_payload(process_tags: Mapping[str, Any], spans: list[Span]) -> dict[str, Any]:
    """The ``ExportTraceServiceRequest`` JSON for ``spans``."""
    resource = {"service.name": SERVICE_NAME, **process_tags}
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": k, "value": _otlp_value(v)} for k, v in resource.items()]},
            "scopeSpans": [{
                "scope": {"name": "streams"},
                "spans": [{
                    "traceId": f"{s.trace_id:032x}",
                    "spanId": f"{s.span_id:016x}",
                    **({"parentSpanId": f"{s.parent_id:016x}"} if s.parent_id else {}),
                    "name": s.operation,
                    "kind": 1,
                    "startTimeUnixNano": str(s.start_us * 1000),
                    "endTimeUnixNano": str((s.start_us + s.duration_us) * 1000),
                    "attributes": [{"key": k, "value": _otlp_value(v)} for k, v in s.tags.items()],
                    "status": {"code": 2} if s.tags.get("error") else {},
                } for s in spans],
            }],
        }],
    }


# --- Jaeger Thrift, binary protocol ------------------------------------------------------------
# Field type codes of the Thrift binary protocol.
_BOOL, _DOUBLE, _I32, _I64, _STRING, _STRUCT, _LIST, _STOP = 2, 4, 8, 10, 11, 12, 15, 0


def _signed64(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >= 1 << 63 else n


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def field(self, ftype: int, fid: int) -> None:
        self.out += struct.pack(">bh", ftype, fid)

    def i32(self, fid: int, v: int) -> None:
        self.field(_I32, fid)
        self.out += struct.pack(">i", v)

    def i64(self, fid: int, v: int) -> None:
        self.field(_I64, fid)
        self.out += struct.pack(">q", _signed64(v))

    def string(self, fid: int, v: str) -> None:
        data = v.encode("utf-8", "replace")
        self.field(_STRING, fid)
        self.out += struct.pack(">i", len(data)) + data

    def boolean(self, fid: int, v: bool) -> None:
        self.field(_BOOL, fid)
        self.out += b"\x01" if v else b"\x00"

    def double(self, fid: int, v: float) -> None:
        self.field(_DOUBLE, fid)
        self.out += struct.pack(">d", v)

    def list_header(self, fid: int, elem: int, size: int) -> None:
        self.field(_LIST, fid)
        self.out += struct.pack(">bi", elem, size)

    def stop(self) -> None:
        self.out.append(_STOP)


def _write_tag(w: _Writer, key: str, value: Any) -> None:
    w.string(1, key)
    if isinstance(value, bool):
        w.i32(2, 2)
        w.boolean(5, value)
    elif isinstance(value, int):
        w.i32(2, 3)
        w.i64(6, value)
    elif isinstance(value, float):
        w.i32(2, 1)
        w.double(4, value)
    else:
        w.i32(2, 0)
        w.string(3, str(value))
    w.stop()


def _write_tags(w: _Writer, fid: int, tags: Mapping[str, Any]) -> None:
    w.list_header(fid, _STRUCT, len(tags))
    for k, v in tags.items():
        _write_tag(w, k, v)


def jaeger_batch(service: str, process_tags: Mapping[str, Any], spans: list[Span]) -> bytes:
    """A ``jaeger.thrift`` ``Batch`` (process + spans) in the Thrift binary protocol."""
    w = _Writer()
    w.field(_STRUCT, 1)  # process
    w.string(1, service)
    _write_tags(w, 2, process_tags)
    w.stop()
    w.list_header(2, _STRUCT, len(spans))
    for s in spans:
        w.i64(1, s.trace_id & ((1 << 64) - 1))
        w.i64(2, s.trace_id >> 64)
        w.i64(3, s.span_id)
        w.i64(4, s.parent_id)
        w.string(5, s.operation)
        w.i32(7, 1)  # flags: sampled
        w.i64(8, s.start_us)
        w.i64(9, s.duration_us)
        _write_tags(w, 10, s.tags)
        w.stop()
    w.stop()
    return bytes(w.out)
