"""The limits the gateway's server puts on each connection, gathered from the gateway settings
and gunicorn's configuration in one place so the handler needs neither."""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings


@dataclass(frozen=True)
class ServerLimits:
    """Per-connection limits of :class:`handlers.server.handler.GatewayHandler`.

    * ``header_timeout``: seconds from a connection's start (or, on a kept-alive connection,
      from the next request's first byte) to the end of the request headers; a client that is
      slower (slowloris) is answered 408 and dropped. ``STREAMS_HEADER_TIMEOUT``.
    * ``keepalive_timeout``: seconds a kept-alive connection may sit silent between requests
      (gunicorn's ``keepalive``); 0 closes the connection after each response.
    * ``max_message_bytes``: the largest WebSocket message, all its fragments together; the
      same limit as a pushed HTTP body (``STREAMS_MAX_BODY_BYTES``), so a WebSocket is no way
      around it. Over it the connection is closed with 1009.
    * ``frames_per_second``: frames a WebSocket client may send per second, bursts of as many;
      over it the connection is closed with 1008. ``STREAMS_WS_FRAMES_PER_SECOND``.
    * ``linger``: seconds a closing connection keeps reading (and dropping) what the client is
      still sending, so the reply or close frame reaches it instead of a reset.
    """

    header_timeout: float = 10.0
    keepalive_timeout: float = 5.0
    max_message_bytes: int = 1048576
    frames_per_second: int = 200
    linger: float = 3.0

    @classmethod
    def from_settings(cls, settings: Settings, keepalive: float) -> ServerLimits:
        return cls(
            header_timeout=settings.header_timeout,
            keepalive_timeout=keepalive,
            max_message_bytes=settings.max_body_bytes,
            frames_per_second=settings.ws_frames_per_second,
        )
