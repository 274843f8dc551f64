"""``kafka`` input: records of Kafka topics (or of the embedded broker).

Two ways of reading, chosen by the engine:

* Template-free streams (the seed's ``Worker``): competing consumption in ``consumer_group``; each
  record is processed and written to every output, and its offset committed only after that
  (at-least-once: a failed write is retried, never committed past). On Kafka the offsets of
  each partition commit in one transaction with the ``kafka`` outputs' writes (exactly once in
  Kafka: a worker killed between a write and its commit leaves no duplicate for read_committed
  readers, which every reader of the gateway is).
* Feeding an ``http_server`` output (the seed's ``out``): the engine's hub reads the topics itself
  and keeps the user's position in ``consumer_group`` without joining it (``hub_source``).

``tls`` and ``sasl`` (Bento's fields) choose how this stream reaches the cluster; a stream
without them uses the ``STREAMS_KAFKA_TLS_*``/``_SASL_*`` settings (``streams.brokers.security``).

Accepted and ignored (harmless in this gateway): ``target_version``,
``client_id``, ``rack_id``, ``auto_replay_nacks`` (nacked writes are always retried),
``max_processing_period``, ``extract_tracing_map``, ``fetch_buffer_cap``,
``multi_header`` and ``batching`` (each record is a batch of its own). ``addresses`` is
replaced by ``STREAMS_KAFKA_BROKERS``. On Kafka up to ``IN_FLIGHT_PER_PARTITION`` records of a
partition are processed at once, their writes still leaving in offset order
(``streams.brokers.send_order``); elsewhere one at a time.

``group`` (``session_timeout`` 10s, ``heartbeat_interval`` 3s, ``rebalance_timeout`` 60s, as
Bento) sets the consumer group's liveness: a worker that dies without leaving the group holds its
partitions until its session times out (``streams.brokers.group``).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import gevent.event

from streams import registry
from streams.brokers.base import Broker, BrokerError, Record
from streams.brokers.group import GroupTimeouts
from streams.brokers.security import KafkaSecurity, SecurityError, sasl_problems
from streams.brokers.send_order import SendOrder
from streams.brokers.sending import TransactionalGroup
from streams.contracts import ConfigError, Deliver, Input, Stopping, Transaction
from streams.durations import parse_duration
from streams.engine.kept_greenlets import KeptGreenlets
from streams.engine.records import record_to_message
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field
from streams.tls import tls_field

LAG_PERIOD = 5.0
"""Seconds between two ``consumer_lag`` measurements of a group consumer."""
IN_FLIGHT_PER_PARTITION = 256
"""Most records of one partition processed at once on Kafka (``streams.brokers.send_order``);
fewer when ``checkpoint_limit`` is lower (a fetch never returns more)."""
RECORD_GREENLETS = KeptGreenlets(keep=IN_FLIGHT_PER_PARTITION)
"""The greenlets a fetch's records are processed in side by side, kept between fetches (every
kafka input of the worker shares them). PERF: as many as one partition's records in flight: with
64, a Worker under push load (fetches of more than 64 records) made and ended about two greenlets
per record, each a 16 KiB frame stack mapped and unmapped; a kept one holds about 9 KiB."""


TLS_FIELD = tls_field("TLS to the brokers (else STREAMS_KAFKA_TLS_* applies when sasl is unset too).")
SASL_FIELD = Field(
    "sasl",
    "object",
    {},
    "SASL authentication (else STREAMS_KAFKA_SASL_* applies when tls is unset too).",
    fields=(
        Field("mechanism", "string", "none", "none, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER."),
        Field("user", "string", "", "User (PLAIN, SCRAM)."),
        Field("password", "string", "", "Password (PLAIN, SCRAM)."),
        Field("access_token", "string", "", "Static OAUTHBEARER token."),
        Field("token_cache", "string", "", "Accepted and ignored (only a static access_token is used)."),
        Field("token_key", "string", "", "Accepted and ignored (only a static access_token is used)."),
    ),
    check=sasl_problems,
)
"""The ``tls`` and ``sasl`` blocks of the ``kafka`` input and output."""


def security_of(conf: dict[str, Any], where: str) -> KafkaSecurity:
    """The component's ``KafkaSecurity`` (a ``ConfigError`` names the bad field)."""
    try:
        return KafkaSecurity.from_config(conf.get("tls"), conf.get("sasl"), where)
    except SecurityError as exc:
        raise ConfigError(str(exc)) from None


