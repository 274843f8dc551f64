"""``kafka`` output: produce each message and return only once the broker acknowledged it.

``topic``, ``key`` and ``partition`` are interpolated per message (``${! meta("user") }``).
Metadata is written as record headers only when asked for (``metadata.include_prefixes`` /
``include_patterns``, or ``exclude_prefixes`` meaning "all but"), so request headers such as
``Authorization`` never leak into a topic by default. ``addresses`` is replaced by
``STREAMS_KAFKA_BROKERS``; ``tls`` and ``sasl`` are honoured as in the ``kafka`` input (else the
``STREAMS_KAFKA_TLS_*``/``_SASL_*`` settings apply); ``compression``, ``client_id``, ``target_version``,
``idempotent_write``, ``ack_replicas``, ``max_msg_bytes``, ``batching`` and ``backoff`` are
accepted and ignored: the worker's shared producer is idempotent and always waits for every
in-sync replica.

A write that is retried (same ``Transaction``) never sends a record twice: an attempt still held
by the producer is waited on, a stored one is kept, and nothing new is sent once the write was
abandoned (its push answered 408). The rules are in ``streams.brokers.sending``.
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
from streams.brokers.sending import (
    Action,
    Outcome,
    PendingSend,
    Sender,
    SendFailed,
    SendLedger,
    SendPending,
    Stored,
)
from streams.contracts import ConfigError, Output, OutputError, Transaction, WriteAbandoned
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.inputs.kafka import SASL_FIELD, TLS_FIELD, security_of
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
        self.security = security_of(conf, res.path)
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

    def _produce(self, broker: Any, msg: Message, batch: list[Message], i: int, txn: Transaction) -> None:
        """Write record ``i`` of the batch once, whatever number of times the write is retried
        (see ``streams.brokers.sending``): a pending attempt is waited on, a stored one kept."""
        ledger = txn.state(self, SendLedger)
        step = ledger.next(i, wanted=not txn.abandoned, redeliver_unknown=txn.redeliver_unknown)
        if step.action is Action.DONE:
            return
        if step.action is Action.GIVE_UP:
            failure = WriteAbandoned if txn.abandoned else OutputError
            raise failure(f"kafka produce not attempted: {step.reason}")
        topic = self.topic.render(msg, batch, i)
        pending = step.pending
        if pending is None:
            pending = self._send(broker, txn.sender, ledger, topic, msg, batch, i)
        try:
            position = pending.wait(self.timeout)
        except SendPending as exc:
            raise OutputError(f"kafka produce to {topic!r}: {exc}") from exc
        except SendFailed as exc:
            ledger.failed(i, exc.outcome)
            raise OutputError(f"kafka produce to {topic!r} failed: {exc}") from exc
        except BrokerError as exc:
            ledger.failed(i, Outcome.UNKNOWN)
            raise OutputError(f"kafka produce to {topic!r} failed: {exc}") from exc
        ledger.stored(i, position)

    def _send(
        self, broker: Any, sender: Any, ledger: SendLedger, topic: str, msg: Message, batch: list[Message], i: int
    ) -> PendingSend:
        """Hand the record to the producer (the source's transaction when it has one, else the
        worker's shared producer); a failure here means it was never sent."""
        if not topic:
            raise OutputError("the topic interpolated to an empty string")
        key = self.key.render(msg, batch, i).encode() if self.key is not None else None
        try:
            partition = self._partition(broker, topic, key, msg, batch, i)
            args = (topic, msg.content)
            kwargs: dict[str, Any] = {"key": key, "headers": self._headers(msg), "partition": partition,
                                      "timeout": self.timeout}
            if sender is not None:
                pending: PendingSend = sender.send(*args, **kwargs)
            elif _sends(type(broker)):
                pending = broker.send(*args, **kwargs)
            else:
                pending = Stored(broker.produce(*args, **kwargs))
        except BrokerError as exc:
            ledger.failed(i, Outcome.REJECTED)
            raise OutputError(f"kafka produce to {topic!r} failed: {exc}") from exc
        except (OutputError, MappingError):
            raise
        except Exception as exc:
            raise OutputError(f"kafka produce to {topic!r} failed: {type(exc).__name__}: {exc}") from exc
        ledger.sent(i, pending)
        return pending

    def write(self, batch: list[Message], txn: Transaction) -> None:
        try:
            broker = self.res.broker(self.addresses, self.security)
        except BrokerError as exc:
            raise OutputError(f"kafka unavailable: {exc}") from exc
        try:
            self._write(broker, batch, txn)
        except MappingError as exc:
            raise OutputError(f"kafka output interpolation failed: {exc}") from exc

    def _write(self, broker: Any, batch: list[Message], txn: Transaction) -> None:
        if len(batch) == 1 or self.max_in_flight == 1:
            for i, msg in enumerate(batch):
                self._produce(broker, msg, batch, i, txn)
            return
        pool = gevent.pool.Pool(self.max_in_flight)
        jobs = [pool.spawn(self._produce, broker, msg, batch, i, txn) for i, msg in enumerate(batch)]
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
    TLS_FIELD,
    SASL_FIELD,
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


_SENDER_TYPES: dict[type, bool] = {}


def _sends(broker_type: type) -> bool:
    """Whether brokers of this type are a ``Sender``. PERF: a runtime protocol check walks the
    protocol's members on every call, and this one ran once per record."""
    known = _SENDER_TYPES.get(broker_type)
    if known is None:
        known = _SENDER_TYPES[broker_type] = issubclass(broker_type, Sender)
    return known
