"""Concurrent GETs of one user never get the same message (DESIGN §4 promise 4), end to end.

A GET commits the user's position past a record before handing it out; two GETs on two workers
(or two hosts) waiting at the same moment both see the record. Only one claim may win: the other
GET re-reads from the new position. Each test drives a real ``gunicorn wsgi:app`` with several
workers and counts every body any GET got, by the ``job_id`` the push answered with.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter

import gevent
import gevent.event
import pytest
import requests

from tests.e2e.conftest import push
from tests.e2e.server import Gunicorn, start_gunicorn

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


def worker_pids(server: Gunicorn) -> list[int]:
    """The gunicorn master's live children (its workers)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def positions(resp: requests.Response) -> tuple[int, int]:
    partition, offset = resp.headers["X-Stream-Position"].split("-")[:2]
    return int(partition), int(offset)


def test_sequential_gets_drain_in_order_while_workers_are_killed(seed_server, user):
    """100 messages, drained one GET at a time; after every 25th GET one worker is SIGKILLed
    (gunicorn starts another): none missing, none twice, each partition in offset order."""
    total, kills = 100, 3
    pushed = []
    for n in range(total):
        resp = push(seed_server, user, {"n": n})
        assert resp.status_code == 200, resp.text
        pushed.append(resp.json()["job_id"])
    got: list[str] = []
    seen: dict[int, list[int]] = {}
    killed = []
    deadline = time.monotonic() + 300
    while len(got) < total and time.monotonic() < deadline:
        try:
            resp = requests.get(seed_server.url("/stream-demo/get-event"), params={"user": user}, timeout=30)
        except requests.ConnectionError:
            continue  # a worker died under this GET's connection before it answered
        if resp.status_code == 408:
            continue  # the Worker stream has not enriched the next one yet
        assert resp.status_code == 200, resp.text
        got += job_ids(resp)
        partition, offset = positions(resp)
        seen.setdefault(partition, []).append(offset)
        if len(got) % 25 == 0 and len(killed) < kills:
            victim = worker_pids(seed_server)[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
    drain(seed_server, user, counted := Counter(got))
    print(f"\n{seed_server.broker}: drained {len(got)} of {total}, killed {killed}")  # type: ignore[attr-defined]
    assert len(killed) == kills
    assert not {j: n for j, n in counted.items() if n > 1}, "delivered twice"
    assert set(counted) == set(pushed), "missing or foreign messages"
    assert all(offsets == sorted(set(offsets)) for offsets in seen.values()), seen


@pytest.mark.kafka
def test_two_hosts_on_one_kafka_never_give_one_message_twice(kafka_bootstrap, tmp_path, user):
    """Two gateways (two gunicorns, each its own data directory) on one Kafka; two GET loops on
    each host for one user while 40 messages are pushed to both hosts in turn."""
    env = {"STREAMS_KAFKA_BROKERS": kafka_bootstrap}
    hosts = [start_gunicorn(tmp_path / f"host{n}", workers=2, env=env) for n in range(2)]
    try:
        total = 40
        got: Counter[str] = Counter()
        done = gevent.event.Event()

        def loop(server: Gunicorn) -> None:
            while not done.is_set():
                got.update(get(server, user))

        loops = [gevent.spawn(loop, hosts[n % 2]) for n in range(4)]
        pushed = []
        for n in range(total):
            resp = push(hosts[n % 2], user, {"n": n})
            assert resp.status_code == 200, resp.text
            pushed.append(resp.json()["job_id"])
        deadline = time.monotonic() + 120
        while len(got) < total and time.monotonic() < deadline:
            gevent.sleep(0.2)
        done.set()
        gevent.joinall(loops, timeout=60, raise_error=True)
        drain(hosts[0], user, got)
        twice = {j: n for j, n in got.items() if n > 1}
        print(f"\ntwo hosts: {sum(got.values())} bodies for {total} pushes, {len(twice)} twice")
        assert not twice, f"delivered more than once: {twice}"
        assert set(got) == set(pushed)
    finally:
        for server in hosts:
            server.stop()
