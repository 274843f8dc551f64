"""Logs, metrics (Prometheus text, statsd packets) and Pushgateway pushes, against real sockets."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.pywsgi import WSGIServer

from streams import observability
from streams.observability import (
    Metrics,
    get_logger,
    render_prometheus,
    setup_logging,
    start_prometheus_push,
)
from streams.settings import Settings

_REPO = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    setup_logging(Settings(log_level="DEBUG"), stream=out)
    yield out
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


# --- logging ----------------------------------------------------------------------------------


def test_json_lines_carry_bound_and_extra_fields(log_output: io.StringIO) -> None:
    log = get_logger("streams.test", api="stream-demo", stream="out")
    log.info("consumed %d", 3, extra={"topic": "completed", "partition": 0, "offset": 41})
    log.bind(user="alice").warning("slow client")
    first, second = _lines(log_output)
    assert first["level"] == "INFO" and first["logger"] == "streams.test" and first["msg"] == "consumed 3"
    assert (first["api"], first["stream"], first["topic"], first["partition"], first["offset"]) == (
        "stream-demo", "out", "completed", 0, 41)
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert second["user"] == "alice" and second["stream"] == "out" and second["level"] == "WARNING"


def test_exceptions_are_one_json_line(log_output: io.StringIO) -> None:
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        get_logger(stream="s").exception("failed")
    (line,) = log_output.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["msg"] == "failed" and "RuntimeError: boom" in entry["exc"]


def test_level_filters_and_setup_is_idempotent(log_output: io.StringIO) -> None:
    setup_logging(Settings(log_level="WARNING"), stream=log_output)
    log = get_logger()
    log.info("hidden")
    log.error("shown")
    assert [e["msg"] for e in _lines(log_output)] == ["shown"]  # once: the first handler was replaced


def test_text_format() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    handlers = list(root.handlers)
    setup_logging(Settings(log_format="text"), stream=out)
    try:
        get_logger("streams.t", stream="in").info("hello")
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
    assert out.getvalue().rstrip().endswith("INFO    streams.t: hello stream=in")


def test_traffic_log(log_output: io.StringIO) -> None:
    observability.traffic_log(api="demo", method="POST", path="/demo/push", status=200, seconds=0.0125)
    (entry,) = _lines(log_output)
    assert entry["msg"] == "POST /demo/push 200"
    assert (entry["api"], entry["status"], entry["duration_ms"]) == ("demo", 200, 12.5)


# --- metrics ----------------------------------------------------------------------------------


def test_prometheus_counters_histograms_gauges() -> None:
    m = Metrics()
    m.incr("input_received", stream="in", api="demo")
    m.incr("input_received", 2, stream="in", api="demo")
    m.timing("processing_seconds", 0.25, stream="in")
    m.gauge("consumer_lag", 7, stream="out", partition=0)
    m.gauge_add("connections_active", 1, stream="out")
    m.gauge_add("connections_active", 1, stream="out")
    m.gauge_add("connections_active", -1, stream="out")
    assert m.value("input_received", stream="in", api="demo") == 3
    assert m.value("processing_seconds", stream="in") == 0.25
    assert m.value("consumer_lag", stream="out", partition=0) == 7
    assert m.value("connections_active", stream="out") == 1
    text, content_type = render_prometheus(m)
    assert content_type.startswith("text/plain")
    body = text.decode()
    assert 'streams_input_received_total{api="demo",stream="in"} 3.0' in body
    assert 'streams_processing_seconds_bucket{le="0.25",stream="in"} 1.0' in body


def test_missing_labels_are_blank_and_unknown_ones_dropped() -> None:
    m = Metrics()
    m.incr("output_error", stream="in", api="a")
    m.incr("output_error", stream="in")
    m.incr("output_error", stream="in", api="a", surprise="x")
    assert m.value("output_error", stream="in", api="") == 1
    assert m.value("output_error", stream="in", api="a") == 2


def test_module_metrics_render() -> None:
    # A name no other test uses: a metric's label names are fixed by its first use, so a shared
    # name would make this depend on test order.
    observability.METRICS.incr("render_probe", stream="render-test", api="a")
    assert b'streams_render_probe_total{api="a",stream="render-test"} 1.0' in render_prometheus()[0]


def test_statsd_packets() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    try:
        m = Metrics()
        m.configure(Settings(statsd_host="127.0.0.1", statsd_port=sock.getsockname()[1], statsd_prefix="gw"))
        m.incr("input_received", stream="in", api="stream demo")
        m.timing("processing_seconds", 0.5, stream="in")
        m.gauge("consumer_lag", 4, stream="out")
        m.gauge_add("connections_active", -1, stream="out")
        packets = [sock.recv(512).decode() for _ in range(4)]
    finally:
        sock.close()
    assert packets == [
        "gw.api.stream_demo.stream.in.input_received:1|c",
        "gw.stream.in.processing_seconds:500.000000|ms",
        "gw.stream.out.consumer_lag:4|g",
        "gw.stream.out.connections_active:-1|g",
    ]


def test_statsd_is_off_without_host() -> None:
    m = Metrics()
    m.configure(Settings())
    assert m._statsd is None
    m.incr("input_received", stream="x")  # no error, Prometheus only
    assert m.value("input_received", stream="x") == 1


# --- Pushgateway ------------------------------------------------------------------------------


class _Recorder:
    """A tiny Pushgateway stand-in that records each request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.requests.append({
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "auth": environ.get("HTTP_AUTHORIZATION"),
            "body": environ["wsgi.input"].read(length).decode("utf-8", "replace"),
        })
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    def wait_for(self, count: int, limit: float = 10.0) -> None:
        with gevent.Timeout(limit, AssertionError(f"fewer than {count} pushes arrived")):
            while len(self.requests) < count:
                gevent.sleep(0.01)


