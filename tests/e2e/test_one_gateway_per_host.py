"""A host is one gateway, however many workers gunicorn forks (DESIGN §10), end to end.

Each test starts a real ``gunicorn wsgi:app -w 4`` on a definitions directory of its own:
an ``http_server`` -> ``http_server`` stream (Tyk's single-client streaming test, same config)
delivers whichever worker takes the POST and whichever holds the WebSocket; a ``generate``
input with ``count: 3`` calls its webhook exactly three times, also when the worker running it is
SIGKILLed between two calls.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.pywsgi
import pytest
import requests

from tests.e2e.clients import WSReader
from tests.e2e.definitions import stream_api
from tests.e2e.server import Gunicorn, serve_definitions

WORKERS = 4


def serve(tmp_path: Path, streams: dict[str, Any]) -> Gunicorn:
    return serve_definitions(tmp_path, {"test-api.yaml": stream_api("test-api", "/test-api", streams)}, workers=WORKERS)


HTTP_SERVER_TO_HTTP_SERVER = {
    "test": {
        "input": {"http_server": {"path": "/post", "timeout": "1s"}},
        "output": {"http_server": {"ws_path": "/subscribe"}},
    }
}


def test_http_server_to_http_server_delivers_across_workers(tmp_path: Path) -> None:
    # Tyk's TestStreamingAPISingleClient_Input_HTTPServer, on 4 workers: before, a POST served
    # by another worker than the WebSocket's answered 408 and the message waited there.
    server = serve(tmp_path, HTTP_SERVER_TO_HTTP_SERVER)
    try:
        readers = [WSReader(server.ws_url("/test-api/subscribe")).start() for _ in range(3)]
        sent = [f'{{"test": "message {i}"}}' for i in range(12)]
        statuses = []
        for body in sent:
            # A fresh connection each: the POSTs spread over the workers.
            resp = requests.post(
                server.url("/test-api/post"), data=body, headers={"Content-Type": "application/json",
                                                                 "Connection": "close"}, timeout=10
            )
            statuses.append(resp.status_code)
        assert statuses == [200] * len(sent)
        for reader in readers:
            assert reader.wait(len(sent), timeout=20) == sent  # broadcast, in order, none twice
            reader.close()
    finally:
        server.stop()


def test_http_server_to_http_server_get_on_another_worker(tmp_path: Path) -> None:
    streams = {
        "test": {
            "input": {"http_server": {"path": "/post"}},
            "output": {"http_server": {"path": "/get"}},
        }
    }
    server = serve(tmp_path, streams)
    try:
        sent = [f"m{i}".encode() for i in range(20)]
        for body in sent:
            assert requests.post(server.url("/test-api/post"), data=body, headers={"Connection": "close"},
                                 timeout=10).status_code == 200
        got = []
        for _ in sent:
            resp = requests.get(server.url("/test-api/get"), headers={"Connection": "close"}, timeout=10)
            assert resp.status_code == 200
            got.append(resp.content)
        assert got == sent  # sequential GETs over 4 workers: in order, none twice, none skipped
        assert requests.get(server.url("/test-api/get"), timeout=10).status_code == 408
    finally:
        server.stop()


class Listener:
    """A local webhook receiver that counts calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.server = gevent.pywsgi.WSGIServer(("127.0.0.1", 0), self.app, log=None)
        self.server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        self.calls.append(json.loads(body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            gevent.sleep(0.05)

    def stop(self) -> None:
        self.server.stop()


def generate_streams(url: str, interval: str) -> dict[str, Any]:
    return {
        "ticks": {
            "input": {"generate": {"mapping": 'root = {"at": now()}', "interval": interval,
                                   "count": 3}},
            "output": {"http_client": {"url": url, "verb": "POST", "retries": 0}},
        }
    }


def runner_pid(server: Gunicorn) -> list[int]:
    """The pids of the workers that took the generate input's host lease, in order."""
    return [int(pid) for pid in re.findall(r"input runs in this worker, pid (\d+)", server.log())]


def test_generate_runs_once_per_host(tmp_path: Path) -> None:
    listener = Listener()
    server = serve(tmp_path, generate_streams(listener.url, "100ms"))
    try:
        listener.wait_for(3, timeout=20)
        time.sleep(1.5)  # anything a second copy would send arrives in this time
        assert len(listener.calls) == 3, listener.calls
        assert len(runner_pid(server)) == 1
    finally:
        server.stop()
        listener.stop()


def test_generate_is_taken_over_after_its_worker_is_killed_without_repeating(tmp_path: Path) -> None:
    listener = Listener()
    server = serve(tmp_path, generate_streams(listener.url, "2s"))
    try:
        listener.wait_for(1, timeout=20)
        time.sleep(0.5)  # the call is acknowledged and recorded; the next one is over a second away
        done = len(listener.calls)
        assert done in (1, 2)
        victims = runner_pid(server)
        assert len(victims) == 1
        os.kill(victims[0], signal.SIGKILL)
        listener.wait_for(3, timeout=30)
        time.sleep(3)  # a repeated call would arrive in this time
        assert len(listener.calls) == 3, listener.calls
        takers = runner_pid(server)
        assert len(takers) == 2 and takers[1] != victims[0]  # another worker went on from there
        assert f"generate goes on after {done} of 3 batches" in server.log()
    finally:
        server.stop()
        listener.stop()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
