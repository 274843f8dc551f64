"""The parts of the amqp_0_9 components that need no broker: metadata as Bento makes it from
headers and properties, and the pause before a failed message is given back."""

from __future__ import annotations

import datetime
import decimal
from types import SimpleNamespace

import pika

from streams.connectors.amqp09 import delivery_metadata
from streams.connectors.failure_pause import FailurePause


def test_headers_are_flattened_with_underscores_and_empty_values_left_out() -> None:
    props = pika.BasicProperties(
        headers={
            "x-trace-id": "abc",
            "table": {"inner-key": 1, "deeper": {"b": True}},
            "list": ["a", 2],
            "nothing": None,
            "price": decimal.Decimal("12.50"),
            "when": datetime.datetime(2026, 1, 2, 3, 4, 5),
            "raw": b"bytes",
        },
        delivery_mode=2,
        timestamp=1700000000,
    )
    method = SimpleNamespace(consumer_tag="c1", delivery_tag=7, redelivered=True, exchange="ex", routing_key="k")
    meta = delivery_metadata(method, props)
    assert meta == {
        "x_trace_id": "abc",
        "table_inner_key": "1",
        "table_deeper_b": "true",
        "list_0": "a",
        "list_1": "2",
        "price": "12.50",
        "when": "2026-01-02T03:04:05Z",
        "raw": "bytes",
        "amqp_delivery_mode": "2",
        "amqp_priority": "0",
        "amqp_timestamp": "1700000000",
        "amqp_consumer_tag": "c1",
        "amqp_delivery_tag": "7",
        "amqp_redelivered": "true",
        "amqp_exchange": "ex",
        "amqp_routing_key": "k",
    }


def test_failure_pause_doubles_up_to_its_bound_and_starts_again_after_a_success() -> None:
    pause = FailurePause(first=0.1, most=0.5)
    assert [pause.failed() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    pause.succeeded()
    assert pause.failed() == 0.1
