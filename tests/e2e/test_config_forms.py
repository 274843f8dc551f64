"""Definitions written as Tyk and Bento accept them, served by a real ``gunicorn -w 2``.

One API uses every form at once (``type:``, labels, a stream without output, ``stdout``,
``stream_format: raw_bytes``, ``ping_period``/``pong_wait``, ``http_server`` inside brokers,
resources); a second file, JSON, has ``streams: {}``. Clients are real: ``requests``, raw sockets
for WebSocket handshakes, websocket-client.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import uuid
from typing import Any

import gevent
import pytest
import requests
import websocket  # websocket-client

from tests.e2e.server import Gunicorn, serve_definitions

WORKERS = 2

FORMS_API = """\
openapi: 3.1.0
info: {title: forms, version: 1.0.0}
paths: {}
x-tyk-streaming:
  streams:
    typed:
      input:
        type: http_server
        label: typed_in
        http_server: {path: /typed}
      pipeline:
        processors:
          - type: mapping
            label: mark
            mapping: 'root = this.merge({"typed": true})'
      output:
        type: sync_response
        label: reply
    logged:
      input: {http_server: {path: /logged}}
    printed:
      input: {http_server: {path: /printed}}
      output: {stdout: {}}
    raw:
      input: {http_server: {path: /raw-in}}
      output:
        http_server:
          path: /raw-get
          stream_path: /raw-stream
          ws_path: /raw-ws
          stream_format: raw_bytes
          timeout: 1s
    open:
      input: {http_server: {path: /open-in}}
      output:
        http_server: {path: /open-get, stream_path: /open-stream, ws_path: /open-ws}
    kept_alive:
      input: {http_server: {path: /alive-in}}
      output:
        http_server: {path: /alive-get, ws_path: /alive-ws, ping_period: 1s, pong_wait: 3s}
    brokered:
      input:
        broker:
          inputs:
            - http_server: {path: /broker-in}
              processors:
                - mapping: 'root = this.merge({"via": "broker"})'
      output:
        broker:
          pattern: fan_out
          outputs:
            - http_server: {path: /broker-get, timeout: 10s}
            - stdout: {}
    resourced:
      input_resources:
        - label: pushes
          http_server: {path: /resource-in}
      output_resources:
        - label: answer
          type: sync_response
      input: {resource: pushes}
      output: {resource: answer}
x-tyk-api-gateway:
  info: {name: forms, state: {active: true}}
  middleware: {global: {trafficLogs: {enabled: true}}}
  server: {listenPath: {value: /forms/}}