@pytest.fixture
def pushgateway() -> Iterator[_Recorder]:
    recorder = _Recorder()
    yield recorder
    recorder.server.stop()


def test_push_sends_only_this_streams_series(pushgateway: _Recorder) -> None:
    m = Metrics()
    m.incr("input_received", 5, stream="in", api="demo")
    m.incr("input_received", 9, stream="other", api="demo")
    handle = start_prometheus_push(
        "in", {"push_url": pushgateway.url, "push_interval": "20ms", "push_job_name": "in-job"}, metrics=m
    )
    assert handle is not None
    try:
        pushgateway.wait_for(2)
    finally:
        handle.stop()
    first = pushgateway.requests[0]
    assert first["method"] == "PUT"
    assert first["path"] == f"/metrics/job/in-job/instance/{handle.instance}"
    assert handle.instance == f"{socket.gethostname()}:{os.getpid()}"
    assert 'streams_input_received_total{api="demo",stream="in"} 5.0' in first["body"]
    assert 'stream="other"' not in first["body"]
    assert handle.pushes >= 2 and handle.errors == 0


def test_push_of_one_api_leaves_out_a_same_named_stream_of_another(pushgateway: _Recorder) -> None:
    m = Metrics()
    m.incr("input_received", 4, stream="in", api="alpha")
    m.incr("input_received", 7, stream="in", api="beta")
    handle = start_prometheus_push("in", {"push_url": pushgateway.url, "push_interval": "1h"}, metrics=m, api="alpha")
    assert handle is not None
    handle.stop()
    (req,) = pushgateway.requests
    assert 'streams_input_received_total{api="alpha",stream="in"} 4.0' in req["body"]
    assert 'api="beta"' not in req["body"]


