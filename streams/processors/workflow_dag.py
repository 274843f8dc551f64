"""The order a ``workflow`` runs its branches in: tiers of branch names, each tier after every
branch it depends on. Plain functions over names and paths, tested alone.

As Bento resolves it: branch B depends on branch A when a path B's ``request_map`` reads starts
with a path A's ``result_map`` assigns; a tier holds every branch whose dependencies are all in
earlier tiers (sorted by name); branches left over form a cycle, which is refused. An explicit
``order`` is taken as given once every branch appears in it exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Path = tuple[str, ...]
NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


class DagError(ValueError):
    """An order the branches cannot run in."""


def _starts_with(wanted: Path, provided: Path) -> bool:
    return len(wanted) >= len(provided) and wanted[: len(provided)] == provided


def dependencies(name: str, used: Mapping[str, Sequence[Path]], provided: Mapping[str, Sequence[Path]]) -> set[str]:
    """The branches ``name`` waits for."""
    return {
        other
        for other, paths in provided.items()
        if other != name and any(_starts_with(w, p) for p in paths for w in used.get(name, ()))
    }


def resolve(used: Mapping[str, Sequence[Path]], provided: Mapping[str, Sequence[Path]]) -> list[list[str]]:
    """Tiers of every branch named in ``provided`` (its keys are all the branches)."""
    deps = {name: dependencies(name, used, provided) for name in provided}
    done: set[str] = set()
    tiers: list[list[str]] = []
    while len(done) < len(deps):
        tier = sorted(n for n, d in deps.items() if n not in done and d <= done)
        if not tier:
            stuck = sorted(set(deps) - done)
            raise DagError(f"failed to automatically resolve DAG, circular dependencies detected for branches: [{' '.join(stuck)}]")
        tiers.append(tier)
        done.update(tier)
    return tiers


def verify(order: Sequence[Sequence[str]], names: Sequence[str]) -> list[list[str]]:
    """An explicit ``order``, checked against the branch ``names``."""
    seen: set[str] = set()
    for i, tier in enumerate(order):
        if not tier:
            raise DagError(f"explicit order tier '{i}' was empty")
        for name in tier:
            if name in seen:
                raise DagError(f"branch specified in order listed multiple times: {name}")
            seen.add(name)
    missing = sorted(set(names) - seen)
    if missing:
        raise DagError(f"the following branches were missing from order: [{' '.join(missing)}]")
    return [list(tier) for tier in order]
