"""The ``mqtt`` input and output over TLS, against a real mosquitto with two TLS listeners (one
requiring a client certificate): messages go through, a certificate of another CA and a missing
client certificate are refused with the reason, TLS URL schemes mean TLS on 8883."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.brokers.base import BrokerError
from streams.brokers.embedded import EmbeddedBroker
from streams.connectors.mqtt import Broker, MqttOptions, connect
from streams.contracts import ConfigError
from streams.definitions import load_text
from streams.engine.testing import Gateways, push, push_until_written, read_topic
from tests.integration.test_mqtt import definition
from tests.message_brokers import MosquittoTls, start_mosquitto_tls
from tests.tls_certs import Certificates, openssl_available

pytestmark = pytest.mark.skipif(not openssl_available(), reason="openssl is needed to make test certificates")


@pytest.fixture(scope="module")
def mosquitto_tls(tmp_path_factory: pytest.TempPathFactory, tls_certificates: Certificates) -> Iterator[MosquittoTls]:
    broker = start_mosquitto_tls(tmp_path_factory.mktemp("mosquitto-tls"), tls_certificates.ca, tls_certificates.server_cert, tls_certificates.server_key)
    yield broker
    broker.stop()


def client_cert(tls_certificates: Certificates) -> dict[str, str]:
    return {"cert_file": str(tls_certificates.client_cert), "key_file": str(tls_certificates.client_key)}


def test_a_message_goes_through_output_and_input_over_tls(
    tmp_path: Path, gateways: Gateways, broker: EmbeddedBroker, mosquitto_tls: MosquittoTls, tls_certificates: Certificates
) -> None:
    """The output trusts the CA from a file, the input from PEM text and shows its certificate on
    the listener that requires one."""
    topic = f"t/{uuid.uuid4().hex[:10]}"
    tls_out = {"enabled": True, "root_cas_file": str(tls_certificates.ca)}
    tls_in = {"enabled": True, "root_cas": tls_certificates.ca.read_text(), "client_certs": [client_cert(tls_certificates)]}
    streams = {
        "p": {
            "input": {"http_server": {"path": "/in"}},
            "output": {"mqtt": {"urls": [f"ssl://127.0.0.1:{mosquitto_tls.port}"], "topic": topic, "tls": tls_out}},
        },
        "m": {
            "input": {"mqtt": {"urls": [f"mqtts://localhost:{mosquitto_tls.mutual_port}"], "topics": [topic], "tls": tls_in}},
            "output": {"kafka": {"topic": "over-tls"}},
        },
    }
    _, api = gateways(tmp_path, streams)
    push_until_written(api, "p", b"over tls", broker, "over-tls", "a message through mqtt over TLS")
    assert {r.value for r in read_topic(broker, "over-tls")} == {b"over tls"}


def test_a_broker_certificate_of_another_ca_fails_the_push_with_the_reason(
    tmp_path: Path, gateways: Gateways, mosquitto_tls: MosquittoTls, other_tls_certificates: Certificates
) -> None:
    url = f"ssl://127.0.0.1:{mosquitto_tls.port}"
    tls = {"enabled": True, "root_cas_file": str(other_tls_certificates.ca)}
    stream = {"input": {"http_server": {"path": "/in"}}, "output": {"mqtt": {"urls": [url], "topic": "x", "tls": tls}}}
    _, api = gateways(tmp_path, {"p": stream})
    (result,) = push(api, "p", [b"x"])
    assert result.status == 502
    assert f"mqtt broker 127.0.0.1:{mosquitto_tls.port}: [SSL: CERTIFICATE_VERIFY_FAILED]" in (result.error or "")


def test_a_listener_requiring_a_client_certificate_refuses_a_client_without_one(
    mosquitto_tls: MosquittoTls, tls_certificates: Certificates
) -> None:
    url = f"tls://127.0.0.1:{mosquitto_tls.mutual_port}"
    with_cert = {"enabled": True, "root_cas_file": str(tls_certificates.ca), "client_certs": [client_cert(tls_certificates)]}
    connect(MqttOptions.from_config({"urls": [url], "tls": with_cert}, "out"), clean_session=True).close()
    without = MqttOptions.from_config({"urls": [url], "tls": {"enabled": True, "root_cas_file": str(tls_certificates.ca)}}, "out")
    with pytest.raises(BrokerError) as caught:
        connect(without, clean_session=True)
    assert str(caught.value).startswith(
        f"mqtt broker 127.0.0.1:{mosquitto_tls.mutual_port} closed the connection before its CONNACK"
    )
    # TLS 1.3: the client's handshake is over before the broker checks for a certificate; the
    # broker's alert ("certificate required") or its closing the connection arrives after.


def test_skip_cert_verify_accepts_a_certificate_of_an_unknown_ca(mosquitto_tls: MosquittoTls) -> None:
    conf = {"urls": [f"mqtt+ssl://127.0.0.1:{mosquitto_tls.port}"], "tls": {"enabled": True, "skip_cert_verify": True}}
    conn = connect(MqttOptions.from_config(conf, "out"), clean_session=True)
    assert conn.client.is_connected()
    conn.close()


def test_a_tls_scheme_means_tls_on_8883_and_tls_enabled_leaves_tcp_plain() -> None:
    """As Bento's MQTT client: the URL's scheme decides; ``tls`` only configures the TLS URLs."""
    urls = ["ssl://a,tls://b", "mqtts://c", "tcps://d", "mqtt+ssl://e:1", "tcp://f", "mqtt://g"]
    options = MqttOptions.from_config({"urls": urls}, "in")
    assert options.addresses == (
        Broker("a", 8883, True),
        Broker("b", 8883, True),
        Broker("c", 8883, True),
        Broker("d", 8883, True),
        Broker("e", 1, True),
        Broker("f", 1883, False),
        Broker("g", 1883, False),
    )
    assert options.context_for(options.addresses[0]) is not None
    assert options.context_for(options.addresses[5]) is None
    assert not options.plain_despite_tls
    assert MqttOptions.from_config({"urls": ["tcp://f"], "tls": {"enabled": True}}, "in").plain_despite_tls
    assert not MqttOptions.from_config({"urls": ["ssl://f"], "tls": {"enabled": True}}, "in").plain_despite_tls


def test_a_tls_block_is_accepted_at_load(tls_certificates: Certificates) -> None:
    block = (
        "urls: [ssl://h:1]\ntopics: [a]\n"
        f"tls: {{enabled: true, root_cas_file: {tls_certificates.ca}, client_certs: "
        f"[{{cert_file: {tls_certificates.client_cert}, key_file: {tls_certificates.client_key}}}]}}\n"
    )
    api, problems = load_text(definition(block), "t.yaml")
    assert problems == [] and api is not None


@pytest.mark.parametrize(
    ("tls", "problem"),
    [
        ("{enabled: true, root_cas_file: /nonexistent/ca.pem}", "mqtt.tls.root_cas_file: file not found: /nonexistent/ca.pem"),
        (
            "{enabled: true, client_certs: [{cert_file: /nonexistent/c.pem}]}",
            "mqtt.tls.client_certs.0.key: a client certificate needs a key",
        ),
        ("{enabled: true, verify: false}", "mqtt.tls.verify: unknown field"),
    ],
)
def test_a_bad_tls_block_is_refused_at_load_with_the_field_named(tls: str, problem: str) -> None:
    api, problems = load_text(definition(f"urls: [ssl://h:1]\ntopics: [a]\ntls: {tls}\n"), "t.yaml")
    assert api is None
    assert any(problem in str(p) for p in problems), problems


def test_a_bad_tls_block_given_directly_is_refused_with_the_field_named() -> None:
    with pytest.raises(ConfigError) as caught:
        MqttOptions.from_config({"urls": ["ssl://h"], "tls": {"enabled": True, "root_cas": "not pem"}}, "out")
    assert str(caught.value).startswith("out.tls: root_cas: not a usable PEM CA bundle")


def test_tls_connection_settings_are_kept_per_config(tls_certificates: Certificates) -> None:
    """The TLS context is made once per distinct ``tls`` block, not per connection."""
    conf: dict[str, Any] = {"urls": ["ssl://h"], "tls": {"enabled": True, "root_cas_file": str(tls_certificates.ca)}}
    first, second = MqttOptions.from_config(conf, "a"), MqttOptions.from_config(conf, "b")
    assert first.context_for(first.addresses[0]) is second.context_for(second.addresses[0])
