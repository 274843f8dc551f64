"""The kafka input and output on the embedded broker: keys, partitions, headers, metadata."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.contracts import ConfigError
from streams.engine.testing import read_topic, wait_until
from streams.message import Message


def push_one(api: Any, msg: Message) -> Any:
    inst = api.open("s", {})
    try:
        return inst.push(msg, 5.0)
    finally:
        inst.release()


def test_topic_key_and_headers_come_from_the_message(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "output": {
            "kafka": {
                "addresses": ["localhost:9093"],
                "topic": 'events-${! meta("tenant") }',
                "key": '${! json("id") }',
                "static_headers": {"origin": "gateway"},
                "metadata": {"include_patterns": ["^trace"]},
            }
        },
    }
    _, api = gateways(tmp_path, {"s": stream})
    msg = Message(b'{"id":"k1"}', {"tenant": "acme", "trace_id": "t9", "Authorization": "secret"})
    assert push_one(api, msg).status == 200
    [record] = read_topic(broker, "events-acme")
    assert record.key == b"k1" and record.value == b'{"id":"k1"}'
    assert dict(record.headers) == {"origin": b"gateway", "trace_id": b"t9"}  # no Authorization


def test_manual_partitioner_writes_to_the_interpolated_partition(tmp_path: Any, gateways: Any, broker: Any) -> None:
    broker.create_topic("parted", 3)
    stream = {
        "input": {"http_server": {}},
        "output": {"kafka": {"topic": "parted", "partitioner": "manual", "partition": '${! meta("p") }'}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    assert push_one(api, Message(b"x", {"p": "2"})).status == 200
    assert [r.partition for r in read_topic(broker, "parted")] == [2]


def test_same_key_lands_on_the_same_partition(tmp_path: Any, gateways: Any, broker: Any) -> None:
    broker.create_topic("keyed", 4)
    stream = {"input": {"http_server": {}}, "output": {"kafka": {"topic": "keyed", "key": '${! meta("k") }'}}}
    _, api = gateways(tmp_path, {"s": stream})
    for i in range(6):
        assert push_one(api, Message(str(i).encode(), {"k": "same"})).status == 200
    assert len({r.partition for r in read_topic(broker, "keyed")}) == 1


def test_a_failing_topic_interpolation_is_a_502(tmp_path: Any, gateways: Any) -> None:
    stream = {"input": {"http_server": {}}, "output": {"kafka": {"topic": '${! json("t").uppercase() }'}}}
    _, api = gateways(tmp_path, {"s": stream})
    result = push_one(api, Message(b"not json"))
    assert result.status == 502 and "interpolation" in (result.error or "")


def test_kafka_input_sets_bento_metadata(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"kafka": {"topics": ["src"], "consumer_group": "g"}},
        "pipeline": {
            "processors": [
                {
                    "mapping": "root.key = meta(\"kafka_key\")\nroot.topic = meta(\"kafka_topic\")\n"
                    "root.partition = meta(\"kafka_partition\")\nroot.offset = meta(\"kafka_offset\")\n"
                    "root.h = meta(\"h1\")\nroot.has_ts = meta(\"kafka_timestamp_unix\") != null\n"
                }
            ]
        },
        "output": {"kafka": {"topic": "dst"}},
    }
    broker.produce("src", b"{}", key=b"k", headers=[("h1", b"v1")])
    gateways(tmp_path, {"w": stream})
    [record] = wait_until(lambda: read_topic(broker, "dst"), "the processed record")
    assert json.loads(record.value) == {"key": "k", "topic": "src", "partition": "0", "offset": "0", "h": "v1",
                                        "has_ts": True}


def test_explicit_partitions_and_unknown_components_are_config_errors(tmp_path: Any, gateways: Any) -> None:
    streams = {
        "parts": {"input": {"kafka": {"topics": ["t:0"], "consumer_group": "g"}}, "output": {"drop": {}}},
        "unknown": {"input": {"http_server": {}}, "output": {"kafkaa": {"topic": "x"}}},
        "unsafe": {"input": {"http_server": {}}, "output": {"file": {"path": "/etc/x"}}},
    }
    _, api = gateways(tmp_path, streams, start=False)
    with pytest.raises(ConfigError, match="explicit partitions"):
        api.open("parts", {})
    with pytest.raises(ConfigError, match="unknown output type 'kafkaa'"):
        api.open("unknown", {})
    with pytest.raises(ConfigError, match="refused"):
        api.open("unsafe", {})
