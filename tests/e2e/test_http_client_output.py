"""The ``http_client`` output behind a real ``gunicorn wsgi:app -w 2``: a push through a stream
whose output sends it to an upstream (a real HTTP server in this process) with
``propagate_response: true`` is answered with the upstream's body, its status (through the
``http_server`` input's ``sync_response.status``) and the headers ``extract_headers`` kept;
a status in ``drop_on`` fails the push without a retry."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.e2e.definitions import stream_api
from tests.e2e.server import Gunicorn, serve_definitions


class Upstream(BaseHTTPRequestHandler):
    """``/conflict`` answers 409; any other path 201 with the body wrapped in JSON and an
    ``X-Upstream-Id`` header. Every request is recorded on the server (``seen``)."""

    def do_POST(self) -> None:  # noqa: N802 (the handler's protocol)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        if self.path == "/conflict":
            reply, status = b"already there", 409
        else:
            reply, status = json.dumps({"upstream_saw": body.decode()}).encode(), 201
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream-Id", "42")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def streams(base: str) -> dict[str, Any]:
    def relay(path: str, url: str, **extra: Any) -> dict[str, Any]:
        return {
            "input": {
                "http_server": {
                    "path": path,
                    "sync_response": {
                        "status": '${! meta("http_status_code").or(200) }',
                        "metadata_headers": {"include_prefixes": ["x-upstream"]},
                    },
                }
            },
            "output": {"http_client": {"url": url, "retry_period": "10ms", **extra}},
        }

    return {
        "relay": relay(
            "/relay",
            base + "/items",
            propagate_response=True,
            extract_headers={"include_prefixes": ["x-upstream"]},
        ),
        "quiet": relay("/quiet", base + "/items"),
        "dropped": relay("/dropped", base + "/conflict", drop_on=[409], retries=3),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: ThreadingHTTPServer) -> Iterator[Gunicorn]:
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    gunicorn = serve_definitions(
        tmp_path_factory.mktemp("httpout"), {"relay.yaml": stream_api("relay", "/relay/", streams(base))}, workers=2
    )
    yield gunicorn
    gunicorn.stop()


def test_a_push_is_answered_with_the_propagated_response(server: Gunicorn, upstream: ThreadingHTTPServer) -> None:
    resp = requests.post(server.url("/relay/relay"), data=b"hello", timeout=30)
    assert (resp.status_code, resp.json(), resp.headers.get("x-upstream-id")) == (201, {"upstream_saw": "hello"}, "42")
    assert upstream.seen[-1][0] == "/items" and upstream.seen[-1][2] == b"hello"  # type: ignore[attr-defined]


def test_without_propagate_response_the_push_gets_no_body(server: Gunicorn, upstream: ThreadingHTTPServer) -> None:
    resp = requests.post(server.url("/relay/quiet"), data=b"quiet", timeout=30)
    assert (resp.status_code, resp.content, "x-upstream-id" in resp.headers) == (200, b"", False)
    assert upstream.seen[-1][2] == b"quiet"  # type: ignore[attr-defined]


def test_a_drop_on_status_fails_the_push_without_retries(server: Gunicorn, upstream: ThreadingHTTPServer) -> None:
    before = len(upstream.seen)  # type: ignore[attr-defined]
    resp = requests.post(server.url("/relay/dropped"), data=b"dup", timeout=30)
    assert resp.status_code == 502, resp.text
    assert "HTTP request returned unexpected response code (409): 409 Conflict, Error: already there" in resp.text
    assert [s[2] for s in upstream.seen[before:]] == [b"dup"]  # type: ignore[attr-defined]
