"""``StreamsWorker``: gunicorn's gevent pywsgi worker with the gateway's request handler.

gunicorn.conf.py names it as ``worker_class``. It is the one place that ties the server's
connection handling (framing, timeouts, WebSocket upgrades) and its signals (drain on TERM/HUP)
to the gateway.

Stopping (TERM from a shutdown or a HUP reload, QUIT/INT, ``max_requests`` reached): stop
accepting, call ``begin_shutdown`` (wired by gunicorn.conf.py to the gateway: stream clients are
told to leave, waiting GETs answered, inputs stopped), wait until no request is in flight
(pushes being processed finish; bounded by ``STOP_WAIT`` or, for QUIT, ``QUICK_STOP_WAIT``), drop
the idle kept-alive connections and return; gunicorn's ``worker_exit`` hook then drains the
gateway (commit, close consumers so their groups rebalance at once). The whole takes seconds,
well inside the graceful timeout, instead of waiting for streams that never end by themselves.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import gevent
import gevent.event
from gevent.pool import Pool
from gunicorn.http.wsgi import base_environ
from gunicorn.sock import ssl_context
from gunicorn.workers.ggevent import VERSION, GeventPyWSGIWorker

from handlers.server.handler import GatewayHandler
from handlers.server.heap import freeze_startup_heap, raise_young_threshold
from handlers.server.inflight import InflightRequests, TrackedApp
from handlers.server.limits import ServerLimits
from streams.settings import Settings

STOP_WAIT = 6.0
"""Longest wait for in-flight requests (a push's own timeout is 5 s by default) before the
remaining connections are dropped; the drain that follows has the rest of the 10 s budget.
Never more than half of gunicorn's graceful timeout, so the drain always gets its turn."""
QUICK_STOP_WAIT = 1.0
"""The same for a quick shutdown (QUIT/INT): gunicorn's master waits only briefly."""


def untrack_greenlet_tree() -> None:
    """Spawn greenlets without gevent's record of who spawned them, unless the operator set
    ``GEVENT_TRACK_GREENLET_TREE``.

    PERF: the record (the spawner, its tree's locals and the spawning call stack) is only read
    by gevent's debugging dumps (``gevent.util.print_run_info``); every connection's greenlet
    kept it for the connection's life, which for an idle stream client is hours."""
    if "GEVENT_TRACK_GREENLET_TREE" not in os.environ:
        gevent.config.track_greenlet_tree = False


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft limit on open files to its hard limit; returns (before, after).

    Every stream client holds a socket, and a common soft limit is 1,024: past it the worker
    could no longer accept, nor open a broker connection. The hard limit is the operator's cap
    (as Go programs do since Go 1.19, the peer engine included)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft, soft
    return soft, hard


class StreamsWorker(GeventPyWSGIWorker):
    """A gevent worker whose connections are served by :class:`GatewayHandler`."""

    @property
    def wsgi_handler(self) -> type[GatewayHandler]:
        """The handler class, holding this worker's limits: the ``STREAMS_*`` settings and
        gunicorn's ``keepalive`` (seconds a kept-alive connection may stay silent)."""
        limits = ServerLimits.from_settings(Settings.from_env(), keepalive=float(self.cfg.keepalive))
        return GatewayHandler.configured(limits)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.begin_shutdown: Callable[[], int] | None = None  # set by gunicorn.conf.py
        self.inflight = InflightRequests(self.max_requests if self.cfg.max_requests > 0 else 0)
        self.stop_requested_at: float | None = None
        self.stopped_at: float | None = None
        self._quick = False
        self._wake: gevent.event.Event | None = None

    def init_process(self) -> None:
        untrack_greenlet_tree()
        before, after = raise_open_file_limit()
        self.log.info("worker %s: open-file limit %d (was %d)", self.pid, after, before)
        super().init_process()

    # -- signals (never block here: they run between two bytecodes of any greenlet) ---------

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """TERM: a shutdown, or the old workers of a HUP reload. Graceful stop."""
        self._request_stop(quick=False)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        """QUIT/INT: quick stop; streams still end cleanly and the gateway still drains."""
        self._request_stop(quick=True)
        gevent.spawn(self.cfg.worker_int, self)

    def _request_stop(self, quick: bool) -> None:
        self.alive = False
        self._quick = self._quick or quick
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
        if self._wake is not None:
            gevent.spawn(self._wake.set)

    def _reached_max_requests(self) -> None:
        if self.alive:
            self.log.info("Autorestarting worker after current request.")
            self._request_stop(quick=False)

    # -- the main loop -----------------------------------------------------------------------

    def run(self) -> None:
        # The app is loaded and its streams started (post_worker_init): what is alive now lives
        # as long as the worker, so full garbage collections need not walk it; and what requests
        # have in flight is no longer collected hundreds of times a second (heap.py).
        frozen = freeze_startup_heap()
        young = raise_young_threshold()[0]
        self.log.info("worker %s: %d start-up objects frozen out of garbage collection; young generation "
                      "collected past %d objects", self.pid, frozen, young)
        self._wake = gevent.event.Event()
        app = TrackedApp(self.wsgi, self.inflight, self._reached_max_requests)
        servers = [self._serve(s, app) for s in self.sockets]
        while self.alive:
            self.notify()
            self._wake.wait(1.0)
        if self.stop_requested_at is None:  # alive turned False elsewhere (parent changed, say)
            self.stop_requested_at = time.monotonic()
        try:
            self._stop(servers)
        except Exception:
            self.log.exception("stopping the worker failed")
        self.stopped_at = time.monotonic()

    def _serve(self, sock: Any, app: TrackedApp) -> Any:
        # As gunicorn's gevent worker does it: a pool per listener, the pywsgi server with our
        # handler class, and the app wrapped to count requests in flight.
        sock.setblocking(1)
        environ = base_environ(self.cfg)
        environ.update({"wsgi.multithread": True, "SERVER_SOFTWARE": VERSION})
        ssl_args = {}
        if self.cfg.is_ssl:
            ssl_args = {"ssl_context": ssl_context(self.cfg)}
        assert self.server_class is not None
        server = self.server_class(
            sock,
            application=app,
            spawn=Pool(self.worker_connections),
            log=self.log,
            handler_class=self.wsgi_handler,
            environ=environ,
            **ssl_args,
        )
        server.start()
        return server

    def _stop(self, servers: list[Any]) -> None:
        for server in servers:
            server.close()  # stop accepting
        self.inflight.stopping = True
        told = 0
        if self.begin_shutdown is not None:
            try:
                told = self.begin_shutdown()
            except Exception:
                self.log.exception("beginning the gateway's shutdown failed")
        bound = min(QUICK_STOP_WAIT if self._quick else STOP_WAIT, self.cfg.graceful_timeout / 2)
        deadline = time.monotonic() + bound
        last_notify = 0.0
        while not self.inflight.idle and time.monotonic() < deadline:
            if time.monotonic() - last_notify >= 1.0:
                self.notify()
                last_notify = time.monotonic()
            gevent.sleep(0.05)
        left = self.inflight.active
        if left:
            self.log.warning("worker %s: %d requests still running after %.1fs; dropping them", self.pid, left, bound)
        for server in servers:
            # What is left are idle kept-alive connections (or requests past the bound).
            server.stop(timeout=0.1)
        self.log.info(
            "worker %s: clients ended in %.2fs (stream clients told to leave: %d, requests dropped: %d)",
            self.pid,
            time.monotonic() - (self.stop_requested_at or time.monotonic()),
            told,
            left,
        )
