"""``kafka_franz`` output: Bento's other Kafka output, written by the ``kafka`` output's machinery.

``seed_brokers`` are the ``addresses`` and the ``sasl`` list's single entry the ``sasl`` block
(see ``streams.inputs.kafka_franz``); topic, key, partition, partitioner, metadata, headers,
``max_in_flight`` and ``timeout`` mean what they mean for ``kafka``. With no ``partitioner`` the
key is hashed by the producer (murmur2, franz's default too).
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.brokers.security import franz_sasl
from streams.engine.resources import Resources
from streams.inputs.kafka import TLS_FIELD
from streams.inputs.kafka_franz import SASL_LIST_FIELD
from streams.outputs.kafka import PARTITIONERS, KafkaOutput
from streams.registry import Field


def as_kafka_config(conf: dict[str, Any]) -> dict[str, Any]:
    """The ``kafka`` output's config for a ``kafka_franz`` one."""
    return {
        "addresses": conf["seed_brokers"],
        "topic": conf["topic"],
        "key": conf["key"],
        "partitioner": conf["partitioner"] or "murmur2_hash",
        "partition": conf["partition"],
        "static_headers": {},
        "metadata": conf["metadata"],
        "max_in_flight": conf["max_in_flight"],
        "timeout": conf["timeout"],
        "tls": conf["tls"],
        "sasl": franz_sasl(conf["sasl"]),
    }


def _factory(conf: dict[str, Any], res: Resources) -> KafkaOutput:
    return KafkaOutput(as_kafka_config(conf), res)


SPEC = registry.output(
    "kafka_franz",
    _factory,
    Field("seed_brokers", "string_list", doc="Broker addresses; replaced by STREAMS_KAFKA_BROKERS."),
    Field("topic", "string", doc="Topic to write to (interpolated)."),
    Field("key", "string", "", "Record key (interpolated); empty = no key."),
    Field("partitioner", "string", "", "How a partition is chosen (default: murmur2 of the key).",
          options=("", *PARTITIONERS)),
    Field("partition", "string", "", "Partition for the manual partitioner (interpolated)."),
    Field("client_id", "string", "benthos", "Accepted and ignored."),
    Field("rack_id", "string", "", "Accepted and ignored."),
    Field("idempotent_write", "bool", True, "Accepted; the producer is always idempotent."),
    Field("metadata", "object", {}, "include_prefixes / include_patterns for headers."),
    Field("max_in_flight", "int", 10, "Records of one batch produced at once."),
    Field("batching", "object", {}, "Accepted and ignored."),
    Field("timeout", "duration", "10s", "How long one produce may take."),
    Field("max_message_bytes", "string", "1MB", "Accepted and ignored."),
    Field("broker_write_max_bytes", "string", "100MB", "Accepted and ignored."),
    Field("compression", "string", "", "Accepted and ignored."),
    TLS_FIELD,
    SASL_LIST_FIELD,
    doc="Write messages to a Kafka topic (Bento's franz-go based output).",
)
