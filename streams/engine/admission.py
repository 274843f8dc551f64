"""Whether a request may go ahead: the API's rate limits and the streaming connections one
client may hold, counted over every worker of the host (``HostState``) and, for rate limits,
shared between the hosts of a Kafka cluster (``ClusterHosts``).

The HTTP layer asks here once per request (and once per WebSocket message); it knows nothing
of how counting is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.engine.host import HostState
from streams.ratelimits import RateLimit, host_share, retry_after


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted: what to tell the client and when to come back."""

    message: str
    retry_after: int


class StreamingSlot:
    """One streaming connection counted for an identity; ``close`` (once) gives it back."""

    def __init__(self, host: HostState, identity: str) -> None:
        self._host = host
        self._identity: str | None = identity

    def close(self) -> None:
        identity, self._identity = self._identity, None
        if identity is not None:
            self._host.streaming_close(identity)


class Admission:
    """Rate limits and streaming-connection limits of one worker (see module doc).

    ``host`` gives the host's shared state, ``hosts`` the number of gateway hosts sharing the
    cluster (1 on the embedded broker), ``max_streaming`` the connections one identity may hold
    open on the host."""

    def __init__(self, host: Callable[[], HostState], hosts: Callable[[], int], max_streaming: int) -> None:
        self._host = host
        self._hosts = hosts
        self.max_streaming = max_streaming

    def take(self, limit: RateLimit) -> Refusal | None:
        """Count one request against ``limit``; None when it may go ahead, else the refusal.
        With several hosts this host admits its share, ``host_share(rate, hosts)``."""
        hosts = self._hosts()
        share = host_share(limit.rate, hosts)
        wait = self._host().rate_take(limit.name, share, limit.per)
        if wait <= 0:
            return None
        shared = f" ({share} on each of {hosts} gateway hosts)" if hosts > 1 else ""
        return Refusal(f"API rate limit exceeded: {limit.describe()}{shared}", retry_after(wait))

    def open_streaming(self, identity: str) -> StreamingSlot | Refusal:
        """Count one streaming connection of ``identity``, or refuse it when the identity
        already holds ``max_streaming`` on this host."""
        host = self._host()
        if host.streaming_open(identity, self.max_streaming):
            return StreamingSlot(host, identity)
        return Refusal(
            f"too many streaming connections: at most {self.max_streaming} open at once per client", 1
        )
