"""A component's metrics: labelled with its api and stream, recorded through a recorder bound
once per component, and never failing the component."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from streams import observability
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.testing import make_settings
from streams.observability import METRICS


def resources(tmp_path: Path, stream: str) -> Resources:
    settings = make_settings(str(tmp_path))
    return Resources(settings, "metrics-api", stream, f"streams.{stream}", WorkerServices(settings, StreamLog()), BUILDER)


def test_counts_timings_and_gauges_carry_the_components_api_and_stream(tmp_path: Path) -> None:
    stream = f"s-{uuid.uuid4().hex[:8]}"
    res = resources(tmp_path, stream)
    for _ in range(3):
        res.incr("input_received")
    res.incr("input_received", 4)
    res.timing("processing_seconds", 0.25)
    res.timing("processing_seconds", 0.5)
    res.gauge("consumer_lag", 7)
    res.gauge("consumer_lag", 5)

    labels = {"api": "metrics-api", "stream": stream}
    assert METRICS.value("input_received", **labels) == 7
    assert METRICS.value("processing_seconds", **labels) == pytest.approx(0.75)
    assert METRICS.value("consumer_lag", **labels) == 5
    # A second component of the same stream adds to the same series.
    resources(tmp_path, stream).child(f"streams.{stream}.output").incr("input_received")
    assert METRICS.value("input_received", **labels) == 8


def test_extra_tags_become_labels_of_their_own(tmp_path: Path) -> None:
    stream = f"s-{uuid.uuid4().hex[:8]}"
    name = f"probe_{uuid.uuid4().hex[:8]}"
    res = resources(tmp_path, stream)
    res.incr(name, kind="a")
    res.incr(name, kind="a")
    res.incr(name, kind="b")
    assert METRICS.value(name, api="metrics-api", stream=stream, kind="a") == 2
    assert METRICS.value(name, api="metrics-api", stream=stream, kind="b") == 1


def test_a_failing_metric_is_logged_and_never_fails_the_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("metrics backend gone")

    monkeypatch.setattr(observability.Metrics, "bound", broken)
    res = resources(tmp_path, f"s-{uuid.uuid4().hex[:8]}")
    with caplog.at_level(logging.DEBUG, logger="streams.engine"):
        res.incr("input_received")
        res.timing("processing_seconds", 0.1)
        res.gauge("consumer_lag", 1)
    failed = [r for r in caplog.records if r.getMessage().startswith("metric ") and r.exc_info]
    assert [r.getMessage() for r in failed] == [
        "metric input_received failed", "metric processing_seconds failed", "metric consumer_lag failed"
    ]


def test_record_takes_the_kind_apart_from_labels_of_any_name() -> None:
    """``Metrics.record`` is how a stream's ``metric`` processor records: its labels may be
    named ``kind``, ``name`` or ``value`` too."""
    metrics = observability.Metrics()
    labels = {"kind": "k", "name": "n", "value": "v"}
    metrics.record("incr", "hits", 2, labels)
    metrics.record("incr", "hits", 1, labels)
    metrics.record("timing", "took", 0.5, labels)
    metrics.record("gauge", "depth", 9, labels)
    assert metrics.value("hits", **labels) == 3
    assert metrics.value("took", **labels) == pytest.approx(0.5)
    assert metrics.value("depth", **labels) == 9
    with pytest.raises(KeyError):
        metrics.record("histogram", "hits", 1, labels)
