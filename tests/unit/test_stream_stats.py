"""The console's counters per stream, folded from the engine's Prometheus series."""

from __future__ import annotations

from streams.observability import Metrics
from streams.stream_stats import StreamCounters, fold


def test_series_fold_into_one_record_per_api_and_stream() -> None:
    metrics = Metrics()
    metrics.incr("input_received", 3, api="a", stream="in")
    metrics.incr("output_sent", 2, api="a", stream="in")
    metrics.incr("output_error", 1, api="a", stream="in")
    metrics.incr("processor_error", 4, api="a", stream="in")
    metrics.gauge_add("connections_active", 2, api="a", stream="out")
    metrics.gauge_add("connections_active", -1, api="a", stream="out")
    metrics.gauge("consumer_lag", 7, api="a", stream="Worker")
    # the offsets the out stream's hubs read: 10..15 of partition 0 (two of them transaction
    # markers), 3..3 of partition 1
    metrics.gauge("hub_read_first", 10, api="a", stream="out", topic="completed", partition="0")
    metrics.gauge("hub_read_end", 16, api="a", stream="out", topic="completed", partition="0")
    metrics.gauge("hub_read_holes", 2, api="a", stream="out", topic="completed", partition="0")
    metrics.gauge("hub_read_first", 3, api="a", stream="out", topic="completed", partition="1")
    metrics.gauge("hub_read_end", 4, api="a", stream="out", topic="completed", partition="1")
    metrics.incr("input_received", 5, api="b", stream="in")  # another API's stream of the same name
    metrics.timing("processing_seconds", 0.5, api="a", stream="in")  # not a counter the console shows
    folded = fold(metrics.registry.collect())
    assert folded == {
        ("a", "in"): StreamCounters(received=3, sent=2, errors=5),
        ("a", "out"): StreamCounters(received=5, clients=1),
        ("a", "Worker"): StreamCounters(lag=7),
        ("b", "in"): StreamCounters(received=5),
    }
    assert folded[("a", "in")].as_dict() == {"received": 3, "sent": 2, "errors": 5, "clients": 0, "instances": 0, "lag": 0}


def test_series_without_api_and_stream_are_left_out() -> None:
    metrics = Metrics()
    metrics.incr("input_received", 1)
    assert fold(metrics.registry.collect()) == {}
