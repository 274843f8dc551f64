"""Real message brokers the Tyk tests publish to: NATS (``nats-server``) and Kafka (kafka-python).

Tyk starts its brokers in containers; here each is the real server binary on a free loopback
port for the test module (NATS), or the Kafka that ``deploy/kafka/run.sh`` runs. Publishing to
NATS speaks its text protocol on a socket (``CONNECT``, ``PUB``, ``PING``/``PONG`` to know the
server took every message), so no client library stands between the test and the server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from tests.e2e.server import free_port


@contextmanager
def nats_server() -> Iterator[str]:
    """A ``nats-server`` on a free port for the duration; yields its ``nats://`` URL."""
    binary = shutil.which("nats-server")
    assert binary, "nats-server is not installed (Debian package nats-server)"
    port = free_port()
    process = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def nats_publish(url: str, subject: str, payloads: list[bytes]) -> None:
    """Publish ``payloads`` to ``subject`` and return once the server has processed them all."""
    host, _, port = url.removeprefix("nats://").rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"INFO "), "not a NATS server"
        out = b'CONNECT {"verbose":false,"pedantic":false}\r\n'
        for payload in payloads:
            out += b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload)
        sock.sendall(out + b"PING\r\n")
        # The server answers PING after everything sent before it, so PONG means all published.
        assert reader.readline() == b"PONG\r\n"


def kafka_topic(bootstrap: str, topic: str) -> None:
    """Create ``topic`` (one partition) unless it exists."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def kafka_produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Produce ``values`` to ``topic`` in order, each acknowledged by the broker."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            producer.send(topic, value).get(timeout=30)
    finally:
        producer.close()
