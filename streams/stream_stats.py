"""Live counters per stream for the console, read from the metrics the engine already keeps.

The engine counts into Prometheus series labelled ``api`` and ``stream`` (``streams.observability``):
under gunicorn every worker writes them to the shared multiprocess directory, so reading that
directory gives the whole host's figures whichever worker answers, exactly as ``/metrics`` does.
This module only folds those series into one small record per stream; it keeps no state.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.metrics_core import Metric

from streams.observability import METRICS

_PREFIX = "streams_"
_FIELDS = {
    "input_received_total": "received",
    "output_sent_total": "sent",
    "output_error_total": "errors",
    "processor_error_total": "errors",
    "connections_active": "clients",
    "instances_active": "instances",
    "consumer_lag": "lag",
}
"""Prometheus sample name (without the prefix) -> the counter it adds to."""


@dataclass
class StreamCounters:
    """What the console shows per stream (host-wide sums since the gateway started)."""

    received: float = 0
    sent: float = 0
    errors: float = 0
    clients: float = 0
    instances: float = 0
    lag: float = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def fold(families: Iterable[Metric]) -> dict[tuple[str, str], StreamCounters]:
    """(api, stream) -> counters, from collected metric families (no I/O: tested alone)."""
    out: dict[tuple[str, str], StreamCounters] = {}
    for family in families:
        for sample in family.samples:
            field = _FIELDS.get(sample.name.removeprefix(_PREFIX))
            api, stream = sample.labels.get("api"), sample.labels.get("stream")
            if field is None or not api or not stream or not sample.name.startswith(_PREFIX):
                continue
            counters = out.setdefault((api, stream), StreamCounters())
            setattr(counters, field, getattr(counters, field) + sample.value)
    return out


def collect() -> dict[tuple[str, str], StreamCounters]:
    """The host's counters: every worker's (the multiprocess directory) when there is one,
    else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return fold(registry.collect())
    return fold(METRICS.registry.collect())
