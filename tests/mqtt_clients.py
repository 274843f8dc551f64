"""A plain paho client for tests: publishes and collects messages outside the gateway."""

from __future__ import annotations

import uuid

import gevent
from paho.mqtt import client as paho

from tests.message_brokers import Mosquitto


class TestClient:
    """Connected to the test's mosquitto; ``received`` collects what its subscriptions bring."""

    __test__ = False  # not a pytest class

    def __init__(self, broker: Mosquitto, client_id: str = "", clean_session: bool = True) -> None:
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:10]}",
            clean_session=clean_session,
        )
        self.received: list[paho.MQTTMessage] = []
        self.client.on_message = lambda _c, _u, message: self.received.append(message)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        deadline = gevent.Timeout(10)
        with deadline:
            while not self.client.is_connected():
                gevent.sleep(0.02)

    def subscribe(self, topic: str, qos: int = 1) -> None:
        granted: list[object] = []
        self.client.on_subscribe = lambda *args: granted.append(args)
        self.client.subscribe(topic, qos)
        with gevent.Timeout(10):
            while not granted:
                gevent.sleep(0.02)

    def subscribe_and_close(self, topic: str, qos: int = 1) -> None:
        """Subscribe and leave: a persistent session keeps the subscription and queues for it."""
        self.subscribe(topic, qos)
        self.close()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos, retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"mosquitto did not acknowledge a publish to {topic}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
