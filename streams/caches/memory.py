"""``memory`` cache: Bento's in-memory cache, held once per host (DESIGN §10).

A host behaves as one gateway, whatever its number of worker processes: what ``cache`` sets
through one worker, ``cache get`` or ``cached`` reads through any other, as they would in Bento's
single process. The entries live in the host's shared state (``HostMemoryCache``), namespaced per
stream instance and label. Expired entries read as missing at once and are swept by the host
state, so ``compaction_interval`` and ``shards`` are accepted for Bento's configs and change
nothing.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.caches.host_memory import HostMemoryCache
from streams.durations import parse_duration
from streams.registry import Field


def _factory(conf: dict[str, Any], res: Any, label: str) -> HostMemoryCache:
    ttl = parse_duration(conf["default_ttl"]) if conf["default_ttl"] else 0.0
    return HostMemoryCache(res.host, f"{res.scope.instance_key}/{label}", ttl, conf["init_values"])


SPEC = registry.cache(
    "memory",
    _factory,
    Field("default_ttl", "duration", "5m", "How long an entry lives unless its write gives a ttl."),
    Field("compaction_interval", "string", "60s", "Accepted; expired entries are swept by the host state."),
    Field("init_values", "object", {}, "Entries added at start when not already there (they never expire)."),
    Field("shards", "int", 1, "Accepted for Bento compatibility; one map is used."),
    doc="Entries shared by every worker process of the host.",
)
