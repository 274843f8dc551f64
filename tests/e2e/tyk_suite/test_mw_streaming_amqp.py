"""Tyk's ``gateway/mw_streaming_amqp_test.go`` against a real ``gunicorn -w 2`` and a real
RabbitMQ, with pika (AMQP 0-9-1) and Qpid Proton (AMQP 1.0) as the outside clients.

Where Tyk deals the messages out to its two WebSocket clients in turn (round-robin), this gateway
gives every client every message (DESIGN §10, kept on purpose); those tests assert the broadcast.
RabbitMQ 3 (Debian's) addresses an existing queue over AMQP 1.0 as ``/amq/queue/<name>`` where Tyk's RabbitMQ 4
takes the bare name; the definitions and the clients here use that form.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pika
import pytest
import requests
from proton import Message
from proton.utils import BlockingConnection

from tests.e2e.clients import WSReader
from tests.e2e.server import Gunicorn
from tests.e2e.tyk_suite.brokers import rabbitmq
from tests.e2e.tyk_suite.suite import serve

AMQP_0_9_QUEUE = "test-queue-amqp-0-9"
AMQP_1_QUEUE = "test-queue-amqp-1"
HTTP_AMQP_0_9_QUEUE = "test-queue-input-http-amqp-0-9-output"
HTTP_AMQP_1_QUEUE = "test-queue-input-http-amqp-1-output"
MESSAGES = [b"hello amqp-0", b"hello amqp-1"]


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    with rabbitmq() as url:
        yield url


@pytest.fixture(scope="module")
def exchanges() -> dict[str, str]:
    """The fanout exchange of the AMQP 0-9-1 input test and of the AMQP 0-9-1 output test."""
    return {"input": f"test-exchange-{uuid.uuid4()}", "output": f"test-exchange-{uuid.uuid4()}"}


def _channel(url: str) -> tuple[pika.BlockingConnection, object]:
    deadline = time.monotonic() + 60
    while True:  # the port opens a moment before the node takes connections
        try:
            connection = pika.BlockingConnection(pika.URLParameters(url))
            return connection, connection.channel()
        except pika.exceptions.AMQPConnectionError:
            assert time.monotonic() < deadline, "RabbitMQ did not accept a connection"
            time.sleep(0.5)


def _bound_queue(url: str, exchange: str, queue: str) -> None:
    """initializeAMQP09Environment: a durable fanout exchange with a durable queue bound to it."""
    connection, channel = _channel(url)
    try:
        channel.exchange_declare(exchange, "fanout", durable=True)  # type: ignore[attr-defined]
        channel.queue_declare(queue, durable=True)  # type: ignore[attr-defined]
        channel.queue_bind(queue, exchange)  # type: ignore[attr-defined]
    finally:
        connection.close()


def _queue(url: str, queue: str) -> None:
    connection, channel = _channel(url)
    try:
        channel.queue_declare(queue, durable=True)  # type: ignore[attr-defined]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, amqp_url: str, exchanges: dict[str, str]) -> Iterator[Gunicorn]:
    # The queues exist before the gateway's inputs consume from them, as in Tyk's set-up order.
    _bound_queue(amqp_url, exchanges["input"], AMQP_0_9_QUEUE)
    _bound_queue(amqp_url, exchanges["output"], HTTP_AMQP_0_9_QUEUE)
    _queue(amqp_url, AMQP_1_QUEUE)
    _queue(amqp_url, HTTP_AMQP_1_QUEUE)
    names = ["amqp-0-9-to-websocket.yaml", "amqp-1-to-websocket.yaml", "http-to-amqp-0-9.yaml", "http-to-amqp-1.yaml"]
    server = serve(tmp_path_factory.mktemp("tyk-amqp"), names, AMQP_URL=amqp_url, EXCHANGE=exchanges["output"])
    yield server
    server.stop()


def _amqp1(url: str) -> BlockingConnection:
    return BlockingConnection(url.rstrip("/"), sasl_enabled=True, allowed_mechs="PLAIN", user="guest", password="guest", timeout=30)


def _websocket_clients_get_all(readers: list[WSReader]) -> None:
    """testWebsocketOutput, as broadcast: every client receives both messages."""
    for reader in readers:
        deadline = time.monotonic() + 20
        while len(reader.frames) < len(MESSAGES) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # and no more
        assert sorted(reader.frames) == [m.decode() for m in MESSAGES]


def test_amqp_0_9_input_to_websocket(gateway: Gunicorn, amqp_url: str, exchanges: dict[str, str]) -> None:
    """TestAMQP/Publish_messages_to_amqp_0_9_input_then_consume_messages_via_Websocket: two
    messages published to the fanout exchange reach the WebSocket clients (Tyk: two in all across
    its two clients; here each client gets both, DESIGN §10)."""
    readers = [WSReader(gateway.ws_url("/amqp-0-9-to-websocket/get/ws")).start() for _ in range(2)]
    connection, channel = _channel(amqp_url)
    try:
        for message in MESSAGES:
            channel.basic_publish(  # type: ignore[attr-defined]
                exchanges["input"], "", message, pika.BasicProperties(content_type="text/plain")
            )
        _websocket_clients_get_all(readers)
    finally:
        connection.close()
        for reader in readers:
            reader.close()


def test_amqp_1_input_to_websocket(gateway: Gunicorn, amqp_url: str) -> None:
    """TestAMQP/Publish_messages_to_amqp_1_input_then_consume_messages_via_Websocket: two
    messages sent to the queue over AMQP 1.0 reach the WebSocket clients (each client both,
    DESIGN §10)."""
    readers = [WSReader(gateway.ws_url("/amqp-1-to-websocket/get/ws")).start() for _ in range(2)]
    connection = _amqp1(amqp_url)
    try:
        sender = connection.create_sender(f"/amq/queue/{AMQP_1_QUEUE}")
        for message in MESSAGES:
            sender.send(Message(body=message))
        _websocket_clients_get_all(readers)
    finally:
        connection.close()
        for reader in readers:
            reader.close()


def test_http_input_to_amqp_0_9_output(gateway: Gunicorn, amqp_url: str) -> None:
    """TestAMQP/Publish_messages_to_http_input_then_consume_messages_from_amqp_9_output: two
    POSTs reach the queue bound to the output's exchange, in order and as posted."""
    for message in MESSAGES:
        resp = requests.post(gateway.url("/http-to-amqp-0-9/post"), data=message, headers={"Content-Type": "text/plain"}, timeout=30)
        assert resp.status_code == 200, (resp.status_code, resp.text)
    connection, channel = _channel(amqp_url)
    received: list[bytes] = []
    try:
        deadline = time.monotonic() + 10
        while len(received) < len(MESSAGES) and time.monotonic() < deadline:
            _method, _props, body = channel.basic_get(HTTP_AMQP_0_9_QUEUE, auto_ack=True)  # type: ignore[attr-defined]
            if body is None:
                time.sleep(0.1)
            else:
                received.append(body)
    finally:
        connection.close()
    assert received == MESSAGES


def test_http_input_to_amqp_1_output(gateway: Gunicorn, amqp_url: str) -> None:
    """TestAMQP/Publish_messages_to_http_input_then_consume_messages_from_amqp_1_output: two
    POSTs (their metadata deleted by a mapping, as Tyk's config does) reach the output's queue
    over AMQP 1.0, in order and as posted."""
    for message in MESSAGES:
        resp = requests.post(gateway.url("/http-to-amqp-1/post"), data=message, headers={"Content-Type": "text/plain"}, timeout=30)
        assert resp.status_code == 200, (resp.status_code, resp.text)
    connection = _amqp1(amqp_url)
    received: list[bytes] = []
    try:
        receiver = connection.create_receiver(f"/amq/queue/{HTTP_AMQP_1_QUEUE}")
        for _ in MESSAGES:
            message = receiver.receive(timeout=10)
            receiver.accept()
            body = message.body
            received.append(bytes(body) if not isinstance(body, str) else body.encode())
    finally:
        connection.close()
    assert received == MESSAGES
