"""How a WSGI app takes a WebSocket: the upgrade happens only when the app asks for it.

For a request that asks to switch to WebSocket, the server puts an ``accept`` callable in the
environ under :data:`UPGRADE_KEY` instead of switching protocols up front. The app routes the
request as usual: an unknown path or a route that is no WebSocket endpoint answers with an
ordinary HTTP reply (404, 400, ...), and only a WebSocket route calls :func:`accept_websocket`,
which sends the 101 and returns the socket. So no client ever gets a 101 for a path that has no
WebSocket behind it.

A server that upgrades before calling the app (``wsgi.websocket`` already in the environ, as
gevent-websocket's own handler does) is accepted too: that socket is returned as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from geventwebsocket.websocket import WebSocket

from handlers.server.handshake import HandshakeError

UPGRADE_KEY = "streams.websocket.accept"
__all__ = ["UPGRADE_KEY", "HandshakeError", "accept_websocket", "upgrade_requested"]


def upgrade_requested(environ: Mapping[str, Any]) -> bool:
    """The request asks for a WebSocket (or the server already switched to one)."""
    return UPGRADE_KEY in environ or environ.get("wsgi.websocket") is not None


def accept_websocket(environ: Mapping[str, Any]) -> WebSocket:
    """Switch the connection to WebSocket and return the socket.

    Raises :class:`HandshakeError` (with the status to answer) when the upgrade request is
    invalid; nothing has been sent to the client then."""
    ready = environ.get("wsgi.websocket")
    if ready is not None:
        return cast(WebSocket, ready)
    accept = cast(Callable[[], WebSocket], environ[UPGRADE_KEY])
    return accept()
