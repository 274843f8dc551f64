"""Helpers shared by the benchmarks: start a gunicorn like the end-to-end tests do, run wrk."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.clients import open_sse_socket  # noqa: E402
from tests.e2e.server import Gunicorn, serve_definitions, start_gunicorn  # noqa: E402


def gateway(
    workers: int, brokers: str = "embedded", app: str | None = None, definitions: Mapping[str, str] | None = None
) -> Gunicorn:
    """A gunicorn serving the seed demo (or ``app``; or the API definition files ``definitions``,
    file name -> text) from a fresh data directory."""
    tmp = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    # Every benchmark client comes from one address, often as one user: the per-client limit
    # on streaming connections would measure itself, not the gateway.
    env = {"STREAMS_KAFKA_BROKERS": brokers, "STREAMS_LOG_LEVEL": "WARNING", "STREAMS_MAX_CLIENT_STREAMS": "1000000"}
    if definitions is not None:
        return serve_definitions(tmp, definitions, workers=workers, env=env)
    return start_gunicorn(tmp, workers=workers, env=env, app=app or "wsgi:app")


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's workers (its children)."""
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` so far."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def open_sse(port: int, user: str) -> socket.socket | None:
    """An SSE connection of the seed for ``user`` that answered 200 (its head read), or None."""
    sock = open_sse_socket(port, user)
    head = sock.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        sock.close()
        return None
    return sock


def wrk(
    url: str, *, seconds: int, connections: int, threads: int = 1, script: str | None = None, cpu_of: list[int] | None = None
) -> dict:
    """Run wrk (Debian package ``wrk``) and return requests/s and latency percentiles; with
    ``cpu_of`` (the workers' pids) also ``cpu_us``, their CPU per request over the run."""
    if not shutil.which("wrk"):
        raise SystemExit("bench needs wrk: apt-get install wrk")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cpu_before = cpu_seconds(cpu_of) if cpu_of else 0.0
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    cpu_spent = cpu_seconds(cpu_of) - cpu_before if cpu_of else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    done = re.search(r"(\d+) requests in", out)
    requests = int(done.group(1)) if done else 0
    result = {
        "rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "errors": int(non2xx.group(1)) if non2xx else 0,
        "requests": requests,
    }
    if cpu_of:
        result["cpu_us"] = cpu_spent / requests * 1e6 if requests else float("nan")
    return result


def post_script(body: str) -> str:
    fd, path = tempfile.mkstemp(suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = [[{body}]]\n")
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
    return path
