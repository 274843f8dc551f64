"""The ``amqp_0_9`` input and output against a real RabbitMQ (the ``rabbitmq`` fixture): metadata
both ways, acknowledgement only after the output succeeded, nack and redelivery on failure,
publisher confirms and ``mandatory``, and the errors a user sees."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import pika
import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.definitions import load_text
from streams.engine.testing import Gateways, push, read_topic, wait_until
from streams.message import Message
from tests.e2e.server import free_port
from tests.message_brokers import RabbitMQ
from tests.stream_definitions import one_component_definition
from tests.webhook import Endpoint, Hook, Reply


@pytest.fixture
def channel(rabbitmq: RabbitMQ) -> Iterator[Any]:
    """A channel of the test's own connection, to set up queues and look at them."""
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    yield conn.channel()
    conn.close()


def queue_name() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


def ready_count(channel: Any, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def test_input_acks_after_the_write_with_bento_metadata(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, rabbitmq: RabbitMQ, channel: Any
) -> None:
    queue = queue_name()
    channel.queue_declare(queue)
    for n in range(5):
        props = pika.BasicProperties(headers={"x-user": "alice", "n": n}, content_type="application/json",
                                     message_id=f"m{n}", priority=3)
        channel.basic_publish("", queue, json.dumps({"n": n}).encode(), properties=props)
    stream = {
        "input": {"amqp_0_9": {"urls": [rabbitmq.url], "queue": queue}},
        "pipeline": {"processors": [{"mapping": "root = this\nroot.meta = @"}]},
        "output": {"kafka": {"topic": "rabbit"}},
    }
    gw, _ = gateways(tmp_path, {"r": stream})
    wait_until(lambda: len(read_topic(broker, "rabbit")) >= 5, "five messages in the topic")
    values = [json.loads(r.value) for r in read_topic(broker, "rabbit")]
    assert [v["n"] for v in values] == [0, 1, 2, 3, 4]
    meta = values[2]["meta"]
    assert {k: meta[k] for k in ("x_user", "n", "amqp_content_type", "amqp_message_id", "amqp_priority",
                                 "amqp_redelivered", "amqp_routing_key")} == {
        "x_user": "alice", "n": "2", "amqp_content_type": "application/json", "amqp_message_id": "m2",
        "amqp_priority": "3", "amqp_redelivered": "false", "amqp_routing_key": queue,
    }
    assert "amqp_exchange" not in meta  # empty values are left out, as Bento does
    gw.drain(5.0)
    assert ready_count(channel, queue) == 0  # acknowledged: nothing went back to the queue


def test_a_failed_write_is_nacked_and_the_broker_delivers_it_again(
    tmp_path: Any, gateways: Gateways, rabbitmq: RabbitMQ, channel: Any
) -> None:
    queue = queue_name()
    hook = Hook()
    try:
        stream = {
            "input": {"amqp_0_9": {"urls": [rabbitmq.url], "queue": queue, "queue_declare": {"enabled": True}}},
            "pipeline": {"processors": [{"mapping": 'root = this.merge({"redelivered": @amqp_redelivered})'}]},
            "output": {"http_client": {"url": hook.url, "retries": 0}},
        }
        gateways(tmp_path, {"r": stream})
        wait_until(lambda: _exists(rabbitmq, queue), "the declared queue")
        channel.basic_publish("", queue, b'{"id":1}')
        wait_until(lambda: hook.refused >= 3, "three refused writes")
        hook.failing = False
        wait_until(lambda: hook.accepted, "the write after redelivery")
        assert [json.loads(b) for b in hook.accepted] == [{"id": 1, "redelivered": "true"}]
    finally:
        hook.stop()


def test_a_write_slower_than_the_heartbeat_keeps_the_connection_and_is_acked_once(
    tmp_path: Any, gateways: Gateways, rabbitmq: RabbitMQ, channel: Any
) -> None:
    """With a 1 s heartbeat the broker drops a connection silent for about 2 s; the write takes
    5 s, and the message is still acknowledged on the same connection (not delivered again)."""
    queue = queue_name()
    channel.queue_declare(queue)
    channel.basic_publish("", queue, b'{"id":"slow"}')
    hook = Hook(delay=5.0)
    hook.failing = False
    try:
        stream = {
            "input": {"amqp_0_9": {"urls": [rabbitmq.url + "?heartbeat=1"], "queue": queue}},
            "output": {"http_client": {"url": hook.url, "retries": 0, "timeout": "20s"}},
        }
        gw, _ = gateways(tmp_path, {"r": stream})
        wait_until(lambda: hook.accepted, "the slow write")
        gevent.sleep(3.0)  # a lost acknowledgement would bring the message back by now
        gw.drain(5.0)
        assert hook.accepted == [b'{"id":"slow"}']
        assert ready_count(channel, queue) == 0
    finally:
        hook.stop()


@pytest.mark.parametrize("in_broker", [False, True], ids=["alone", "broker-child-with-processors"])
def test_nack_reject_patterns_dead_letter_a_matching_failure_and_requeue_the_others(
    tmp_path: Any, gateways: Gateways, rabbitmq: RabbitMQ, channel: Any, in_broker: bool
) -> None:
    """The endpoint refuses ``poison`` with 422 every time and ``retry`` with 503 the first time.
    The 422 failure matches a pattern: its message is nacked without requeue, and the queue's
    dead-letter exchange routes it to the dead queue, having been written once. The 503 failure
    does not match: its message is requeued and delivered again, and then written. The same holds
    for the input as a ``broker`` child with processors of its own (the failure's reason reaches
    it through them)."""
    queue, dlx, dead = queue_name(), f"dlx-{uuid.uuid4().hex[:8]}", queue_name()
    channel.exchange_declare(dlx, exchange_type="fanout")
    channel.queue_declare(dead)
    channel.queue_bind(dead, dlx)
    channel.queue_declare(queue, arguments={"x-dead-letter-exchange": dlx})
    seen: list[bytes] = []

    def decide(n: int, _environ: dict[str, Any]) -> Reply:
        body = endpoint.requests[n][3]
        seen.append(body)
        if body == b"poison":
            return ("422 Unprocessable Entity", [("Content-Length", "0")], [b""])
        if body == b"retry" and seen.count(b"retry") == 1:
            return ("503 Service Unavailable", [("Content-Length", "0")], [b""])
        return ("200 OK", [("Content-Length", "0")], [b""])

    endpoint = Endpoint(decide)
    try:
        channel.basic_publish("", queue, b"poison")
        channel.basic_publish("", queue, b"retry")
        patterns = [r"unexpected response code \(4[0-9]{2}\)", "^never"]  # Bento's text for a refused request
        source: dict[str, Any] = {"amqp_0_9": {"urls": [rabbitmq.url], "queue": queue, "nack_reject_patterns": patterns}}
        if in_broker:
            source = {"broker": {"inputs": [{**source, "processors": [{"mapping": "root = content()"}]}]}}
        stream = {"input": source, "output": {"http_client": {"url": endpoint.url, "retries": 0}}}
        gw, _ = gateways(tmp_path, {"r": stream})
        wait_until(lambda: seen.count(b"retry") >= 2, "the requeued message written on its second delivery")
        gw.drain(5.0)
    finally:
        endpoint.stop()
    assert seen == [b"poison", b"retry", b"retry"]
    assert ready_count(channel, queue) == 0
    method, props, body = channel.basic_get(dead, auto_ack=True)
    assert body == b"poison"
    assert [(d["reason"], d["count"]) for d in props.headers["x-death"]] == [("rejected", 1)]
    assert channel.basic_get(dead, auto_ack=True) == (None, None, None)


def _exists(rabbitmq: RabbitMQ, queue: str) -> bool:
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        conn.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if conn.is_open:
            conn.close()


def test_output_publishes_with_confirms_headers_and_properties(
    tmp_path: Any, gateways: Gateways, rabbitmq: RabbitMQ, channel: Any
) -> None:
    exchange, queue = f"x-{uuid.uuid4().hex[:8]}", queue_name()
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"mapping": 'root = this\nmeta user_id = "alice"\nmeta skip_me = "no"'}]},
        "output": {
            "amqp_0_9": {
                "urls": [rabbitmq.url],
                "exchange": exchange,
                "exchange_declare": {"enabled": True, "type": "topic"},
                "key": 'jobs.${! json("kind") }',
                "persistent": True,
                "mandatory": True,
                "message_id": '${! json("id") }',
                "metadata": {"exclude_prefixes": ["skip_"]},
            }
        },
    }
    _, api = gateways(tmp_path, {"p": stream})
    inst = api.open("p", {})
    try:
        unroutable = inst.push(Message(b'{"kind":"a","id":"m0"}'), 10.0)  # declared, but no queue bound yet
        channel.queue_declare(queue)
        channel.queue_bind(queue, exchange, routing_key="jobs.#")
        ok = inst.push(Message(b'{"kind":"b","id":"m1"}'), 10.0)
    finally:
        inst.release()
    assert unroutable.status == 502
    assert unroutable.error == f"amqp_0_9 publish to exchange '{exchange}' key 'jobs.a': no queue took the message (mandatory)"
    assert ok.status == 200
    method, props, body = channel.basic_get(queue, auto_ack=True)
    assert json.loads(body) == {"kind": "b", "id": "m1"}
    assert (method.routing_key, props.delivery_mode, props.message_id) == ("jobs.b", 2, "m1")
    assert props.headers == {"user-id": "alice"}


