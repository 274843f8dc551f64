"""The ``amqp_1`` input and output against a real ActiveMQ Artemis (the ``artemis`` fixture):
metadata both ways, settlement as accepted only after the output succeeded, redelivery after a
failed write (settled as modified), SASL PLAIN, and the errors a user sees."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from proton import Message as AmqpMessage
from proton import Timeout
from proton.utils import BlockingConnection

from streams.brokers.embedded import EmbeddedBroker
from streams.definitions import load_text
from streams.engine.testing import Gateways, push, read_topic, wait_until
from streams.message import Message
from tests.e2e.server import free_port
from tests.message_brokers import Artemis
from tests.stream_definitions import one_component_definition
from tests.webhook import Hook


@pytest.fixture
def client(artemis: Artemis) -> Iterator[BlockingConnection]:
    """The test's own AMQP 1.0 connection, to send and look at queues."""
    conn = BlockingConnection(artemis.url, timeout=10, sasl_enabled=False)
    yield conn
    conn.close()


def queue_name() -> str:
    return f"q.{uuid.uuid4().hex[:10]}"


def drain_queue(client: BlockingConnection, queue: str, wait: float = 1.0) -> list[AmqpMessage]:
    receiver = client.create_receiver(queue, credit=100)
    got: list[AmqpMessage] = []
    try:
        while True:
            got.append(receiver.receive(timeout=wait))
            receiver.accept()
    except Timeout:
        return got
    finally:
        receiver.close()


def test_input_accepts_after_the_write_with_bento_metadata(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, artemis: Artemis, client: BlockingConnection
) -> None:
    queue = queue_name()
    sender = client.create_sender(queue)
    for n in range(5):
        sender.send(AmqpMessage(body=json.dumps({"n": n}).encode(), inferred=True, content_type="application/json",
                                annotations={"x-opt-user": "alice", "x-opt-n": n}))
    stream = {
        # the deprecated single ``url`` (Bento reads it when ``urls`` is empty)
        "input": {"amqp_1": {"url": artemis.url, "source_address": queue}},
        "pipeline": {"processors": [{"mapping": "root = this\nroot.meta = @"}]},
        "output": {"kafka": {"topic": "amqp1"}},
    }
    gw, _ = gateways(tmp_path, {"a": stream})
    wait_until(lambda: len(read_topic(broker, "amqp1")) >= 5, "five messages in the topic")
    values = [json.loads(r.value) for r in read_topic(broker, "amqp1")]
    assert [v["n"] for v in values] == [0, 1, 2, 3, 4]
    # string annotations become metadata (the number one does not, as Bento), the content type too
    assert {k: v for k, v in values[1]["meta"].items() if k != "amqp_to"} == {
        "x-opt-user": "alice", "amqp_content_type": "application/json",
    }
    gw.drain(5.0)
    assert drain_queue(client, queue) == []  # accepted: nothing went back to the queue


def test_a_failed_write_is_settled_modified_and_the_broker_delivers_it_again(
    tmp_path: Any, gateways: Gateways, artemis: Artemis, client: BlockingConnection
) -> None:
    queue = queue_name()
    client.create_sender(queue).send(AmqpMessage(body=b'{"id":1}', inferred=True))
    hook = Hook()
    try:
        stream = {
            "input": {"amqp_1": {"urls": [artemis.url], "source_address": queue, "read_header": True}},
            "pipeline": {"processors": [{"mapping": 'root = this.merge({"count": @amqp_delivery_count.or("0")})'}]},
            "output": {"http_client": {"url": hook.url, "retries": 0}},
        }
        gateways(tmp_path, {"a": stream})
        wait_until(lambda: hook.refused >= 2, "two refused writes")
        hook.failing = False
        wait_until(lambda: hook.accepted, "the write after redelivery")
        accepted = [json.loads(b) for b in hook.accepted]
        assert len(accepted) == 1 and accepted[0]["id"] == 1
        assert int(accepted[0]["count"]) >= 2  # the broker counted the failed deliveries
    finally:
        hook.stop()


