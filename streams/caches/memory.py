"""``memory`` cache: entries kept in this worker process only (Bento's ``memory`` cache).

A plain dict with expiry times and no I/O; the clock is injectable so expiry is tested without
sleeping. An expired entry reads as missing at once; ``compaction_interval`` is how often expired
entries are swept out of memory (empty: never, entries only go when read or replaced).
For entries every worker of the host sees, use the ``host_memory`` cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streams import registry
from streams.caches.base import Cache, KeyExists, KeyNotFound
from streams.contracts import ConfigError
from streams.durations import parse_duration
from streams.registry import Field


class MemoryCache(Cache):
    def __init__(
        self,
        default_ttl: float,
        compaction_interval: float = 60.0,
        init_values: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_ttl = default_ttl
        self.compaction_interval = compaction_interval
        self.clock = clock
        self._entries: dict[str, tuple[bytes, float | None]] = {}
        self._next_compaction = clock() + compaction_interval
        for key, value in (init_values or {}).items():
            self._entries[key] = (str(value).encode(), None)  # Bento's initial values never expire

    def get(self, key: str) -> bytes:
        self._compact()
        entry = self._live(key)
        if entry is None:
            raise KeyNotFound()
        return entry[0]

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._compact()
        self._entries[key] = (value, self._expires(ttl))

    def add(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._compact()
        if self._live(key) is not None:
            raise KeyExists()
        self._entries[key] = (value, self._expires(ttl))

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        """Entries held, expired ones not yet swept included."""
        return len(self._entries)

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= self.clock():
            del self._entries[key]
            return None
        return entry

    def _expires(self, ttl: float | None) -> float | None:
        seconds = self.default_ttl if ttl is None else ttl
        return self.clock() + seconds if seconds > 0 else None

    def _compact(self) -> None:
        if self.compaction_interval <= 0:
            return
        now = self.clock()
        if now < self._next_compaction:
            return
        self._next_compaction = now + self.compaction_interval
        for key in [k for k, (_, expires) in self._entries.items() if expires is not None and expires <= now]:
            del self._entries[key]


def _seconds(text: str) -> float:
    return parse_duration(text) if text else 0.0


def _factory(conf: dict[str, Any], res: Any, label: str) -> MemoryCache:
    try:
        compaction = _seconds(str(conf["compaction_interval"]))
    except ValueError as exc:
        raise ConfigError(f"{res.path}.cache_resources.{label}.compaction_interval: {exc}") from None
    return MemoryCache(_seconds(conf["default_ttl"]), compaction, conf["init_values"])


SPEC = registry.cache(
    "memory",
    _factory,
    Field("default_ttl", "duration", "5m", "How long an entry lives unless its write gives a ttl."),
    # A string, not a duration: Bento writes "" for "never", which a duration field refuses.
    Field("compaction_interval", "string", "60s", "How often expired entries are swept; empty: never."),
    Field("init_values", "object", {}, "Entries present from the start (they never expire)."),
    Field("shards", "int", 1, "Accepted for Bento compatibility; one map is used."),
    doc="Entries kept in this worker process.",
)
