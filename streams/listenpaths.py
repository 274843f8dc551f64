"""Which API definition owns which listen path (and API name): plain bookkeeping, no I/O.

Two APIs must never answer the same URL, and a file dropped into the definitions directory must
not take a path over from the API that already serves it. So every decision here is stable: an
API that owned a path before (``owners``, persisted by the caller in the host's state file so
every worker and every restart agrees) keeps it; among newcomers the oldest file (mtime) wins and
ties break by file name. Every worker that sees the same files and the same stored owners makes
the same decision.

Listen paths collide when they are equal or one is a prefix of the other (``/a/`` and ``/a/b/``):
a request under ``/a/b/`` would otherwise be claimed by two APIs, and the outer one answers 404
for paths it does not know. API names collide too: the name is part of the host-bus topics of a
stream, so two APIs of one name would share their messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar


class DefinitionRefused(ValueError):
    """A definition that cannot be served next to the others; ``http_status`` lets the
    management API answer 400 with the message."""

    http_status = 400


class ListenPathTaken(DefinitionRefused):
    """A definition was refused because another file already owns its listen path or name."""

    def __init__(self, what: str, value: str, newcomer: str, owner: str, owner_value: str) -> None:
        self.what = what
        self.value = value
        self.newcomer = newcomer
        self.owner = owner
        self.owner_value = owner_value
        if what == "listen path" and owner_value != value:
            clash = f"listen path {value} overlaps {owner_value}, which {owner} already serves"
        else:
            clash = f"{what} {value} is already used by {owner}"
        super().__init__(f"{clash}; {newcomer} is not served")


class Candidate(Protocol):
    """What the table needs of a definition."""

    name: str
    listen_path: str
    source: str


C = TypeVar("C", bound=Candidate)


@dataclass(frozen=True)
class _Claim:
    source: str
    listen_path: str
    name: str


def duplicate_routes(paths: Iterable[str]) -> list[str]:
    """Paths listed more than once (two streams of one API serving the same URL)."""
    seen: set[str] = set()
    twice: list[str] = []
    for path in paths:
        if path in seen and path not in twice:
            twice.append(path)
        seen.add(path)
    return twice


def overlap(a: str, b: str) -> bool:
    """Normalised listen paths (``/x/``) that would both match one request path."""
    return a.startswith(b) or b.startswith(a)


class ListenPaths:
    """The listen paths and names taken in one gateway, by source file."""

    def __init__(self) -> None:
        self._claims: dict[str, _Claim] = {}

    def conflict(self, source: str, listen_path: str, name: str) -> ListenPathTaken | None:
        """The error that claiming would raise, or None when the claim is free."""
        for claim in self._claims.values():
            if claim.source == source:
                continue
            if overlap(claim.listen_path, listen_path):
                return ListenPathTaken("listen path", listen_path, source, claim.source, claim.listen_path)
            if name and claim.name == name:
                return ListenPathTaken("API name", repr(name), source, claim.source, repr(claim.name))
        return None

    def claim(self, source: str, listen_path: str, name: str) -> None:
        """Take ``listen_path`` and ``name`` for ``source``; raises ``ListenPathTaken``."""
        error = self.conflict(source, listen_path, name)
        if error is not None:
            raise error
        self._claims[source] = _Claim(source, listen_path, name)

    def release(self, source: str) -> None:
        self._claims.pop(source, None)

    def owner_of(self, listen_path: str) -> str | None:
        for claim in self._claims.values():
            if claim.listen_path == listen_path:
                return claim.source
        return None


def claim_order(
    candidates: Iterable[C], owners: Callable[[str], str | None], mtimes: Mapping[str, float]
) -> list[C]:
    """The order in which to claim: APIs that owned their listen path before (``owners``:
    listen path -> source or None) first, then the others oldest file first, ties by source name.

    Claiming in this order gives every worker the same winners.
    """
    def key(c: C) -> tuple[int, float, str]:
        previous = 0 if owners(c.listen_path) == c.source else 1
        return (previous, mtimes.get(c.source, 0.0), c.source)

    return sorted(candidates, key=key)
