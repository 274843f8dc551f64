"""Real message brokers the Tyk tests publish to: NATS, Mosquitto (MQTT), RabbitMQ (AMQP 0-9-1
and 1.0) and Kafka.

Tyk starts its brokers in containers; here each is the real server binary (Debian packages
``nats-server``, ``mosquitto``, ``rabbitmq-server``) on free loopback ports for the test module,
or the Kafka that ``deploy/kafka/run.sh`` runs. Publishing to NATS speaks its text protocol on a
socket (``CONNECT``, ``PUB``, ``PING``/``PONG`` to know the server took every message).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from tests.e2e.server import free_port


def _wait_for_port(process: subprocess.Popen, port: int, what: str, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, f"{what} exited with {process.returncode}"
            assert time.monotonic() < deadline, f"{what} did not listen on {port} within {deadline_s}s"
            time.sleep(0.1)


@contextmanager
def mosquitto() -> Iterator[str]:
    """A ``mosquitto`` (anonymous clients allowed) on a free port; yields its ``tcp://`` URL."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    assert os.path.exists(binary), "mosquitto is not installed (Debian package mosquitto)"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tyk-mosquitto-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(process, port, "mosquitto", 20)
            yield f"tcp://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def rabbitmq() -> Iterator[str]:
    """A RabbitMQ node of its own (AMQP 1.0 plugin on) on free ports, its state in a temporary
    directory; yields its ``amqp://guest:guest@...`` URL once it accepts AMQP connections."""
    server = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # the /usr/sbin wrapper would switch user
    assert os.path.exists(server), "rabbitmq-server is not installed (Debian package rabbitmq-server)"
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="tyk-rabbitmq-") as tmp:
        base = Path(tmp)
        (base / "enabled_plugins").write_text("[rabbitmq_amqp1_0].\n")
        (base / "rabbitmq.conf").write_text("loopback_users = none\n")
        env = {
            **os.environ, "HOME": tmp, "RABBITMQ_NODENAME": f"tyk-{uuid.uuid4().hex[:8]}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"), "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"), "RABBITMQ_PID_FILE": str(base / "pid"),
            # Erlang starts a port mapper daemon that outlives the node: one of its own, on its
            # own port, so it can be stopped afterwards without touching anyone else's.
            "ERL_EPMD_PORT": str(epmd_port),
        }
        process = subprocess.Popen([server], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_for_port(process, port, "rabbitmq-server", 120)
            yield f"amqp://guest:guest@127.0.0.1:{port}/"
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            epmd = shutil.which("epmd") or "/usr/bin/epmd"
            subprocess.run([epmd, "-port", str(epmd_port), "-kill"], capture_output=True, timeout=10, check=False)


@contextmanager
def nats_server(*options: str, port: int = 0) -> Iterator[str]:
    """A ``nats-server`` on ``port`` (a free one by default) for the duration, with extra command
    line ``options`` (``--user``/``--pass``, ``--auth``); yields its ``nats://`` URL."""
    binary = shutil.which("nats-server")
    assert binary, "nats-server is not installed (Debian package nats-server)"
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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
