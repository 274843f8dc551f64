"""The bookkeeping of a ``BrokerHub``, free of I/O: fed events, answering decisions (as h11's
state machine is fed bytes and answers events).

No gevent, no broker, no clock here. The hub (``streams.engine.hub``) reads and commits offsets
and moves messages; these classes say *which* offsets (DESIGN §4, promises 2, 4, 5):

* ``ClientLedger``: one stream client (SSE/WS). Per ``(topic, partition)`` the offsets queued to
  it but not acknowledged, the positions below which the live feed must not offer it anything
  (it had those from its own catch-up reader), and while it catches up privately, how far it read.
* ``BroadcastLedger``: one hub's live feed. How far it offered records to its clients, whether a
  catch-up client may merge into it, and the commit plan: the lowest position every attached
  client acknowledged, never below what was committed before.
* ``GetClaim``: one GET reading from the user's committed offsets. Which offsets to commit when
  it claims a record (the records the processors deleted on the way count as delivered), which
  to commit when it ends without one (only where nobody moved the position meanwhile), and
  ``Claimed.rollback``: hand a record back only if nobody moved the position since the claim.

Offsets are "next offsets" (the Kafka convention: committed 5 means 0..4 are done) unless a name
says ``offset`` of a record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

Key = tuple[str, int]
"""``(topic, partition)``."""


class ClientLedger:
    """One stream client's delivery bookkeeping (see module doc)."""

    __slots__ = ("_unacked", "reading", "skip_below")

    def __init__(self) -> None:
        self._unacked: dict[Key, deque[int]] = {}
        self.skip_below: dict[Key, int] = {}
        self.reading: dict[Key, int] | None = None

    def wants(self, key: Key, offset: int) -> bool:
        """Whether the live feed should offer this record (the client did not have it yet)."""
        return offset >= self.skip_below.get(key, 0)

    def queued(self, key: Key, offset: int) -> None:
        """The record at ``offset`` was queued to the client."""
        self._unacked.setdefault(key, deque()).append(offset)

    def acked(self, key: Key, offset: int) -> None:
        """The client wrote the record at ``offset`` (and, in order, everything queued before)."""
        pending = self._unacked.get(key)
        while pending and pending[0] <= offset:
            pending.popleft()

    def oldest_unacked(self, key: Key) -> int | None:
        pending = self._unacked.get(key)
        return pending[0] if pending else None

    def catching_up(self, start: dict[Key, int]) -> None:
        """The client reads privately (``Last-Event-ID`` resume) from ``start`` on."""
        self.reading = dict(start)

    def read(self, key: Key, offset: int) -> None:
        """Its private reader passed the record at ``offset`` (delivered or deleted)."""
        if self.reading is not None:
            self.reading[key] = max(self.reading.get(key, 0), offset + 1)

    def merged(self, positions: dict[Key, int]) -> None:
        """The client joined the live feed with its private reader at ``positions``."""
        self.skip_below = dict(positions)
        self.reading = None

    def low(self, key: Key, feed_position: int | None) -> int | None:
        """The position up to which this client acknowledged everything: its oldest unacked
        offset, else how far it read (privately, or the live feed's ``feed_position``); None
        when it has no say on ``key``."""
        oldest = self.oldest_unacked(key)
        if oldest is not None:
            return oldest
        if self.reading is not None:
            return self.reading.get(key)
        if feed_position is None:
            return None
        return max(feed_position, self.skip_below.get(key, feed_position))


