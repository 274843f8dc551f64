"""Runs playground mappings in a helper process, one per worker, killed at each run's deadline.

The helper is a fresh interpreter (``python -m streams.playground_helper``) rather
than a fork of the worker: a fork would run the worker's at-fork hooks (the host state closes
its SQLite connection before every fork) under greenlets that may be using them, and would copy
the worker's sockets and brokers. It is started on first use (about 0.4 s), answers one request at
a time over its stdin/stdout, and lives until it is killed (a run over the time limit, or one
that made it die) or the worker exits (its stdin closes). Its address space is capped at what it
needs plus ``Limits.memory_bytes``; its stderr is discarded (a crash is reported by its answer
missing, never as a traceback in the gateway's log).

Everything here waits cooperatively (gevent's subprocess pipes and ``Timeout``), so a worker
serves its other clients while a mapping runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

import gevent
import gevent.lock
import orjson

from streams.playground import Limits, Run, failed
from streams.playground_helper import READY

log = logging.getLogger("streams.playground")

STARTUP_S = 30.0
"""How long a helper may take to start (imports), apart from any run's limit."""
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PlaygroundBusy(Exception):
    """Runs queued on this worker for longer than a run may last: retry (503)."""


class PlaygroundRunner:
    """One worker's helper process and the queue of runs waiting for it."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._proc: subprocess.Popen | None = None
        self._turn = gevent.lock.Semaphore()

    def run(self, run: Run) -> dict[str, Any]:
        """The helper's answer for ``run`` (Benthos's ``blobl server`` fields, see
        ``streams.playground``), or an answer naming the bound it went over."""
        if not self._turn.acquire(timeout=self.limits.seconds * 2):
            raise PlaygroundBusy("the playground is busy on this worker; retry")
        try:
            return self._ask(run)
        finally:
            self._turn.release()

    def close(self) -> None:
        """Stop the helper (the next run starts another)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def _ask(self, run: Run) -> dict[str, Any]:
        proc = self._helper()
        request = orjson.dumps({"mapping": run.mapping, "input": run.input, "metadata": run.metadata}) + b"\n"
        most = self.limits.output_bytes * 2 + 65536
        try:
            with gevent.Timeout(self.limits.seconds):
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(request)
                proc.stdin.flush()
                answer = proc.stdout.readline(most)
        except gevent.Timeout:
            log.warning("playground run stopped at its time limit (%gs); helper %s killed", self.limits.seconds, proc.pid)
            self.close()
            return failed(f"the mapping ran longer than the playground's limit of {self.limits.seconds:g} s and was stopped")
        except OSError:
            answer = b""
        if not answer.endswith(b"\n"):
            log.warning("playground helper %s gave no complete answer (%d bytes); killed", proc.pid, len(answer))
            self.close()
            if not answer:
                return failed("the mapping was stopped: it needed more memory than the playground allows")
            return failed(f"the result is over the playground's limit of {self.limits.output_bytes} bytes")
        return orjson.loads(answer)

    def _helper(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.playground_helper", str(self.limits.memory_bytes), str(self.limits.output_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=PROJECT_ROOT, env=env,
        )
        self._proc = proc
        ready = b""
        with gevent.Timeout(STARTUP_S, False):
            assert proc.stdout is not None
            ready = proc.stdout.readline()
        if ready != READY:
            self.close()
            raise OSError("the playground's helper process did not start")
        log.info("playground helper started", extra={"pid": proc.pid})
        return proc
