"""Streams and helpers shared by the engine tests: the seed's `out` stream, a plain echo, and
shortcuts for pulling as a user and producing a user's records.
The ``gateways`` and ``broker`` fixtures live in ``conftest.py``."""

from __future__ import annotations

import json
from typing import Any

from streams.brokers.embedded import EmbeddedBroker
from streams.engine.testing import read_topic
from streams.message import Message


def jmsg(value: Any) -> Message:
    return Message(json.dumps(value).encode())


def read_all(broker: EmbeddedBroker, topic: str) -> list[Any]:
    return [json.loads(r.value) for r in read_topic(broker, topic)]


ECHO = {"input": {"http_server": {"path": "/in"}}, "output": {"sync_response": {}}}


OUT = {
    "input": {
        "kafka": {
            "addresses": ["localhost:9093"],
            "consumer_group": "$tyk_context.request_data_user",
            "topics": ["completed"],
        }
    },
    "pipeline": {
        "processors": [{"mapping": 'root = if this.user_id != "$tyk_context.request_data_user" {\n  deleted()\n}\n'}]
    },
    "output": {"http_server": {"path": "/get-event"}},
}


def user(name: str) -> dict[str, str]:
    return {"request_data_user": name}


def pull(api: Any, who: str, timeout: float = 5.0, ack: bool = True) -> Any:
    inst = api.open("out", user(who))
    try:
        delivery = inst.pull(timeout)
    finally:
        inst.release()
    if delivery is not None and ack:
        delivery.ack()
    return delivery


def produce_for(broker: Any, who: str, ns: range) -> None:
    for i in ns:
        broker.produce("completed", json.dumps({"user_id": who, "n": i}).encode())


class CountingReaders:
    """The broker, counting the readers opened and those open at once."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.opened = 0
        self.open = 0
        self.most = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def reader(self, topic: str, start: dict[int, int]) -> Any:
        outer = self
        inner = self.broker.reader(topic, start)
        self.opened += 1
        self.open += 1
        self.most = max(self.most, self.open)

        class Counted:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def close(self) -> None:
                outer.open -= 1
                inner.close()

        return Counted()
