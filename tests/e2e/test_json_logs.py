"""Every line gunicorn writes is one JSON object, and none carries what a client sent.

A real ``gunicorn wsgi:app -w 4`` with ``STREAMS_LOG_FORMAT=json`` gets malformed pushes of every
kind we could think of (bad JSON, multipart, UTF-8, content type, huge headers, broken request
lines and chunking over a raw socket), each carrying a secret in its body, headers, cookies and
query; a second one points at a closed Kafka port so that produce fails. Then the whole log is
read back line by line.
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest
import requests

from tests.e2e.server import Gunicorn, start_gunicorn

WORKERS = 4
SECRET = f"s3cr3t-{uuid.uuid4().hex}"
PUSH = "/stream-demo/push-event"


def _headers(content_type: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Authorization": f"Bearer {SECRET}-auth",
        "Cookie": f"session={SECRET}-cookie",
        "X-Api-Key": f"{SECRET}-header",
    }


def _params() -> dict[str, str]:
    return {"user": "log-test", "api_key": f"{SECRET}-query"}


def _raw(server: Gunicorn, data: bytes) -> bytes:
    """Send bytes as they are (what no HTTP client library would send) and read the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # no more bytes: the server reads EOF instead of waiting
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            pass
    return b"".join(chunks)


def malformed_pushes(server: Gunicorn) -> list[int]:
    """Every malformed push; the statuses the gateway answered (0: the connection was closed)."""
    url = server.url(PUSH)
    statuses = []
    bodies = [
        ("application/json", f'{{"message": "{SECRET}-body"'.encode()),  # truncated JSON
        ("application/json", b'{"message": "\xff\xfe' + SECRET.encode() + b'-body"}'),  # bad UTF-8
        ("multipart/form-data; boundary=XyZ", f"--XyZ\r\nContent-Disposition: form-data\r\n{SECRET}-body".encode()),
        ("multipart/form-data", f"{SECRET}-body".encode()),  # no boundary
        ("text/plain; charset=klingon", f"{SECRET}-body".encode()),
        ("application/x-www-form-urlencoded", f"a=%ZZ{SECRET}-body".encode()),
        ("", f"\x00\x01{SECRET}-body".encode()),
    ]
    for content_type, body in bodies:
        resp = requests.post(url, params=_params(), data=body, headers=_headers(content_type), timeout=30)
        statuses.append(resp.status_code)
    huge = {**_headers("application/json"), "X-Huge": f"{SECRET}-huge" + "x" * 60_000}
    try:
        statuses.append(requests.post(url, params=_params(), data=b"{}", headers=huge, timeout=30).status_code)
    except requests.ConnectionError:
        statuses.append(0)
    raw_requests = [
        f"P\x00ST {PUSH}?api_key={SECRET}-query HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"POST {PUSH}?api_key={SECRET}-query HTTP/9.9\r\nHost: x\r\nAuthorization: Bearer {SECRET}-auth\r\n\r\n".encode(),
        f"POST {PUSH}?user=u&api_key={SECRET}-query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        f"Authorization: Bearer {SECRET}-auth\r\n\r\nZZ\r\n{SECRET}-body\r\n0\r\n\r\n".encode(),
        f"POST {PUSH}?user=u HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nCookie: s={SECRET}-cookie\r\n\r\n".encode(),
        f"POST {PUSH}?user=u HTTP/1.1\r\nHost: x\r\nBad Header {SECRET}-header\r\n\r\n".encode(),
        f"POST {PUSH}?user=u HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{SECRET}-body".encode(),
    ]
    for data in raw_requests:
        answer = _raw(server, data)
        statuses.append(int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0)
    return statuses


def json_lines(server: Gunicorn) -> list[dict]:
    """Every line of the log parsed; fails naming the first line that is not a JSON object."""
    entries = []
    for number, line in enumerate(server.log().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"log line {number} is not JSON: {line[:300]!r}")
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def assert_no_secret(server: Gunicorn) -> None:
    text = server.log()
    assert SECRET not in text, [line[:300] for line in text.splitlines() if SECRET in line]


@pytest.fixture(scope="module")
def json_server(tmp_path_factory):
    server = start_gunicorn(
        tmp_path_factory.mktemp("gunicorn-json"), workers=WORKERS, env={"STREAMS_LOG_FORMAT": "json"}
    )
    yield server
    server.stop()


def test_malformed_pushes_log_json_lines_without_client_data(json_server):
    statuses = malformed_pushes(json_server)
    assert len(statuses) == 14
    assert all(s < 500 for s in statuses), statuses  # a client error, never a server one
    ok = requests.post(
        json_server.url(PUSH), params={"user": "log-test"}, json={"message": "fine"}, timeout=30
    )
    assert ok.status_code == 200, ok.text
    json_server.stop()  # the shutdown lines are checked too
    entries = json_lines(json_server)
    assert len(entries) >= WORKERS, "gunicorn and the workers log at least their start"
    assert all({"ts", "level", "logger", "msg"} <= e.keys() for e in entries)
    assert not [e for e in entries if "Traceback" in json.dumps(e)]
    # Each worker froze its start-up heap out of the garbage collector's passes (server/heap.py).
    frozen = [e for e in entries if "start-up objects frozen out of garbage collection" in e["msg"]]
    assert len(frozen) >= WORKERS and all(e["level"] == "INFO" for e in frozen), frozen
    client_errors = [e for e in entries if e["logger"] == "streams.http.server"]
    assert client_errors and all(e["level"] == "WARNING" for e in client_errors), client_errors
    assert_no_secret(json_server)


def test_push_during_a_kafka_outage_logs_json_lines_without_client_data(tmp_path_factory):
    server = start_gunicorn(
        tmp_path_factory.mktemp("gunicorn-outage"),
        workers=WORKERS,
        env={"STREAMS_LOG_FORMAT": "json", "STREAMS_KAFKA_BROKERS": "127.0.0.1:1"},
    )
    try:
        resp = requests.post(
            server.url(PUSH),
            params=_params(),
            data=json.dumps({"message": f"{SECRET}-body"}),
            headers=_headers("application/json"),
            timeout=90,
        )
        assert resp.status_code in (502, 503, 408), resp.text
        assert SECRET not in resp.text
    finally:
        server.stop()
    entries = json_lines(server)
    assert any(e["level"] in ("WARNING", "ERROR") for e in entries), "the outage is logged"
    assert not [e for e in entries if "Traceback" in json.dumps(e)]
    # kafka-python logs every reconnect attempt; one line per logger and level every 30 s per
    # worker is let through (a handful of loggers, a run well under a minute).
    kafka_lines = [e for e in entries if e["logger"].startswith("kafka")]
    assert kafka_lines and len(kafka_lines) <= WORKERS * 16, len(kafka_lines)
    assert_no_secret(server)
