"""What authentication shares in one worker process: the keys log, the JWKS cache and the
host's counters; and the ``Gate`` of each API built from them.

A key's rate and quota are counted exactly for the host (every worker takes from one window) and,
with several gateway hosts on one Kafka, each host admits its share ``ceil(limit / hosts)``
(``streams.ratelimits.host_share``, the same split as the APIs' rate limits): all hosts together
admit at most ``limit + hosts - 1`` per window, fewer when a key's traffic is uneven across hosts."""

from __future__ import annotations

from collections.abc import Callable

from streams.auth.config import AuthConfig
from streams.auth.gate import Gate
from streams.auth.jwks import JwksKeys
from streams.auth.keystore import KeyStore
from streams.brokers.base import Broker
from streams.engine.host import HostState
from streams.ratelimits import host_share


class AuthServices:
    """One per worker: ``keys`` (the keys log), ``jwks`` and the host state for rates and quotas."""

    def __init__(
        self, broker: Callable[[], Broker], host: Callable[[], HostState], hosts: Callable[[], int] = lambda: 1
    ) -> None:
        self.keys = KeyStore(broker)
        self.jwks = JwksKeys()
        self._host = host
        self._hosts = hosts

    def gate(self, api_id: str, api_name: str, config: AuthConfig) -> Gate:
        return Gate(
            api_id,
            api_name,
            config,
            keys=self.keys.lookup,
            jwks=self.jwks.keys,
            limits=self._take,
        )

    def _take(self, name: str, count: int, interval: float) -> float:
        """This host's share of a key's rate or quota window (see the module doc)."""
        return self._host().rate_take(name, host_share(count, self._hosts()), interval)

    def close(self) -> None:
        self.keys.close()
