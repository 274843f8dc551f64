"""``StreamsWorker``: gunicorn's gevent pywsgi worker with the gateway's request handler.

gunicorn.conf.py names it as ``worker_class``. It is the one place that ties the server's
connection handling (framing, timeouts, WebSocket upgrades) and its signals (drain on TERM/HUP)
to the gateway.
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker

from handlers.server.handler import GatewayHandler
from handlers.server.limits import ServerLimits
from streams.settings import Settings


class StreamsWorker(GeventPyWSGIWorker):
    """A gevent worker whose connections are served by :class:`GatewayHandler`."""

    @property
    def wsgi_handler(self) -> type[GatewayHandler]:
        """The handler class, holding this worker's limits: the ``STREAMS_*`` settings and
        gunicorn's ``keepalive`` (seconds a kept-alive connection may stay silent)."""
        limits = ServerLimits.from_settings(Settings.from_env(), keepalive=float(self.cfg.keepalive))
        return GatewayHandler.configured(limits)
