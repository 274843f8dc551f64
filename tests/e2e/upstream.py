"""A small HTTP service on a loopback port, run in the test process (gevent's WSGI server), for
streams whose ``http`` processors call out: it answers by path and records every request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gevent.pywsgi import WSGIServer

Handler = Callable[[str, bytes], tuple[int, Any]]
"""``(path, body) -> (status, JSON-able reply)``."""


@dataclass
class Upstream:
    handler: Handler
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)  # (method, path, body)
    server: WSGIServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        path = environ["PATH_INFO"]
        self.seen.append((environ["REQUEST_METHOD"], path, body))
        status, reply = self.handler(path, body)
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", "application/json")])
        return [json.dumps(reply).encode()]

    def start(self) -> Upstream:
        self.server = WSGIServer(("127.0.0.1", 0), self._app, log=None)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=1)
