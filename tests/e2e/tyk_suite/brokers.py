"""Real message brokers the Tyk tests publish to: NATS, Mosquitto (MQTT), RabbitMQ (AMQP 0-9-1
and 1.0) and Kafka.

Tyk starts its brokers in containers; here each is the real server binary, started for the test
module by ``tests.message_brokers`` on free loopback ports, or the Kafka that
``deploy/kafka/run.sh`` runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from tests.message_brokers import nats_publish, nats_server, start_mosquitto, start_rabbitmq

__all__ = ["kafka_produce", "kafka_topic", "mosquitto", "nats_publish", "nats_server", "rabbitmq"]


@contextmanager
def mosquitto() -> Iterator[str]:
    """A ``mosquitto`` (anonymous clients allowed) on a free port; yields its ``tcp://`` URL."""
    with tempfile.TemporaryDirectory(prefix="tyk-mosquitto-") as tmp:
        broker = start_mosquitto(Path(tmp))
        try:
            yield broker.url
        finally:
            broker.stop()


@contextmanager
def rabbitmq() -> Iterator[str]:
    """A RabbitMQ node of its own (AMQP 1.0 plugin on) on free ports, its state in a temporary
    directory; yields its ``amqp://guest:guest@...`` URL once it accepts AMQP connections."""
    with tempfile.TemporaryDirectory(prefix="tyk-rabbitmq-") as tmp:
        broker = start_rabbitmq(Path(tmp), amqp1=True)
        try:
            yield broker.url
        finally:
            broker.stop()


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
