"""Tyk's ``ee/middleware/streams/stream_test.go`` against a real ``gunicorn -w 2``.

Tyk starts and stops one Bento stream in-process; here a stream starts when the gateway loads
its definition and stops when the gateway does. Tyk cuts unsafe components out of a config
(unless an operator allow-lists them); this gateway refuses the config with the reason (DESIGN
§10, kept on purpose) and has no allow-list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
import websocket  # websocket-client

from tests.e2e.clients import WSReader
from tests.e2e.server import Gunicorn
from tests.e2e.tyk_suite.suite import DEFINITIONS, lint, serve

APIS = ["stream-start.yaml", "stream-bad-schema.yaml", "unsafe-removed.yaml", "unsafe-whitelisted.yaml"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    server = serve(tmp_path_factory.mktemp("tyk-stream"), APIS)
    yield server
    server.stop()


def test_stream_start_success(gateway: Gunicorn) -> None:
    """TestStreamStart/success: ``http_server`` input (path /post) to ``http_server`` output
    (ws_path /subscribe) starts: a POST reaches the WebSocket client."""
    assert lint(DEFINITIONS / "stream-start.yaml").returncode == 0
    reader = WSReader(gateway.ws_url("/stream-start/subscribe")).start()
    try:
        resp = requests.post(gateway.url("/stream-start/post"), data=b'{"n": 1}', timeout=30)
        assert resp.status_code == 200, resp.text
        assert reader.wait(1, 30) == ['{"n": 1}']
    finally:
        reader.close()


def test_stream_start_fail_due_to_bad_schema(gateway: Gunicorn) -> None:
    """TestStreamStart/fail_due_to_bad_schema: ``ws_pat`` is no field of the ``http_server``
    output, so the stream does not start: lint names the field (with the one meant), the gateway
    logs the problem and serves nothing under the API."""
    result = lint(DEFINITIONS / "stream-bad-schema.yaml")
    assert result.returncode == 1
    assert "streams.test.output.http_server.ws_pat: unknown field (did you mean 'ws_path'?)" in result.stdout, result.stdout
    assert "ws_pat" in gateway.log()
    assert requests.post(gateway.url("/stream-bad-schema/post"), data=b"{}", timeout=10).status_code == 404
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(gateway.ws_url("/stream-bad-schema/subscribe"), timeout=10)
    assert refused.value.status_code == 404


def _stops_cleanly(server: Gunicorn) -> None:
    server.stop()
    assert server.process.returncode == 0, server.log()[-3000:]
    assert "Traceback" not in server.log()
    assert not re.search(r'"level": "(ERROR|CRITICAL)"| ERROR | CRITICAL ', server.log()), server.log()[-3000:]


def test_stream_stop_successfully_stop(tmp_path_factory: pytest.TempPathFactory) -> None:
    """TestStreamStop/successfully_stop: a started stream (it took a message) stops without error
    when the gateway stops."""
    server = serve(tmp_path_factory.mktemp("tyk-stream-stop"), ["stream-start.yaml"])
    try:
        assert requests.post(server.url("/stream-start/post"), data=b"{}", timeout=30).status_code == 200
    finally:
        _stops_cleanly(server)


def test_stream_stop_no_error_stopping_cause_no_stream(tmp_path_factory: pytest.TempPathFactory) -> None:
    """TestStreamStop/no_error_stopping_cause_no_stream: stopping when the stream object is gone
    is no error. Here: a stream with ``$tyk_context`` placeholders has no instance until a
    request needs one; a gateway stopped before any request stops without error."""
    server = serve(tmp_path_factory.mktemp("tyk-stream-none"), ["stream-never-started.yaml"])
    _stops_cleanly(server)


def test_remove_unsafe_components(gateway: Gunicorn) -> None:
    """TestRemoveAndWhitelistUnsafeComponents/Remove_Unsafe_Components: a ``file`` input and a
    ``socket`` output, each with an explicit ``type:`` key.

    Tyk removes both blocks and runs what is left; this gateway refuses the definition naming both
    and why (DESIGN §10), each at its ``type:`` key, and serves nothing under it."""
    result = lint(DEFINITIONS / "unsafe-removed.yaml")
    assert result.returncode == 1
    assert "streams.test.input.type: input 'file' is not allowed: it reaches the host's files" in result.stdout, result.stdout
    assert "streams.test.output.type: output 'socket' is not allowed: it reaches the host's files" in result.stdout, result.stdout
    assert requests.get(gateway.url("/unsafe-removed/"), timeout=10).status_code == 404


def test_whitelist_components(gateway: Gunicorn) -> None:
    """TestRemoveAndWhitelistUnsafeComponents/Whitelist_Components: Tyk keeps ``file`` and
    ``socket`` when the operator allow-lists them. This gateway has no allow-list: unsafe
    components are always refused with the reason (DESIGN §10)."""
    result = lint(DEFINITIONS / "unsafe-whitelisted.yaml")
    assert result.returncode == 1
    assert "streams.test.input.file: input 'file' is not allowed" in result.stdout, result.stdout
    assert "streams.test.output.socket: output 'socket' is not allowed" in result.stdout, result.stdout
    assert "output 'socket' is not allowed" in gateway.log()
