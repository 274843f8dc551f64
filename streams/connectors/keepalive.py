"""Keeping a blocking broker client's connection alive while its greenlet is busy elsewhere.

pika's and proton's blocking connections answer heartbeats (send idle frames) only inside their
own calls. An input that spends longer in ``deliver`` than the broker's heartbeat or idle
timeout would lose its connection and with it the acknowledgement of the message it is writing
(the broker would deliver it again). ``run_keeping_alive`` turns the connection's I/O from a
second greenlet while ``work`` runs. The input's greenlet is inside ``work``, not the client,
meanwhile, so the connection is never used by two greenlets at once; the pump is joined, not
killed, before ``work``'s result is returned and the client used again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import gevent
import gevent.event

T = TypeVar("T")
PERIOD = 1.0
"""Seconds between two turns of the connection's I/O."""


def run_keeping_alive(work: Callable[[], T], turn: Callable[[], None], period: float = PERIOD) -> T:
    """``work()``, with ``turn()`` called every ``period`` seconds meanwhile. ``turn`` reports
    a broken connection by raising; the pump then stops, and the owner learns of it at its
    next call of the client."""
    done = gevent.event.Event()

    def pump() -> None:
        while not done.wait(period):
            try:
                turn()
            except Exception:  # noqa: BLE001 - the owner's next call raises it with context
                return

    pumper = gevent.spawn(pump)
    try:
        return work()
    finally:
        done.set()
        pumper.join()
