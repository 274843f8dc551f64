"""Start and stop a real ``gunicorn wsgi:app`` for end-to-end tests.

The server is the one a user runs (same module, same config file, gevent-websocket workers),
started from the repository root with ``-w N`` on a free loopback port and its own data
directory, so the embedded broker of one test run never sees another's records.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether ``port`` on the loopback can be bound now (for servers that need a known port)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Gunicorn:
    """A running gunicorn; ``url(path)`` builds addresses on it."""

    process: subprocess.Popen
    port: int
    log_path: Path
    data_dir: Path
    definitions_dir: Path | None = None
    """The directory ``serve_definitions`` wrote (``STREAMS_DEFINITIONS_DIR``), when it started it."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_gunicorn(
    tmp_dir: Path, *, workers: int = 4, env: dict[str, str] | None = None, app: str = "wsgi:app"
) -> Gunicorn:
    """Start ``gunicorn wsgi:app -w N`` and return once every worker answers health checks."""
    port = free_port()
    data_dir = tmp_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp_dir / "gunicorn.log"
    full_env = {
        **os.environ,
        "STREAMS_DATA_DIR": str(data_dir),
        "STREAMS_LOG_FORMAT": "text",
        "STREAMS_KAFKA_BROKERS": "embedded",
        **(env or {}),
    }
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "-b", f"127.0.0.1:{port}", "-w", str(workers)],
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(process, port, log_path, data_dir)
    deadline = time.monotonic() + 60
    answered = 0
    ok_statuses = (200,) if app == "wsgi:app" else (200, 404)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.log()[-4000:]}")
        try:
            # Fresh connections land on different workers; several answers mean they are up.
            if requests.get(server.url("/hello"), timeout=2).status_code in ok_statuses:
                answered += 1
                if answered >= workers * 2:
                    return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer on port {port}:\n{server.log()[-4000:]}")


def serve_definitions(
    tmp_dir: Path, files: Mapping[str, str], *, workers: int, env: dict[str, str] | None = None
) -> Gunicorn:
    """Write ``files`` (file name → text) into ``tmp_dir/apis`` and start a gunicorn serving that
    directory, the way a user points ``STREAMS_DEFINITIONS_DIR`` at their definitions."""
    apis = tmp_dir / "apis"
    apis.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (apis / name).write_text(text)
    server = start_gunicorn(tmp_dir, workers=workers, env={"STREAMS_DEFINITIONS_DIR": str(apis), **(env or {})})
    server.definitions_dir = apis
    return server


HOSTS_SEEN = "API rate limits and key quotas shared by {count} gateway hosts"
"""The line each worker logs when the number of gateway hosts it counts changes."""


def wait_until_every_worker_sees_hosts(servers: list[Gunicorn], workers: int, deadline_s: float = 60.0) -> None:
    """Until every worker of every gateway logged that it counts all of them as hosts (their
    heartbeats on Kafka reached each other)."""
    seen = HOSTS_SEEN.format(count=len(servers))
    deadline = time.monotonic() + deadline_s
    while not all(server.log().count(seen) >= workers for server in servers):
        assert time.monotonic() < deadline, "the hosts never heard each other:\n" + servers[0].log()[-3000:]
        time.sleep(0.2)
