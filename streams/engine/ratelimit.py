"""Stream resources kept per worker process: local rate limits (``rate_limit_resources`` with a
``local`` limit) and memory cache TTLs (``cache_resources``).

An ``http_server`` input naming one answers 429 with ``Retry-After`` once ``count`` pushes were
accepted within ``interval``.
"""

from __future__ import annotations

import time
from typing import Any

from streams.contracts import ConfigError
from streams.engine.durations import parse_duration


class LocalLimit:
    """A fixed window of ``count`` accepted calls per ``interval`` seconds."""

    def __init__(self, count: int, interval: float) -> None:
        if count <= 0 or interval <= 0:
            raise ValueError("count and interval must be positive")
        self.count = count
        self.interval = interval
        self._window_start = time.monotonic()
        self._used = 0

    def take(self) -> float:
        """0 when the call may go ahead (and is counted), else seconds until the next window."""
        now = time.monotonic()
        if now - self._window_start >= self.interval:
            self._window_start = now
            self._used = 0
        if self._used < self.count:
            self._used += 1
            return 0.0
        return self.interval - (now - self._window_start)


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


def lookup(res: Any, label: str) -> LocalLimit:
    limits = res.scope.rate_limits
    if label not in limits:
        raise ConfigError(f"{res.path}.rate_limit: no rate_limit_resources entry labelled {label!r}")
    return limits[label]


def cache_ttls(confs: Any) -> dict[str, float]:
    """``cache_resources`` entries with a ``memory`` cache, as label -> default TTL in seconds
    (what the in-memory ``dedupe`` processor honours)."""
    ttls: dict[str, float] = {}
    for conf in confs or []:
        if isinstance(conf, dict) and isinstance(conf.get("memory"), dict) and conf.get("label"):
            try:
                ttls[conf["label"]] = parse_duration(conf["memory"].get("default_ttl", "5m"))
            except ValueError:
                continue
    return ttls
