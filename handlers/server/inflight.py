"""Counting the requests a worker is serving, so a stopping worker knows when it may exit.

The server's pool also holds idle kept-alive connections, waiting for a next request that may
never come; waiting for the pool to empty would wait for them until the graceful timeout. A
request counts from the moment the app is called until its response body is closed (an SSE
stream counts for its whole life; a WebSocket session until the app call returns); once none is left the remaining
connections are idle and can be dropped.

``InflightRequests`` is the bookkeeping alone; ``TrackedApp`` is the WSGI wrapper feeding it.
While stopping, every response gets ``Connection: close`` so a client's kept-alive connection
ends with its current request instead of sending the next one to a worker that is leaving.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class InflightRequests:
    """How many requests are being served, how many were served, and whether we are stopping."""

    def __init__(self, max_requests: int = 0) -> None:
        self.active = 0
        self.served = 0
        self.max_requests = max_requests  # 0: no limit
        self.stopping = False

    def started(self) -> bool:
        """A request began; True when it reaches ``max_requests`` (the worker should restart)."""
        self.active += 1
        self.served += 1
        return 0 < self.max_requests <= self.served

    def finished(self) -> None:
        self.active = max(0, self.active - 1)

    @property
    def idle(self) -> bool:
        return self.active == 0


class TrackedApp:
    """Wraps the WSGI app: counts each request in ``inflight`` until its body is closed."""

    def __init__(self, app: WSGIApp, inflight: InflightRequests, on_limit: Callable[[], None]) -> None:
        self.app = app
        self.inflight = inflight
        self.on_limit = on_limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.inflight.started():
            self.on_limit()
        try:
            body = self.app(environ, self._start_response(start_response))
        except BaseException:
            self.inflight.finished()
            raise
        if environ.get("wsgi.websocket") is not None:
            # NOTE: a WebSocket session runs inside the app call, and the WebSocket handler never
            # closes the (empty) body it gets back: the request is over when the call returns.
            self.inflight.finished()
            return body
        return _ClosingBody(body, self.inflight)

    def _start_response(self, start_response: StartResponse) -> StartResponse:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if self.inflight.stopping and not status.startswith("101"):
                headers = [(k, v) for k, v in headers if k.lower() != "connection"]
                headers.append(("Connection", "close"))
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return start


class _ClosingBody:
    """The app's response body; closing it (the server always does) ends the request's count."""

    def __init__(self, body: Iterable[bytes], inflight: InflightRequests) -> None:
        self.body = body
        self.inflight = inflight
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.inflight.finished()
