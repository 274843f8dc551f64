"""TLS for the ``amqp_0_9`` and ``amqp_1`` inputs and outputs against a real RabbitMQ whose TLS
listener requires a client certificate from the test CA (the ``rabbitmq_tls`` fixture): messages
through an input and an output over TLS, SASL EXTERNAL by the client certificate, and the errors
a user sees for an untrusted server, a missing client certificate or a bad ``tls`` block."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from proton import Message as AmqpMessage
from proton.utils import BlockingConnection

from streams.definitions import load_text
from streams.engine.testing import Gateways, push, wait_until
from tests.message_brokers import CERT_USER, RabbitMQ
from tests.stream_definitions import one_component_definition
from tests.tls_certs import Certificates


def tls_block(certs: Certificates, *, client_cert: bool = True, ca: str = "") -> dict[str, Any]:
    block: dict[str, Any] = {"enabled": True, "root_cas_file": ca or str(certs.ca)}
    if client_cert:
        block["client_certs"] = [{"cert_file": str(certs.client_cert), "key_file": str(certs.client_key)}]
    return block


@pytest.fixture
def channel(rabbitmq_tls: RabbitMQ) -> Iterator[Any]:
    """The test's own channel (on the plain port) to set up queues and look at them."""
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq_tls.url))
    yield conn.channel()
    conn.close()


@pytest.fixture(scope="module")
def other_ca(other_tls_certificates: Certificates) -> str:
    """A CA that did not sign the broker's certificate."""
    return str(other_tls_certificates.ca)


def push_one(gateways: Gateways, tmp_path: Any, output: dict[str, Any], body: bytes = b'{"n":1}') -> Any:
    _, api = gateways(tmp_path, {"p": {"input": {"http_server": {"path": "/in"}}, "output": output}})
    (result,) = push(api, "p", [body], 20.0)
    return result


def test_amqp_0_9_input_and_output_over_tls_with_a_client_certificate(
    tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates, channel: Any
) -> None:
    """The input logs in with PLAIN (user in the URL); the output has no user in its URL, so it
    logs in with SASL EXTERNAL as the certificate's common name, which the broker checks against
    the ``user_id`` property it sets."""
    source, target = f"in-{uuid.uuid4().hex[:8]}", f"out-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(source)
    channel.queue_declare(target)
    channel.basic_publish("", source, b'{"n":1}')
    tls = tls_block(tls_certificates)
    stream = {
        "input": {"amqp_0_9": {"urls": [rabbitmq_tls.tls_url], "queue": source, "tls": tls}},
        "output": {
            "amqp_0_9": {
                "urls": [f"amqps://127.0.0.1:{rabbitmq_tls.tls_port}/"],
                "exchange": "",
                "key": target,
                "user_id": CERT_USER,
                "tls": tls,
            }
        },
    }
    gw, _ = gateways(tmp_path, {"r": stream})
    _, props, body = wait_until(lambda: _get(channel, target), "the message in the output queue")
    assert body == b'{"n":1}'
    assert props.user_id == CERT_USER
    gw.drain(5.0)
    assert channel.queue_declare(source, passive=True).method.message_count == 0  # acknowledged over TLS


def _get(channel: Any, queue: str) -> Any:
    got = channel.basic_get(queue, auto_ack=True)
    return got if got[0] is not None else None


