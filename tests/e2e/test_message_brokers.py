"""MQTT, AMQP 0-9-1 and AMQP 1.0 streams end to end on ``gunicorn wsgi:app -w 2`` against real brokers started by
the tests:

* broker → gateway: a push (``http_server`` POST) goes out through the broker output, comes back
  through the broker input and reaches an SSE client and a GET of the ``http_server`` output;
* an ``http_client`` input polling a real HTTP server in the test feeds a GET and an SSE client,
  each item once and in order (the input runs once per host);
* redelivery: while the output of a broker input fails (a webhook answering 503) the message is
  not acknowledged; after the gateway stops, the next gateway gets it from the broker again.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import requests
import yaml
from proton import Message as AmqpMessage
from proton.utils import BlockingConnection

from streams.engine.testing import wait_until
from tests.e2e.clients import SSEClient
from tests.e2e.server import Gunicorn, start_gunicorn
from tests.message_brokers import Artemis, Mosquitto, RabbitMQ
from tests.mqtt_clients import TestClient
from tests.webhook import Endpoint, Hook, Reply

WORKERS = 2
LISTEN = "/brokers"


def write_api(apis: Path, streams: dict[str, Any]) -> None:
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "brokers", "version": "1.0.0"},
        "paths": {},
        "x-tyk-api-gateway": {
            "info": {"name": "brokers", "state": {"active": True}},
            "server": {"listenPath": {"value": LISTEN, "strip": True}},
        },
        "x-tyk-streaming": {"streams": streams},
    }
    apis.mkdir(parents=True, exist_ok=True)
    (apis / "brokers.yaml").write_text(yaml.safe_dump(doc))


def serve(tmp_path: Path, streams: dict[str, Any]) -> Gunicorn:
    apis = tmp_path / "apis"
    write_api(apis, streams)
    return start_gunicorn(tmp_path, workers=WORKERS, env={"STREAMS_DEFINITIONS_DIR": str(apis)})


def push(server: Gunicorn, payload: Any) -> requests.Response:
    return requests.post(server.url(f"{LISTEN}/push"), data=json.dumps(payload), timeout=30)


# -- per broker: the output and input blocks of a round trip through it ----------------------------


def mqtt_blocks(mosquitto: Mosquitto) -> tuple[dict[str, Any], Callable[..., dict[str, Any]]]:
    topic = f"e2e/{uuid.uuid4().hex[:10]}"
    output = {"mqtt": {"urls": [mosquitto.url], "topic": topic, "client_id": "gw-out"}}

    def input_block(**extra: Any) -> dict[str, Any]:
        return {"mqtt": {"urls": [mosquitto.url], "topics": [topic], **extra}}

    return output, input_block


def amqp09_blocks(rabbitmq: RabbitMQ) -> tuple[dict[str, Any], Callable[..., dict[str, Any]]]:
    queue = f"e2e-{uuid.uuid4().hex[:10]}"
    output = {"amqp_0_9": {"urls": [rabbitmq.url], "exchange": "", "key": queue, "mandatory": True}}

    def input_block(**extra: Any) -> dict[str, Any]:
        return {"amqp_0_9": {"urls": [rabbitmq.url], "queue": queue, "queue_declare": {"enabled": True}, **extra}}

    return output, input_block


def amqp1_blocks(artemis: Artemis) -> tuple[dict[str, Any], Callable[..., dict[str, Any]]]:
    queue = f"e2e.{uuid.uuid4().hex[:10]}"
    output = {"amqp_1": {"urls": [artemis.url], "target_address": queue}}

    def input_block(**extra: Any) -> dict[str, Any]:
        return {"amqp_1": {"urls": [artemis.url], "source_address": queue, **extra}}

    return output, input_block


@pytest.fixture(params=["mqtt", "amqp_0_9", "amqp_1"])
def broker_blocks(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Callable[..., dict[str, Any]]]:
    """(name, output block, input block maker) of one broker, on its real server."""
    if request.param == "mqtt":
        output, input_block = mqtt_blocks(request.getfixturevalue("mosquitto"))
    elif request.param == "amqp_0_9":
        output, input_block = amqp09_blocks(request.getfixturevalue("rabbitmq"))
    else:
        output, input_block = amqp1_blocks(request.getfixturevalue("artemis"))
    return request.param, output, input_block


def test_push_through_the_broker_reaches_sse_and_get(tmp_path: Path, broker_blocks: Any) -> None:
    _, output, input_block = broker_blocks
    server = serve(
        tmp_path,
        {
            "in": {"input": {"http_server": {"path": "/push"}}, "output": output},
            "out": {"input": input_block(), "output": {"http_server": {"path": "/get", "stream_path": "/stream"}}},
        },
    )
    try:
        # The input subscribes a moment after the workers start: probe until a GET gets one.
        wait_until(lambda: push(server, "probe").status_code == 200 and get(server) == "probe", "a probe via the broker")
        assert push(server, {"n": "get"}).status_code == 200
        assert next_non_probe(server) == {"n": "get"}
        sse = SSEClient(server.url(f"{LISTEN}/stream")).start()
        try:
            assert sse.opened.wait(10) and sse.status == 200
            started = time.monotonic()
            for n in range(20):
                assert push(server, {"n": n}).status_code == 200
            events = sse.wait(20, 30)
            took = time.monotonic() - started
        finally:
            sse.close()
        assert [e.json() for e in events if e.data != b'"probe"'] == [{"n": n} for n in range(20)]
        print(f"20 pushes through the broker to an SSE client in {took:.2f}s")
    finally:
        server.stop()


def get(server: Gunicorn) -> Any:
    """The next message of the ``http_server`` output, or None when none came within its timeout."""
    resp = requests.get(server.url(f"{LISTEN}/get"), timeout=30)
    return resp.json() if resp.status_code == 200 else None


def next_non_probe(server: Gunicorn) -> Any:
    """GETs past the probes that came through after the first one."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = get(server)
        if value not in (None, "probe"):
            return value
    return None


