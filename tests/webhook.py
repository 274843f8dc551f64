"""Real HTTP servers on loopback for tests: a webhook receiver (outputs that write over HTTP) and
an endpoint that answers as a test decides (the ``http_client`` input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer


class Hook:
    """A webhook receiver: answers 503 while ``failing``, records bodies it accepted."""

    def __init__(self, port: int = 0, delay: float = 0.0) -> None:
        self.failing = True
        self.delay = delay  # seconds each answer takes
        self.accepted: list[bytes] = []
        self.refused = 0
        self.server = WSGIServer(("127.0.0.1", port), self.app, log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        gevent.sleep(self.delay)
        if self.failing:
            self.refused += 1
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        self.accepted.append(body)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    def stop(self) -> None:
        self.server.stop()


Reply = tuple[str, list[tuple[str, str]], list[bytes]]


class Endpoint:
    """A real HTTP server whose answer to the n-th request ``answer(n, environ)`` decides; it
    records each request's path, query and body."""

    def __init__(self, answer: Callable[[int, dict[str, Any]], Reply]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str, str, bytes]] = []
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""), body))
        status, headers, chunks = self.answer(len(self.requests) - 1, environ)
        start_response(status, headers)
        return chunks

    def stop(self) -> None:
        self.server.stop()
