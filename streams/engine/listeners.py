"""The listeners one reader of a topic feeds, indexed by what each of them keeps.

A topic like the seed's ``completed`` is shared by every user's hub, and each hub keeps only
the records whose ``user_id`` is its user's (its ``route``, a ``FieldFilter``). Offering every
record to every hub made one record cost a worker with a thousand users a thousand checks.
``Listeners`` keeps the routed listeners by path and value, so ``chosen`` finds a record's
listeners with one read of its field and one lookup: the unrouted ones, and the routed ones whose
value the field has. A record whose field is not a string (or cannot be read at all) goes to
every routed listener, and each one's own check decides, as before.

A routed listener is not told of the records it is not chosen for. What that leaves out is
safe because a route is exact (``streams.bloblang.filters``): every such record is one its
processors delete. Its own positions stop at the last record it was fed; its hub moves them up
to its reader's (``TopicFeed.position_of``) before it commits, so commits move as far as if it
had been offered and deleted every record.

Each listener may also have a ``read_hook``, which counts the records its stream read
(``read_tally.py``). A routed listener's hook is called by the feed (``reads``), once per record
and hook, for every record at or past the skip position of one of the hook's listeners, fed or
not: a stream's count must not depend on which of its users are connected.

No I/O: tested alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from streams.bloblang.filters import FieldFilter, field_value

Skip = dict[int, int]
"""Per partition, the offset below which a listener is fed nothing."""


class Listeners:
    """listener -> ``Skip``, as a dict, with the routed listeners indexed (module doc)."""

    __slots__ = ("_by_value", "_floors", "_hooks", "_routes", "_skips", "_unrouted")

    def __init__(self, skips: dict[Any, Skip] | None = None) -> None:
        self._skips: dict[Any, Skip] = {}
        self._routes: dict[Any, tuple[FieldFilter, Callable[..., Any] | None]] = {}
        self._by_value: dict[tuple[str, ...], dict[str, dict[Any, None]]] = {}
        self._unrouted: dict[Any, None] = {}  # insertion-ordered set
        self._hooks: dict[Callable[..., Any], dict[Any, None]] = {}  # hook -> its listeners
        self._floors: dict[Callable[..., Any], Skip] | None = None  # per hook, the lowest skips
        for listener, skip in (skips or {}).items():
            self[listener] = skip

    # -- the dict the feed used -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._skips)

    def __bool__(self) -> bool:
        return bool(self._skips)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._skips))

    def __contains__(self, listener: Any) -> bool:
        return listener in self._skips

    def get(self, listener: Any) -> Skip | None:
        return self._skips.get(listener)

    def items(self) -> list[tuple[Any, Skip]]:
        return list(self._skips.items())

    def __setitem__(self, listener: Any, skip: Skip) -> None:
        if listener not in self._skips:
            self._add(listener)
        self._skips[listener] = skip
        if listener in self._routes:
            self._floors = None  # PERF: only a routed listener's skips make the hooks' floors

    def pop(self, listener: Any) -> Skip | None:
        skip = self._skips.pop(listener, None)
        if skip is not None:
            if listener in self._routes:
                self._floors = None
            self._remove(listener)
        return skip

    def clear(self) -> None:
        self._skips.clear()
        self._routes.clear()
        self._by_value.clear()
        self._unrouted.clear()
        self._hooks.clear()
        self._floors = None

    # -- routing ----------------------------------------------------------------------------

    def chosen(self, message: Any) -> list[Any]:
        """The listeners that may keep ``message``, in a stable order: the unrouted ones, then
        for each path the routed ones whose value it has there (all of them when the field is
        not a string)."""
        out = list(self._unrouted)
        for path, by_value in self._by_value.items():
            field = field_value(message, path)
            if type(field) is str:
                out.extend(by_value.get(field, ()))
            else:  # a number, null, unreadable...: each route's own check decides
                for group in by_value.values():
                    out.extend(group)
        return out

    def reads(self, partition: int, offset: int) -> list[Callable[..., Any]]:
        """The routed listeners' read hooks to call for the record at ``offset`` (module doc)."""
        if not self._hooks:
            return []
        floors = self._floors
        if floors is None:
            floors = self._floors = {
                hook: _lowest([self._skips[listener] for listener in listeners])
                for hook, listeners in self._hooks.items()
            }
        return [hook for hook, floor in floors.items() if offset >= floor.get(partition, 0)]

    def _add(self, listener: Any) -> None:
        route = getattr(listener, "route", None)
        if not isinstance(route, FieldFilter):
            self._unrouted[listener] = None
            return
        hook = getattr(listener, "read_hook", None)
        self._routes[listener] = (route, hook)
        self._by_value.setdefault(route.path, {}).setdefault(route.value, {})[listener] = None
        if hook is not None:
            self._hooks.setdefault(hook, {})[listener] = None

    def _remove(self, listener: Any) -> None:
        routed = self._routes.pop(listener, None)
        if routed is None:
            self._unrouted.pop(listener, None)
            return
        route, hook = routed
        by_value = self._by_value[route.path]
        group = by_value[route.value]
        group.pop(listener, None)
        if not group:
            del by_value[route.value]
            if not by_value:
                del self._by_value[route.path]
        if hook is not None:
            listeners = self._hooks[hook]
            listeners.pop(listener, None)
            if not listeners:
                del self._hooks[hook]


def _lowest(skips: list[Skip]) -> Skip:
    """Per partition, the lowest of ``skips`` (a partition one of them lacks: 0, fed from the
    start)."""
    parts = {p for skip in skips for p in skip}
    return {p: min(skip.get(p, 0) for skip in skips) for p in parts}
