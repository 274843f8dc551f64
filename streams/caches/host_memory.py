"""A cache whose entries every worker process of the host shares (DESIGN §10): what the
``memory`` cache resource is built on.

Backed by the host's shared state (``HostState`` ``cache_*``), namespaced per stream instance
and label, so a value set through one worker is read by the others.
"""

from __future__ import annotations

from typing import Any

from streams.caches.base import Cache, CacheError, KeyExists, KeyNotFound
from streams.engine.host import HostState, HostStateError


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
