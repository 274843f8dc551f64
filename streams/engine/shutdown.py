"""Telling a stream instance's clients to leave when the worker stops (TERM, HUP, restart).

A worker cannot drain while stream clients hold its connections: an SSE generator or a
WebSocket loop never ends by itself, so the server's pool never empties and the worker is killed
at the graceful timeout with its offsets uncommitted. Shutting down therefore starts by ending
every client with ``GOING_AWAY`` as the reason; the HTTP layer turns that reason into wire
behaviour (a final SSE ``retry:`` line, WebSocket close 1001, 503 + Retry-After for a waiting
GET), and only then does the drain stop inputs, commit and close brokers.

``ClientRoster`` is the bookkeeping alone (no I/O, no gevent): who is attached, whether the
instance is still accepting, and who must be told when it stops.
"""

from __future__ import annotations

from collections.abc import Callable

GOING_AWAY = "shutting down"
"""The reason a client's subscription or session ends when its worker stops: clients should
reconnect (another worker, or the restarted gateway, serves them)."""

Leave = Callable[[str], None]


class Draining(RuntimeError):
    """A stream client or a new stream instance was asked of a worker that is shutting down."""

    http_status = 503


class ClientRoster:
    """The clients attached to one instance and the instance's shutdown state.

    ``join`` registers a client's ``leave(reason)`` callback and returns a token for ``forget``;
    ``begin_shutdown`` flips the roster to closing, once, and hands back every callback to call
    (the caller does the I/O). A client joining a closing roster is refused with ``Draining``.
    """

    def __init__(self) -> None:
        self._clients: dict[int, Leave] = {}
        self._next = 0
        self.reason: str | None = None

    @property
    def closing(self) -> bool:
        return self.reason is not None

    def __len__(self) -> int:
        return len(self._clients)

    def join(self, leave: Leave) -> int:
        if self.reason is not None:
            raise Draining(f"this worker is {self.reason}; retry (another worker will serve it)")
        self._next += 1
        self._clients[self._next] = leave
        return self._next

    def forget(self, token: int) -> None:
        """The client left on its own (or was told to): nothing to tell it any more."""
        self._clients.pop(token, None)

    def begin_shutdown(self, reason: str = GOING_AWAY) -> list[Leave]:
        """Stop accepting clients; the callbacks of those attached (empty on a second call)."""
        if self.reason is not None:
            return []
        self.reason = reason
        leaving = list(self._clients.values())
        self._clients.clear()
        return leaving
