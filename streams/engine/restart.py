"""Keeping an active input running: restart it with a growing pause when it fails."""

from __future__ import annotations

from collections.abc import Callable

from streams.contracts import Input, Stopping
from streams.engine.logs import StreamLog
from streams.message import Message


def run_restarting(inp: Input, deliver: Callable[[list[Message]], bool], stopping: Stopping, log: StreamLog) -> None:
    """Run ``inp`` until it finishes on its own or ``stopping`` is set. An input that fails
    (broker unreachable, a rebalance gone wrong) is restarted with a growing pause instead of
    staying dead in this worker; uncommitted records are read again after a restart."""
    delay = 0.5
    while not stopping.is_set():
        try:
            inp.run(deliver, stopping)
            return  # finished on its own (e.g. generate's count reached)
        except Exception:  # any failure restarts the input
            log.exception(f"input failed; restarting in {delay:g}s")
        if stopping.wait(delay):
            return
        delay = min(delay * 2, 30.0)
