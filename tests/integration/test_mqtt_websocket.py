"""The ``mqtt`` input and output over a WebSocket (``ws://`` and ``wss://`` URLs), against a real
mosquitto with a ``protocol websockets`` listener: messages go through both ways, ``wss://`` takes
its CAs from the ``tls`` block, and the URL's path is the WebSocket request's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.brokers.base import BrokerError
from streams.brokers.embedded import EmbeddedBroker
from streams.connectors.mqtt import Broker, MqttOptions, connect
from streams.definitions import load_text
from streams.engine.testing import Gateways, push_until_written, read_topic
from tests.integration.test_mqtt import definition
from tests.message_brokers import Mosquitto, MosquittoTls, start_mosquitto_tls
from tests.tls_certs import Certificates, openssl_available

needs_openssl = pytest.mark.skipif(not openssl_available(), reason="openssl is needed to make test certificates")


@pytest.fixture(scope="module")
def mosquitto_wss(tmp_path_factory: pytest.TempPathFactory, tls_certificates: Certificates) -> Iterator[MosquittoTls]:
    directory = tmp_path_factory.mktemp("mosquitto-wss")
    broker = start_mosquitto_tls(directory, tls_certificates.ca, tls_certificates.server_cert, tls_certificates.server_key, websockets=True)
    yield broker
    broker.stop()


def through_output_and_input(
    tmp_path: Path, gateways: Gateways, broker: EmbeddedBroker, url: str, payload: bytes, **client: Any
) -> list[bytes]:
    """Push ``payload`` to an ``mqtt`` output at ``url`` until the ``mqtt`` input at the same URL
    has written it to Kafka; the values written."""
    topic, out = f"t/{uuid.uuid4().hex[:10]}", f"ws-{uuid.uuid4().hex[:8]}"
    streams = {
        "p": {
            "input": {"http_server": {"path": "/in"}},
            "output": {"mqtt": {"urls": [url], "topic": topic, **client}},
        },
        "m": {
            "input": {"mqtt": {"urls": [url], "topics": [topic], **client}},
            "output": {"kafka": {"topic": out}},
        },
    }
    _, api = gateways(tmp_path, streams)
    push_until_written(api, "p", payload, broker, out, f"a message through mqtt at {url}")
    return [r.value for r in read_topic(broker, out)]


def test_a_message_goes_through_output_and_input_over_ws(
    tmp_path: Path, gateways: Gateways, broker: EmbeddedBroker, mosquitto: Mosquitto
) -> None:
    values = through_output_and_input(tmp_path, gateways, broker, f"ws://127.0.0.1:{mosquitto.ws_port}/mqtt", b"over ws")
    assert set(values) == {b"over ws"}


@needs_openssl
def test_a_message_goes_through_output_and_input_over_wss(
    tmp_path: Path, gateways: Gateways, broker: EmbeddedBroker, mosquitto_wss: MosquittoTls, tls_certificates: Certificates
) -> None:
    url = f"wss://localhost:{mosquitto_wss.wss_port}/mqtt"
    tls = {"enabled": True, "root_cas_file": str(tls_certificates.ca)}
    values = through_output_and_input(tmp_path, gateways, broker, url, b"over wss", tls=tls)
    assert set(values) == {b"over wss"}


@needs_openssl
def test_wss_refuses_a_broker_certificate_the_tls_block_does_not_trust(mosquitto_wss: MosquittoTls) -> None:
    """Without a ``tls`` block a ``wss://`` URL trusts the system CAs only, not the test CA."""
    options = MqttOptions.from_config({"urls": [f"wss://127.0.0.1:{mosquitto_wss.wss_port}"]}, "out")
    with pytest.raises(BrokerError) as caught:
        connect(options, clean_session=True)
    assert f"mqtt broker 127.0.0.1:{mosquitto_wss.wss_port}: [SSL: CERTIFICATE_VERIFY_FAILED]" in str(caught.value)


def test_ws_to_a_plain_mqtt_listener_fails_with_the_reason(mosquitto: Mosquitto) -> None:
    """A WebSocket handshake sent to a listener that speaks bare MQTT gets no upgrade."""
    options = MqttOptions.from_config({"urls": [f"ws://127.0.0.1:{mosquitto.port}"], "connect_timeout": "5s"}, "out")
    with pytest.raises(BrokerError) as caught:
        connect(options, clean_session=True)
    assert str(caught.value).startswith(f"mqtt broker 127.0.0.1:{mosquitto.port}")


def test_websocket_urls_default_their_port_and_path_and_wss_means_tls() -> None:
    options = MqttOptions.from_config({"urls": ["ws://a,wss://b", "ws://c:9001/mqtt?x=1", "wss://d:1/"]}, "in")
    assert options.addresses == (
        Broker("a", 80, False, "/"),
        Broker("b", 443, True, "/"),
        Broker("c", 9001, False, "/mqtt?x=1"),
        Broker("d", 1, True, "/"),
    )
    assert options.context_for(options.addresses[0]) is None
    assert options.context_for(options.addresses[1]) is not None
    assert MqttOptions.from_config({"urls": ["ws://a"], "tls": {"enabled": True}}, "in").plain_despite_tls
    assert not MqttOptions.from_config({"urls": ["wss://a"], "tls": {"enabled": True}}, "in").plain_despite_tls


def test_websocket_urls_are_accepted_at_load() -> None:
    api, problems = load_text(definition("urls: [ws://h:9001/mqtt, wss://h:9002]\ntopics: [a]\n"), "t.yaml")
    assert problems == [] and api is not None
