"""Loopback ports where a connection never gets going, for tests of connect timeouts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import gevent


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose listen queue is full: the kernel drops further connection attempts, so
    connecting there waits until the client gives up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    gevent.sleep(0.1)
    try:
        yield port
    finally:
        for s in [*fillers, listener]:
            s.close()
