"""Hot reload on a real ``gunicorn wsgi:app -w 4``: what did not change keeps its connections.

* Isolation: an SSE client and a WebSocket client of API A stay connected and receive every
  message while API B is created, changed and deleted 10 times through the management API.
* A changed API's clients are told to leave as on a stopping worker: WebSocket close 1001, the
  SSE stream ends with its ``retry:`` line; the new version serves the reconnection.
* The directory is watched: a definition copied in is served within 5 s without a signal, a
  ConfigMap-style ``..data`` symlink swap is applied, and a file made invalid keeps its last
  good version running (and the log says why).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
import pytest
import requests
import websocket  # websocket-client

from tests.e2e.clients import SSEClient, WSReader, held_steady
from tests.e2e.server import Gunicorn, serve_definitions

WORKERS = 4
SECRET = "hot-reload-secret"
AUTH = {"x-tyk-authorization": SECRET}
ROUNDS = 10


def chat_api(name: str, mapping: str = "root = this", get_timeout: str = "5s") -> dict[str, Any]:
    """An http_server -> http_server API: pushes reach every SSE/WebSocket client (host bus)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": name, "version": "1.0.0"},
        "paths": {},
        "x-tyk-api-gateway": {
            "info": {"name": name, "id": name, "state": {"active": True}},
            "server": {"listenPath": {"value": f"/{name}/", "strip": False}},
        },
        "x-tyk-streaming": {
            "streams": {
                "chat": {
                    "input": {"http_server": {"path": "/push"}},
                    "pipeline": {"processors": [{"mapping": mapping}]},
                    "output": {"http_server": {"path": "/get", "stream_path": "/stream", "ws_path": "/ws", "timeout": get_timeout}},
                }
            }
        },
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Gunicorn:
    files = {"reload-a.json": json.dumps(chat_api("reload-a"))}
    gunicorn = serve_definitions(tmp_path_factory.mktemp("hot-reload"), files, workers=WORKERS, env={"STREAMS_SECRET": SECRET})
    yield gunicorn
    gunicorn.stop()


def push(server: Gunicorn, api: str, payload: dict[str, Any]) -> requests.Response:
    return requests.post(server.url(f"/{api}/push"), data=json.dumps(payload), timeout=30)