"""

EMPTY_API = {
    "openapi": "3.0.3",
    "info": {"title": "empty", "version": "1"},
    "paths": {},
    "x-tyk-streaming": {"streams": {}},
    "x-tyk-api-gateway": {"info": {"name": "empty", "state": {"active": True}}, "server": {"listenPath": {"value": "/empty/"}}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    files = {"forms.yaml": FORMS_API, "empty.json": json.dumps(EMPTY_API, indent="\t")}
    env = {
        "STREAMS_LOG_FORMAT": "json",
        "STREAMS_SSE_HEARTBEAT": "60",  # any ping seen sooner comes from ping_period
    }
    server = serve_definitions(tmp_path_factory.mktemp("forms"), files, workers=WORKERS, env=env)
    yield server
    server.stop()


def _records(server: Gunicorn) -> list[dict[str, Any]]:
    out = []
    for line in server.log().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _wait_for_record(server: Gunicorn, match: Any, deadline_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        found = [r for r in _records(server) if match(r)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, "no such log line:\n" + server.log()[-3000:]
        time.sleep(0.1)


def test_both_definitions_load_without_problems(server: Gunicorn) -> None:
    problems = [r for r in _records(server) if "definition problem" in str(r.get("msg"))]
    assert problems == []
    health = requests.get(server.url("/health"), timeout=10).json()
    assert sorted(health["apis"]) == ["empty", "forms"]


def test_an_api_with_no_streams_serves_nothing(server: Gunicorn) -> None:
    resp = requests.get(server.url("/empty/anything"), timeout=10)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("application/json")


def test_explicit_type_and_labels_are_served(server: Gunicorn) -> None:
    resp = requests.post(server.url("/forms/typed"), json={"n": 1}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"n": 1, "typed": True}


@pytest.mark.parametrize("stream", ["logged", "printed"])
def test_stdout_and_a_stream_without_output_write_one_log_line_per_message(server: Gunicorn, stream: str) -> None:
    marker = f"line one\nline two {uuid.uuid4().hex}"
    resp = requests.post(server.url(f"/forms/{stream}"), data=marker.encode(), timeout=10)
    assert resp.status_code == 200, resp.text
    record = _wait_for_record(server, lambda r: r.get("output") == "stdout" and marker.split()[-1] in str(r.get("msg")))
    assert record["msg"] == marker.replace("\n", "\\n")
    assert (record["api"], record["stream"], record["level"]) == ("forms", stream, "INFO")


def test_http_server_inside_brokers_is_an_endpoint_on_every_worker(server: Gunicorn) -> None:
    marker = uuid.uuid4().hex
    for _ in range(4):  # fresh connections reach both workers
        resp = requests.post(server.url("/forms/broker-in"), json={"m": marker}, timeout=10)
        assert resp.status_code == 200, resp.text
    got = [requests.get(server.url("/forms/broker-get"), timeout=30) for _ in range(4)]
    assert [r.status_code for r in got] == [200] * 4
    assert [r.json() for r in got] == [{"m": marker, "via": "broker"}] * 4
    _wait_for_record(server, lambda r: r.get("stream") == "brokered" and marker in str(r.get("msg")))


def test_resource_input_and_output_are_served(server: Gunicorn) -> None:
    resp = requests.post(server.url("/forms/resource-in"), json={"r": 1}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"r": 1}


# --- stream_format: explicit wins over Accept ---------------------------------------------------


def _first_line(resp: requests.Response) -> bytes:
    for line in resp.iter_lines(chunk_size=None, delimiter=b"\n"):
        if line.strip():
            return line
    raise AssertionError("the stream ended without a message")


def test_raw_bytes_stays_newline_delimited_whatever_accept_asks(server: Gunicorn) -> None:
    marker = uuid.uuid4().hex
    headers = {"Accept": "text/event-stream"}
    # Its GET path answers one message (none pushed yet: 408 after its 1s), not an event stream.
    resp = requests.get(server.url("/forms/raw-get"), headers=headers, timeout=10)
    assert resp.status_code == 408
    assert resp.headers["Content-Type"].startswith("application/json")
    with requests.get(server.url("/forms/raw-stream"), headers=headers, stream=True, timeout=(5, 30)) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        pushed = gevent.spawn(requests.post, server.url("/forms/raw-in"), json={"m": marker}, timeout=10)
        assert json.loads(_first_line(resp)) == {"m": marker}
        assert pushed.get(timeout=15).status_code == 200


def test_a_format_left_open_follows_accept(server: Gunicorn) -> None:
    marker = uuid.uuid4().hex
    headers = {"Accept": "text/event-stream"}
    with requests.get(server.url("/forms/open-stream"), headers=headers, stream=True, timeout=(5, 30)) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        pushed = gevent.spawn(requests.post, server.url("/forms/open-in"), data=json.dumps({"m": marker}), timeout=10)
        lines = []
        for line in resp.iter_lines(chunk_size=None, delimiter=b"\n"):
            lines.append(line)
            if line.startswith(b"data:"):
                break
        assert lines[-1] == b"data: " + json.dumps({"m": marker}).encode()
        assert pushed.get(timeout=15).status_code == 200


# --- WebSocket upgrades ------------------------------------------------------------------------


def _handshake(server: Gunicorn, path: str, connection: str, upgrade: str = "websocket") -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {connection}\r\nUpgrade: {upgrade}\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "closed during the handshake"
        head += chunk
    return sock, head


@pytest.mark.parametrize("connection", ["Upgrade", "upgrade", "keep-alive, Upgrade", "keep-alive,UPGRADE"])
def test_a_websocket_upgrade_takes_the_upgrade_token_in_any_form(server: Gunicorn, connection: str) -> None:
    sock, head = _handshake(server, "/forms/open-ws", connection)
    sock.close()
    assert head.startswith(b"HTTP/1.1 101 ")


@pytest.mark.parametrize(
    ("connection", "upgrade", "missing"),
    [
        ("keep-alive", "websocket", "'upgrade' token not found in 'Connection' header"),
        ("Upgrade", "h2c", "'websocket' token not found in 'Upgrade' header"),
    ],
)
def test_a_get_without_both_tokens_is_400_naming_the_missing_one(
    server: Gunicorn, connection: str, upgrade: str, missing: str
) -> None:
    resp = requests.get(server.url("/forms/open-ws"), headers={"Connection": connection, "Upgrade": upgrade}, timeout=10)
    assert resp.status_code == 400
    assert resp.json() == {
        "error": f"/forms/open-ws is a WebSocket endpoint, and this is no WebSocket upgrade: {missing}",
        "status": 400,
    }


def test_websocket_sessions_are_traffic_logged_as_101(server: Gunicorn) -> None:
    ws = websocket.create_connection(server.ws_url("/forms/open-ws?tag=x"), timeout=20)
    ws.close()
    record = _wait_for_record(
        server, lambda r: r.get("logger") == "streams.traffic" and str(r.get("msg")).startswith("GET /forms/open-ws?tag=")
    )
    assert record["status"] == 101
    assert record["msg"] == "GET /forms/open-ws?tag=… 101 Switching Protocols"


def _server_frames(sock: socket.socket, deadline_s: float) -> list[tuple[int, bytes]]:
    """Frames the server sends until it closes (a server's frames are unmasked)."""
    frames: list[tuple[int, bytes]] = []
    buffer = b""
    deadline = time.monotonic() + deadline_s
    sock.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= 2 and len(buffer) >= 2 + (buffer[1] & 0x7F):
            length = buffer[1] & 0x7F  # control frames and short test messages only
            frames.append((buffer[0] & 0x0F, buffer[2 : 2 + length]))
            buffer = buffer[2 + length :]
            if frames[-1][0] == 0x8:
                return frames
    return frames


def test_pong_wait_closes_a_client_that_never_answers_pings(server: Gunicorn) -> None:
    sock, head = _handshake(server, "/forms/alive-ws", "Upgrade")
    assert head.startswith(b"HTTP/1.1 101 ")
    try:
        frames = _server_frames(sock, deadline_s=30)
    finally:
        sock.close()
    opcodes = [op for op, _ in frames]
    assert 0x9 in opcodes, "no ping within the deadline although ping_period is 1s"
    assert opcodes[-1] == 0x8, f"not closed within the deadline: {opcodes}"
    code, reason = struct.unpack("!H", frames[-1][1][:2])[0], frames[-1][1][2:].decode()
    assert (code, reason) == (1000, "no pong within 3s")


def test_a_client_answering_pings_outlives_pong_wait(server: Gunicorn) -> None:
    ws = websocket.create_connection(server.ws_url("/forms/alive-ws"), timeout=20)
    pings = 0
    try:
        while pings < 5:  # five pings a ping_period apart: longer than pong_wait (3s)
            opcode, frame = ws.recv_data_frame(True)  # answers each ping with a pong
            assert opcode == websocket.ABNF.OPCODE_PING, (opcode, frame.data)
            pings += 1
        marker = uuid.uuid4().hex
        assert requests.post(server.url("/forms/alive-in"), json={"m": marker}, timeout=10).status_code == 200
        while True:
            opcode, frame = ws.recv_data_frame(True)
            if opcode != websocket.ABNF.OPCODE_PING:
                break
        assert (opcode, json.loads(frame.data)) == (websocket.ABNF.OPCODE_TEXT, {"m": marker})
    finally:
        ws.close()
