"""The broker interface the engine codes against; Kafka and the embedded log both implement it.

Everything here blocks only the calling greenlet (gevent is patched before these run). The
interface is shaped by the delivery promises of DESIGN §4:

* ``produce`` returns only once the record is durably stored (Kafka: acks=all) -> promise 1.
* ``Reader`` reads a topic's partitions from explicit offsets without joining a consumer group,
  so every worker process can serve a user's connections (broadcast, promise 5) and a GET can
  start from the user's committed offset on any worker (promise 4).
* ``committed``/``commit`` read and write a group's offsets directly; offsets are committed only
  after delivery (promise 2). ``compare_and_commit`` moves them only if nobody moved them since
  they were read: of two GETs claiming one record at once, on any workers or hosts, one wins
  (promise 4).
* ``GroupConsumer`` is classic competing consumption for template-free streams (``Worker``):
  each record is processed by one member of the group.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.brokers.group import GroupTimeouts


@dataclass(frozen=True, order=True)
class Position:
    """Where a record sits: rendered as ``topic/partition/offset`` in logs, ``partition-offset``
    in SSE ``id:`` fields."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Record:
    """One stored record."""

    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())
    timestamp_ms: int = 0
    skipped: int = 0
    """Offsets the reader passed over right before this record: Kafka's transaction markers
    and aborted records, which a read_committed reader never returns (0 where a log has no
    such gaps). Lets the hub count records, not offsets (``engine.read_tally``)."""

    @property
    def position(self) -> Position:
        return Position(self.topic, self.partition, self.offset)


class BrokerError(Exception):
    """A broker operation failed (unreachable, produce rejected, timeout)."""


class Reader(ABC):
    """Reads partitions of one topic from explicit offsets; no group membership."""

    @abstractmethod
    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]:
        """Records after the current positions, in offset order per partition; waits up to
        ``timeout`` seconds for at least one. Advances the positions past what it returns."""

    @abstractmethod
    def seek(self, offsets: dict[int, int]) -> None:
        """Move to these next-offsets per partition (others unchanged)."""

    @abstractmethod
    def positions(self) -> dict[int, int]:
        """The next offset to read, per partition."""

    @abstractmethod
    def close(self) -> None: ...


class GroupConsumer(ABC):
    """Competing consumer in a group: each partition is read by one member at a time."""

    @abstractmethod
    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]: ...

    @abstractmethod
    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commit next-offsets per (topic, partition) for this group."""

    @abstractmethod
    def close(self) -> None: ...


class Broker(ABC):
    """One connection to a cluster (or the embedded log), shared by a worker process."""

    @abstractmethod
    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> Position:
        """Store one record; returns once acknowledged by all in-sync replicas."""

    @abstractmethod
    def partitions(self, topic: str) -> list[int]:
        """The topic's partition ids (auto-creating the topic where the broker allows)."""

    @abstractmethod
    def beginning_offsets(self, topic: str) -> dict[int, int]: ...

    @abstractmethod
    def end_offsets(self, topic: str) -> dict[int, int]: ...

    @abstractmethod
    def committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's committed next-offsets for the topic; partitions never committed are absent."""

    @abstractmethod
    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None: ...

    @abstractmethod
    def compare_and_commit(
        self, group: str, topic: str, expected: dict[int, int | None], new: dict[int, int]
    ) -> bool:
        """Commit ``new`` only if, for every partition of ``expected``, the group's committed
        next-offset still is that value (None: never committed). True when it did; atomic
        against every other commit of the group, from any process or host."""

    def ensure_topic(self, topic: str, partitions: int, *, compacted: bool = False) -> None:
        """Create ``topic`` with ``partitions`` unless it exists; ``compacted``: keep the last
        record of each key (Kafka's ``cleanup.policy=compact``; the embedded log keeps all)."""
        self.partitions(topic)

    @abstractmethod
    def reader(self, topic: str, start: dict[int, int]) -> Reader: ...

    @abstractmethod
    def group_consumer(
        self, group: str, topics: list[str], start_from_oldest: bool = True, timeouts: GroupTimeouts | None = None
    ) -> GroupConsumer:
        """A member of ``group``; ``timeouts`` (session, heartbeat, rebalance) default as Bento's."""

    @abstractmethod
    def close(self) -> None: ...
