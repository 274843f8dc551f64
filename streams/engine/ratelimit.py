"""Stream resources: local rate limits (``rate_limit_resources`` with a ``local`` limit) and
memory cache TTLs (``cache_resources``).

A ``local`` limit is counted for the whole host (DESIGN §10): every worker process takes from
the same fixed window in the host's shared state, so ``count: 5`` lets five calls through per
``interval`` on the host, however many workers serve them. Each stream instance has its own
windows (``<instance key>/<label>``). An ``http_server`` input naming one answers 429 with
``Retry-After`` once ``count`` pushes were accepted within ``interval``.

With several gateway hosts on one Kafka each host admits its share, ``ceil(count / hosts)``
(``streams.ratelimits.host_share``, as for the APIs' rate limits and the keys' quotas), so the
hosts together admit at most ``count + hosts - 1`` per window; on one host nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.contracts import ConfigError
from streams.durations import parse_duration
from streams.engine.host import HostState
from streams.ratelimits import host_share


@dataclass(frozen=True)
class LocalLimit:
    """A ``local`` rate limit resource: a fixed window of ``count`` accepted calls per
    ``interval`` seconds."""

    count: int
    interval: float

    def __post_init__(self) -> None:
        if self.count <= 0 or self.interval <= 0:
            raise ValueError("count and interval must be positive")

    def on_host(self, host: HostState, name: str, hosts: Callable[[], int] = lambda: 1) -> HostLimit:
        """This limit counted across the host's processes under ``name``; ``hosts`` tells how
        many gateway hosts share the cluster."""
        return HostLimit(host, name, self.count, self.interval, hosts)


class HostLimit:
    """A ``LocalLimit`` whose window every process of the host shares."""

    def __init__(
        self, host: HostState, name: str, count: int, interval: float, hosts: Callable[[], int] = lambda: 1
    ) -> None:
        self.host = host
        self.name = name
        self.count = count
        self.interval = interval
        self.hosts = hosts

    def take(self) -> float:
        """0 when the call may go ahead (and is counted), else seconds until the next window."""
        return self.host.rate_take(self.name, host_share(self.count, self.hosts()), self.interval)


def build_limits(confs: Any, where: str) -> dict[str, LocalLimit]:
    """The stream's ``rate_limit_resources`` list as limits by label."""
    limits: dict[str, LocalLimit] = {}
    for i, conf in enumerate(confs or []):
        if not isinstance(conf, dict) or "label" not in conf:
            raise ConfigError(f"{where}.{i}: a rate limit resource needs a label")
        local = conf.get("local")
        if not isinstance(local, dict):
            raise ConfigError(f"{where}.{i}: only `local` rate limits are supported")
        try:
            limits[conf["label"]] = LocalLimit(int(local.get("count", 1000)), parse_duration(local.get("interval", "1s")))
        except ValueError as exc:
            raise ConfigError(f"{where}.{i}.local: {exc}") from None
    return limits


def lookup(res: Any, label: str) -> HostLimit:
    """The limit labelled ``label`` among the stream's resources, counted for the host under the
    stream instance's key."""
    limits = res.scope.rate_limits
    if label not in limits:
        raise ConfigError(f"{res.path}.rate_limit: no rate_limit_resources entry labelled {label!r}")
    return limits[label].on_host(res.host, f"{res.scope.instance_key}/{label}", res.services.host_count)


def cache_ttls(confs: Any) -> dict[str, float]:
    """``cache_resources`` entries with a ``memory`` cache, as label -> default TTL in seconds
    (what the ``dedupe`` processor keeps its keys for)."""
    ttls: dict[str, float] = {}
    for conf in confs or []:
        if isinstance(conf, dict) and isinstance(conf.get("memory"), dict) and conf.get("label"):
            try:
                ttls[conf["label"]] = parse_duration(conf["memory"].get("default_ttl", "5m"))
            except ValueError:
                continue
    return ttls
