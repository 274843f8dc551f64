"""Compare-and-set of a group's positions, and the fold that orders competing moves; no I/O.

Two GETs of one user waiting at the same moment, on two workers or two hosts, both see the next
record and both want to commit past it (DESIGN §4 promise 4). Only one may win. The embedded log
decides in one SQLite transaction (``matches`` below, read and written under ``BEGIN
IMMEDIATE``). Kafka offset commits are unconditional, so there the competing moves are ordered by
a log: every move of one ``(group, topic)`` is a record of one partition of the positions topic,
and ``PositionFold`` replays that partition in offset order. A move applies only when the state
it read (``expected``) is still the state; a plain commit (``expected`` None) always applies.
Every worker and host folding the same partition reaches the same state and the same verdict on
every move, so a claimant learns whether it won by folding up to its own record.

A ``(group, topic)`` the fold has never seen takes its first move whatever that move expected:
its earlier position lives in the group's Kafka offsets (read by the claimant as ``expected``),
and the first move in the log is, by the log's order, the one that happened first.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

Key = tuple[str, str]
"""``(group, topic)``."""


def matches(current: dict[int, int], expected: dict[int, int | None]) -> bool:
    """Whether ``current`` (committed next-offsets; absent = never committed) is what a mover
    read: every partition of ``expected`` holds its value (None: still uncommitted)."""
    return all(current.get(p) == want for p, want in expected.items())


@dataclass(frozen=True)
class PositionMove:
    """One record of the positions log: move ``(group, topic)`` to ``new`` if it still is at
    ``expected`` (a plain commit when ``expected`` is None). ``mover`` names the claimant, so it
    can find the verdict on its own record."""

    group: str
    topic: str
    new: dict[int, int]
    expected: dict[int, int | None] | None = None
    mover: str = ""

    @property
    def key(self) -> Key:
        return (self.group, self.topic)

    def encode(self) -> bytes:
        doc = {
            "g": self.group,
            "t": self.topic,
            "to": {str(p): o for p, o in self.new.items()},
            "from": None if self.expected is None else {str(p): o for p, o in self.expected.items()},
            "by": self.mover,
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> PositionMove:
        """Raises ``ValueError`` on a record this code did not write."""
        doc = json.loads(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("to"), dict):
            raise ValueError("not a position move")
        expected = doc.get("from")
        return cls(
            group=str(doc["g"]),
            # PERF: every fold entry names its topic, and the topics are few.
            topic=sys.intern(str(doc["t"])),
            new={int(p): int(o) for p, o in doc["to"].items()},
            expected=None if expected is None else {int(p): (None if o is None else int(o)) for p, o in expected.items()},
            mover=str(doc.get("by", "")),
        )


class PositionFold:
    """The positions every move so far leads to, per ``(group, topic)``; and the verdicts on the
    moves whose ``mover`` asked to be told (``watch``).

    PERF: a worker keeps an entry for every user whose position ever moved, for its life, so an
    entry is kept small: the positions as a tuple of ``(partition, offset)`` pairs rather than a
    dict, and the topic's name interned (``PositionMove.decode``). 465 -> 287 B per entry for
    20,000 users of one single-partition topic."""

    __slots__ = ("_state", "_verdicts", "_watched")

    def __init__(self) -> None:
        self._state: dict[Key, tuple[tuple[int, int], ...]] = {}
        self._watched: set[str] = set()
        self._verdicts: dict[str, bool] = {}

    def get(self, key: Key) -> dict[int, int] | None:
        """The folded positions, or None when no move of ``key`` was seen."""
        state = self._state.get(key)
        return None if state is None else dict(state)

    def watch(self, mover: str) -> None:
        """Keep the verdict on ``mover``'s move (register before the move is written)."""
        self._watched.add(mover)

    def verdict(self, mover: str) -> bool | None:
        """Whether ``mover``'s move applied; None while it has not been folded. Forgets it."""
        got = self._verdicts.pop(mover, None)
        if got is not None:
            self._watched.discard(mover)
        return got

    def forget(self, mover: str) -> None:
        self._watched.discard(mover)
        self._verdicts.pop(mover, None)

    def apply(self, move: PositionMove) -> bool:
        """Fold the next move of its partition; True when it applied."""
        state = self._state.get(move.key)
        applies = state is None or move.expected is None or matches(dict(state), move.expected)
        if applies:
            self._state[move.key] = tuple({**dict(state or ()), **move.new}.items())
        if move.mover in self._watched:
            self._verdicts[move.mover] = applies
        return applies
