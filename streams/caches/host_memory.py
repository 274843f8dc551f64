"""``host_memory`` cache: entries every worker process of the host shares (DESIGN §10).

Backed by the host's shared state (``HostState`` ``cache_*``), namespaced per stream instance
and label, so a value set through one worker is read by the others. Not a Bento cache type: it
stands where Bento's single process would use ``memory``.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.caches.base import Cache, CacheError, KeyExists, KeyNotFound
from streams.durations import parse_duration
from streams.engine.host import HostState, HostStateError
from streams.registry import Field


class HostMemoryCache(Cache):
    def __init__(self, host: HostState, namespace: str, default_ttl: float, init_values: dict[str, str] | None = None) -> None:
        self.host = host
        self.namespace = namespace
        self.default_ttl = default_ttl
        for key, value in (init_values or {}).items():
            self._guard(lambda k=key, v=value: self.host.cache_add(namespace, k, str(v).encode(), None))

    def get(self, key: str) -> bytes:
        value = self._guard(lambda: self.host.cache_get(self.namespace, key))
        if value is None:
            raise KeyNotFound()
        return value

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._guard(lambda: self.host.cache_set(self.namespace, key, value, self._ttl(ttl)))

    def add(self, key: str, value: bytes, ttl: float | None = None) -> None:
        if not self._guard(lambda: self.host.cache_add(self.namespace, key, value, self._ttl(ttl))):
            raise KeyExists()

    def delete(self, key: str) -> None:
        self._guard(lambda: self.host.cache_delete(self.namespace, key))

    def _ttl(self, ttl: float | None) -> float | None:
        seconds = self.default_ttl if ttl is None else ttl
        return seconds if seconds > 0 else None

    @staticmethod
    def _guard(call: Any) -> Any:
        try:
            return call()
        except HostStateError as exc:
            raise CacheError(str(exc)) from exc


def _factory(conf: dict[str, Any], res: Any, label: str) -> HostMemoryCache:
    ttl = parse_duration(conf["default_ttl"]) if conf["default_ttl"] else 0.0
    return HostMemoryCache(res.host, f"{res.scope.instance_key}/{label}", ttl, conf["init_values"])


SPEC = registry.cache(
    "host_memory",
    _factory,
    Field("default_ttl", "duration", "5m", "How long an entry lives unless its write gives a ttl."),
    Field("init_values", "object", {}, "Entries added at start when not already there (they never expire)."),
    doc="Entries shared by every worker process of the host.",
)