def test_a_failed_output_leaves_the_message_on_the_broker_for_the_next_gateway(
    tmp_path: Path, broker_blocks: Any, request: pytest.FixtureRequest
) -> None:
    name, _, input_block = broker_blocks
    session = {"client_id": f"gw-{uuid.uuid4().hex[:8]}", "clean_session": False} if name == "mqtt" else {}
    prepare_durable_subscription(name, input_block(**session), request)
    hook = Hook()
    servers: list[Gunicorn] = []
    try:
        stream = {"input": input_block(**session), "output": {"http_client": {"url": hook.url, "retries": 0}}}
        servers.append(serve(tmp_path / "first", {"worker": stream}))
        publish_one(name, input_block(), request, b'{"id":"again"}')
        wait_until(lambda: hook.refused >= 2, "two refused writes", deadline=60)
        servers[0].stop()
        assert hook.accepted == []
        hook.failing = False
        servers.append(serve(tmp_path / "second", {"worker": stream}))
        wait_until(lambda: hook.accepted, "the message from the broker again", deadline=60)
        servers[1].stop()
        assert [json.loads(b) for b in hook.accepted] == [{"id": "again"}]
    finally:
        for server in servers:
            server.stop()  # a no-op for a server already stopped
        hook.stop()


def prepare_durable_subscription(name: str, input_block: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """Whatever makes the broker keep messages for the input before it first connects (the
    Artemis of the tests makes a queue on the first send by itself)."""
    if name == "mqtt":
        conf = input_block["mqtt"]
        TestClient(request.getfixturevalue("mosquitto"), conf["client_id"], clean_session=False).subscribe_and_close(
            conf["topics"][0]
        )
    elif name == "amqp_0_9":
        with rabbit_channel(request) as channel:
            channel.queue_declare(input_block["amqp_0_9"]["queue"], durable=True)  # as queue_declare does


def publish_one(name: str, input_block: dict[str, Any], request: pytest.FixtureRequest, payload: bytes) -> None:
    if name == "mqtt":
        client = TestClient(request.getfixturevalue("mosquitto"))
        client.publish(input_block["mqtt"]["topics"][0], payload)
        client.close()
    elif name == "amqp_0_9":
        with rabbit_channel(request) as channel:
            channel.basic_publish("", input_block["amqp_0_9"]["queue"], payload)
    elif name == "amqp_1":
        conn = BlockingConnection(request.getfixturevalue("artemis").url, timeout=10, sasl_enabled=False)
        try:
            conn.create_sender(input_block["amqp_1"]["source_address"]).send(AmqpMessage(body=payload, inferred=True))
        finally:
            conn.close()


@contextlib.contextmanager
def rabbit_channel(request: pytest.FixtureRequest) -> Iterator[Any]:
    conn = pika.BlockingConnection(pika.URLParameters(request.getfixturevalue("rabbitmq").url))
    try:
        yield conn.channel()
    finally:
        conn.close()


def test_http_client_input_feeds_get_and_sse_in_order(tmp_path: Path) -> None:
    pending: list[bytes] = []

    def answer(n: int, environ: dict[str, Any]) -> Reply:
        return "200 OK", [], [pending.pop(0) if pending else b""]  # empty bodies are dropped

    endpoint = Endpoint(answer)
    server = serve(
        tmp_path,
        {
            "poll": {
                "input": {"http_client": {"url": endpoint.url + "/items", "rate_limit": "polls"}},
                "rate_limit_resources": [{"label": "polls", "local": {"count": 50, "interval": "1s"}}],
                "output": {"http_server": {"path": "/get", "stream_path": "/stream"}},
            }
        },
    )
    try:
        pending.append(b'{"n":"get"}')
        assert next_non_probe(server) == {"n": "get"}
        sse = SSEClient(server.url(f"{LISTEN}/stream")).start()
        try:
            assert sse.opened.wait(10) and sse.status == 200
            pending.extend(json.dumps({"n": n}).encode() for n in range(20))
            events = sse.wait(20, 30)
        finally:
            sse.close()
        assert [e.json() for e in events] == [{"n": n} for n in range(20)]
        assert pending == []
    finally:
        server.stop()
        endpoint.stop()
