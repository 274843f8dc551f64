"""Tyk's ``gateway/mw_streaming_mqtt_test.go`` against a real ``gunicorn -w 2`` and a real
Mosquitto, with paho-mqtt as the outside MQTT client.

Where Tyk deals the messages out to its two WebSocket clients in turn (round-robin), this gateway
gives every client every message (DESIGN §10, kept on purpose); the test asserts the broadcast.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
import requests

from tests.e2e.clients import WSReader
from tests.e2e.server import Gunicorn
from tests.e2e.tyk_suite.brokers import mosquitto
from tests.e2e.tyk_suite.suite import serve


@pytest.fixture(scope="module")
def mqtt_url() -> Iterator[str]:
    with mosquitto() as url:
        yield url


@pytest.fixture(scope="module")
def topic() -> str:
    return f"tyk-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, mqtt_url: str, topic: str) -> Iterator[Gunicorn]:
    server = serve(
        tmp_path_factory.mktemp("tyk-mqtt"), ["mqtt-to-websocket.yaml", "http-to-mqtt.yaml"], MQTT_URL=mqtt_url, TOPIC=topic
    )
    yield server
    server.stop()


def _client(url: str, client_id: str) -> mqtt.Client:
    parts = urlsplit(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    return client


def test_mqtt_publish_to_mosquitto_consume_via_websockets(gateway: Gunicorn, mqtt_url: str, topic: str) -> None:
    """TestMQTT/publish_messages_to_mosquito_and_consume_via_websockets: three messages
    published at QoS 2 reach the WebSocket clients of ``/get/ws``.

    Tyk counts three in all across its two clients (round-robin); here each of the two gets all
    three (DESIGN §10: broadcast)."""
    readers = [WSReader(gateway.ws_url("/mqtt-to-websocket/get/ws")).start() for _ in range(2)]
    publisher = _client(mqtt_url, "test-client")
    try:
        # MQTT keeps nothing for a subscriber yet to come: warm-up messages until both clients
        # got one show the gateway's subscription is in place before the counted ones.
        deadline = time.monotonic() + 30
        while not all(reader.frames for reader in readers):
            assert time.monotonic() < deadline, "no warm-up message reached the WebSocket clients"
            publisher.publish(topic, "warm-up", qos=2).wait_for_publish(timeout=5)
            time.sleep(0.2)
        for _ in range(3):
            info = publisher.publish(topic, "test payload", qos=2)
            info.wait_for_publish(timeout=5)
            assert info.is_published()
        for reader in readers:
            deadline = time.monotonic() + 10
            while reader.frames.count("test payload") < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # and no more
            assert [f for f in reader.frames if f != "warm-up"] == ["test payload"] * 3
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        for reader in readers:
            reader.close()


def test_mqtt_publish_to_http_input_consume_via_mqtt(gateway: Gunicorn, mqtt_url: str, topic: str) -> None:
    """TestMQTT/publish_messages_to_http_input_and_consume_via_mqtt: three POSTs of ``hello``
    to the ``http_server`` input arrive at an MQTT subscriber of the output's topic."""
    received: list[bytes] = []
    subscribed = threading.Event()
    subscriber = _client(mqtt_url, "tyk-client")
    subscriber.on_message = lambda _c, _u, msg: received.append(msg.payload)
    subscriber.on_subscribe = lambda *_: subscribed.set()
    subscriber.subscribe(f"{topic}-out", qos=1)
    try:
        assert subscribed.wait(10)
        for _ in range(3):
            resp = requests.post(gateway.url("/http-to-mqtt/post"), data=b"hello", headers={"Content-Type": "text/plain"}, timeout=30)
            assert resp.status_code == 200, (resp.status_code, resp.text)
        deadline = time.monotonic() + 10
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received == [b"hello"] * 3
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