def test_output_to_an_unreachable_broker_fails_the_push_with_the_reason(tmp_path: Any, gateways: Gateways) -> None:
    port = free_port()
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "output": {"amqp_0_9": {"urls": [f"amqp://guest:guest@127.0.0.1:{port}/"], "exchange": ""}},
    }
    _, api = gateways(tmp_path, {"p": stream})
    (result,) = push(api, "p", [b"x"], 20.0)
    assert result.status == 502
    assert (result.error or "").startswith(f"amqp broker 127.0.0.1:{port}: AMQPConnectionError")


def definition(kind: str, block: str) -> str:
    return one_component_definition("amqp_0_9", block, kind)


@pytest.mark.parametrize(
    ("kind", "block", "problem"),
    [
        ("input", "urls: [http://h]\nqueue: q\n", "amqp_0_9.urls: 'http://h': scheme 'http' is not supported (use amqp:// or amqps://)"),
        ("input", "urls: [amqps://h]\nqueue: q\ntls: {enabled: true, client_certs: [{cert: x}]}\n",
         "amqp_0_9.tls.client_certs.0.key: a client certificate needs a key (or key_file) with its cert"),
        ("output", "urls: [amqp://h]\nexchange: x\nexchange_declare: {enabled: true, type: headers}\n", "amqp_0_9.exchange_declare.type: invalid value 'headers'"),
        ("input", "urls: [amqp://h]\n", "amqp_0_9.queue: missing required field"),
        ("input", "urls: [amqp://h]\nqueue: q\nnack_reject_patterns: ['ok', '(unclosed']\n",
         "amqp_0_9.nack_reject_patterns.1: not a valid regular expression: missing ), unterminated subpattern at position 0"),
        ("input", "urls: [amqp://h]\nqueue: q\nbindings_declare: [{exchange: x, routing_key: k}]\n",
         "amqp_0_9.bindings_declare.0.routing_key: unknown field (expected exchange or key)"),
    ],
)
def test_bad_configs_are_reported_at_load_with_the_field_named(kind: str, block: str, problem: str) -> None:
    api, problems = load_text(definition(kind, block), "t.yaml")
    assert api is None
    assert len(problems) == 1 and problem in str(problems[0]), problems