def split_topics(entries: list[str], where: str) -> list[str]:
    """Bento lets one entry hold several comma-separated topics."""
    topics: list[str] = []
    for entry in entries:
        for name in str(entry).split(","):
            name = name.strip()
            if not name:
                continue
            if ":" in name:
                raise ConfigError(f"{where}: explicit partitions ({name!r}) are not supported")
            if name not in topics:
                topics.append(name)
    if not topics:
        raise ConfigError(f"{where}: at least one topic is required")
    return topics


class KafkaInput(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.res = res
        self.addresses = list(conf["addresses"] or [])
        self.security = security_of(conf, res.path)
        self.topics = split_topics(conf["topics"], f"{res.path}.topics")
        self.group = str(conf["consumer_group"] or "")
        self.start_from_oldest = bool(conf["start_from_oldest"])
        self.commit_period = parse_duration(conf["commit_period"], 1.0)
        self.checkpoint_limit = max(1, int(conf["checkpoint_limit"]))
        self.group_timeouts = GroupTimeouts.from_config(conf["group"], f"{res.path}.group")
        self.log = res.logger()
        # A consumer-group member shares the topics with the other workers; a reader without a
        # group would read every record once per worker.
        self.shared_by_nature = bool(self.group)

    def broker(self) -> Broker:
        return self.res.broker(self.addresses, self.security)

    def hub_source(self, fallback_group: str) -> tuple[Broker, str, list[str], bool, float]:
        """What the engine's hub needs to serve an ``http_server`` output from these topics."""
        return self.broker(), self.group or fallback_group, self.topics, self.start_from_oldest, self.commit_period

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        broker = self.broker()
        if not self.group:
            self._run_without_group(broker, deliver, stopping)
            return
        consumer = broker.group_consumer(self.group, self.topics, self.start_from_oldest, self.group_timeouts)
        if isinstance(consumer, TransactionalGroup):
            self._run_transactional(consumer, broker, deliver, stopping)
            return
        pending: dict[tuple[str, int], int] = {}
        last_lag = 0.0
        try:
            while not stopping.is_set():
                records = consumer.fetch(timeout=0.5, max_records=self.checkpoint_limit)
                for record in records:
                    if not self._deliver_until_done(deliver, record_to_message(record), stopping):
                        return  # stopping: this record stays uncommitted, read again later
                    pending[(record.topic, record.partition)] = record.offset + 1
                # NOTE: committed after every fetched batch (not only every commit_period):
                # a partition moved to another worker by a rebalance is re-read from here, so
                # the shorter this window, the fewer records are processed twice.
                if pending:
                    consumer.commit(pending)
                    pending = {}
                last_lag = self._maybe_report_lag(broker, last_lag)
        finally:
            try:
                if pending:
                    consumer.commit(pending)
            except Exception:
                self.log.exception("final commit failed", offsets=str(pending))
            consumer.close()

    def _run_transactional(
        self, consumer: TransactionalGroup, broker: Broker, deliver: Deliver, stopping: Stopping
    ) -> None:
        """Kafka: each partition's records of a fetch are processed in one transaction that also
        commits their offset, so a worker killed between a write and the commit leaves no
        duplicate (its open transaction is aborted by the partition's next holder). A commit
        that fails (fenced after a rebalance) raises: the input restarts from the group's
        committed offsets, and the aborted writes stay invisible to read_committed readers."""
        last_lag = 0.0
        # NOTE: kafka-python drops a member that does not poll within the rebalance timeout
        # (its max_poll_interval_ms), heartbeats or not; a fetch that takes a slow processor
        # longer than half of it is cut short and the rest read again by the next fetch.
        budget = self.group_timeouts.rebalance_timeout / 2
        try:
            while not stopping.is_set():
                records = consumer.fetch(timeout=0.5, max_records=self.checkpoint_limit)
                fetched = time.monotonic()
                for (topic, partition), part in _by_partition(records).items():
                    if time.monotonic() - fetched > budget:
                        consumer.rewind(topic, partition, part[0].offset)
                        continue
                    writer = consumer.transaction(topic, partition)
                    writer.begin()
                    done = 0
                    while done < len(part):
                        if done and time.monotonic() - fetched > budget:
                            break
                        chunk = part[done:done + IN_FLIGHT_PER_PARTITION]
                        if not self._deliver_in_order(deliver, chunk, stopping, writer):
                            writer.abort()
                            return  # stopping: these records stay uncommitted, read again later
                        done += len(chunk)
                    writer.commit(part[done - 1].offset + 1)
                    if done < len(part):
                        consumer.rewind(topic, partition, part[done].offset)
                last_lag = self._maybe_report_lag(broker, last_lag)
        finally:
            consumer.close()

    def _deliver_in_order(self, deliver: Deliver, records: list[Record], stopping: Stopping, writer: Any) -> bool:
        """Process ``records`` (one partition's, in offset order) side by side, each handing its
        writes to ``writer`` only after the records before it did (``SendOrder``), and wait for
        all; False when the stream stopped before every one was delivered."""
        if len(records) == 1:
            return self._deliver_until_done(deliver, record_to_message(records[0]), stopping, writer)
        gate = _SendGate(len(records))

        def one(index: int, record: Record) -> bool:
            try:
                return self._deliver_until_done(deliver, record_to_message(record), stopping, gate.sender(writer, index))
            finally:
                gate.release(index)

        jobs = [RECORD_GREENLETS.run(one, i, r) for i, r in enumerate(records)]
        for job in jobs:
            job.wait()
        for job in jobs:
            if job.exception is not None:
                raise job.exception
        return all(job.value for job in jobs)

    def _maybe_report_lag(self, broker: Broker, last: float) -> float:
        if time.monotonic() - last < LAG_PERIOD:
            return last
        self._report_lag(broker)
        return time.monotonic()

    def _report_lag(self, broker: Broker) -> None:
        """``consumer_lag``: records in the topics not yet committed by the group."""
        try:
            lag = 0
            for topic in self.topics:
                committed = broker.committed(self.group, topic)
                begin = broker.beginning_offsets(topic)
                for p, end in broker.end_offsets(topic).items():
                    lag += max(0, end - committed.get(p, begin.get(p, 0)))
            self.res.gauge("consumer_lag", lag)
        except Exception:  # a metric must never stop the stream
            self.log.exception("consumer lag not measured")

    def _deliver_until_done(self, deliver: Deliver, msg: Message, stopping: Stopping, sender: Any = None) -> bool:
        """Retry a failed write with backoff until it succeeds or the stream stops.

        Every retry carries the same transaction: an output then waits on what its first attempt
        still has pending instead of writing the record again (``streams.brokers.sending``)."""
        delay = 0.1
        txn = Transaction(redeliver_unknown=True, sender=sender)
        while not deliver([msg.copy()], txn):
            pos = msg.position
            if sender is not None and sender.failed:
                # NOTE: retried, it failed forever and the consumer stopped polling: the group
                # dropped this member for good. Given up, the input restarts and rejoins, and
                # whoever holds the partition then reads these records again.
                raise BrokerError(
                    f"the transaction of {pos.topic}/{pos.partition} failed (fenced by the "
                    f"partition's next holder, or a write it cannot take back): offset "
                    f"{pos.offset} and the rest of its batch are left to be read again"
                )
            self.log.warning(
                "write failed; retrying", topic=pos.topic, partition=pos.partition, offset=pos.offset, retry_in=delay
            )
            if stopping.wait(delay):
                return False
            delay = min(delay * 2, 5.0)
        return True

    def _run_without_group(self, broker: Broker, deliver: Deliver, stopping: Stopping) -> None:
        """No consumer group: every worker reads everything from the oldest/newest, no commits."""
        def one(topic: str) -> None:
            edge = broker.beginning_offsets(topic) if self.start_from_oldest else broker.end_offsets(topic)
            reader = broker.reader(topic, edge)
            try:
                while not stopping.is_set():
                    for record in reader.fetch(timeout=0.5, max_records=self.checkpoint_limit):
                        if not self._deliver_until_done(deliver, record_to_message(record), stopping):
                            return
            finally:
                reader.close()

        gevent.joinall([gevent.spawn(one, t) for t in self.topics])


class _SendGate:
    """``SendOrder`` with an event per record: a record's first write waits until it is free."""

    def __init__(self, count: int) -> None:
        self._order = SendOrder(count)
        self._free = [gevent.event.Event() for _ in range(count)]
        self._free[0].set()

    def sender(self, writer: Any, index: int) -> _OrderedSender:
        return _OrderedSender(self, writer, index)

    def wait_free(self, index: int) -> None:
        self._free[index].wait()

    def release(self, index: int) -> None:
        for freed in self._order.release(index):
            self._free[freed].set()


class _OrderedSender:
    """The partition transaction as one record sees it: ``send`` waits for the record's turn
    and releases the next record once the producer has the write."""

    def __init__(self, gate: _SendGate, writer: Any, index: int) -> None:
        self._gate = gate
        self._writer = writer
        self._index = index

    def send(self, *args: Any, **kwargs: Any) -> Any:
        self._gate.wait_free(self._index)
        try:
            return self._writer.send(*args, **kwargs)
        finally:
            self._gate.release(self._index)

    @property
    def failed(self) -> bool:
        return bool(self._writer.failed)


def _by_partition(records: list[Record]) -> dict[tuple[str, int], list[Record]]:
    """Records grouped by (topic, partition), each group in offset order."""
    parts: dict[tuple[str, int], list[Record]] = {}
    for record in records:
        parts.setdefault((record.topic, record.partition), []).append(record)
    return parts


def _factory(conf: dict[str, Any], res: Resources) -> KafkaInput:
    return KafkaInput(conf, res)


SPEC = registry.input(
    "kafka",
    _factory,
    Field("addresses", "string_list", [], "Broker addresses; replaced by STREAMS_KAFKA_BROKERS."),
    Field("topics", "string_list", doc="Topics to consume (entries may hold comma-separated names)."),
    Field("target_version", "string", "", "Accepted and ignored."),
    TLS_FIELD,
    SASL_FIELD,
    Field("consumer_group", "string", "", "Group whose offsets are committed."),
    Field("client_id", "string", "benthos", "Accepted and ignored."),
    Field("rack_id", "string", "", "Accepted and ignored."),
    Field("start_from_oldest", "bool", True, "Where a group with no committed offset starts."),
    Field("checkpoint_limit", "int", 1024, "Most records read at once."),
    Field("auto_replay_nacks", "bool", True, "Accepted; failed writes are always retried."),
    Field("commit_period", "duration", "1s", "Commit interval of stream-client positions; a group consumer commits after every batch."),
    Field("max_processing_period", "duration", "100ms", "Accepted and ignored."),
    Field("extract_tracing_map", "string", "", "Accepted and ignored."),
    Field(
        "group",
        "object",
        {},
        "Liveness of the consumer-group membership.",
        fields=(
            Field("session_timeout", "duration", "10s", "A member silent this long is dropped from the group."),
            Field("heartbeat_interval", "duration", "3s", "How often a member tells the group it is alive."),
            Field("rebalance_timeout", "duration", "60s", "How long a rebalance waits for members to rejoin."),
        ),
    ),
    Field("fetch_buffer_cap", "int", 256, "Accepted and ignored."),
    Field("multi_header", "bool", False, "Accepted and ignored."),
    Field("batching", "object", {}, "Accepted and ignored: records are processed one at a time."),
    doc="Consume Kafka topics.",
)