def test_a_write_slower_than_the_idle_timeout_keeps_the_connection_and_is_accepted_once(
    tmp_path: Any, gateways: Gateways, artemis: Artemis, client: BlockingConnection
) -> None:
    """The broker closes a connection of its short-idle acceptor after 2 s without a frame; the
    write takes 5 s, and the message is still accepted on the same connection."""
    queue = queue_name()
    client.create_sender(queue).send(AmqpMessage(body=b'{"id":"slow"}', inferred=True))
    hook = Hook(delay=5.0)
    hook.failing = False
    try:
        stream = {
            "input": {"amqp_1": {"urls": [artemis.short_idle_url], "source_address": queue}},
            "output": {"http_client": {"url": hook.url, "retries": 0, "timeout": "20s"}},
        }
        gw, _ = gateways(tmp_path, {"a": stream})
        wait_until(lambda: hook.accepted, "the slow write")
        gevent.sleep(3.0)  # a lost settlement would bring the message back by now
        gw.drain(5.0)
        assert hook.accepted == [b'{"id":"slow"}']
        assert drain_queue(client, queue) == []
    finally:
        hook.stop()


def test_output_sends_a_data_section_with_properties_and_annotations(
    tmp_path: Any, gateways: Gateways, artemis: Artemis, client: BlockingConnection
) -> None:
    queue = queue_name()
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"mapping": 'root = this\nmeta x_opt_kind = this.kind\nmeta skip_me = "no"'}]},
        "output": {
            "amqp_1": {
                "urls": ["amqp://admin:admin@" + artemis.url.removeprefix("amqp://")],
                "sasl": {"mechanism": "plain"},
                "target_address": queue,
                "application_properties_map": 'root.kind = this.kind\nroot.n = this.n',
                "metadata": {"exclude_prefixes": ["skip_"]},
            }
        },
    }
    _, api = gateways(tmp_path, {"p": stream})
    inst = api.open("p", {})
    try:
        results = [inst.push(Message(json.dumps({"kind": "k", "n": n}).encode()), 10.0) for n in range(3)]
    finally:
        inst.release()
    assert [r.status for r in results] == [200, 200, 200]
    got = drain_queue(client, queue)
    assert [json.loads(bytes(m.body)) for m in got] == [{"kind": "k", "n": n} for n in range(3)]
    assert got[2].properties == {"kind": "k", "n": 2}
    assert dict(got[2].annotations) == {"x_opt_kind": "k"}


def test_wrong_credentials_fail_the_push_with_the_reason(tmp_path: Any, gateways: Gateways, artemis: Artemis) -> None:
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "output": {
            "amqp_1": {
                "urls": [artemis.url],
                "sasl": {"mechanism": "plain", "user": "admin", "password": "wrong"},
                "target_address": "q.never",
            }
        },
    }
    _, api = gateways(tmp_path, {"p": stream})
    (result,) = push(api, "p", [b"x"], 20.0)
    assert result.status == 502
    assert (result.error or "").startswith(f"amqp 1.0 broker 127.0.0.1:{artemis.port}:")
    assert "amqp:unauthorized-access" in (result.error or "")


def test_output_to_an_unreachable_broker_fails_the_push(tmp_path: Any, gateways: Gateways) -> None:
    port = free_port()
    stream = {"input": {"http_server": {}}, "output": {"amqp_1": {"url": f"amqp://127.0.0.1:{port}", "target_address": "q"}}}
    _, api = gateways(tmp_path, {"p": stream})
    (result,) = push(api, "p", [b"x"], 20.0)
    assert result.status == 502
    assert (result.error or "").startswith(f"amqp 1.0 broker 127.0.0.1:{port}: ")


def definition(block: str) -> str:
    return one_component_definition("amqp_1", block)


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("urls: [http://h]\nsource_address: q\n", "amqp_1.urls: 'http://h': scheme 'http' is not supported (use amqp:// or amqps://)"),
        ("url: http://h\nsource_address: q\n", "amqp_1.url: 'http://h': scheme 'http' is not supported (use amqp:// or amqps://)"),
        ("urls: [amqp://h]\nsource_address: q\nazure_renew_lock: true\n",
         "amqp_1.azure_renew_lock: not supported by this gateway: lock renewal is specific to Azure Service Bus"),
        ("urls: [amqp://h]\nsource_address: q\nsasl: {mechanism: scram}\n", "amqp_1.sasl.mechanism: invalid value 'scram'"),
        ("urls: [amqps://h]\nsource_address: q\ntls: {enabled: true, client_certs: [{cert_file: /c.pem, key: k}]}\n",
         "amqp_1.tls.client_certs.0.cert_file: file not found: /c.pem"),
    ],
)
def test_bad_configs_are_reported_at_load_with_the_field_named(block: str, problem: str) -> None:
    api, problems = load_text(definition(block), "t.yaml")
    assert api is None
    assert len(problems) == 1 and problem in str(problems[0]), problems
