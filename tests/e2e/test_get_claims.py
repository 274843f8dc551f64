"""Concurrent GETs of one user never get the same message (DESIGN §4 promise 4), end to end.

A GET commits the user's position past a record before handing it out; two GETs on two workers
(or two hosts) waiting at the same moment both see the record. Only one claim may win: the other
GET re-reads from the new position. Each test drives a real ``gunicorn wsgi:app`` with several
workers and counts every body any GET got, by the ``job_id`` the push answered with.
"""

from __future__ import annotations

import json
import socket
import time
from collections import Counter

import gevent
import requests

from tests.e2e.conftest import push
from tests.e2e.server import Gunicorn

ROUNDS = 20
GIVE_UP_S = 0.5


def job_ids(resp: requests.Response) -> list[str]:
    """The job ids in a GET's reply (one message, or a multipart batch of several)."""
    if resp.status_code != 200:
        return []
    if resp.headers.get("Content-Type", "").startswith("multipart/"):
        return [json.loads(line)["job_id"] for line in resp.content.split(b"\r\n") if line.startswith(b"{")]
    return [resp.json()["job_id"]]


def abandoned_get(server: Gunicorn, user: str, give_up: float) -> list[str]:
    """A GET whose client gives up after ``give_up`` seconds and closes the socket; returns the
    job ids of whatever reply arrived before that (normally none)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        sock.sendall(
            f"GET /stream-demo/get-event?user={user} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        sock.settimeout(give_up)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return []
    try:
        return [json.loads(body)["job_id"]]
    except ValueError:
        return ["<partial body>"]


def get(server: Gunicorn, user: str) -> list[str]:
    resp = requests.get(server.url("/stream-demo/get-event"), params={"user": user}, timeout=30)
    assert resp.status_code in (200, 408), resp.text
    return job_ids(resp)


def drain(server: Gunicorn, user: str, got: Counter[str], until_s: float = 8.0) -> None:
    """GET until one answers 408 (nothing left) or ``until_s`` passed."""
    deadline = time.monotonic() + until_s
    while time.monotonic() < deadline:
        ids = get(server, user)
        if not ids:
            return
        got.update(ids)


def test_get_given_up_and_retried_at_once_is_delivered_exactly_once(seed_server, user):
    got: Counter[str] = Counter()
    pushed: list[str] = []
    for _ in range(ROUNDS):
        got.update(abandoned_get(seed_server, user, GIVE_UP_S))
        retry = gevent.spawn(get, seed_server, user)
        gevent.sleep(0.05)  # the retry is waiting when the message arrives
        resp = push(seed_server, user, {"round": len(pushed)})
        assert resp.status_code == 200, resp.text
        pushed.append(resp.json()["job_id"])
        got.update(retry.get(timeout=60))
    drain(seed_server, user, got)
    twice = {j: n for j, n in got.items() if n > 1}
    missing = [j for j in pushed if j not in got]
    print(f"\n{seed_server.broker}: {ROUNDS} rounds, {len(twice)} delivered twice, {len(missing)} missing")  # type: ignore[attr-defined]
    assert not twice, f"delivered more than once: {twice}"
    assert not missing, f"never delivered: {missing}"
    assert set(got) == set(pushed)
