"""Where a stream request meets its limits: the API's rate limits (Tyk's ``rateLimit``) and the
streaming connections one client may hold. ``StreamEndpoint`` asks here once per request, before
anything of the stream runs, and a WebSocket push session once per message; the counting is the
engine's (``streams.engine.admission``).

Over a rate limit: 429 ``{"error": "API rate limit exceeded: 5 requests per 1s", "status": 429}``
with ``Retry-After`` (whole seconds, at least 1); on a WebSocket, a text frame with that body
and ``retry_after``, and the connection stays open. Over the streaming connections of a client:
429 as well, before the 101 for a WebSocket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import falcon

from handlers.errors import error_body
from handlers.request_context import variables_for
from streams.engine.admission import Admission, Refusal, StreamingSlot
from streams.engine.gateway import Route
from streams.ratelimits import RateLimit
from streams.settings import Settings

STREAMING_KINDS = ("pull", "stream", "pull_ws", "push_ws")
"""Routes whose requests hold a connection open: a waiting GET, SSE / newline streams, WebSockets."""

MessageCheck = Callable[[], "bytes | None"]
"""Counts one WebSocket message; None when it may go ahead, else the error frame to send."""


class TooManyRequests(falcon.HTTPTooManyRequests):
    """429 with the refusal's message and ``Retry-After``."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(description=refusal.message, retry_after=refusal.retry_after)


class RequestAdmission:
    """The request path's one hook into rate limits and streaming-connection limits."""

    def __init__(self, admission: Admission | None, settings: Settings) -> None:
        self.admission = admission
        self.settings = settings

    def check_rate(self, req: falcon.Request, route: Route) -> None:
        """Count the request against the API's rate limit that covers it (raises 429)."""
        limit = self._limit(req, route)
        if limit is not None and self.admission is not None:
            refusal = self.admission.take(limit)
            if refusal is not None:
                raise TooManyRequests(refusal)

    def message_check(self, req: falcon.Request, route: Route) -> MessageCheck | None:
        """For a WebSocket push session: the check each received message goes through (the
        limit that covered its upgrade), or None when no limit applies."""
        limit = self._limit(req, route)
        admission = self.admission
        if limit is None or admission is None:
            return None

        def check() -> bytes | None:
            refusal = admission.take(limit)
            if refusal is None:
                return None
            return error_body(429, refusal.message, retry_after=refusal.retry_after)

        return check

    def streaming_slot(self, req: falcon.Request, route: Route) -> StreamingSlot | None:
        """Count a streaming connection of the request's client (raises 429 when it holds too
        many already); None for requests that do not stream."""
        if route.kind not in STREAMING_KINDS or self.admission is None:
            return None
        identity = client_identity(req, route, self.settings)
        outcome = self.admission.open_streaming(identity)
        if isinstance(outcome, Refusal):
            raise TooManyRequests(outcome)
        return outcome

    @staticmethod
    def _limit(req: falcon.Request, route: Route) -> RateLimit | None:
        limits = route.api.rate_limits
        if not limits:
            return None
        relative = "/" + req.path[len(route.api.listen_path) :]
        return limits.limit_for(req.method, relative)


def client_identity(req: falcon.Request, route: Route, settings: Settings) -> str:
    """Who holds a streaming connection: the user the stream is opened for (its
    ``$tyk_context`` values), or the client's address when the stream uses none."""
    user = route.api.client_identity(route.stream, variables_for(req, None, settings, req.path))
    return f"user:{user}" if user is not None else f"addr:{req.remote_addr or ''}"


class HeldBody:
    """A streaming response body that gives its slot back when the server closes it (also when
    the client left before the first chunk).

    PERF: iterating it iterates the wrapped body's own iterator, so the server's loop resumes a
    generator body directly. Through a Python ``__next__`` each idle stream client's greenlet
    kept one more interpreter call on its C stack, copied aside at every switch (about 0.5 KiB
    per connection). For the same reason a body that writes itself (``write_to``,
    ``handlers.streaming.SubscriptionBody``) is run through, and its iterator is made only
    when a server iterates."""

    __slots__ = ("_body", "_chunks", "_slot")

    def __init__(self, body: Iterable[bytes], slot: StreamingSlot) -> None:
        self._body = body
        self._chunks: Iterator[bytes] | None = None
        self._slot = slot

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = iter(self._body)
        return self._chunks

    def __next__(self) -> bytes:
        return next(iter(self))

    def write_to(self, write: Callable[[bytes], None]) -> None:
        """Write every chunk with the server's ``write`` (``handlers.server.handler``)."""
        own: Callable[[Callable[[bytes], None]], None] | None = getattr(self._body, "write_to", None)
        if own is not None:
            own(write)
            return
        for chunk in self:
            if chunk:
                write(chunk)

    def close(self) -> None:
        try:
            close: Any = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._slot.close()
