"""Drive a server: paced pushes stamped with their send time, a stream reader in its own process,
idle stream connections. The same code drives the gateway and the peer; only URLs differ.

The caller patches with gevent (``bench/peer.py`` does), so many pushes and thousands of idle
sockets share one process.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import gevent
import gevent.pool
import gevent.queue

from .procs import log

READER = Path(__file__).with_name("reader.py")
WARM_UP = 10  # messages through the whole pipeline before the clock counts
RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class PushResult:
    sent: int = 0
    ok: int = 0
    failed: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # first send to last answer

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


class Pusher:
    """POSTs JSON bodies ``{"message", "n", "sent_at"}`` to one URL over kept-alive connections."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")

    def _post(self, conn: http.client.HTTPConnection | None, n: int) -> tuple[http.client.HTTPConnection, int]:
        for attempt in (0, 1):
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            body = json.dumps({"message": "hello world", "n": n, "sent_at": time.time()})
            try:
                conn.request("POST", self.path, body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                return conn, resp.status
            except RETRYABLE:
                conn.close()
                conn = None
                if attempt:  # a kept-alive connection the server had closed gets one more try
                    raise
        raise AssertionError("unreachable")

    def one(self, n: int) -> int:
        conn, status = self._post(None, n)
        conn.close()
        return status

    def paced(self, rate: float, seconds: float) -> PushResult:
        """Send ``rate * seconds`` messages, message n due at start + n/rate, open loop: a slow
        answer does not delay the next send while enough connections are free."""
        total = max(1, int(rate * seconds))
        concurrency = max(8, min(128, int(rate * 0.05)))
        queue: gevent.queue.Queue = gevent.queue.Queue()
        result = PushResult(sent=total)

        def worker() -> None:
            conn = None
            while (n := queue.get()) is not None:
                try:
                    conn, status = self._post(conn, n)
                except OSError as exc:
                    result.failed[type(exc).__name__] += 1
                    conn = None
                    continue
                if status == 200:
                    result.ok += 1
                else:
                    result.failed[str(status)] += 1
            if conn is not None:
                conn.close()

        workers = [gevent.spawn(worker) for _ in range(concurrency)]
        start = time.monotonic()
        for n in range(total):
            gevent.sleep(max(0.0, start + n / rate - time.monotonic()))
            queue.put(n)
            if n and n % max(1, int(rate * 5)) == 0:
                log(f"    {n}/{total} due, {result.ok} answered")
        for _ in workers:
            queue.put(None)
        gevent.joinall(workers)
        result.seconds = time.monotonic() - start
        return result


@dataclass
class Latency:
    sent: int
    ok: int
    received: int
    duplicates: int
    send_rate: float
    p50: float | None = None
    p99: float | None = None
    max: float | None = None
    failed: Counter = field(default_factory=Counter)
    note: str = ""

    @property
    def lost(self) -> int:
        return self.ok - self.received


class Reader:
    """``reader.py`` as a child process; its output file holds one line per arrival."""

    def __init__(self, url: str, fmt: str, out: Path) -> None:
        self.out = out
        with open(out, "wb") as f:
            self.process = subprocess.Popen([sys.executable, str(READER), url, fmt], stdout=f,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def lines(self) -> list[str]:
        return self.out.read_text(errors="replace").splitlines()

    def arrivals(self) -> dict[int, list[float]]:
        """n -> latencies in ms of each arrival (more than one means a duplicate)."""
        seen: dict[int, list[float]] = {}
        for line in self.lines():
            if line.startswith("#"):
                continue
            try:
                n, sent, arrived = line.split()
                seen.setdefault(int(n), []).append((float(arrived) - float(sent)) * 1000)
            except ValueError:
                continue
        return seen

    def wait_for(self, test, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if test():
                return True
            if self.process.poll() is not None:
                return test()
            gevent.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def measure_latency(push_url: str, stream_url: str, fmt: str, *, rate: float, seconds: float, out: Path) -> Latency:
    """Push at ``rate`` for ``seconds`` while one reader follows the stream; latency is arrival
    minus the send time stamped in each message."""
    reader = Reader(stream_url, fmt, out)
    pusher = Pusher(push_url)
    try:
        if not reader.wait_for(lambda: "# open" in reader.lines(), 15):
            return Latency(0, 0, 0, 0, 0.0, note=f"reader did not connect: {reader.lines()[-3:]}")
        # Warm-up: a message must make the whole trip (group joins, any backlog) before the clock counts.
        # A few more, a moment apart, so every worker's part of the pipeline has carried one.
        warm = time.monotonic()
        for n in range(-WARM_UP, 0):
            status = pusher.one(n)
            if status != 200 or not reader.wait_for(lambda n=n: n in reader.arrivals(), 120):
                return Latency(0, 0, 0, 0, 0.0, note=f"warm-up failed (push {status}): {reader.lines()[-3:]}")
            gevent.sleep(0.1)
        log(f"    warm after {time.monotonic() - warm:.1f}s; pushing {int(rate * seconds)} at {rate:g}/s ...")
        gevent.sleep(0.5)
        pushed = pusher.paced(rate, seconds)

        def settled(state={"count": -1, "since": time.monotonic()}) -> bool:  # noqa: B006 - per-call state
            count = sum(1 for n in reader.arrivals() if n >= 0)
            if count != state["count"]:
                state["count"], state["since"] = count, time.monotonic()
            return count >= pushed.ok or time.monotonic() - state["since"] > 10

        reader.wait_for(settled, 60)
    finally:
        reader.stop()
    arrivals = {n: lat for n, lat in reader.arrivals().items() if 0 <= n < pushed.sent}
    firsts = [lat[0] for lat in arrivals.values()]
    result = Latency(
        sent=pushed.sent, ok=pushed.ok, received=len(arrivals), failed=pushed.failed,
        duplicates=sum(len(lat) - 1 for lat in arrivals.values()), send_rate=pushed.rate,
    )
    if firsts:
        result.p50, result.p99, result.max = percentile(firsts, 0.5), percentile(firsts, 0.99), max(firsts)
    return result


def open_idle(port: int, paths: list[str], *, sse: bool, expect_head: bool) -> tuple[list[socket.socket], Counter]:
    """One idle stream connection per path; with ``expect_head`` each must answer 200 first (the
    peer's stream answers only with its first message, so for it the request sent is the test)."""
    problems: Counter = Counter()
    accept = "Accept: text/event-stream\r\n" if sse else ""

    def one(path: str) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{accept}\r\n".encode())
            if expect_head:
                head = sock.recv(4096)
                if not head.startswith(b"HTTP/1.1 200"):
                    problems[head.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"] += 1
                    sock.close()
                    return None
            return sock
        except OSError as exc:
            problems[type(exc).__name__] += 1
            return None

    pool = gevent.pool.Pool(100)
    socks = [s for s in pool.imap(one, paths) if s is not None]
    return socks, problems
