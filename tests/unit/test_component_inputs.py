"""The generate and broker inputs, and the Go duration parser their configs use."""

from __future__ import annotations

import json
from typing import Any

import gevent
import gevent.event
import pytest

from streams.contracts import Input
from streams.durations import parse_duration
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.testing import make_settings, read_topic, wait_until
from streams.inputs.broker import BrokerInput
from streams.message import Message


def test_generate_makes_count_batches_of_batch_size(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"generate": {"mapping": 'root = {"n": counter()}', "interval": "", "count": 3, "batch_size": 2}},
        "output": {"kafka": {"topic": "gen"}},
    }
    gateways(tmp_path, {"g": stream})
    wait_until(lambda: len(read_topic(broker, "gen")) >= 6, "six generated messages")
    # count is in batches: no seventh message ever comes
    gw_values = sorted(json.loads(r.value)["n"] for r in read_topic(broker, "gen"))
    assert gw_values == [1, 2, 3, 4, 5, 6]


def test_broker_input_merges_its_inputs_and_runs_their_processors(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {
            "broker": {
                "inputs": [
                    {"generate": {"mapping": 'root = "a"', "interval": "", "count": 2}},
                    {
                        "generate": {"mapping": 'root = "b"', "interval": "", "count": 2},
                        "processors": [{"mapping": "root = content().uppercase()"}],
                    },
                ]
            }
        },
        "output": {"kafka": {"topic": "merged"}},
    }
    gateways(tmp_path, {"m": stream})
    wait_until(lambda: len(read_topic(broker, "merged")) >= 4, "four merged messages")
    assert sorted(r.value for r in read_topic(broker, "merged")) == [b"B", b"B", b"a", b"a"]


def test_kafka_input_without_group_reads_everything_and_commits_nothing(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    for i in range(3):
        broker.produce("plain", str(i).encode())
    stream = {"input": {"kafka": {"topics": ["plain"]}}, "output": {"kafka": {"topic": "copied"}}}
    gateways(tmp_path, {"c": stream})
    wait_until(lambda: len(read_topic(broker, "copied")) >= 3, "three copies")
    assert [r.value for r in read_topic(broker, "copied")] == [b"0", b"1", b"2"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5.0), ("100ms", 0.1), ("1m30s", 90.0), ("1.5h", 5400.0), ("0", 0.0), (2, 2.0), ("-1s", -1.0)],
)
def test_go_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5", "s", "5 s", "1d", "", True])
def test_bad_durations_are_errors(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


class FailsOnce(Input):
    """Fails on its first run (a broker that was down), delivers one message on the next."""

    def __init__(self) -> None:
        self.runs = 0

    def run(self, deliver: Any, stopping: Any) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("broker unreachable")
        deliver([Message(b"after restart")])


def test_a_failed_child_of_a_broker_input_is_restarted(tmp_path: Any) -> None:
    # Before, the child's greenlet died with the error and the child never read again, while the
    # stream looked alive (only a failure of the whole input was restarted).
    settings = make_settings(str(tmp_path))
    res = Resources(settings, "api", "b", "streams.b.input.broker", WorkerServices(settings, StreamLog()), BUILDER)
    child = FailsOnce()
    broker_input = BrokerInput({"inputs": [{"generate": {"mapping": 'root = "g"', "interval": ""}}]}, res)
    broker_input.children = [(child, [])]
    delivered: list[bytes] = []
    stopping = gevent.event.Event()
    runner = gevent.spawn(broker_input.run, lambda batch: delivered.extend(m.content for m in batch) or True, stopping)
    try:
        wait_until(lambda: delivered, "the restarted child's message")
    finally:
        stopping.set()
        runner.join(5)
    assert delivered == [b"after restart"] and child.runs == 2
