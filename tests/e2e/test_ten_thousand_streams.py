"""One gunicorn worker holds 10,000 idle SSE connections and still serves pushes and streams.

The gateway is started with the common soft limit of 1,024 open files: the worker raises its
own limit (``handlers.server.worker.raise_open_file_limit``), and ``worker_connections`` leaves
room beyond 10,000 for the push that follows. Every connection of the pushing user gets the
message (broadcast), and none of another user's does.
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import open_sse_socket, read_until
from tests.e2e.server import Gunicorn, start_gunicorn

CONNECTIONS = 10_000
USERS = 10
NEEDED_FILES = CONNECTIONS + 600  # this process's sockets, pytest's own files and some slack


@pytest.fixture
def one_worker_at_1024_files(tmp_path: Path) -> Iterator[Gunicorn]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < NEEDED_FILES:
        pytest.skip(f"the hard open-file limit is {hard}; this test opens {CONNECTIONS} sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # what gunicorn inherits
    try:
        server = start_gunicorn(tmp_path, workers=1)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, NEEDED_FILES), hard))  # for this process's sockets
    try:
        yield server
    finally:
        server.stop()


def open_stream(port: int, user: str) -> socket.socket:
    sock = open_sse_socket(port, user)
    head = read_until(sock, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock


def buffered(sock: socket.socket) -> bytes:
    """Whatever has arrived on ``sock`` without waiting."""
    got = b""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except BlockingIOError:
        pass
    return got


def test_one_worker_holds_ten_thousand_streams_and_still_serves(one_worker_at_1024_files: Gunicorn) -> None:
    server = one_worker_at_1024_files
    users = [f"many-{i}" for i in range(USERS)]
    with ThreadPoolExecutor(32) as pool:
        socks = list(pool.map(lambda n: (users[n % USERS], open_stream(server.port, users[n % USERS])), range(CONNECTIONS)))
    try:
        assert len(socks) == CONNECTIONS
        pushed = requests.post(server.url("/stream-demo/push-event"), params={"user": users[3]}, json={"n": 1}, timeout=30)
        assert pushed.status_code == 200, pushed.text
        job = pushed.json()["job_id"].encode()

        deadline = time.monotonic() + 60
        mine = [s for u, s in socks if u == users[3]]
        assert len(mine) == CONNECTIONS // USERS
        for sock in mine:  # broadcast: every connection of the user
            assert b'"result":"bar"' in read_until(sock, job, deadline_s=deadline - time.monotonic())
        others = [s for u, s in socks if u != users[3]]
        leaked = [s for s in others[:: max(1, len(others) // 500)] if job in buffered(s)]
        assert not leaked, f"{len(leaked)} connections of other users got the message"
    finally:
        for _, sock in socks:
            sock.close()
