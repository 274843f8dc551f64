"""Tyk's ``gateway/analytics_streams_test.go`` against a real ``gunicorn -w 2``.

Tyk records one analytics record per stream request (method, host, path, response code; a
WebSocket is recorded with 101 when its connection is hijacked) and picks the WebSocket recorder
when ``Connection: Upgrade`` and ``Upgrade: websocket`` are sent, in any letter case. Replayed
from outside: which requests are upgraded, and the API's traffic log (``trafficLogs.enabled``),
one JSON line per request with its method, path and status. Tyk's "detailed recording"
(request and response bodies in the record) has no counterpart here, so those variants are not
replayed; the internal factory and writer tests map onto the lines below.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket  # websocket-client

from tests.e2e.server import Gunicorn
from tests.e2e.tyk_suite.suite import serve


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    server = serve(tmp_path_factory.mktemp("tyk-analytics"), ["analytics.yaml"], env={"STREAMS_LOG_FORMAT": "json"})
    yield server
    server.stop()


def _handshake_status(server: Gunicorn, connection: str, upgrade: str) -> int:
    """The status a WebSocket handshake to ``/analytics/subscribe`` gets with these two headers."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /analytics/subscribe HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
        f"Connection: {connection}", f"Upgrade: {upgrade}",
        f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    ("connection", "upgrade", "upgraded"),
    [
        pytest.param("Upgrade", "Websocket", True, id="should_be_true_for_capitalized_headers"),
        pytest.param("upgrade", "websocket", True, id="should_be_true_for_lower-case_headers"),
        pytest.param("No-Upgrade", "Websocket", False, id="should_be_false_for_wrong_connection_header"),
        pytest.param("No-Upgrade", "Websocket", False, id="should_be_false_for_wrong_upgrade_header"),
        pytest.param("", "", False, id="should_be_false_for_empty_headers"),
    ],
)
def test_is_websocket_upgrade(gateway: Gunicorn, connection: str, upgrade: str, upgraded: bool) -> None:
    """TestIsWebsocketUpgrade (each subtest by its id): the header pair makes a WebSocket upgrade
    (101) whatever its letter case; without ``Connection: Upgrade`` the WebSocket path refuses
    the request with 400, as Bento's handler does."""
    assert _handshake_status(gateway, connection, upgrade) == (101 if upgraded else 400)


def _traffic(server: Gunicorn, method: str, path: str) -> list[dict[str, Any]]:
    lines = []
    for line in server.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == "streams.traffic" and entry.get("msg", "").startswith(f"{method} {path}"):
            lines.append(entry)
    return lines


def _one_line(server: Gunicorn, method: str, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while not (found := _traffic(server, method, path)):
        assert time.monotonic() < deadline, f"no traffic line for {method} {path}:\n" + server.log()[-3000:]
        time.sleep(0.1)
    assert len(found) == 1, found
    return found[0]


def test_default_stream_analytics_recorder_prepare_record(gateway: Gunicorn) -> None:
    """TestDefaultStreamAnalyticsRecorder_PrepareRecord and TestDefaultStreamAnalyticsFactory_
    CreateRecorder/default_recorder/should_create_a_non-detailed_default_recorder: a POST to the
    stream is recorded with its method and path (and its 200)."""
    assert requests.post(gateway.url("/analytics/post?probe=prepare"), data=b"{}", timeout=30).status_code == 200
    line = _one_line(gateway, "POST", "/analytics/post?probe=")
    assert line["status"] == 200 and line["api"] == "analytics", line


def test_stream_analytics_response_writer_write(gateway: Gunicorn) -> None:
    """TestStreamAnalyticsResponseWriter_Write: a GET answered with a body is recorded with
    method GET, its path and code 200."""
    assert requests.post(gateway.url("/analytics/post"), data=b'{"for": "get"}', timeout=30).status_code == 200
    resp = requests.get(gateway.url("/analytics/get?probe=write"), timeout=30)
    assert resp.status_code == 200 and resp.content  # the oldest message not yet taken
    line = _one_line(gateway, "GET", "/analytics/get?probe=")
    assert line["status"] == 200, line


@pytest.mark.parametrize("probe", ["hijack", "write-header", "handle-func", "websocket-recorder"])
def test_stream_analytics_websocket_recorded_with_101(gateway: Gunicorn, probe: str) -> None:
    """TestStreamAnalyticsResponseWriter_Hijack, TestStreamAnalyticsResponseWriter_WriteHeader,
    TestHandleFuncAdapter_HandleFunc and TestDefaultStreamAnalyticsFactory_CreateRecorder/
    websocket_recorder/should_create_a_non-detailed_websocket_recorder: a WebSocket connection
    (its request hijacked after 101 Switching Protocols) is recorded with method GET, its path
    and code 101."""
    before = _websocket_lines(gateway)
    ws = websocket.create_connection(gateway.ws_url(f"/analytics/subscribe?probe={probe}"), timeout=10)
    ws.close()
    deadline = time.monotonic() + 20
    while len(_websocket_lines(gateway)) == len(before):
        assert time.monotonic() < deadline, "no traffic line for the WebSocket:\n" + gateway.log()[-3000:]
        time.sleep(0.1)
    time.sleep(0.5)  # one line per connection, not more
    after = _websocket_lines(gateway)
    assert len(after) == len(before) + 1, after
    assert after[-1]["status"] == 101, after[-1]


def _websocket_lines(server: Gunicorn) -> list[dict[str, Any]]:
    """Traffic lines of WebSocket connections (query values are redacted, keys kept)."""
    return _traffic(server, "GET", "/analytics/subscribe?probe=")
