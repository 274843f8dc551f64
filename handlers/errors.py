"""JSON error bodies for every failure the gateway reports over HTTP.

Every 4xx/5xx leaves the gateway as ``{"error": "<what went wrong>", "status": <code>}`` so a
client can always parse it, whatever path or verb it hit. Falcon's own errors (404 for an unknown
route, 405 for a wrong verb) go through the same serializer; unexpected exceptions are logged with
their traceback and answered with a 500 that reveals nothing of the internals.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon
import orjson

from streams.bloblang import BloblangError
from streams.brokers.base import BrokerError
from streams.contracts import ConfigError
from streams.engine.gateway import Draining

log = logging.getLogger("streams.http")


def error_body(status: int, message: str, **extra: object) -> bytes:
    """The JSON body of an error reply."""
    return orjson.dumps({"error": message, "status": status, **extra})


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon error serializer: always JSON, with the description (or the status line) as the message."""
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error_body(exc.status_code, str(exc.description or exc.title))


def handle_unexpected(req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]) -> None:
    """Last-resort handler: log the traceback, answer 500 without internals."""
    if isinstance(error, falcon.HTTPError):
        raise error
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(description="internal error; see the gateway log")


# Failures of the engine while serving a stream, told apart for the client: a draining worker or
# an unreachable broker is worth retrying (503), a stream whose configuration cannot run is the
# operator's problem (500, detail in the log only).


def handle_draining(req: falcon.Request, resp: falcon.Response, error: Draining, params: dict[str, Any]) -> None:
    raise falcon.HTTPServiceUnavailable(description="this worker is shutting down; retry", retry_after=1)


def handle_broker_error(req: falcon.Request, resp: falcon.Response, error: BrokerError, params: dict[str, Any]) -> None:
    log.warning("broker unavailable on %s %s: %s", req.method, req.path, error)
    raise falcon.HTTPServiceUnavailable(description=f"message broker unavailable: {error}", retry_after=2)


def handle_stream_config_error(
    req: falcon.Request, resp: falcon.Response, error: ConfigError | BloblangError, params: dict[str, Any]
) -> None:
    log.error("stream configuration error on %s %s: %s", req.method, req.path, error)
    raise falcon.HTTPInternalServerError(description="the stream behind this path cannot run; see the gateway log")


def add_engine_error_handlers(app: falcon.App) -> None:
    """Register one handler per engine error type (Falcon picks the most specific one)."""
    app.add_error_handler(Draining, handle_draining)
    app.add_error_handler(BrokerError, handle_broker_error)
    app.add_error_handler(ConfigError, handle_stream_config_error)
    app.add_error_handler(BloblangError, handle_stream_config_error)


def not_found(req: falcon.Request, resp: falcon.Response, **_: object) -> None:
    """Sink for every path no stream claims (under a listen path or not)."""
    raise falcon.HTTPNotFound(description=f"no stream endpoint at {req.path}")
