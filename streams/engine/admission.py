"""Whether a request may go ahead: the API's rate limits and the streaming connections one
client may hold, counted over every worker of the host (``HostState``) and, for rate limits,
shared between the hosts of a Kafka cluster (``ClusterHosts``).

The HTTP layer asks here once per request (and once per WebSocket message); it knows nothing
of how counting is done. A refusal is logged once per rate window (or per minute for a client's
streaming connections) and worker, not once per refused request.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from streams.engine.host import HostState
from streams.engine.logs import StreamLog
from streams.ratelimits import Quiet, RateLimit, host_share, retry_after

STREAMING_QUIET_S = 60.0
"""A client refused a streaming connection is logged once in this many seconds per worker."""


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

    def __init__(
        self, host: Callable[[], HostState], hosts: Callable[[], int], max_streaming: int, log: StreamLog | None = None
    ) -> None:
        self._host = host
        self._hosts = hosts
        self.max_streaming = max_streaming
        self.log = log or StreamLog(component="limits")
        self._quiet = Quiet()

    def take(self, limit: RateLimit) -> Refusal | None:
        """Count one request against ``limit``; None when it may go ahead, else the refusal.
        With several hosts this host admits its share, ``host_share(rate, hosts)``."""
        hosts = self._hosts()
        share = host_share(limit.rate, hosts)
        wait = self._host().rate_take(limit.name, share, limit.per)
        if wait <= 0:
            return None
        shared = f" ({share} on each of {hosts} gateway hosts)" if hosts > 1 else ""
        refusal = Refusal(f"API rate limit exceeded: {limit.describe()}{shared}", retry_after(wait))
        now = time.monotonic()
        if self._quiet.due(limit.name, now, now + wait):
            self.log.info(f"{refusal.message}: refusing until the window ends in {wait:.1f}s", limit=limit.name)
        return refusal

    def open_streaming(self, identity: str) -> StreamingSlot | Refusal:
        """Count one streaming connection of ``identity``, or refuse it when the identity
        already holds ``max_streaming`` on this host."""
        host = self._host()
        if host.streaming_open(identity, self.max_streaming):
            return StreamingSlot(host, identity)
        now = time.monotonic()
        if self._quiet.due(f"streaming {identity}", now, now + STREAMING_QUIET_S):
            self.log.info(
                f"streaming connection refused: the client holds {self.max_streaming} already",
                client=shown_identity(identity),
            )
        return Refusal(
            f"too many streaming connections: at most {self.max_streaming} open at once per client", 1
        )


def shown_identity(identity: str) -> str:
    """An identity as a log line may show it: an address as it is, a user by a digest (its
    ``$tyk_context`` values may be a token or a header the log must not hold)."""
    if identity.startswith("addr:"):
        return identity
    return "user#" + hashlib.sha256(identity.encode()).hexdigest()[:12]
