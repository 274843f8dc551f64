"""A real webhook receiver on loopback for tests of outputs that write over HTTP."""

from __future__ import annotations

from typing import Any

from gevent.pywsgi import WSGIServer


class Hook:
    """A webhook receiver: answers 503 while ``failing``, records bodies it accepted."""

    def __init__(self, port: int = 0) -> None:
        self.failing = True
        self.accepted: list[bytes] = []
        self.refused = 0
        self.server = WSGIServer(("127.0.0.1", port), self.app, log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        if self.failing:
            self.refused += 1
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        self.accepted.append(body)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    def stop(self) -> None:
        self.server.stop()
