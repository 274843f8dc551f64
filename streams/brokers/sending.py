"""Produce attempts that survive retries: which record is still held by the producer, which
is stored, which definitely is not.

Why: a retry of a write (the ``broker`` output's fan-out retries, the ``kafka`` input's
redelivery of a failed write) used to produce the record again while its first attempt still
sat in the producer waiting for the broker. When the broker came back every copy landed: one
push answered 408 was written 2–4 times. The rule kept here (DESIGN §4 promise 1):

* a record whose produce is still pending is *waited on*, never produced again;
* a record that is stored is done (a retry of the write does not touch it);
* only a record that definitely was not stored (``REJECTED``) is produced again, and only
  while the write is still wanted;
* a record whose outcome is unknown (the producer gave up after it may have reached the
  broker) is produced again only for an at-least-once source that would otherwise stall;
* once the write is abandoned (its push was answered 408) nothing new is produced.

``SendLedger`` is plain bookkeeping without IO: the output asks ``next(key, ...)`` what to do,
performs it, and reports back with ``sent`` / ``stored`` / ``failed``.

``TransactionalGroup`` is what a group consumer offers when its cluster has transactions (Kafka):
the ``kafka`` input then commits each partition's progress in the same transaction as the records
its outputs wrote, so a worker killed between a write and a commit leaves no duplicate behind.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from streams.brokers.base import BrokerError, Position, Record


class Outcome(enum.Enum):
    """How a finished produce attempt ended, as far as the producer can tell."""

    STORED = "stored"
    REJECTED = "rejected"  # definitely not stored: never left the producer, or refused by the broker
    UNKNOWN = "unknown"  # given up on after it may have reached the broker


class Action(enum.Enum):
    PRODUCE = "produce"  # send the record now
    WAIT = "wait"  # wait on the attempt the producer still holds
    DONE = "done"  # stored already
    GIVE_UP = "give_up"  # fail the write without producing


@dataclass(frozen=True)
class Step:
    """What to do next for one record, with the pending attempt (``WAIT``) or why (``GIVE_UP``)."""

    action: Action
    pending: Any = None
    reason: str = ""


class SendPending(BrokerError):
    """Not acknowledged in time, but the producer still holds the record: it may yet be stored."""


class SendFailed(BrokerError):
    """The producer finished the attempt without storing the record (as far as it knows)."""

    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


@runtime_checkable
class PendingSend(Protocol):
    """One record handed to a producer (a broker's ``send``)."""

    def wait(self, timeout: float) -> Position:
        """The stored position; ``SendPending`` after ``timeout``, ``SendFailed`` when it ended
        without storing the record."""
        ...


@runtime_checkable
class Sender(Protocol):
    """A broker whose producer accepts a record first and acknowledges it later (Kafka)."""

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Any = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> PendingSend: ...


class Stored:
    """A produce that finished synchronously (a broker without ``send``)."""

    def __init__(self, position: Position) -> None:
        self.position = position

    def wait(self, timeout: float) -> Position:
        return self.position


@dataclass
class _Entry:
    pending: Any = None
    outcome: Outcome | None = None
    position: Position | None = None


class SendLedger:
    """Per write (one pass of a batch, kept across its retries): the state of each record."""

    def __init__(self) -> None:
        self._entries: dict[Any, _Entry] = {}

    def next(self, key: Any, *, wanted: bool, redeliver_unknown: bool = False) -> Step:
        """What to do for record ``key``; ``wanted`` is False once the write was abandoned."""
        entry = self._entries.get(key)
        if entry is None:
            return Step(Action.PRODUCE) if wanted else Step(Action.GIVE_UP, reason="abandoned before it was produced")
        if entry.outcome is None:
            return Step(Action.WAIT, pending=entry.pending)
        if entry.outcome is Outcome.STORED:
            return Step(Action.DONE)
        if not wanted:
            return Step(Action.GIVE_UP, reason="abandoned after a failed attempt")
        if entry.outcome is Outcome.REJECTED or redeliver_unknown:
            return Step(Action.PRODUCE)
        return Step(Action.GIVE_UP, reason="an earlier attempt may have been stored; not produced again")

    def sent(self, key: Any, pending: Any) -> None:
        """The producer accepted record ``key``: until it finishes, retries wait on ``pending``."""
        self._entries[key] = _Entry(pending=pending)

    def stored(self, key: Any, position: Position) -> None:
        self._entries[key] = _Entry(outcome=Outcome.STORED, position=position)

    def failed(self, key: Any, outcome: Outcome) -> None:
        if outcome is Outcome.STORED:
            raise ValueError("a stored record did not fail")
        self._entries[key] = _Entry(outcome=outcome)

    def position(self, key: Any) -> Position | None:
        entry = self._entries.get(key)
        return entry.position if entry is not None else None

    def pending(self) -> int:
        """Records handed to the producer and not finished yet."""
        return sum(1 for e in self._entries.values() if e.outcome is None)


class PartitionTransaction(Protocol):
    """The writes made while processing records of one consumed partition, committed together with
    the partition's next offset (a Kafka transaction): either both count or neither does."""

    def begin(self) -> None:
        """Open a transaction unless one is open."""
        ...

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Any = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> PendingSend:
        """A write inside the open transaction (``streams.brokers.sending.Sender``)."""
        ...

    def commit(self, next_offset: int) -> None:
        """Commit the writes and the consumed position; ``BrokerError`` when it did not happen."""
        ...

    def abort(self) -> None:
        """Drop the open transaction's writes (best effort)."""
        ...

    @property
    def failed(self) -> bool:
        """The open transaction takes no more writes (fenced by the partition's next holder, or
        a write failed so that it can only be aborted): retrying a write is pointless."""
        ...


@runtime_checkable
class TransactionalGroup(Protocol):
    """A group consumer that can bind its partitions' offsets to the writes made from them."""

    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]: ...

    def close(self) -> None: ...

    def transaction(self, topic: str, partition: int) -> PartitionTransaction: ...

    def rewind(self, topic: str, partition: int, offset: int) -> None:
        """Read the partition again from ``offset`` (records fetched but left unprocessed)."""
        ...