def test_amqp_0_9_output_refuses_a_server_its_cas_did_not_sign(
    tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates, other_ca: str
) -> None:
    output = {
        "amqp_0_9": {"urls": [rabbitmq_tls.tls_url], "exchange": "", "key": "q", "tls": tls_block(tls_certificates, ca=other_ca)}
    }
    result = push_one(gateways, tmp_path, output)
    assert result.status == 502
    assert (result.error or "").startswith(
        f"amqps broker 127.0.0.1:{rabbitmq_tls.tls_port}: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    ), result.error


def test_amqp_0_9_without_a_client_certificate_is_refused_by_the_broker(
    tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates
) -> None:
    """With TLS 1.3 the broker refuses the missing certificate after the client's side of the
    handshake is done: the client reads either the broker's "certificate required" alert or, when
    the connection is closed before it is read, the end of the stream. Either way the write fails
    while the connection is made, with the broker named."""
    output = {
        "amqp_0_9": {
            "urls": [rabbitmq_tls.tls_url],
            "exchange": "",
            "key": "q",
            "tls": tls_block(tls_certificates, client_cert=False),
        }
    }
    result = push_one(gateways, tmp_path, output)
    assert result.status == 502
    error = result.error or ""
    assert error.startswith(
        f"amqps broker 127.0.0.1:{rabbitmq_tls.tls_port}: IncompatibleProtocolError: StreamLostError: "
        '("Stream connection lost: SSL'
    ), error
    assert "alert certificate required" in error or "EOF occurred in violation of protocol" in error, error


@pytest.mark.parametrize("component", ["amqp_0_9", "amqp_1"])
def test_amqps_with_the_tls_block_disabled_trusts_the_system_cas_only(
    component: str, tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates
) -> None:
    """As in Bento, a ``tls`` block that is not enabled is not used: an ``amqps://`` URL still
    connects over TLS, but the test CA it names is not trusted."""
    tls = {**tls_block(tls_certificates), "enabled": False}
    if component == "amqp_0_9":
        output = {"amqp_0_9": {"urls": [rabbitmq_tls.tls_url], "exchange": "", "key": "q", "tls": tls}}
    else:
        url = f"amqps://guest:guest@localhost:{rabbitmq_tls.tls_port}"
        output = {"amqp_1": {"urls": [url], "target_address": "/queue/q", "tls": tls}}
    result = push_one(gateways, tmp_path, output)
    assert result.status == 502
    assert "certificate verify failed" in (result.error or ""), result.error


def test_amqp_0_9_amqp_url_stays_plain_with_tls_enabled_as_bento_does(
    tmp_path: Any,
    gateways: Gateways,
    rabbitmq_tls: RabbitMQ,
    tls_certificates: Certificates,
    channel: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bento's client wraps only ``amqps://`` URLs in TLS: an ``amqp://`` URL to the plain port
    works with ``tls.enabled``, and the gateway says the TLS settings do nothing there."""
    queue = f"plain-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue)
    output = {"amqp_0_9": {"urls": [rabbitmq_tls.url], "exchange": "", "key": queue, "tls": tls_block(tls_certificates)}}
    with caplog.at_level("WARNING", logger="streams.engine"):
        result = push_one(gateways, tmp_path, output, b"plain")
    assert (result.status, result.error) == (200, None)
    assert _get(channel, queue)[2] == b"plain"
    assert (
        f"tls.enabled has no effect on amqp:// URLs (use amqps:// for TLS): amqp broker 127.0.0.1:{rabbitmq_tls.port} stay plain"
        in caplog.messages
    )


def test_amqp_1_input_and_output_over_tls(
    tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates, channel: Any
) -> None:
    """amqps:// on the input, amqp:// with ``tls.enabled`` on the output: both are TLS (the
    broker's TLS port speaks nothing else). Proton matches DNS names, so the URLs say localhost."""
    source, target = f"in-{uuid.uuid4().hex[:8]}", f"out-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(source)
    channel.queue_declare(target)
    client = BlockingConnection(
        f"amqp://127.0.0.1:{rabbitmq_tls.port}",
        timeout=10,
        user="guest",
        password="guest",
        allowed_mechs="PLAIN",
        allow_insecure_mechs=True,
    )
    try:
        client.create_sender(f"/amq/queue/{source}").send(AmqpMessage(body=b'{"n":2}'))
    finally:
        client.close()
    tls = tls_block(tls_certificates)
    stream = {
        "input": {
            "amqp_1": {
                "urls": [f"amqps://guest:guest@localhost:{rabbitmq_tls.tls_port}"],
                "source_address": f"/amq/queue/{source}",
                "tls": tls,
            }
        },
        "output": {
            "amqp_1": {
                "urls": [f"amqp://guest:guest@localhost:{rabbitmq_tls.tls_port}"],
                "target_address": f"/amq/queue/{target}",
                "tls": tls,
            }
        },
    }
    gw, _ = gateways(tmp_path, {"r": stream})
    _, _, body = wait_until(lambda: _get(channel, target), "the message in the output queue")
    assert body == b'{"n":2}'
    gw.drain(5.0)
    assert channel.queue_declare(source, passive=True).method.message_count == 0


def test_amqp_1_output_refuses_a_server_its_cas_did_not_sign(
    tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates, other_ca: str
) -> None:
    output = {
        "amqp_1": {
            "urls": [f"amqps://guest:guest@localhost:{rabbitmq_tls.tls_port}"],
            "target_address": "/queue/q",
            "tls": tls_block(tls_certificates, ca=other_ca),
        }
    }
    result = push_one(gateways, tmp_path, output)
    assert result.status == 502
    assert (result.error or "").startswith(f"amqp 1.0 broker localhost:{rabbitmq_tls.tls_port} (TLS): "), result.error
    assert "certificate verify failed" in (result.error or "")


def test_amqp_1_names_the_fix_when_a_verified_connection_goes_to_an_ip_address(
    tmp_path: Any, gateways: Gateways, rabbitmq_tls: RabbitMQ, tls_certificates: Certificates
) -> None:
    output = {
        "amqp_1": {
            "urls": [f"amqps://guest:guest@127.0.0.1:{rabbitmq_tls.tls_port}"],
            "target_address": "/queue/q",
            "tls": tls_block(tls_certificates),
        }
    }
    result = push_one(gateways, tmp_path, output)
    assert result.status == 502
    assert (result.error or "").endswith(
        "certificate verify failed') (the certificate is matched by host name only: use the broker's DNS name, not an IP address)"
    ), result.error


def definition(component: str, kind: str, block: str) -> str:
    return one_component_definition(component, block, kind)


@pytest.mark.parametrize(
    ("component", "kind", "rest"),
    [
        ("amqp_0_9", "input", "urls: [amqps://guest:guest@broker/]\nqueue: q\n"),
        ("amqp_0_9", "output", "urls: [amqps://broker, amqp://other:5672/]\nexchange: x\nimmediate: true\n"),
        ("amqp_1", "input", "urls: [amqps://broker]\nsource_address: q\n"),
        ("amqp_1", "output", "urls: [amqp://broker:5671]\ntarget_address: q\n"),
    ],
)
def test_tls_configs_are_accepted_at_load(component: str, kind: str, rest: str, tls_certificates: Certificates) -> None:
    certs = tls_certificates
    block = rest + textwrap.dedent(f"""\
        tls:
          enabled: true
          skip_cert_verify: false
          root_cas_file: {certs.ca}
          client_certs:
            - cert_file: {certs.client_cert}
              key_file: {certs.client_key}
        """)
    api, problems = load_text(definition(component, kind, block), "t.yaml")
    assert problems == []
    assert api is not None


@pytest.mark.parametrize("component", ["amqp_0_9", "amqp_1"])
def test_a_bad_tls_block_is_reported_at_load_with_the_field_named(component: str) -> None:
    block = "urls: [amqps://broker]\nqueue: q\n" if component == "amqp_0_9" else "urls: [amqps://broker]\nsource_address: q\n"
    block += "tls: {enabled: true, root_cas_file: /nonexistent/ca.pem}\n"
    api, problems = load_text(definition(component, "input", block), "t.yaml")
    assert api is None
    assert len(problems) == 1 and f"{component}.tls.root_cas_file: file not found: /nonexistent/ca.pem" in str(problems[0]), (
        problems
    )
