"""The ``mqtt`` input and output against a real mosquitto (started by the ``mosquitto`` fixture):
metadata, QoS 1 acknowledgement only after the output succeeded, redelivery of what was not
acknowledged, retained messages, and the errors a user sees."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from streams.brokers.base import BrokerError
from streams.brokers.embedded import EmbeddedBroker
from streams.connectors.mqtt import NANOID_ALPHABET, MqttOptions, connect
from streams.contracts import ConfigError
from streams.definitions import load_text
from streams.engine.testing import Gateways, push, read_topic, wait_until
from streams.message import Message
from tests.e2e.server import free_port
from tests.message_brokers import MQTT_USER, Mosquitto
from tests.mqtt_clients import TestClient
from tests.stream_definitions import one_component_definition
from tests.webhook import Hook

PROBE = b'{"probe":true}'


@pytest.fixture
def client(mosquitto: Mosquitto) -> Iterator[TestClient]:
    c = TestClient(mosquitto)
    yield c
    c.close()


def topic_name() -> str:
    return f"t/{uuid.uuid4().hex[:10]}"


def mqtt_input(mosquitto: Mosquitto, topic: str, **extra: Any) -> dict[str, Any]:
    return {"mqtt": {"urls": [mosquitto.url], "topics": [topic], **extra}}


def written(broker: EmbeddedBroker, topic: str) -> list[bytes]:
    """The records of ``topic`` apart from the probes ``wait_subscribed`` published."""
    return [r.value for r in read_topic(broker, topic) if b'"probe":true' not in r.value]


def wait_subscribed(client: TestClient, broker: EmbeddedBroker, mqtt_topic: str, out: str) -> None:
    """The input subscribes a moment after its gateway starts, and a clean session gets nothing
    published before that: publish probes until one comes through."""

    def probe_seen() -> bool:
        if any(b'"probe":true' in r.value for r in read_topic(broker, out)):
            return True
        client.publish(mqtt_topic, PROBE)
        return False

    wait_until(probe_seen, "the input's subscription")


def test_input_writes_each_message_in_order_with_bento_metadata(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, mosquitto: Mosquitto, client: TestClient
) -> None:
    topic = topic_name()
    stream = {
        "input": mqtt_input(mosquitto, f"{topic}/#"),
        "pipeline": {
            "processors": [
                {
                    "mapping": 'root = this.merge({"topic": @mqtt_topic, "qos": @mqtt_qos, '
                    '"retained": @mqtt_retained, "duplicate": @mqtt_duplicate})'
                }
            ]
        },
        "output": {"kafka": {"topic": "mq"}},
    }
    gateways(tmp_path, {"m": stream})
    wait_subscribed(client, broker, f"{topic}/a", "mq")
    for n in range(20):
        client.publish(f"{topic}/a", json.dumps({"n": n}).encode())
    wait_until(lambda: len(written(broker, "mq")) >= 20, "twenty messages in the topic")
    values = [json.loads(v) for v in written(broker, "mq")]
    assert [v["n"] for v in values] == list(range(20))
    assert values[3] == {"n": 3, "topic": f"{topic}/a", "qos": 1, "retained": False, "duplicate": False}


def test_qos1_message_is_acknowledged_only_after_the_output_succeeded(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, mosquitto: Mosquitto, client: TestClient
) -> None:
    """A write that keeps failing leaves the message unacknowledged; when the gateway stops, the
    persistent session keeps it, and the next run gets it again (flagged duplicate) and writes it."""
    topic = topic_name()
    client_id = f"gw-{uuid.uuid4().hex[:8]}"
    # Make the persistent session with its subscription first, so nothing published is missed.
    TestClient(mosquitto, client_id=client_id, clean_session=False).subscribe_and_close(topic)
    hook = Hook()
    try:
        failing = {
            "input": mqtt_input(mosquitto, topic, client_id=client_id, clean_session=False),
            "output": {"http_client": {"url": hook.url, "retries": 0, "timeout": "2s"}},
        }
        first, _ = gateways(tmp_path / "first", {"m": failing})
        client.publish(topic, b'{"id":1}')
        wait_until(lambda: hook.refused >= 2, "two refused writes")
        first.drain(5.0)
        assert hook.accepted == []
    finally:
        hook.stop()
    working = {
        "input": mqtt_input(mosquitto, topic, client_id=client_id, clean_session=False),
        "pipeline": {"processors": [{"mapping": 'root = this.merge({"duplicate": @mqtt_duplicate})'}]},
        "output": {"kafka": {"topic": "again"}},
    }
    gateways(tmp_path, {"m": working})  # the next run, on the data directory of ``broker``
    wait_until(lambda: written(broker, "again"), "the redelivered message")
    assert [json.loads(v) for v in written(broker, "again")] == [{"id": 1, "duplicate": True}]


def test_a_shared_subscription_runs_in_every_worker_and_each_message_is_written_once(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, mosquitto: Mosquitto, client: TestClient
) -> None:
    """Two workers of one host (two gateways on one data directory) both subscribe to
    ``$share/...``; the broker hands each message to one of them."""
    topic = topic_name()
    stream = {"input": mqtt_input(mosquitto, f"$share/gw/{topic}"), "output": {"kafka": {"topic": "shared"}}}
    gateways(tmp_path, {"m": stream})
    gateways(tmp_path, {"m": stream})
    wait_subscribed(client, broker, topic, "shared")
    for n in range(30):
        client.publish(topic, json.dumps({"n": n}).encode())
    wait_until(lambda: len(written(broker, "shared")) >= 30, "thirty messages")
    assert sorted(json.loads(v)["n"] for v in written(broker, "shared")) == list(range(30))


def test_output_publishes_each_pushed_message_and_waits_for_the_puback(
    tmp_path: Any, gateways: Gateways, mosquitto: Mosquitto, client: TestClient
) -> None:
    topic = topic_name()
    client.subscribe(f"{topic}/#")
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "output": {"mqtt": {"urls": [mosquitto.url], "topic": topic + '/${! json("room") }', "client_id": "pub"}},
    }
    _, api = gateways(tmp_path, {"p": stream})
    inst = api.open("p", {})
    try:
        results = [inst.push(Message(json.dumps({"room": r, "n": n}).encode()), 10.0) for n, r in enumerate("abab")]
    finally:
        inst.release()
    assert [r.status for r in results] == [200] * 4
    wait_until(lambda: len(client.received) >= 4, "four published messages")
    assert [(m.topic, json.loads(m.payload)["n"]) for m in client.received] == [
        (f"{topic}/a", 0), (f"{topic}/b", 1), (f"{topic}/a", 2), (f"{topic}/b", 3)
    ]


def test_output_retained_interpolated_sets_retain_per_message(
    tmp_path: Any, gateways: Gateways, mosquitto: Mosquitto
) -> None:
    topic = topic_name()
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "output": {
            "mqtt": {
                "urls": [mosquitto.url],
                "topic": topic + '/${! json("k") }',
                "retained_interpolated": '${! json("keep") }',
            }
        },
    }
    _, api = gateways(tmp_path, {"p": stream})
    inst = api.open("p", {})
    try:
        kept = inst.push(Message(b'{"k":"kept","keep":"true"}'), 10.0)
        gone = inst.push(Message(b'{"k":"gone","keep":"false"}'), 10.0)
        bad = inst.push(Message(b'{"k":"bad","keep":"maybe"}'), 10.0)
    finally:
        inst.release()
    assert (kept.status, gone.status) == (200, 200)
    assert bad.status == 502 and "retained_interpolated gave 'maybe', not true or false" in (bad.error or "")
    late = TestClient(mosquitto)  # a subscriber arriving later gets only the retained one
    try:
        late.subscribe(f"{topic}/#")
        wait_until(lambda: late.received, "the retained message")
        assert [(m.topic, m.retain) for m in late.received] == [(f"{topic}/kept", True)]
    finally:
        late.close()


def test_output_to_an_unreachable_broker_fails_the_push_with_the_reason(tmp_path: Any, gateways: Gateways) -> None:
    port = free_port()
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "output": {"mqtt": {"urls": [f"tcp://127.0.0.1:{port}"], "topic": "x", "connect_timeout": "2s"}},
    }
    _, api = gateways(tmp_path, {"p": stream})
    (result,) = push(api, "p", [b"x"])
    assert result.status == 502
    assert f"mqtt broker 127.0.0.1:{port}:" in (result.error or "")


def test_user_and_password_are_sent_and_a_refusal_names_the_reason(mosquitto: Mosquitto) -> None:
    user, password = MQTT_USER
    good = MqttOptions.from_config({"urls": [mosquitto.auth_url], "user": user, "password": password}, "out")
    connect(good, clean_session=True).close()
    bad = MqttOptions.from_config({"urls": [mosquitto.auth_url], "user": user, "password": "wrong"}, "out")
    with pytest.raises(BrokerError) as caught:
        connect(bad, clean_session=True)
    assert str(caught.value) == f"mqtt broker 127.0.0.1:{mosquitto.auth_port} refused the connection: Not authorized"


def test_the_will_is_published_when_the_connection_drops_without_goodbye(
    mosquitto: Mosquitto, client: TestClient
) -> None:
    topic = topic_name()
    client.subscribe(f"{topic}/will")
    options = MqttOptions.from_config(
        {"urls": [mosquitto.url], "will": {"enabled": True, "topic": f"{topic}/will", "payload": "gone", "qos": 1}}, "out"
    )
    conn = connect(options, clean_session=True)
    sock = conn.client.socket()
    assert sock is not None
    sock.close()  # no DISCONNECT: the broker publishes the will
    wait_until(lambda: client.received, "the will")
    assert [(m.topic, m.payload) for m in client.received] == [(f"{topic}/will", b"gone")]
    conn.close()


def test_dynamic_client_id_suffix_appends_a_nanoid() -> None:
    ids = {MqttOptions.from_config({"urls": ["tcp://h"], "client_id": "gw-", "dynamic_client_id_suffix": "nanoid"}, "in").client_id
           for _ in range(3)}
    assert len(ids) == 3
    assert all(i.startswith("gw-") and len(i) == 3 + 21 and set(i[3:]) <= set(NANOID_ALPHABET) for i in ids)


def definition(input_block: str) -> str:
    return one_component_definition("mqtt", input_block)


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("urls: [wss://h:x]\ntopics: [a]\n", "mqtt.urls: 'wss://h:x': bad port"),
        (
            "urls: [http://h:1]\ntopics: [a]\n",
            "mqtt.urls: 'http://h:1': scheme 'http' is not supported (use tcp://, ssl://, ws:// or wss://)",
        ),
        ("urls: [tcp://h:1]\ntopics: [a]\nqos: 3\n", "mqtt.qos: invalid value 3 (expected one of: 0, 1, 2)"),
        ("urls: [tcp://h:1]\ntopics: [a]\nwill: {enabled: true}\n", "mqtt.will.topic: include a topic to register a last will"),
        ("urls: [tcp://h:1]\ntopics: [a]\ndynamic_client_id_suffix: uuid\n", "mqtt.dynamic_client_id_suffix: invalid value 'uuid'"),
    ],
)
def test_bad_configs_are_reported_at_load_with_the_field_named(block: str, problem: str) -> None:
    api, problems = load_text(definition(block), "t.yaml")
    assert api is None
    assert len(problems) == 1 and problem in str(problems[0]), problems


def test_a_persistent_session_without_client_id_does_not_start(tmp_path: Any, gateways: Gateways) -> None:
    stream = {"input": {"mqtt": {"urls": ["tcp://h:1"], "topics": ["a"], "clean_session": False}}, "output": {"drop": {}}}
    _, api = gateways(tmp_path, {"m": stream}, start=False)
    with pytest.raises(ConfigError) as caught:
        api.open("m", {})
    assert "needs a client_id" in str(caught.value)
