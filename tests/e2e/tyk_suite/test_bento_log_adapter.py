"""Tyk's ``ee/middleware/streams/bento_log_adapter_test.go`` against a real ``gunicorn -w 2``.

Tyk turns each of Bento's JSON log lines into one of its own: the level kept, the message, and
the stream, component path and label as fields. Replayed here from outside: the gateway's JSON
log (``STREAMS_LOG_FORMAT=json``) carries a stream's lines with their level and the stream's
name. The adapter's other two cases feed it lines no stream produces (a level Bento does not
have, a broken JSON line); they have no outside equivalent and are not replayed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.server import Gunicorn, free_port
from tests.e2e.tyk_suite.suite import serve


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    # Kafka at a port nobody listens on: the output's sends fail as in Tyk's error line.
    unreachable = f"127.0.0.1:{free_port()}"
    server = serve(
        tmp_path_factory.mktemp("tyk-log-adapter"), ["log-adapter.yaml"],
        env={"STREAMS_LOG_FORMAT": "json", "STREAMS_KAFKA_BROKERS": unreachable},
    )
    yield server
    server.stop()


def _lines(server: Gunicorn) -> list[dict[str, Any]]:
    out = []
    for line in server.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def _stream_lines(server: Gunicorn, level: str) -> list[dict[str, Any]]:
    return [e for e in _lines(server) if e.get("level") == level and e.get("stream") == "default_stream"]


def test_bento_log_adapter_info_line(gateway: Gunicorn) -> None:
    """TestBentoLogAdapter (info line, "Output type kafka is now active"): a stream coming up is
    logged at info level with the stream's name (and its API)."""
    deadline = time.monotonic() + 30
    while not _stream_lines(gateway, "INFO"):
        assert time.monotonic() < deadline, gateway.log()[-3000:]
        time.sleep(0.2)
    assert all(e.get("api") == "log-adapter" for e in _stream_lines(gateway, "INFO"))


def test_bento_log_adapter_error_line(gateway: Gunicorn) -> None:
    """TestBentoLogAdapter (error line, "Failed to send '1' messages: kafka: client has run out
    of available brokers ..."): a Kafka output that cannot send logs an error-level line naming
    the stream, whose message says the send failed and why (the broker cannot be reached)."""
    resp = requests.post(gateway.url("/log-adapter/post"), data=b'{"n": 1}', timeout=60)
    assert resp.status_code in (408, 502), resp.status_code
    deadline = time.monotonic() + 30
    while not _stream_lines(gateway, "ERROR"):
        assert time.monotonic() < deadline, "no error line names the stream:\n" + gateway.log()[-3000:]
        time.sleep(0.2)
    message = " ".join(str(e.get("msg", "")) for e in _stream_lines(gateway, "ERROR")).lower()
    assert "kafka" in message and ("send" in message or "produce" in message), message
