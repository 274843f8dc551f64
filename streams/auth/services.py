"""What authentication shares in one worker process: the keys log, the JWKS cache and the
host's counters; and the ``Gate`` of each API built from them."""

from __future__ import annotations

from collections.abc import Callable

from streams.auth.config import AuthConfig
from streams.auth.gate import Gate
from streams.auth.jwks import JwksKeys
from streams.auth.keystore import KeyStore
from streams.brokers.base import Broker
from streams.engine.host import HostState


class AuthServices:
    """One per worker: ``keys`` (the keys log), ``jwks`` and the host state for rates and quotas."""

    def __init__(self, broker: Callable[[], Broker], host: Callable[[], HostState]) -> None:
        self.keys = KeyStore(broker)
        self.jwks = JwksKeys()
        self._host = host

    def gate(self, api_id: str, api_name: str, config: AuthConfig) -> Gate:
        return Gate(
            api_id,
            api_name,
            config,
            keys=self.keys.lookup,
            jwks=self.jwks.keys,
            limits=lambda name, count, interval: self._host().rate_take(name, count, interval),
        )

    def close(self) -> None:
        self.keys.close()
