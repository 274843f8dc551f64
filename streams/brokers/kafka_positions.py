"""Per-user positions on Kafka, ordered by a log so that a compare-and-set is possible.

Kafka's OffsetCommit is unconditional: two GETs (two workers, two hosts) that both read offset 5
and both commit 6 both "succeed", and both hand out the record at 5 (DESIGN §4 promise 4). Here
every commit of a hub's group is a record of the compacted topic ``POSITIONS_TOPIC``, keyed by
``group/topic`` and written to the partition that key picks, so all moves of one user's position
are in one partition in one total order. ``PositionFold`` (``streams.brokers.positions``) replays
that order the same way in every process: a move applies only when the position still is what
its writer read. A claimant writes its move (acks=all), folds the partition up to its own record
and so learns whether it won; ``committed`` folds up to the partition's end first, so it sees
every move acknowledged before it was asked.

Each ``PositionLog`` (one per ``KafkaBroker``, so one per worker process) keeps one consumer on
the whole topic and reads forward only, on demand: a claim costs one produce and a short fetch,
not a scan. Positions the log has never seen come from the group's Kafka offsets; winners write
their position back there too (in the background, coalesced), so lag tools see it.

NOTE: ``min.compaction.lag.ms`` keeps every move for a week before compaction may drop it: a
process that starts folding after compaction sees only the last record of a key, which is the
truth unless that record was a losing move (then the fold trusts it; see the fold's rule for
keys it has not seen). A week-idle user whose last GET lost a race is the only case affected.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import gevent
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic, OffsetSpec
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.brokers.base import BrokerError, Position
from streams.brokers.next_flight import NextFlight
from streams.brokers.positions import PositionFold, PositionMove

log = logging.getLogger(__name__)

POSITIONS_TOPIC = "_streams.positions"
PARTITIONS = 8
_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "min.compaction.lag.ms": str(7 * 24 * 3600 * 1000),
}
_SYNC_TIMEOUT_S = 10.0


class PositionLog:
    """The positions topic as seen by one process (see module doc).

    ``produce(topic, value, key, partition)`` stores a record with acks=all; ``admin`` gives the
    shared admin client; ``consumer(**configs)`` a new consumer; ``group_offsets(group, topic)``
    and ``commit_group_offsets(group, topic, offsets)`` read and write the Kafka group offsets
    (the fallback and the mirror)."""

    def __init__(
        self,
        produce: Callable[[str, bytes, bytes, int], Position],
        admin: Callable[[], Any],
        consumer: Callable[..., KafkaConsumer],
        group_offsets: Callable[[str, str], dict[int, int]],
        commit_group_offsets: Callable[[str, str, dict[int, int]], None],
        topic: str = POSITIONS_TOPIC,
    ) -> None:
        self._produce = produce
        self._admin = admin
        self._new_consumer = consumer
        self._group_offsets = group_offsets
        self._commit_group_offsets = commit_group_offsets
        self.topic = topic
        self._fold = PositionFold()
        self._consumer: KafkaConsumer | None = None
        self._partitions = 0
        self._read_to: dict[int, int] = {}  # next offset the fold needs, per partition
        # Patched by gevent: waiting for it yields. One greenlet reads at a time; the others
        # wait and then usually find the fold already past what they need.
        self._lock = threading.Lock()
        self._mirror_due: set[tuple[str, str]] = set()
        self._mirror: gevent.Greenlet | None = None
        # The partitions' ends asked for while one look-up is on its way go in the next.
        self._ends: NextFlight[int, int] = NextFlight(self._read_ends, f"ends of {topic!r}")
        self._closed = False

    # -- the public operations -----------------------------------------------------------------

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """The folded position after every move acknowledged so far; the group's Kafka offsets
        for a position never moved through the log."""
        partition = self._partition_of(group, topic)
        self._sync(partition, self._end(partition))
        state = self._fold.get((group, topic))
        return state if state is not None else self._group_offsets(group, topic)

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        """An unconditional move (it always applies), mirrored to the group's Kafka offsets
        before it returns (plain commits are not on a GET's path; a caller may then read the
        group's offsets with any Kafka client)."""
        if self._move(PositionMove(group, topic, dict(offsets)), mirror=False) and offsets:
            state = self._fold.get((group, topic))
            self._commit_group_offsets(group, topic, state or dict(offsets))

    def compare_and_commit(
        self, group: str, topic: str, expected: dict[int, int | None], new: dict[int, int]
    ) -> bool:
        return self._move(PositionMove(group, topic, dict(new), dict(expected)))

    def close(self) -> None:
        self._closed = True
        if self._mirror is not None:
            self._mirror.kill(block=False)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                consumer.close(autocommit=False, timeout_ms=2000)
            except Exception:
                log.exception("closing the positions consumer failed")

    # -- moves -----------------------------------------------------------------------------------

    def _move(self, move: PositionMove, mirror: bool = True) -> bool:
        """Write ``move``, fold up to it, and say whether it applied; a winner is mirrored to
        the group's Kafka offsets in the background (``mirror``)."""
        if not move.new:
            return True
        self._open()
        mover = uuid.uuid4().hex
        move = PositionMove(move.group, move.topic, move.new, move.expected, mover)
        self._fold.watch(mover)
        try:
            key = f"{move.group}/{move.topic}".encode()
            at = self._produce(self.topic, move.encode(), key, self._partition_of(move.group, move.topic))
            self._sync(at.partition, at.offset + 1)
            won = self._fold.verdict(mover)
        finally:
            self._fold.forget(mover)
        if won is None:
            raise BrokerError(f"position move of {move.group!r} not found at {at.partition}/{at.offset}")
        if won and mirror:
            self._mirror_later(move.group, move.topic)
        return won

    # -- reading the log ---------------------------------------------------------------------------

    def _partition_of(self, group: str, topic: str) -> int:
        self._open()
        return zlib.crc32(f"{group}/{topic}".encode()) % self._partitions

    def _open(self) -> None:
        """Create the topic (compacted) unless it exists and start the consumer at its beginning."""
        if self._consumer is not None:
            return
        if self._closed:
            raise BrokerError("broker closed")
        with self._lock:
            if self._consumer is not None:
                return
            admin = self._admin()
            try:
                admin.create_topics([NewTopic(self.topic, PARTITIONS, -1, topic_configs=_TOPIC_CONFIG)])
            except TopicAlreadyExistsError:
                pass
            except KafkaError as exc:
                raise BrokerError(f"cannot create topic {self.topic!r}: {exc}") from exc
            consumer = self._new_consumer(group_id=None, auto_offset_reset="earliest", fetch_max_wait_ms=100)
            try:
                parts = self._wait_for_partitions(consumer)
                tps = [TopicPartition(self.topic, p) for p in parts]
                consumer.assign(tps)
                consumer.seek_to_beginning(*tps)
            except BaseException:
                consumer.close(autocommit=False, timeout_ms=1000)
                raise
            self._partitions = len(parts)
            self._read_to = {p: 0 for p in parts}
            self._consumer = consumer

    def _wait_for_partitions(self, consumer: KafkaConsumer) -> list[int]:
        deadline = time.monotonic() + _SYNC_TIMEOUT_S
        while True:
            parts = consumer.partitions_for_topic(self.topic)
            if parts:
                return sorted(parts)
            if time.monotonic() > deadline:
                raise BrokerError(f"topic {self.topic!r} has no partitions")
            gevent.sleep(0.1)

    def _end(self, partition: int) -> int:
        return self._ends.get(partition)

    def _read_ends(self, partitions: list[int]) -> dict[int, int]:
        """One ListOffsets for the ends of ``partitions``."""
        specs = {TopicPartition(self.topic, p): OffsetSpec.LATEST for p in partitions}
        deadline = time.monotonic() + _SYNC_TIMEOUT_S
        while True:
            try:
                got = self._admin().list_partition_offsets(specs)
                return {tp.partition: int(o.offset) for tp, o in got.items()}
            except KafkaError as exc:
                # NOTE: many look-ups at once on the one admin connection get "node not ready".
                if not getattr(exc, "retriable", False) or time.monotonic() > deadline:
                    raise BrokerError(f"cannot list offsets of {self.topic!r}: {exc}") from exc
                gevent.sleep(0.05)

    def _sync(self, partition: int, upto: int) -> None:
        """Fold until ``partition`` is read up to (not including) offset ``upto``."""
        if self._read_to.get(partition, 0) >= upto:
            return
        deadline = time.monotonic() + _SYNC_TIMEOUT_S
        with self._lock:
            consumer = self._consumer
            if consumer is None:
                raise BrokerError("broker closed")
            tp = TopicPartition(self.topic, partition)
            while self._read_to[partition] < upto:
                if time.monotonic() > deadline:
                    raise BrokerError(f"positions log not readable up to {partition}/{upto}")
                try:
                    batches = consumer.poll(timeout_ms=200, max_records=1000)
                    for got_tp, records in batches.items():
                        for rec in records:
                            self._apply(rec.value)
                        if records:
                            self._read_to[got_tp.partition] = records[-1].offset + 1
                    # Compaction leaves gaps (and the end may be a control record): trust the
                    # consumer's own position for the partition we wait on.
                    self._read_to[partition] = max(self._read_to[partition], consumer.position(tp))
                except KafkaError as exc:
                    raise BrokerError(f"reading {self.topic!r} failed: {exc}") from exc

    def _apply(self, raw: bytes | None) -> None:
        if raw is None:
            return  # a tombstone: nothing of ours writes one
        try:
            self._fold.apply(PositionMove.decode(raw))
        except (ValueError, KeyError, TypeError):
            log.warning("positions log: record not understood, skipped")

    # -- the mirror into Kafka group offsets ----------------------------------------------------

    def _mirror_later(self, group: str, topic: str) -> None:
        self._mirror_due.add((group, topic))
        if self._mirror is None or self._mirror.dead:
            self._mirror = gevent.spawn(self._mirror_loop)

    def _mirror_loop(self) -> None:
        """Write folded positions to the groups' Kafka offsets, the latest state of each key
        (so a mirror write overtaken by a newer one never leaves an old value behind for long)."""
        while self._mirror_due and not self._closed:
            group, topic = self._mirror_due.pop()
            state = self._fold.get((group, topic))
            if not state:
                continue
            try:
                self._commit_group_offsets(group, topic, state)
            except Exception:
                log.warning("positions log: mirroring %s/%s to the group's offsets failed", group, topic)
