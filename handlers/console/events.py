"""``/tyk/console/events``: live counters per stream as Server-Sent Events.

Every ``interval`` seconds one ``stats`` event carries the host's counters per stream
(``streams.stream_stats``: received, sent, errors, connected clients, instances, consumer lag)
and a ``generation`` that changes whenever this worker's set of APIs or problems does, so the
page fetches the API list again only then. The page reads this with ``fetch()`` (the secret
travels in the ``x-tyk-authorization`` header, which ``EventSource`` cannot send); a stopping
worker ends the stream with a ``retry:`` line and the page reconnects to another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import falcon
import gevent
import orjson

from handlers.management import Management
from streams import stream_stats
from streams.engine.gateway import Gateway

INTERVAL_S = 1.0
RETRY_MS = 2000


def generation(gateway: Gateway) -> str:
    """A short digest of what this worker serves and which problems it has."""
    parts = sorted(f"{api.name}\0{api.fingerprint}" for api in gateway.apis)
    parts += sorted(str(p) for p in gateway.problems)
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def stats_event(gateway: Gateway) -> bytes:
    counters = stream_stats.collect()
    body = {
        "generation": generation(gateway),
        "streams": [
            {"api": api, "stream": stream, **c.as_dict()} for (api, stream), c in sorted(counters.items())
        ],
    }
    return b"event: stats\ndata: " + orjson.dumps(body) + b"\n\n"


def stats_body(gateway: Gateway, interval: float) -> Iterator[bytes]:
    yield b"retry: %d\n\n" % RETRY_MS
    while not gateway.shutting_down:
        yield stats_event(gateway)
        gevent.sleep(interval)
    yield b"retry: 1000\n\n"


class ConsoleEvents:
    def __init__(self, mgmt: Management, interval: float = INTERVAL_S) -> None:
        self.mgmt = mgmt
        self.interval = interval

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.mgmt.allowed(req, resp):
            return
        resp.content_type = "text/event-stream"
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("X-Accel-Buffering", "no")
        resp.stream = stats_body(self.mgmt.gateway, self.interval)
