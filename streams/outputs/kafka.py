"""``kafka`` output: produce each message and return only once the broker acknowledged it.

``topic``, ``key`` and ``partition`` are interpolated per message (``${! meta("user") }``).
Metadata is written as record headers only when asked for (``metadata.include_prefixes`` /
``include_patterns``, or ``exclude_prefixes`` meaning "all but"), so request headers such as
``Authorization`` never leak into a topic by default. ``addresses`` is replaced by
``STREAMS_KAFKA_BROKERS``; ``compression``, ``tls``, ``sasl``, ``client_id``, ``target_version``,
``idempotent_write``, ``ack_replicas``, ``max_msg_bytes``, ``batching`` and ``backoff`` are
accepted and ignored: the worker's shared producer always waits for every in-sync replica.
"""

from __future__ import annotations

import random
import re
from typing import Any

import gevent
import gevent.pool

from streams import registry
from streams.bloblang import MappingError
from streams.brokers.base import BrokerError
from streams.contracts import ConfigError, Output, OutputError, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

PARTITIONERS = ("fnv1a_hash", "murmur2_hash", "random", "round_robin", "least_backup", "manual")


def fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


class KafkaOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.res = res
        self.addresses = list(conf["addresses"] or [])
        self.topic = res.interpolation(conf["topic"])
        self.key = res.interpolation(conf["key"]) if conf["key"] else None
        self.partitioner = conf["partitioner"]
        if self.partitioner not in PARTITIONERS:
            raise ConfigError(f"{res.path}.partitioner: expected one of {', '.join(PARTITIONERS)}")
        self.partition = res.interpolation(conf["partition"]) if conf["partition"] else None
        if self.partitioner == "manual" and self.partition is None:
            raise ConfigError(f"{res.path}.partition: required with the manual partitioner")
        self.static_headers = {str(k): str(v).encode() for k, v in (conf["static_headers"] or {}).items()}
        meta = conf["metadata"] or {}
        self.include_prefixes = list(meta.get("include_prefixes") or [])
        self.include_patterns = [re.compile(p) for p in meta.get("include_patterns") or []]
        self.exclude_prefixes = meta.get("exclude_prefixes")
        self.max_in_flight = max(1, int(conf["max_in_flight"]))
        self.timeout = parse_duration(conf["timeout"], 5.0)
        self._rr = 0

    def _headers(self, msg: Message) -> list[tuple[str, bytes]]:
        headers = list(self.static_headers.items())
        for name, value in msg.metadata.items():
            if self.include_prefixes or self.include_patterns:
                wanted = any(name.startswith(p) for p in self.include_prefixes) or any(
                    p.search(name) for p in self.include_patterns
                )
            elif self.exclude_prefixes is not None:
                wanted = not any(name.startswith(p) for p in self.exclude_prefixes)
            else:
                wanted = False
            if wanted:
                headers.append((name, value if isinstance(value, bytes) else str(value).encode()))
        return headers

    def _partition(self, broker: Any, topic: str, key: bytes | None, msg: Message, batch: list[Message], i: int) -> int | None:
        if self.partitioner == "manual":
            text = self.partition.render(msg, batch, i)  # type: ignore[union-attr]
            try:
                return int(text)
            except ValueError:
                raise OutputError(f"partition {text!r} is not a number") from None
        if self.partitioner in ("fnv1a_hash",) and key:
            parts = broker.partitions(topic)
            return sorted(parts)[fnv1a32(key) % len(parts)] if parts else None
        if self.partitioner in ("random", "round_robin", "least_backup"):
            parts = sorted(broker.partitions(topic))
            if not parts:
                return None
            if self.partitioner == "round_robin":
                self._rr += 1
                return parts[self._rr % len(parts)]
            return random.choice(parts)
        return None  # murmur2_hash / empty key: the broker's default partitioner

    def _produce(self, broker: Any, msg: Message, batch: list[Message], i: int) -> None:
        topic = self.topic.render(msg, batch, i)
        if not topic:
            raise OutputError("the topic interpolated to an empty string")
        key = self.key.render(msg, batch, i).encode() if self.key is not None else None
        partition = self._partition(broker, topic, key, msg, batch, i)
        try:
            broker.produce(topic, msg.content, key=key, headers=self._headers(msg), partition=partition,
                           timeout=self.timeout)
        except BrokerError as exc:
            raise OutputError(f"kafka produce to {topic!r} failed: {exc}") from exc
        except Exception as exc:
            raise OutputError(f"kafka produce to {topic!r} failed: {type(exc).__name__}: {exc}") from exc

    def write(self, batch: list[Message], txn: Transaction) -> None:
        try:
            broker = self.res.broker(self.addresses)
        except BrokerError as exc:
            raise OutputError(f"kafka unavailable: {exc}") from exc
        try:
            self._write(broker, batch)
        except MappingError as exc:
            raise OutputError(f"kafka output interpolation failed: {exc}") from exc

    def _write(self, broker: Any, batch: list[Message]) -> None:
        if len(batch) == 1 or self.max_in_flight == 1:
            for i, msg in enumerate(batch):
                self._produce(broker, msg, batch, i)
            return
        pool = gevent.pool.Pool(self.max_in_flight)
        jobs = [pool.spawn(self._produce, broker, msg, batch, i) for i, msg in enumerate(batch)]
        gevent.joinall(jobs)
        for job in jobs:
            if job.exception is not None:
                raise job.exception


def _factory(conf: dict[str, Any], res: Resources) -> KafkaOutput:
    return KafkaOutput(conf, res)


SPEC = registry.output(
    "kafka",
    _factory,
    Field("addresses", "string_list", [], "Broker addresses; replaced by STREAMS_KAFKA_BROKERS."),
    Field("topic", "string", doc="Topic to write to (interpolated)."),
    Field("key", "string", "", "Record key (interpolated); empty = no key."),
    Field("partitioner", "string", "fnv1a_hash", "How a partition is chosen.", options=PARTITIONERS),
    Field("partition", "string", "", "Partition for the manual partitioner (interpolated)."),
    Field("target_version", "string", "", "Accepted and ignored."),
    Field("tls", "object", {}, "Accepted and ignored."),
    Field("sasl", "object", {}, "Accepted and ignored."),
    Field("client_id", "string", "benthos", "Accepted and ignored."),
    Field("rack_id", "string", "", "Accepted and ignored."),
    Field("custom_topic_creation", "object", {}, "Accepted and ignored."),
    Field("compression", "string", "none", "Accepted and ignored."),
    Field("static_headers", "object", {}, "Headers added to every record."),
    Field("metadata", "object", {}, "include_prefixes / include_patterns / exclude_prefixes for headers."),
    Field("inject_tracing_map", "string", "", "Accepted and ignored."),
    Field("max_in_flight", "int", 64, "Records of one batch produced at once."),
    Field("idempotent_write", "bool", False, "Accepted and ignored."),
    Field("ack_replicas", "bool", False, "Accepted; writes always wait for every in-sync replica."),
    Field("max_msg_bytes", "int", 1000000, "Accepted and ignored."),
    Field("timeout", "duration", "5s", "How long one produce may take."),
    Field("retry_as_batch", "bool", False, "Accepted and ignored."),
    Field("batching", "object", {}, "Accepted and ignored."),
    Field("max_retries", "int", 0, "Accepted and ignored."),
    Field("backoff", "object", {}, "Accepted and ignored."),
    doc="Write messages to a Kafka topic.",
)
