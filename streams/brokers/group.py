"""Consumer-group liveness settings: the ``kafka`` input's ``group`` block (Bento's names and
defaults), validated, in the units Kafka clients take.

Why they matter: a worker that dies without leaving its group (SIGKILL, OOM) keeps its
partitions until the coordinator stops hearing its heartbeats. kafka-python's own default session
timeout is 45 s, so the shared ``Worker`` stream stalled 45–87 s after such a death; Bento's 10 s
lets the group rebalance within about 10 s. ``rebalance_timeout`` is how long the coordinator
waits for live members to rejoin; kafka-python sends its ``max_poll_interval_ms`` as that value
(and also leaves the group when the application does not poll for that long).

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.contracts import ConfigError
from streams.durations import parse_duration
from streams.interning import Interner

_FIELDS = ("session_timeout", "heartbeat_interval", "rebalance_timeout")


@dataclass(frozen=True)
class GroupTimeouts:
    """Seconds; defaults as Bento's ``kafka`` input."""

    session_timeout: float = 10.0
    heartbeat_interval: float = 3.0
    rebalance_timeout: float = 60.0

    @classmethod
    def from_config(cls, conf: Any, path: str) -> GroupTimeouts:
        """Read a ``group`` block; ``path`` is its config path, used in every error."""
        if conf is None:
            conf = {}
        if not isinstance(conf, dict):
            raise ConfigError(f"{path}: expected an object")
        unknown = sorted(set(conf) - set(_FIELDS))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}: unknown field (expected one of {', '.join(_FIELDS)})")
        defaults = cls()
        values = {name: _positive(conf.get(name), getattr(defaults, name), f"{path}.{name}") for name in _FIELDS}
        timeouts = cls(**values)
        if timeouts.heartbeat_interval >= timeouts.session_timeout:
            raise ConfigError(
                f"{path}.heartbeat_interval: must be shorter than session_timeout "
                f"({timeouts.heartbeat_interval:g}s >= {timeouts.session_timeout:g}s)"
            )
        return _SHARED(timeouts)

    def consumer_configs(self) -> dict[str, int]:
        """kafka-python ``KafkaConsumer`` settings."""
        return {
            "session_timeout_ms": _ms(self.session_timeout),
            "heartbeat_interval_ms": _ms(self.heartbeat_interval),
            "max_poll_interval_ms": _ms(self.rebalance_timeout),
        }


def _positive(value: Any, default: float, where: str) -> float:
    if value is None or value == "":
        return default
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{where}: must be a positive duration, got {value!r}")
    return seconds


def _ms(seconds: float) -> int:
    return max(1, int(round(seconds * 1000)))


_SHARED: Interner[GroupTimeouts] = Interner()
"""Equal ``group`` blocks of many instances (one per user) are one object."""