def test_immediate_publishes_fail_as_rabbitmq_refuses_the_flag(
    tmp_path: Any, gateways: Gateways, rabbitmq: RabbitMQ, channel: Any
) -> None:
    """RabbitMQ closes a connection that publishes with ``immediate`` (540 NOT_IMPLEMENTED): each
    write fails with that reason, nothing is queued, and the next write connects again."""
    queue = queue_name()
    channel.queue_declare(queue)
    stream = {"input": {"http_server": {}}, "output": {"amqp_0_9": {"urls": [rabbitmq.url], "exchange": "", "key": queue, "immediate": True}}}
    _, api = gateways(tmp_path, {"m": stream})
    inst = api.open("m", {})
    try:
        results = [inst.push(Message(b"x"), 20.0) for _ in range(2)]
    finally:
        inst.release()
    expected = f"amqp_0_9 publish to exchange '' key '{queue}' failed: ConnectionClosedByBroker: (540, 'NOT_IMPLEMENTED - immediate=true')"
    assert [(r.status, r.error) for r in results] == [(502, expected)] * 2
    assert ready_count(channel, queue) == 0


def test_immediate_failures_leave_the_input_message_unacknowledged(
    tmp_path: Any, gateways: Gateways, rabbitmq: RabbitMQ, channel: Any
) -> None:
    """An input whose output publishes with ``immediate`` never acknowledges: the message is given
    back after each failed write and delivered again (the hook, called by a branch before the
    output, sees each attempt), and nothing reaches the output's queue."""
    source, target = queue_name(), queue_name()
    channel.queue_declare(source)
    channel.queue_declare(target)
    channel.basic_publish("", source, b'{"id":1}')
    hook = Hook()
    hook.failing = False
    try:
        stream = {
            "input": {"amqp_0_9": {"urls": [rabbitmq.url], "queue": source}},
            "pipeline": {"processors": [{"branch": {"processors": [{"http": {"url": hook.url}}]}}]},
            "output": {"amqp_0_9": {"urls": [rabbitmq.url], "exchange": "", "key": target, "immediate": True}},
        }
        gw, _ = gateways(tmp_path, {"r": stream})
        wait_until(lambda: len(hook.accepted) >= 2, "a second attempt after the message was given back")
        gw.drain(5.0)
    finally:
        hook.stop()
    assert set(hook.accepted) == {b'{"id":1}'}
    assert ready_count(channel, source) == 1
    assert ready_count(channel, target) == 0
