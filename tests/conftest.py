"""Shared test set-up: gevent patching and the real-Kafka fixtures.

``patch_all`` runs at import, before any test module imports ``socket``/``threading`` (directly or
through kafka-python): the gateway runs on gevent workers, so tests exercise the same patched
world; patching later would leave modules holding unpatched socket classes.
"""

from gevent import monkey

monkey.patch_all()

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from tests.message_brokers import Artemis, Mosquitto, RabbitMQ, nats_server, start_artemis, start_mosquitto, start_rabbitmq
from tests.tls_certs import Certificates, make_certificates, openssl_available

DEFAULT_KAFKA = "127.0.0.1:9093"


def _reachable(bootstrap: str, timeout: float = 2.0) -> bool:
    """A TCP connect to the first bootstrap address; enough to tell "Kafka not started" apart."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection(
            (host or "127.0.0.1", int(port)), timeout=timeout
        ):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The real Kafka to test against (``STREAMS_TEST_KAFKA`` or 127.0.0.1:9093).

    Unreachable Kafka is a failure, not a skip: CI starts it with ``deploy/kafka/run.sh start``,
    and a silently skipped Kafka suite would hide that. ``STREAMS_SKIP_KAFKA=1`` opts out locally.
    """
    if os.environ.get("STREAMS_SKIP_KAFKA") == "1":
        pytest.skip("STREAMS_SKIP_KAFKA=1")
    bootstrap = os.environ.get("STREAMS_TEST_KAFKA", DEFAULT_KAFKA)
    if not _reachable(bootstrap):
        pytest.fail(
            f"Kafka is not reachable at {bootstrap}: start it with `deploy/kafka/run.sh start` "
            "(or set STREAMS_TEST_KAFKA, or STREAMS_SKIP_KAFKA=1 to skip Kafka tests)",
            pytrace=False,
        )
    return bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test (or earlier run against the same broker) uses: topic/user/group prefix.

    Kept to Kafka's legal topic characters and well under its 249-character limit.
    """
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-")
    return f"t-{base}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A real mosquitto (Debian package) on free ports (plain, password, WebSocket) for the whole
    test run."""
    broker = start_mosquitto(tmp_path_factory.mktemp("mosquitto"), websockets=True)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQ]:
    """A real RabbitMQ (Debian's rabbitmq-server) on free ports for the whole test run."""
    broker = start_rabbitmq(tmp_path_factory.mktemp("rabbitmq"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA with server (127.0.0.1, localhost) and client certificates for the test run."""
    if not openssl_available():
        pytest.skip("the openssl command is needed to make test certificates")
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def other_tls_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A second CA and its certificates: the one that did not sign what a test's server shows."""
    if not openssl_available():
        pytest.skip("the openssl command is needed to make test certificates")
    return make_certificates(tmp_path_factory.mktemp("other-tls"))


@pytest.fixture(scope="session")
def rabbitmq_tls(tmp_path_factory: pytest.TempPathFactory, tls_certificates: Certificates) -> Iterator[RabbitMQ]:
    """A real RabbitMQ with a TLS listener requiring client certificates (``tls_port``) beside its
    plain one, speaking AMQP 0-9-1 and 1.0 on both, for the whole test run."""
    broker = start_rabbitmq(tmp_path_factory.mktemp("rabbitmq-tls"), amqp1=True, tls=tls_certificates)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def artemis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Artemis]:
    """A real ActiveMQ Artemis (AMQP 1.0; from Maven Central) on a free port for the test run."""
    broker = start_artemis(tmp_path_factory.mktemp("artemis"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def nats() -> Iterator[str]:
    """A real nats-server (Debian package) on a free port for the whole test run; its URL."""
    with nats_server() as url:
        yield url
