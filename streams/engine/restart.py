"""Keeping an active input running: restart it with a growing pause when it fails."""

from __future__ import annotations

from streams.brokers.base import BrokerError
from streams.contracts import Deliver, Input, Stopping
from streams.engine.logs import StreamLog


def run_restarting(inp: Input, deliver: Deliver, stopping: Stopping, log: StreamLog) -> None:
    """Run ``inp`` until it finishes on its own or ``stopping`` is set. An input that fails
    (broker unreachable, a rebalance gone wrong) is restarted with a growing pause instead of
    staying dead in this worker; uncommitted records are read again after a restart. A broker
    error (refused credentials, an unreachable cluster) is one line with its own sentence: its
    frames would only repeat where the broker was first used."""
    delay = 0.5
    while not stopping.is_set():
        try:
            inp.run(deliver, stopping)
            return  # finished on its own (e.g. generate's count reached)
        except BrokerError as exc:
            log.error(f"input failed; restarting in {delay:g}s", error=str(exc))
        except Exception:  # any failure restarts the input
            log.exception(f"input failed; restarting in {delay:g}s")
        if stopping.wait(delay):
            return
        delay = min(delay * 2, 30.0)
