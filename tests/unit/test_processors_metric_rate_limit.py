"""``metric`` into the gateway's Prometheus metrics and ``rate_limit`` against a host-wide
``local`` limit."""

from __future__ import annotations

import uuid
from typing import Any

import gevent
import pytest

from streams.contracts import ConfigError
from streams.observability import METRICS, render_prometheus
from tests.unit.processor_harness import Harness, contents, jmsgs, msgs


def name() -> str:
    return f"custom_{uuid.uuid4().hex[:8]}"


def test_metric_counter_counts_messages_by_interpolated_labels(tmp_path: Any) -> None:
    h, metric = Harness(tmp_path), name()
    procs = [{"metric": {"type": "counter", "name": metric, "labels": {"kind": '${! json("kind") }'}}}]
    out = h.run(procs, jmsgs({"kind": "a"}, {"kind": "b"}, {"kind": "a"}))
    assert len(out) == 3  # messages pass on
    assert METRICS.value(metric, api="api", stream="s", kind="a") == 2
    assert METRICS.value(metric, api="api", stream="s", kind="b") == 1
    assert f'streams_{metric}_total{{api="api",kind="a",stream="s"}} 2.0' in render_prometheus(METRICS)[0].decode()


def test_metric_counter_by_gauge_and_timing(tmp_path: Any) -> None:
    h = Harness(tmp_path)
    by, gauge, timing = name(), name(), name()
    h.run([{"metric": {"type": "counter_by", "name": by, "value": '${! json("n") }'}}], jmsgs({"n": 3}, {"n": 4}, {"n": -1}, {"n": "x"}))
    assert METRICS.value(by, api="api", stream="s") == 7  # negative and non-numbers skipped
    h.run([{"metric": {"type": "gauge", "name": gauge, "value": '${! json("n") }'}}], jmsgs({"n": 5}, {"n": 2}))
    assert METRICS.value(gauge, api="api", stream="s") == 2
    h.run([{"metric": {"type": "timing", "name": timing, "value": "1500000000"}}], msgs("x"))
    assert METRICS.value(timing, api="api", stream="s") == 1.5  # nanoseconds in, seconds recorded


@pytest.mark.parametrize(
    "conf, problem",
    [
        ({"type": "counter", "name": "input_received"}, "'input_received' is one of the gateway's own metrics"),
        ({"type": "counter", "name": "bad-name"}, "'bad-name' is not a metric name"),
        ({"type": "counter", "name": "ok", "labels": {"stream": "x"}}, "stream is set by the gateway"),
    ],
)
def test_metric_refuses_names_that_clash(tmp_path: Any, conf: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Harness(tmp_path).build([{"metric": conf}])


def test_rate_limit_holds_messages_until_the_window_allows_them(tmp_path: Any) -> None:
    h = Harness(tmp_path, rate_limit_resources=[{"label": "two", "local": {"count": 2, "interval": "300ms"}}])
    procs = h.build([{"rate_limit": {"resource": "two"}}])
    done: list[int] = []
    runner = gevent.spawn(lambda: done.extend(len(h.run(procs, msgs(str(i)))) for i in range(3)))  # type: ignore[arg-type]
    gevent.sleep(0.05)
    assert len(done) == 2  # the third waits for the next window
    runner.join(10)
    assert done == [1, 1, 1]


def test_rate_limit_needs_a_declared_resource(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="no rate_limit_resources entry labelled 'x'"):
        Harness(tmp_path).build([{"rate_limit": {"resource": "x"}}])


def test_rate_limit_passes_messages_unchanged(tmp_path: Any) -> None:
    h = Harness(tmp_path, rate_limit_resources=[{"label": "l", "local": {"count": 100, "interval": "1s"}}])
    assert contents(h.run([{"rate_limit": {"resource": "l"}}], msgs("a", "b"))) == [b"a", b"b"]
