"""Live counters per stream for the console, read from the metrics the engine already keeps.

The engine counts into Prometheus series labelled ``api`` and ``stream`` (``streams.observability``):
under gunicorn every worker writes them to the shared multiprocess directory, so reading that
directory gives the whole host's figures whichever worker answers, exactly as ``/metrics`` does.
This module only folds those series into one small record per stream; it keeps no state.
A stream whose records are read by its output's hubs (a kafka input feeding ``http_server``, the
seed's ``out``) has no ``input_received``: its "received" is the records within the offsets the
host's hubs read, per partition from the lowest ``hub_read_first`` to the furthest
``hub_read_end`` of any worker, less the offsets known to hold no record (see
``engine.read_tally``).
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


_SPAN = {"hub_read_first": "first", "hub_read_end": "end", "hub_read_holes": "holes"}
"""The two ends of the offsets a stream's hubs read per partition, and the offsets between them
known to hold no record (``engine.read_tally``; the largest worker's count)."""


def fold(families: Iterable[Metric]) -> dict[tuple[str, str], StreamCounters]:
    """(api, stream) -> counters, from collected metric families (no I/O: tested alone)."""
    out: dict[tuple[str, str], StreamCounters] = {}
    spans: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for family in families:
        for sample in family.samples:
            if not sample.name.startswith(_PREFIX):
                continue
            name = sample.name.removeprefix(_PREFIX)
            api, stream = sample.labels.get("api"), sample.labels.get("stream")
            if not api or not stream:
                continue
            if name in _SPAN:
                where = (api, stream, sample.labels.get("topic", ""), sample.labels.get("partition", ""))
                spans.setdefault(where, {})[_SPAN[name]] = sample.value
                continue
            field = _FIELDS.get(name)
            if field is None:
                continue
            counters = out.setdefault((api, stream), StreamCounters())
            setattr(counters, field, getattr(counters, field) + sample.value)
    for (api, stream, _, _), ends in spans.items():
        if "first" in ends and "end" in ends:
            counters = out.setdefault((api, stream), StreamCounters())
            counters.received += max(0.0, ends["end"] - ends["first"] - ends.get("holes", 0.0))
    return out


def collect() -> dict[tuple[str, str], StreamCounters]:
    """The host's counters: every worker's (the multiprocess directory) when there is one,
    else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return fold(registry.collect())
    return fold(METRICS.registry.collect())