def test_stop_pushes_final_values_and_basic_auth(pushgateway: _Recorder) -> None:
    m = Metrics()
    handle = start_prometheus_push(
        "s", {"push_url": pushgateway.url, "push_interval": "1h",
              "push_basic_auth": {"username": "u", "password": "p"}}, metrics=m)
    assert handle is not None
    m.incr("output_sent", 2, stream="s")
    handle.stop()
    handle.stop()  # idempotent
    (req,) = pushgateway.requests
    assert req["path"].startswith("/metrics/job/s/instance/")  # job name defaults to the stream name
    assert req["auth"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert 'streams_output_sent_total{stream="s"} 2.0' in req["body"]


def test_push_failures_are_counted_not_raised() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    handle = start_prometheus_push("s", {"push_url": f"http://127.0.0.1:{port}", "push_interval": "1h"}, metrics=Metrics())
    assert handle is not None
    assert handle.push() is False
    handle.stop(final_push=False)
    assert handle.errors == 1 and handle.pushes == 0


def test_no_push_url_means_no_pusher() -> None:
    assert start_prometheus_push("s", {"push_interval": "1s"}) is None


def test_stream_telemetry_from_a_stream_config(pushgateway: _Recorder) -> None:
    config = {
        "input": {"http_server": {}},
        "metrics": {"prometheus": {"push_url": pushgateway.url, "push_interval": "1h", "push_job_name": "w"}},
        "tracer": {"jaeger": {"collector_url": pushgateway.url + "/api/traces", "flush_interval": "1h"}},
    }
    telemetry = observability.start_stream_telemetry("w", config)
    assert telemetry.pusher is not None and telemetry.tracer is not None
    with telemetry.tracer.span("process"):
        pass
    telemetry.stop()
    paths = sorted(r["path"] for r in pushgateway.requests)
    assert paths[0] == "/api/traces" and paths[1].startswith("/metrics/job/w/instance/")
    none = observability.start_stream_telemetry("x", {"input": {}})
    assert none.pusher is None and none.tracer is None
    none.stop()


_WORKER = """
import os, sys
from streams.observability import METRICS
METRICS.incr("input_received", int(sys.argv[1]), stream="in")
METRICS.gauge_add("connections_active", 2, stream="in")
METRICS.gauge("consumer_lag", 10 * int(sys.argv[1]), stream="Worker")
METRICS.gauge("hub_read_first", int(sys.argv[1]), stream="out")
METRICS.gauge("hub_read_end", 10 * (7 - int(sys.argv[1])), stream="out")
"""

_SCRAPE = """
import os, sys
from streams.observability import mark_process_dead, render_prometheus
mark_process_dead(int(sys.argv[1]))
sys.stdout.write(render_prometheus()[0].decode())
"""


def test_workers_are_summed_with_a_multiprocess_dir(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(code: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=_REPO,
                                stdout=subprocess.PIPE, text=True)
        proc.wait(timeout=60)
        assert proc.returncode == 0
        return proc

    first, _second = run(_WORKER, "3"), run(_WORKER, "4")  # two "workers", each its own process
    both = run(_SCRAPE, "0").stdout.read()
    assert 'streams_input_received_total{stream="in"} 7.0' in both
    assert 'streams_connections_active{stream="in"} 4.0' in both
    # a group's lag is measured alike by every worker: the host's figure is the largest, not the sum
    assert 'streams_consumer_lag{stream="Worker"} 40.0' in both
    # the span of offsets the hubs read: the lowest start and the furthest end of any worker
    assert 'streams_hub_read_first{stream="out"} 3.0' in both
    assert 'streams_hub_read_end{stream="out"} 40.0' in both
    # the first worker died: its connections are gone, its counts stay in the totals
    after = run(_SCRAPE, str(first.pid)).stdout.read()
    assert 'streams_input_received_total{stream="in"} 7.0' in after
    assert 'streams_connections_active{stream="in"} 2.0' in after
    # what an exited worker read stays read
    assert 'streams_hub_read_first{stream="out"} 3.0' in after
    assert 'streams_hub_read_end{stream="out"} 40.0' in after