def until(what: str, check: Any, bound: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < bound, f"not within {bound}s: {what}"
        time.sleep(0.05)
    return time.monotonic() - started


SETTLE = 2.5
"""Seconds a state must hold on fresh connections before every worker counts as in it: the
requests cannot choose a worker, but every worker applies a change within its watch interval
(1 s) after the first did, so a check that keeps passing for longer has met them all."""


def everywhere(what: str, check: Any, bound: float) -> float:
    """``held_steady`` with this file's settle time."""
    return held_steady(what, check, bound, SETTLE, poll=0.05)


def manage(server: Gunicorn, method: str, path: str, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = requests.request(method, server.url(path), data=json.dumps(doc) if doc else None, headers=AUTH, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_clients_of_an_unchanged_api_stay_connected(server: Gunicorn) -> None:
    sse = SSEClient(server.url("/reload-a/stream")).start()
    ws = WSReader(server.ws_url("/reload-a/ws")).start()
    try:
        assert sse.opened.wait(10) and sse.status == 200
        sent = 0
        # The clients attach asynchronously: wait for a first message to reach both.
        until("both clients attached", lambda: push(server, "reload-a", {"n": -1}).ok and len(sse.events) > 0 and len(ws.frames) > 0, 15)
        for round_ in range(ROUNDS):
            assert manage(server, "POST", "/tyk/apis/oas", chat_api("reload-b"))["action"] == "added"
            assert manage(server, "PUT", "/tyk/apis/oas/reload-b", chat_api("reload-b", f"root = this\nroot.round = {round_}"))["action"] == "modified"
            assert manage(server, "DELETE", "/tyk/apis/oas/reload-b")["action"] == "deleted"
            assert push(server, "reload-a", {"n": round_}).status_code == 200
            sent += 1
            until("both clients got the message", lambda: numbers(sse, ws) == (list(range(round_ + 1)),) * 2, 10)
            assert [e.json()["n"] for e in sse.events if e.json()["n"] >= 0] == list(range(round_ + 1)), sse.events
            assert [json.loads(f)["n"] for f in ws.frames if json.loads(f)["n"] >= 0] == list(range(round_ + 1)), ws.frames
        assert not sse._greenlet.dead and not ws._greenlet.dead  # still connected
        print(f"{ROUNDS} rounds of create/change/delete of API B: A's SSE and WebSocket got {sent}/{sent} messages each")
    finally:
        sse.close()
        ws.close()


def test_a_changed_api_tells_its_clients_to_leave(server: Gunicorn) -> None:
    manage(server, "POST", "/tyk/apis/oas", chat_api("reload-c", get_timeout="15s"))
    # Served everywhere, checked without pushing (a push would wait for the next GET).
    everywhere("reload-c served everywhere", lambda: all(_sse_status(server, "/reload-c/stream") == 200 for _ in range(8)), 15)
    ws = websocket.create_connection(server.ws_url("/reload-c/ws"), timeout=20)
    sse = requests.get(server.url("/reload-c/stream"), headers={"Accept": "text/event-stream"}, stream=True, timeout=(5, 20))
    waiting: dict[str, Any] = {}
    getter = gevent.spawn(lambda: waiting.update(resp=requests.get(server.url("/reload-c/get"), timeout=30)))
    try:
        assert sse.status_code == 200
        time.sleep(0.5)  # all three attached
        started = time.monotonic()
        manage(server, "PUT", "/tyk/apis/oas/reload-c", chat_api("reload-c", "root = this\nroot.v = 2"))
        opcode, data = _next_control(ws)
        closed_after = time.monotonic() - started
        assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1001, (opcode, data)
        lines = [line for line in sse.iter_lines(chunk_size=None, delimiter=b"\n") if line.strip()]
        assert lines and lines[-1].startswith(b"retry:"), lines[-3:]
        getter.join(timeout=12)
        resp = waiting.get("resp")
        assert resp is not None and resp.status_code == 503 and resp.headers.get("Retry-After") == "1", resp
        print(f"changed API: WebSocket closed with 1001 after {closed_after:.2f}s, SSE ended with {lines[-1]!r}, the waiting GET got 503")
        # The reconnection reaches the new version.
        everywhere("new version serves", lambda: versions(server, "reload-c") == [2] * 8, 15)
    finally:
        getter.kill()
        ws.close()
        sse.close()
        manage(server, "DELETE", "/tyk/apis/oas/reload-c")


def _sse_status(server: Gunicorn, path: str) -> int:
    with requests.get(server.url(path), headers={"Accept": "text/event-stream"}, stream=True, timeout=(5, 5)) as resp:
        return resp.status_code


def versions(server: Gunicorn, api: str, pushes: int = 8) -> list[Any]:
    """The ``v`` each of ``pushes`` pushes (fresh connections: every worker) carries, as a new
    WebSocket client receives them; None for a push the API did not take."""
    try:
        reader = WSReader(server.ws_url(f"/{api}/ws")).start()
    except (websocket.WebSocketException, OSError):
        return []
    try:
        time.sleep(0.2)  # attached
        taken = sum(push(server, api, {"n": i}).ok for i in range(pushes))
        frames = reader.wait(taken, 5)
        return [json.loads(f).get("v") for f in frames] + [None] * (pushes - taken)
    finally:
        reader.close()


def numbers(sse: SSEClient, ws: WSReader) -> tuple[list[int], list[int]]:
    """The round numbers each client received (warm-up messages, numbered -1, left out)."""
    return (
        [n for n in (e.json()["n"] for e in sse.events) if n >= 0],
        [n for n in (json.loads(f)["n"] for f in ws.frames) if n >= 0],
    )


def _next_control(ws: websocket.WebSocket) -> tuple[int, bytes]:
    """Skip data frames until a control frame (the close) arrives."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
            return opcode, data


def test_the_directory_is_watched(server: Gunicorn, tmp_path: Path) -> None:
    defs = server.definitions_dir
    assert defs is not None
    staged = tmp_path / "reload-d.json"
    staged.write_text(json.dumps(chat_api("reload-d")))
    started = time.monotonic()
    shutil.copy(staged, defs / "reload-d.json")  # a plain cp, no signal
    took = everywhere("a copied definition served on every worker", lambda: all(push(server, "reload-d", {"n": 0}).ok for _ in range(8)), 5.0)
    print(f"copied definition served after {took:.2f}s, and still on every request {SETTLE}s later (bound 5s)")
    assert took < 5.0 and time.monotonic() - started < 5.0 + SETTLE + 1

    # Made invalid: the last good version keeps serving, and the log says why.
    (defs / "reload-d.json").write_text(json.dumps(chat_api("reload-d")).replace('"http_server": {"path": "/push"}', '"http_server": {"pathx": "/push"}'))
    until("the problem is logged", lambda: "last good version keeps running" in server.log(), 10)
    assert all(push(server, "reload-d", {"n": 1}).ok for _ in range(8))
    (defs / "reload-d.json").unlink()
    everywhere("the removed API is gone", lambda: all(push(server, "reload-d", {"n": 2}).status_code == 404 for _ in range(8)), 10)

    # A Kubernetes ConfigMap update: the ..data symlink swapped to a new directory.
    _configmap(defs, "..v1", chat_api("reload-e", "root = this\nroot.v = 1"))
    everywhere("configmap v1 served", lambda: versions(server, "reload-e") == [1] * 8, 20)
    _configmap(defs, "..v2", chat_api("reload-e", "root = this\nroot.v = 2"))
    took = everywhere("configmap v2 served", lambda: versions(server, "reload-e") == [2] * 8, 20)
    print(f"ConfigMap symlink swap applied after {took:.2f}s, then on every request for {SETTLE}s")


def _configmap(defs: Path, version: str, doc: dict[str, Any]) -> None:
    """Lay out files as the kubelet does: ``name -> ..data/name``, ``..data -> ..<version>``,
    and an update swaps ``..data`` atomically."""
    (defs / version).mkdir()
    (defs / version / "reload-e.json").write_text(json.dumps(doc))
    tmp_link = defs / f"..data_tmp_{uuid.uuid4().hex[:6]}"
    os.symlink(version, tmp_link)
    os.replace(tmp_link, defs / "..data")
    if not (defs / "reload-e.json").is_symlink():
        os.symlink("..data/reload-e.json", defs / "reload-e.json")
