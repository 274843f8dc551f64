"""The bounded access check against the shared plaintext Kafka: a secured client pointed at a
listener that speaks neither TLS nor SASL, and an address nobody listens on, fail at once with a
sentence naming the cause, and the broker object answers from memory afterwards (no reconnect
storm, no hang)."""

from __future__ import annotations

import time

import pytest

from streams.brokers.base import BrokerError
from streams.brokers.kafka import KafkaBroker
from streams.brokers.kafka_check import AccessDenied, check_access
from streams.brokers.security import KafkaSecurity, Sasl, Tls

pytestmark = pytest.mark.kafka

BOUND = 5.0  # seconds; each case below answers in milliseconds on a healthy machine


def _free_port() -> int:
    import socket  # noqa: PLC0415 - patched by gevent like every other import here

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("security", "cause"),
    [
        (KafkaSecurity(tls=Tls(enabled=True)), "failed: the broker closed the connection (a listener without TLS?)"),
        (
            KafkaSecurity(sasl=Sasl("SCRAM-SHA-512", "alice", "pw")),
            "SASL authentication failed for user alice on {addr} (SCRAM-SHA-512): the listener does not take SASL",
        ),
    ],
    ids=["tls", "sasl"],
)
def test_a_plaintext_listener_is_named(kafka_bootstrap: str, security: KafkaSecurity, cause: str) -> None:
    addr = kafka_bootstrap.split(",")[0]
    started = time.monotonic()
    with pytest.raises(AccessDenied) as err:
        check_access([addr], security, BOUND)
    assert cause.format(addr=addr) in str(err.value)
    assert time.monotonic() - started < BOUND


def test_nobody_listening_is_unreachable_not_denied() -> None:
    addr = f"127.0.0.1:{_free_port()}"
    security = KafkaSecurity(tls=Tls(enabled=True), sasl=Sasl("PLAIN", "a", "b"))
    with pytest.raises(BrokerError) as err:
        check_access([addr], security, BOUND)
    assert not isinstance(err.value, AccessDenied)
    assert str(err.value) == f"Kafka unreachable (SASL_SSL (PLAIN as a)): {addr}: Connection refused"


def test_the_broker_refuses_every_client_until_the_retry_period(kafka_bootstrap: str) -> None:
    broker = KafkaBroker([kafka_bootstrap.split(",")[0]], security=KafkaSecurity(sasl=Sasl("PLAIN", "a", "b")))
    try:
        started = time.monotonic()
        for call in (lambda: broker.produce("never-written", b"x", timeout=BOUND), lambda: broker.partitions("x"),
                     lambda: broker.reader("x", {})):
            with pytest.raises(BrokerError, match="the listener does not take SASL"):
                call()
        assert time.monotonic() - started < BOUND
        assert broker._access_failure is not None  # remembered for the next calls (_ACCESS_RETRY)
    finally:
        broker.close()