class BroadcastLedger:
    """One hub's live-feed positions and commit plan (see module doc)."""

    __slots__ = ("_floor", "dirty", "offered")

    def __init__(self) -> None:
        self.offered: dict[Key, int] = {}
        self._floor: dict[Key, int] = {}
        self.dirty = False

    @property
    def started(self) -> bool:
        return bool(self.offered)

    def start(self, positions: dict[Key, int]) -> None:
        """The feed starts at ``positions`` (the group's committed offsets)."""
        self.offered = dict(positions)

    def stop(self) -> None:
        """The feed stopped (no client left); a restart re-reads the committed offsets."""
        self.offered = {}

    def wants(self, key: Key, offset: int) -> bool:
        """False for a record below the feed's position (a shared reader started lower)."""
        return offset >= self.offered.get(key, 0)

    def offered_through(self, key: Key, offset: int) -> None:
        """Every client was offered the record at ``offset`` (or it was deleted for all)."""
        self.offered[key] = offset + 1

    def acked(self) -> None:
        """A client acknowledged something: a commit is due."""
        self.dirty = True

    def can_merge(self, reading: dict[Key, int]) -> bool:
        """Whether a client catching up with a private reader at ``reading`` may join the live
        feed now without a gap: the feed runs and the reader is at or past it everywhere (records
        in between are skipped by the client's ``skip_below``)."""
        if not self.started:
            return False
        return all(reading.get(key, 0) >= pos for key, pos in self.offered.items())

    def plan(self, clients: Iterable[ClientLedger]) -> dict[str, dict[int, int]]:
        """Per topic and partition, the lowest position every client acknowledged (``low``),
        never below a position this ledger committed before. Clears ``dirty``."""
        clients = list(clients)
        self.dirty = False
        keys = set(self.offered)
        for client in clients:
            if client.reading is not None:
                keys |= set(client.reading)
        out: dict[str, dict[int, int]] = {}
        for key in sorted(keys):
            lows = [low for c in clients if (low := c.low(key, self.offered.get(key))) is not None]
            if not lows:
                continue
            out.setdefault(key[0], {})[key[1]] = max(min(lows), self._floor.get(key, 0))
        return out

    def forward(self, topic: str, plan: dict[int, int], committed: dict[int, int]) -> dict[int, int]:
        """Of ``plan`` for ``topic``, what moves the group's ``committed`` offsets forward."""
        return {p: o for p, o in plan.items() if o > committed.get(p, -1)}

    def committed(self, topic: str, offsets: dict[int, int]) -> None:
        """The hub committed ``offsets``: no later plan goes below them."""
        for p, o in offsets.items():
            key = (topic, p)
            self._floor[key] = max(self._floor.get(key, 0), o)


@dataclass(frozen=True)
class Move:
    """A compare-and-set of one topic's group positions (``Broker.compare_and_commit``): to
    ``new`` only if every partition of ``expected`` still holds that value (None: never
    committed)."""

    expected: dict[int, int | None]
    new: dict[int, int]


@dataclass(frozen=True)
class Claimed:
    """A record a GET claimed (the group's position was moved past it)."""

    topic: str
    partition: int
    offset: int

    def rollback(self) -> Move:
        """The move that hands the record back (the client left before it was written): only
        while the position is still just past it. Once somebody moved it on (a later GET took
        later records), going back would repeat them, and the move loses."""
        return Move({self.partition: self.offset + 1}, {self.partition: self.offset})


class GetClaim:
    """One GET's reading of one topic from the group's positions: ``committed`` as read (absent
    partitions were never committed), ``start`` the same with those filled in (where reading
    begins)."""

    __slots__ = ("committed", "skipped", "start", "topic")

    def __init__(self, topic: str, start: dict[int, int], committed: dict[int, int] | None = None) -> None:
        self.topic = topic
        self.start = dict(start)
        self.committed = dict(start if committed is None else committed)
        self.skipped: dict[int, int] = {}

    def skip(self, partition: int, offset: int) -> None:
        """The processors deleted the record at ``offset``: it counts as delivered."""
        self.skipped[partition] = max(self.skipped.get(partition, 0), offset + 1)

    def moved(self) -> dict[int, int]:
        """Positions past records deleted since ``start``."""
        return {p: o for p, o in self.skipped.items() if o > self.start.get(p, 0)}

    def expected(self, partitions: list[int]) -> dict[int, int | None]:
        """What the group held on ``partitions`` when this GET read it."""
        return {p: self.committed.get(p) for p in partitions}

    def claim(self, partition: int, offset: int) -> tuple[Move, Claimed]:
        """The move to make *before* handing out the record at ``offset``: past it, and past the
        deleted records of the other partitions, if nobody moved any of them since the GET read
        them. When the move loses, another GET took the record (or moved the position)."""
        new = {p: o for p, o in self.moved().items() if p != partition}
        new[partition] = offset + 1
        return Move(self.expected(sorted(new)), new), Claimed(self.topic, partition, offset)

    def skipped_moves(self) -> list[Move]:
        """The GET ends without a record: move past the deleted ones, per partition, where the
        group's position still is where this GET read it (a move that loses leaves the records
        for a later GET, which deletes them again)."""
        return [Move(self.expected([p]), {p: o}) for p, o in sorted(self.moved().items())]
