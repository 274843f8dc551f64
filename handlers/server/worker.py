"""``StreamsWorker``: gunicorn's gevent pywsgi worker with the gateway's request handler.

gunicorn.conf.py names it as ``worker_class``. It is the one place that ties the server's
connection handling (framing, timeouts, WebSocket upgrades) and its signals (drain on TERM/HUP)
to the gateway.
"""

from __future__ import annotations

from geventwebsocket.handler import WebSocketHandler
from gunicorn.workers.ggevent import GeventPyWSGIWorker


class StreamsWorker(GeventPyWSGIWorker):
    """A gevent worker whose connections are served by the gateway's handler."""

    wsgi_handler = WebSocketHandler
