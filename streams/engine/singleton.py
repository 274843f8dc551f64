"""Running an input once per host, whatever the number of worker processes (DESIGN §10).

Every worker builds the same template-free stream; an input that is not shared by nature
(``generate``, ``http_client`` polling: each copy would make its own messages) must run in one of
them only. The worker that takes the stream's ``HostLease`` runs it; the others try again every
``RETRY_SECONDS`` and take over within that time once the holder dies (the kernel drops a dead
process's lock at once) or stops the stream.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from streams.contracts import Stopping
from streams.engine.host import HostLease
from streams.engine.logs import StreamLog

RETRY_SECONDS = 1.0
"""How often a worker that does not run a once-per-host input checks whether it should."""


def run_once_per_host(
    lease: HostLease, run: Callable[[], None], stopping: Stopping, log: StreamLog, retry: float = RETRY_SECONDS
) -> None:
    """Wait for ``lease``, then ``run()`` while holding it, and keep it until the stream stops:
    an input that finished on its own (``generate`` reached its count) stays finished, instead
    of every other worker taking the lease in turn to find there is nothing left to do."""
    waited = False
    while not stopping.is_set():
        if lease.try_acquire():
            break
        if not waited:
            log.info("input runs in another worker of this host; standing by")
            waited = True
        if stopping.wait(retry):
            return
    else:
        return
    log.info(f"input runs in this worker, pid {os.getpid()} (host lease taken{', a takeover' if waited else ''})")
    try:
        run()
        stopping.wait()
    finally:
        lease.release()
