"""Apache Kafka behind the broker interface, on kafka-python 3.x under gevent.

The caller patches gevent first (gunicorn's gevent worker, the CLIs, tests/conftest.py): kafka-python
then runs its IO "threads" as greenlets and every wait below blocks only the calling greenlet.

Clients, and why each exists:

* one ``KafkaProducer`` per broker (so per worker process): acks=all and idempotence, so a 200
  from a push means the record is stored and a retry never duplicates it (DESIGN §4 promise 1);
* one ``KafkaAdminClient`` per broker for topic metadata, log offsets and *every* group's
  committed offsets: OffsetFetch/OffsetCommit need no group membership, so a user's group offset
  is read and written from any worker without joining (promise 4) and thousands of users cost no
  extra sockets;
* one ``KafkaConsumer`` per ``Reader`` (assign + seek, no group) and per ``GroupConsumer``
  (subscribe, manual commit). These are the only clients whose number grows with load: each
  costs one broker connection plus a wake-up socket pair and an IO greenlet.

Nothing connects in the constructor (``streams.brokers.connect`` must be safe before gunicorn
forks); the producer and the admin client open on first use and are retried on the next call if
the cluster was unreachable.

Every client gets the broker's ``KafkaSecurity`` (TLS, SASL). With any of it set, the first
client waits for ``kafka_check.check_access``: a wrong password or an untrusted certificate is a
``BrokerError`` naming the cause within ``connect_timeout`` (logged once, remembered for
``_ACCESS_RETRY`` seconds so pushes fail at once), not kafka-python retrying for ever.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import gevent
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic, OffsetSpec
from kafka.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidRequiredAcksError,
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)
from kafka.protocol.consumer import IsolationLevel
from kafka.structs import OffsetAndMetadata

from streams.brokers.base import (
    Broker,
    BrokerError,
    GroupConsumer,
    Position,
    Reader,
    Record,
)
from streams.brokers.group import GroupTimeouts
from streams.brokers.kafka_check import check_access, sasl_settings
from streams.brokers.kafka_positions import PositionLog
from streams.brokers.next_flight import NextFlight
from streams.brokers.security import KafkaSecurity
from streams.brokers.sending import Outcome, SendFailed, SendPending

log = logging.getLogger(__name__)
T = TypeVar("T")

# Client settings shared by every kafka-python client this module creates.
_REQUEST_TIMEOUT_MS = 10_000
_RECONNECT_BACKOFF_MAX_MS = 2_000
_LONG_POLL_MS = 5_000  # longest broker-side fetch wait (< _REQUEST_TIMEOUT_MS)
_DELIVERY_TIMEOUT_MS = 120_000
_ACCESS_RETRY = 5.0  # seconds a failed access check is answered from memory
_ACCESS_LOG_EVERY = 30.0  # seconds between two log lines of the same access failure
READER_FETCH_BYTES = 256 * 1024
"""Most bytes a ``KafkaReader`` fetches of a partition at once (kafka-python's default: 1 MiB).
PERF: a reader catching up on a backlog holds a whole fetch, decoded into records, while it
hands them out 500 at a time, and asks for the next meanwhile; with 1 MiB, ten users catching
up on a 445k-record topic (a live reader and up to four scans per worker) left each worker
2-5 MiB larger than with 256 KiB (bench/idle_sse.py on Kafka with fresh users). A scan reads
as many records per second either way (the gateway's processing is slower than the fetches),
and a record batch larger than this still comes whole (Kafka returns the first batch of a
fetch whatever its size)."""

# Broker answers that mean "this record was refused", never "maybe stored".
_REJECTIONS: tuple[type[Exception], ...] = (
    CorruptRecordError,
    InvalidRecordError,
    InvalidRequiredAcksError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
)


class KafkaBroker(Broker):
    """One worker process's connection to a Kafka cluster."""

    def __init__(
        self,
        bootstrap: list[str],
        client_id: str = "streams",
        *,
        linger_ms: int = 0,
        connect_timeout: float = 10.0,
        max_consumers: int = 1000,
        security: KafkaSecurity | None = None,
    ) -> None:
        """``linger_ms`` 0: a record leaves at once, and records that arrive while a request
        is in flight still share the next one. Measured here against Kafka 4.1 under gevent, 2 ms
        cost 2.4 ms per acked send and cut 32 concurrent senders from 13.6k to 5.4k sends/s.

        ``max_consumers`` caps open Readers + GroupConsumers (about three file descriptors
        each): past it ``reader()`` raises ``BrokerError`` instead of letting a worker run out
        of descriptors and fail every request."""
        if not bootstrap:
            raise BrokerError("no Kafka bootstrap addresses")
        self.bootstrap = list(bootstrap)
        self.client_id = client_id
        self.security = security or KafkaSecurity()
        self._access_checked = self.security.is_default  # plain Kafka: kafka-python's own errors do
        self._access_failure: tuple[float, BrokerError] | None = None
        self._access_logged: tuple[float, str] = (0.0, "")
        self._access_lock = threading.Lock()  # patched by gevent: waiting yields
        self._linger_ms = linger_ms
        self._connect_timeout = connect_timeout
        self._producer: KafkaProducer | None = None
        self._admin: KafkaAdminClient | None = None
        # Patched by gevent: waiting for it yields to other greenlets.
        self._producer_lock = threading.Lock()
        self._admin_lock = threading.Lock()
        self._open: set[_KafkaConsumerBase] = set()
        self._opening = 0  # slots reserved by consumers still being opened
        # NOTE: held only around counter updates (never across IO), so it never blocks for long.
        self._slots_lock = threading.Lock()
        self.max_consumers = max_consumers
        self._position_log: PositionLog | None = None
        self._group_offsets: NextFlight[str, dict[TopicPartition, Any]] = NextFlight(
            self._read_group_offsets, "group offsets"
        )
        self._closed = False

    # -- lazily created shared clients ---------------------------------------------------------

    def _common(self) -> dict[str, Any]:
        self._check_access()
        return {
            "bootstrap_servers": self.bootstrap,
            "request_timeout_ms": _REQUEST_TIMEOUT_MS,
            "reconnect_backoff_max_ms": _RECONNECT_BACKOFF_MAX_MS,
            **sasl_settings(self.security),
        }

    def _producer_settings(self) -> dict[str, Any]:
        """What every producer of this broker has (the shared one and the transactional ones)."""
        return {
            **self._common(),
            "acks": "all",  # every in-sync replica has the record before we answer 200
            # The producer's own retries (a broker outage, a leader change) resend with the same
            # sequence number, so the broker stores a record once. On brokers too old for it
            # kafka-python switches it off with a warning.
            "enable_idempotence": True,
            "linger_ms": self._linger_ms,
            # kafka-python's own sensors: about 20 Python calls per record that nothing here
            # reads (the gateway has its own metrics).
            "metrics_enabled": False,
            "max_block_ms": int(self._connect_timeout * 1000),
            # Kafka's default: a record outlives an outage of up to two minutes in the producer
            # (a retried write waits on it; see streams.brokers.sending).
            "delivery_timeout_ms": _DELIVERY_TIMEOUT_MS,
        }

    def _check_access(self) -> None:
        """Before the first client: can we get in at all (see the module doc)? A failure is
        raised again without a new attempt for ``_ACCESS_RETRY`` seconds."""
        if self._access_checked:
            return
        with self._access_lock:
            if self._access_checked:
                return
            failed = self._access_failure
            if failed is not None and time.monotonic() - failed[0] < _ACCESS_RETRY:
                raise type(failed[1])(str(failed[1]))  # a fresh one: no traceback piling up
            try:
                with gevent.Timeout(self._connect_timeout + 1, BrokerError("Kafka access check timed out")):
                    check_access(self.bootstrap, self.security, self._connect_timeout, self.client_id)
            except BrokerError as exc:
                self._access_failure = (time.monotonic(), exc)
                self._log_access_failure(str(exc))
                raise
            self._access_checked = True
            self._access_failure = None
            log.info("Kafka at %s: access granted (%s)", ",".join(self.bootstrap), self.security.describe())

    def _log_access_failure(self, message: str) -> None:
        at, last = self._access_logged
        now = time.monotonic()
        if message != last or now - at >= _ACCESS_LOG_EVERY:
            self._access_logged = (now, message)
            log.error("Kafka at %s refused or unreachable: %s", ",".join(self.bootstrap), message)

    def _get_producer(self, deadline: float) -> KafkaProducer:
        producer = self._producer
        if producer is not None:
            return producer
        self._check_open()
        if not self._producer_lock.acquire(
            timeout=max(0.0, deadline - time.monotonic())
        ):
            raise BrokerError(f"Kafka at {self.bootstrap} not reachable in time")
        try:
            if self._producer is None:
                wait_ms = int(
                    max(0.1, min(self._connect_timeout, deadline - time.monotonic()))
                    * 1000
                )
                try:
                    self._producer = KafkaProducer(
                        **self._producer_settings(),
                        client_id=f"{self.client_id}-producer",
                        bootstrap_timeout_ms=wait_ms,
                    )
                except KafkaError as exc:
                    raise BrokerError(
                        f"Kafka at {self.bootstrap} unreachable: {exc}"
                    ) from exc
            return self._producer
        finally:
            self._producer_lock.release()

    def _get_admin(self) -> KafkaAdminClient:
        admin = self._admin
        if admin is not None:
            return admin
        self._check_open()
        with self._admin_lock:
            if self._admin is None:
                try:
                    self._admin = KafkaAdminClient(
                        **self._common(),
                        client_id=f"{self.client_id}-admin",
                        bootstrap_timeout_ms=int(self._connect_timeout * 1000),
                    )
                except KafkaError as exc:
                    raise BrokerError(
                        f"Kafka at {self.bootstrap} unreachable: {exc}"
                    ) from exc
            return self._admin

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerError("broker closed")

    def consumer(self, *topics: str, **configs: Any) -> KafkaConsumer:
        """A new kafka-python consumer with this broker's connection settings (for Readers,
        GroupConsumers and tests that look at a topic from outside the interface)."""
        self._check_open()
        settings = {
            **self._common(),
            "client_id": f"{self.client_id}-consumer",
            "enable_auto_commit": False,
            "bootstrap_timeout_ms": int(self._connect_timeout * 1000),
            "metrics_enabled": False,
            # The start value only: _poll sets each request's wait from the caller's timeout.
            "fetch_max_wait_ms": 500,
            # Records of aborted transactions (a Worker killed mid-write) are never seen.
            "isolation_level": "read_committed",
        }
        settings.update(configs)
        try:
            return KafkaConsumer(*topics, **settings)
        except KafkaError as exc:
            raise BrokerError(f"Kafka at {self.bootstrap} unreachable: {exc}") from exc

    # -- produce -------------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> Position:
        """Send one record and wait for acks=all; any failure or timeout is a ``BrokerError``
        (the gateway answers 502). NOTE: after a timeout the record may still be stored later;
        a caller that retries uses ``send`` and waits on the same pending record instead."""
        deadline = time.monotonic() + timeout
        pending = self.send(topic, value, key, headers, partition, timeout)
        return pending.wait(max(0.001, deadline - time.monotonic()))

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> KafkaSend:
        """Hand one record to the producer; ``wait`` on the result for the acknowledgement.

        A ``BrokerError`` here means the record never reached the producer (no metadata for the
        topic in time, an illegal name): it is definitely not stored."""
        deadline = time.monotonic() + timeout
        producer = self._get_producer(deadline)
        return _send(producer, deadline, topic, value, key, headers, partition)

    # -- topics and offsets --------------------------------------------------------------------

    def create_topic(self, topic: str, partitions: int | None = None) -> int:
        """Create ``topic`` with ``partitions`` (default: the broker's ``num.partitions``) unless it
        exists; returns its partition count. Existing topics keep their count."""
        if partitions is not None:
            admin = self._get_admin()
            try:
                admin.create_topics([NewTopic(topic, partitions, -1)])
            except TopicAlreadyExistsError:
                pass
            except KafkaError as exc:
                raise BrokerError(f"cannot create topic {topic!r}: {exc}") from exc
        return len(self.partitions(topic))

    def ensure_topic(self, topic: str, partitions: int, *, compacted: bool = False) -> None:
        configs = {"cleanup.policy": "compact"} if compacted else {}
        try:
            self._get_admin().create_topics([NewTopic(topic, partitions, -1, topic_configs=configs)])
        except TopicAlreadyExistsError:
            pass
        except KafkaError as exc:
            raise BrokerError(f"cannot create topic {topic!r}: {exc}") from exc

    def partitions(self, topic: str) -> list[int]:
        """The topic's partitions; the producer's metadata request auto-creates a missing topic."""
        producer = self._get_producer(time.monotonic() + self._connect_timeout)
        try:
            with gevent.Timeout(self._connect_timeout, KafkaTimeoutError):
                parts = producer.partitions_for(topic)
        except (KafkaError, ValueError) as exc:  # ValueError: an illegal topic name
            raise BrokerError(f"no metadata for topic {topic!r}: {exc}") from exc
        if not parts:
            raise BrokerError(f"topic {topic!r} has no partitions")
        return sorted(parts)

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        """``call()``, retried while Kafka answers with a retriable error (a just-created topic
        without a leader yet, the offsets topic still being created on the first group use),
        for at most ``connect_timeout``; then, or on any other error, a ``BrokerError``."""
        deadline = time.monotonic() + self._connect_timeout
        while True:
            try:
                return call()
            except KafkaError as exc:
                if not getattr(exc, "retriable", False) or time.monotonic() > deadline:
                    raise BrokerError(f"{what}: {exc}") from exc
                gevent.sleep(0.1)

    def _log_offsets(self, topic: str, spec: OffsetSpec) -> dict[int, int]:
        specs = {TopicPartition(topic, p): spec for p in self.partitions(topic)}
        admin = self._get_admin()
        # read_committed: the end is the last stable offset, where a read_committed reader
        # started "from the newest" misses nothing of a transaction still open.
        got = self._retrying(
            f"cannot list offsets of {topic!r}",
            lambda: admin.list_partition_offsets(
                specs, isolation_level=IsolationLevel.READ_COMMITTED
            ),
        )
        return {tp.partition: int(o.offset) for tp, o in sorted(got.items())}

    def beginning_offsets(self, topic: str) -> dict[int, int]:
        return self._log_offsets(topic, OffsetSpec.EARLIEST)

    def end_offsets(self, topic: str) -> dict[int, int]:
        return self._log_offsets(topic, OffsetSpec.LATEST)

    # -- group offsets, without membership -----------------------------------------------------

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's position as the positions log folds it (``kafka_positions``), else its
        Kafka offsets."""
        return self._positions().committed(group, topic)

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        """An unconditional move in the positions log (mirrored to the group's offsets)."""
        self._positions().commit(group, topic, offsets)

    def compare_and_commit(
        self, group: str, topic: str, expected: dict[int, int | None], new: dict[int, int]
    ) -> bool:
        """A conditional move in the positions log: Kafka's own offset commits cannot be."""
        return self._positions().compare_and_commit(group, topic, expected, new)

    def _positions(self) -> PositionLog:
        if self._position_log is None:
            self._check_open()
            self._position_log = PositionLog(
                produce=lambda topic, value, key, partition: self.produce(topic, value, key, partition=partition),
                admin=self._get_admin,
                consumer=self.consumer,
                group_offsets=self.group_offsets,
                commit_group_offsets=self.commit_group_offsets,
            )
        return self._position_log

    def group_offsets(self, group: str, topic: str) -> dict[int, int]:
        """OffsetFetch for the group (all its partitions, then filtered to ``topic``): works for
        any group id, joined by someone or not, and never creates the topic. The groups asked
        for while one such request is on its way go together in the next (``NextFlight``)."""
        return {
            tp.partition: int(meta.offset)
            for tp, meta in self._group_offsets.get(group).items()
            if tp.topic == topic and meta.offset is not None and meta.offset >= 0
        }

    def _read_group_offsets(self, groups: list[str]) -> dict[str, dict[TopicPartition, Any]]:
        """One OffsetFetch per coordinator for all of ``groups`` (Kafka 3.0+; kafka-python
        sends one per group to older brokers)."""
        admin = self._get_admin()
        what = f"cannot read offsets of group {groups[0]!r}" if len(groups) == 1 else f"cannot read offsets of {len(groups)} groups"
        got = self._retrying(what, lambda: admin.list_group_offsets(dict.fromkeys(groups)))
        return {group: got.get(group, {}) for group in groups}

    def commit_group_offsets(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        """OffsetCommit as a non-member (generation -1). The broker accepts it for groups with no
        active members, which is what per-user groups are; a group that ``GroupConsumer`` members
        have joined must be committed through those members instead."""
        if not offsets:
            return
        request = {
            TopicPartition(topic, p): OffsetAndMetadata(int(o), "", -1)
            for p, o in offsets.items()
        }
        admin = self._get_admin()

        def attempt() -> None:
            result = admin.alter_group_offsets(group, request)
            errors = [err for err in result.values() if err.errno != 0]
            if errors:
                # Per-partition errors come back as classes; raise one so that retriable ones
                # (a topic created a moment ago) are retried like a failed request.
                raise errors[0](f"commit to group {group!r} on {topic!r}")

        self._retrying(f"cannot commit offsets of group {group!r}", attempt)

    # -- consumers -----------------------------------------------------------------------------

    def reader(self, topic: str, start: dict[int, int]) -> Reader:
        return KafkaReader(self, topic, start)

    def group_consumer(
        self,
        group: str,
        topics: list[str],
        start_from_oldest: bool = True,
        timeouts: GroupTimeouts | None = None,
    ) -> GroupConsumer:
        return KafkaGroupConsumer(
            self, group, topics, start_from_oldest, timeouts or GroupTimeouts()
        )

    def _reserve(self) -> None:
        """Take one slot under the consumer cap, before any connection is made.

        Check and take happen under one lock with no IO between them: opening a consumer talks to
        Kafka (metadata, offsets) and yields, so a check against the open consumers alone let many
        simultaneous openers pass before any of them was counted. The slot is held until the
        consumer is registered (``_register``) or its opening failed (``_unreserve``)."""
        with self._slots_lock:
            self._check_open()
            taken = len(self._open) + self._opening
            if taken >= self.max_consumers:
                raise BrokerError(
                    f"too many open Kafka consumers ({taken}, max {self.max_consumers}); "
                    "idle readers must be closed"
                )
            self._opening += 1

    def _unreserve(self) -> None:
        with self._slots_lock:
            self._opening -= 1

    def _register(self, consumer: _KafkaConsumerBase) -> None:
        """Turn the caller's reserved slot into an open consumer."""
        with self._slots_lock:
            self._opening -= 1
            if not self._closed:
                self._open.add(consumer)
                return
        consumer.close()
        raise BrokerError("broker closed")

    def _forget(self, consumer: _KafkaConsumerBase) -> None:
        with self._slots_lock:
            self._open.discard(consumer)

    def open_consumers(self) -> int:
        """How many Readers/GroupConsumers are open (each holds broker connections)."""
        return len(self._open)

    def close(self) -> None:
        """Close every client: open readers and group consumers first, then flush the producer."""
        if self._closed:
            return
        self._closed = True
        if self._position_log is not None:
            self._position_log.close()
        for consumer in list(self._open):
            consumer.close()
        producer, self._producer = self._producer, None
        admin, self._admin = self._admin, None
        if producer is not None:
            self._close_producer(producer)
        if admin is not None:
            try:
                admin.close()
            except Exception:
                log.exception("closing the Kafka admin client failed")

    @staticmethod
    def _close_producer(producer: KafkaProducer, flush_timeout: float = 5.0) -> None:
        """Flush what is pending, then stop the sender even when the cluster is gone.

        kafka-python's ``close`` gives up half-way when its flush times out, leaving the sender
        greenlet retrying forever; so flush first and, if that times out, fail the pending
        records (their producers were already told "not acknowledged") before closing."""
        try:
            producer.flush(timeout=flush_timeout)
        except KafkaError:
            # NOTE: private attribute; without it the close below may still time out (logged).
            abort = getattr(
                getattr(producer, "_accumulator", None),
                "abort_incomplete_batches",
                None,
            )
            if abort is not None:
                abort()
        try:
            producer.close(timeout=1)
        except Exception:  # closing must go on; the process is usually exiting
            log.exception("closing the Kafka producer failed")


def _send(
    producer: KafkaProducer,
    deadline: float,
    topic: str,
    value: bytes,
    key: bytes | None,
    headers: Iterable[tuple[str, bytes]],
    partition: int | None,
) -> KafkaSend:
    """``producer.send`` bounded by ``deadline``; a failure here means nothing was sent."""
    header_list = [(str(k), bytes(v)) for k, v in headers]
    try:
        if _knows_topic(producer, topic):
            # PERF: nothing to wait for (a full buffer waits at most max_block_ms): no timer.
            future = producer.send(
                topic, value=bytes(value), key=key, headers=header_list, partition=partition
            )
        else:
            # send() blocks only while it waits for the topic's metadata (first use of a topic
            # auto-creates it); a gevent timeout bounds that wait to the caller's budget.
            with gevent.Timeout(max(0.001, deadline - time.monotonic()), KafkaTimeoutError):
                future = producer.send(
                    topic, value=bytes(value), key=key, headers=header_list, partition=partition
                )
    except KafkaTimeoutError:
        raise SendFailed(
            f"produce to {topic!r}: no metadata in time", Outcome.REJECTED
        ) from None
    except (KafkaError, AssertionError, ValueError) as exc:
        raise SendFailed(f"produce to {topic!r} failed: {exc}", Outcome.REJECTED) from exc
    return KafkaSend(topic, future)


def _knows_topic(producer: KafkaProducer, topic: str) -> bool:
    """The producer has the topic's partitions, so ``send`` will not wait for metadata
    (``_metadata`` is not public API: without it, every send is treated as a first one)."""
    metadata = getattr(producer, "_metadata", None)
    try:
        return metadata is not None and metadata.partitions_for_topic(topic) is not None
    except Exception:  # noqa: BLE001 - a kafka-python without it: take the guarded path
        return False


class KafkaSend:
    """A record the producer holds until the broker acknowledges it (``PendingSend``)."""

    def __init__(self, topic: str, future: Any) -> None:
        self.topic = topic
        self._future = future

    def wait(self, timeout: float) -> Position:
        try:
            meta = self._future.get(timeout=max(0.001, timeout))
        except KafkaTimeoutError:
            if not self._future.is_done:
                raise SendPending(
                    f"produce to {self.topic!r} not acknowledged within {timeout:g}s"
                ) from None
            # The producer expired it after the delivery timeout: it may have reached the broker.
            raise SendFailed(
                f"produce to {self.topic!r} expired in the producer", Outcome.UNKNOWN
            ) from None
        except (KafkaError, AssertionError, ValueError) as exc:
            outcome = Outcome.REJECTED if isinstance(exc, _REJECTIONS) else Outcome.UNKNOWN
            raise SendFailed(f"produce to {self.topic!r} failed: {exc}", outcome) from exc
        return Position(meta.topic, meta.partition, meta.offset)


def _to_record(rec: Any) -> Record:
    return Record(
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
        value=rec.value if rec.value is not None else b"",
        key=rec.key,
        headers=tuple((k, v if v is not None else b"") for k, v in (rec.headers or ())),
        timestamp_ms=rec.timestamp or 0,
    )


class _KafkaConsumerBase:
    """Shared poll/close for the two consumer kinds."""

    _consumer: KafkaConsumer
    _broker: KafkaBroker
    _closed: bool = False

    def _poll(self, timeout: float, max_records: int) -> list[Record]:
        """Poll in slices of at most ``_LONG_POLL_MS``, each with a broker-side fetch wait equal
        to the slice.

        PERF: kafka-python sends one fetch per ``fetch_max_wait_ms`` to a quiet topic, and under
        gevent each costs a few ms of CPU: a fixed short wait made 100 idle readers burn a
        third of a core, a fixed long one left a fetch in flight after ``fetch()`` returned, and
        a ``seek()`` then waited for it (seconds). Matching the wait to the time left gives long
        polls without leftovers."""
        if self._closed:
            return []
        deadline = time.monotonic() + max(0.0, timeout)
        batches: dict[Any, list[Any]] = {}
        try:
            while True:
                slice_ms = int(min(_LONG_POLL_MS, (deadline - time.monotonic()) * 1000))
                slice_ms = max(0, slice_ms)
                self._set_fetch_wait(slice_ms)
                batches = self._consumer.poll(
                    timeout_ms=slice_ms, max_records=max_records
                )
                if batches or time.monotonic() >= deadline or self._closed:
                    break
        except KafkaError as exc:
            raise BrokerError(f"fetch failed: {exc}") from exc
        out: list[Record] = []
        for tp in sorted(batches):
            out.extend(_to_record(r) for r in batches[tp])
        return out

    def _set_fetch_wait(self, wait_ms: int) -> None:
        # NOTE: the fetcher reads its fetch_max_wait_ms each time it builds a request; it is not
        # public API, so a kafka-python without it just keeps the configured wait.
        config = getattr(getattr(self._consumer, "_fetcher", None), "config", None)
        if isinstance(config, dict):
            config["fetch_max_wait_ms"] = wait_ms

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._broker._forget(self)
        try:
            self._consumer.close(autocommit=False, timeout_ms=2000)
        except Exception:
            log.exception("closing a Kafka consumer failed")


class KafkaReader(_KafkaConsumerBase, Reader):
    """Reads every partition of one topic from explicit offsets with assign()+seek(): no group,
    so any number of readers on any worker see every record. Partitions absent from ``start``
    begin at the current end (only records produced from now on); an offset below the log start
    (deleted by retention) moves up to the log start."""

    def __init__(self, broker: KafkaBroker, topic: str, start: dict[int, int]) -> None:
        self._broker = broker
        self._topic = topic
        broker._reserve()
        try:
            parts = broker.partitions(topic)
            missing = [p for p in parts if p not in start]
            ends = broker.end_offsets(topic) if missing else {}
            self._positions = {p: int(start[p]) if p in start else ends[p] for p in parts}
            self._consumer = broker.consumer(
                group_id=None, auto_offset_reset="earliest", max_partition_fetch_bytes=READER_FETCH_BYTES
            )
        except BaseException:
            broker._unreserve()
            raise
        broker._register(self)
        try:
            self._consumer.assign([TopicPartition(topic, p) for p in parts])
            for p, offset in self._positions.items():
                self._consumer.seek(TopicPartition(topic, p), offset)
        except Exception:
            self.close()
            raise

    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]:
        records = self._poll(timeout, max_records)
        for i, rec in enumerate(records):
            skipped = rec.offset - self._positions.get(rec.partition, rec.offset)
            if skipped > 0:
                records[i] = dataclasses.replace(rec, skipped=skipped)
            self._positions[rec.partition] = rec.offset + 1
        return records

    def seek(self, offsets: dict[int, int]) -> None:
        for p, offset in offsets.items():
            if p not in self._positions:
                raise BrokerError(f"topic {self._topic!r} has no partition {p}")
            self._consumer.seek(TopicPartition(self._topic, p), int(offset))
            self._positions[p] = int(offset)

    def positions(self) -> dict[int, int]:
        return dict(self._positions)


class KafkaGroupConsumer(_KafkaConsumerBase, GroupConsumer):
    """A member of a Kafka consumer group (subscribe, manual commit). Kafka's group coordinator
    shares the partitions; a member that loses a partition in a rebalance gets a ``BrokerError``
    from ``commit`` and the new owner re-reads from the last commit (at-least-once)."""

    def __init__(
        self,
        broker: KafkaBroker,
        group: str,
        topics: list[str],
        start_from_oldest: bool,
        timeouts: GroupTimeouts | None = None,
    ) -> None:
        self._broker = broker
        self._group = group
        self.timeouts = timeouts or GroupTimeouts()
        self._transactions: dict[tuple[str, int], KafkaPartitionTransaction] = {}
        self._topics = list(dict.fromkeys(topics))
        broker._reserve()
        try:
            for topic in self._topics:
                broker.partitions(topic)  # auto-create, so the subscription has something to assign
                if not start_from_oldest:
                    self._pin_start(topic)
            self._consumer = broker.consumer(
                *self._topics,
                group_id=group,
                auto_offset_reset="earliest" if start_from_oldest else "latest",
                # The pid tells from the group's member list which worker holds what.
                client_id=f"{broker.client_id}-group-{os.getpid()}",
                **self.timeouts.consumer_configs(),
            )
        except BaseException:
            broker._unreserve()
            raise
        broker._register(self)

    def transaction(self, topic: str, partition: int) -> KafkaPartitionTransaction:
        """The transaction of one held partition (``TransactionalGroup``); a broken one (fenced,
        failed to commit) is replaced by a fresh producer."""
        key = (topic, partition)
        held = self.assignment()
        for gone in [k for k in self._transactions if k not in held and k != key]:
            # NOTE: a partition given away in a rebalance: its next holder fenced this producer,
            # so it would only fail (and restart the input) if the partition came back.
            self._transactions.pop(gone).close()
        current = self._transactions.get(key)
        if current is not None and not current.broken:
            return current
        if current is not None:
            current.close()
        fresh = KafkaPartitionTransaction(self._broker, self, topic, partition)
        self._transactions[key] = fresh
        return fresh

    def group_metadata(self) -> Any:
        return self._consumer.group_metadata()

    def rewind(self, topic: str, partition: int, offset: int) -> None:
        tp = TopicPartition(topic, partition)
        if tp in self._consumer.assignment():  # a partition given away is re-read by its holder
            self._consumer.seek(tp, int(offset))

    def close(self) -> None:
        transactions, self._transactions = list(self._transactions.values()), {}
        for txn in transactions:
            txn.close()
        super().close()

    def _pin_start(self, topic: str) -> None:
        """Starting from the newest: commit "now" for partitions the group never committed, so a
        member that takes a partition over after a crash resumes there instead of at the then
        newest record (which would skip what arrived in between). Only possible while the group
        has no active member; otherwise someone already chose the start."""
        try:
            # The Kafka group's own offsets (where its members start), not the positions log.
            committed = self._broker.group_offsets(self._group, topic)
            ends = self._broker.end_offsets(topic)
            missing = {p: o for p, o in ends.items() if p not in committed}
            if missing:
                self._broker.commit_group_offsets(self._group, topic, missing)
        except BrokerError as exc:
            log.debug(
                "group %s: start offsets of %s not pinned: %s", self._group, topic, exc
            )

    def assignment(self) -> set[tuple[str, int]]:
        """The (topic, partition) pairs this member currently holds."""
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]:
        return self._poll(timeout, max_records)

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        if not offsets:
            return
        request = {
            TopicPartition(t, p): OffsetAndMetadata(int(o), "", -1)
            for (t, p), o in offsets.items()
        }
        # NOTE: a commit failing because the cluster is unreachable (an outage, a coordinator
        # moving) is retried for up to the rebalance timeout: given up, the records would be read
        # and written again by whoever reads the partition next. A rebalance is not retried here:
        # only a poll rejoins the group.
        deadline = time.monotonic() + self.timeouts.rebalance_timeout
        while True:
            try:
                self._consumer.commit(request, timeout_ms=_REQUEST_TIMEOUT_MS)
                return
            except KafkaError as exc:
                if (
                    not getattr(exc, "retriable", False)
                    or self._closed
                    or time.monotonic() >= deadline
                ):
                    raise BrokerError(
                        f"group {self._group!r}: commit failed: {exc}"
                    ) from exc
                log.warning("group %s: commit failed, retrying: %s", self._group, exc)
                gevent.sleep(0.5)


_TXN_RETRY_BACKOFF_MS = 10
"""PERF: a transaction begun right after the last one committed finds the coordinator still
writing that one's markers (CONCURRENT_TRANSACTIONS) and is retried after this pause;
kafka-python's default of 100 ms (20 ms for AddPartitionsToTxn) made one Worker record in ten
wait that long at a steady 100 records/s. 2 ms made back-to-back cycles shorter (10-14 -> 6 ms,
bench/kafka_client.py) but, side by side at 1000 msg/s, push -> SSE slower (p50 74-87 vs 47-59 ms):
on a saturated machine shorter cycles are more of them, each 3-3.7 ms of CPU."""


class KafkaPartitionTransaction:
    """Exactly-once consume-process-produce for one partition held by a group consumer: what the
    outputs write while processing its records and its next offset commit in one Kafka
    transaction (``streams.brokers.group.PartitionTransaction``).

    The transactional id names the group, topic and partition, not the worker: whoever holds the
    partition next opens a producer with the same id, which at once aborts a transaction the
    previous holder left open (a SIGKILLed worker) and fences that holder out (its commit fails).
    Readers use read_committed, so they never see the aborted writes."""

    def __init__(
        self, broker: KafkaBroker, consumer: KafkaGroupConsumer, topic: str, partition: int
    ) -> None:
        self._consumer = consumer
        self._tp = TopicPartition(topic, partition)
        self._open = False
        self.broken = False
        try:
            self._producer = KafkaProducer(
                **broker._producer_settings(),
                client_id=f"{broker.client_id}-txn-{os.getpid()}",
                transactional_id=f"streams.{consumer._group}.{topic}.{partition}",
                retry_backoff_ms=_TXN_RETRY_BACKOFF_MS,
                bootstrap_timeout_ms=int(broker._connect_timeout * 1000),
            )
        except KafkaError as exc:
            raise BrokerError(f"Kafka at {broker.bootstrap} unreachable: {exc}") from exc
        try:
            self._producer.init_transactions()
        except KafkaError as exc:
            self.close()
            raise BrokerError(f"transactions on {topic}/{partition} not started: {exc}") from exc

    def begin(self) -> None:
        if self._open:
            return
        try:
            self._producer.begin_transaction()
        except KafkaError as exc:
            self.broken = True
            raise BrokerError(f"transaction not begun: {exc}") from exc
        self._open = True

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> KafkaSend:
        return _send(
            self._producer, time.monotonic() + timeout, topic, value, key, headers, partition
        )

    @property
    def failed(self) -> bool:
        # NOTE: kafka-python's own test before a send; after a fence it stays in a state where
        # every send is refused. A kafka-python without it never reports a failed transaction.
        manager = getattr(self._producer, "_transaction_manager", None)
        check = getattr(manager, "_fail_if_not_ready_for_send", None)
        if not self._open or check is None:
            return False
        try:
            check()
        except KafkaError:
            return True
        return False

    def commit(self, next_offset: int) -> None:
        offsets = {self._tp: OffsetAndMetadata(int(next_offset), "", -1)}
        try:
            self._within_limit(
                "committed",
                lambda: self._producer.send_offsets_to_transaction(
                    offsets, self._consumer.group_metadata()
                ),
                self._producer.commit_transaction,
            )
        except KafkaError as exc:
            self.broken = True  # fenced or failed: the next user gets a fresh producer
            raise BrokerError(
                f"transaction on {self._tp.topic}/{self._tp.partition} not committed: {exc}"
            ) from exc
        finally:
            self._open = False

    def abort(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._within_limit("aborted", self._producer.abort_transaction)
        except Exception as exc:  # noqa: BLE001 - the next holder's producer aborts it anyway
            self.broken = True
            log.warning("transaction on %s not aborted: %s", self._tp, exc)

    def _within_limit(self, what: str, *steps: Callable[[], Any]) -> None:
        """Run ``steps`` (kafka-python's commit or abort, which wait for the transaction
        coordinator without a limit) within half the rebalance timeout, the share a fetch's
        processing gets too. With no limit, a broker gone mid-commit held the input there for
        good: the consumer stopped polling and the group dropped it. Past the limit the producer
        is broken (the next producer of the same id aborts or finishes its transaction) and a
        ``BrokerError`` restarts the input, which rejoins the group."""
        seconds = self._consumer.timeouts.rebalance_timeout / 2
        late = BrokerError(
            f"transaction on {self._tp.topic}/{self._tp.partition} not {what} within "
            f"{seconds:g}s: Kafka's transaction coordinator did not answer"
        )
        try:
            with gevent.Timeout(seconds, late):
                for step in steps:
                    step()
        except BrokerError:
            self.broken = True
            raise

    def close(self) -> None:
        try:
            self._producer.close(timeout=1)
        except Exception:  # closing must go on
            log.exception("closing a transactional producer failed")
