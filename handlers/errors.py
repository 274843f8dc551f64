"""JSON error bodies for every failure the gateway reports over HTTP.

Every 4xx/5xx leaves the gateway as ``{"error": "<what went wrong>", "status": <code>}`` so a
client can always parse it, whatever path or verb it hit. Falcon's own errors (404 for an unknown
route, 405 for a wrong verb) go through the same serializer; unexpected exceptions are logged with
their traceback and answered with a 500 that reveals nothing of the internals.
"""

from __future__ import annotations

import logging

import falcon
import orjson

log = logging.getLogger("streams.http")


def error_body(status: int, message: str, **extra: object) -> bytes:
    """The JSON body of an error reply."""
    return orjson.dumps({"error": message, "status": status, **extra})


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon error serializer: always JSON, with the description (or the title) as the message."""
    status = exc.status_code
    message = exc.description or exc.title or falcon.HTTP_STATUS_TO_CODE.get(status, "error")
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error_body(status, str(message))


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    """Last-resort handler: log the traceback, answer 500 without internals."""
    if isinstance(ex, falcon.HTTPError):
        raise ex
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(description="internal error; see the gateway log")


def handle_engine_error(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    """Failures of the engine while opening a stream instance, told apart for the client:
    a draining worker or an unreachable broker is worth retrying (503), a stream whose
    configuration cannot run is the operator's problem (500, detail in the log)."""
    from streams.bloblang import BloblangError
    from streams.brokers.base import BrokerError
    from streams.engine import ConfigError, Draining

    if isinstance(ex, Draining):
        raise falcon.HTTPServiceUnavailable(description="this worker is shutting down; retry", retry_after=1)
    if isinstance(ex, BrokerError):
        log.warning("broker unavailable on %s %s: %s", req.method, req.path, ex)
        raise falcon.HTTPServiceUnavailable(description=f"message broker unavailable: {ex}", retry_after=2)
    if isinstance(ex, (ConfigError, BloblangError)):
        log.error("stream configuration error on %s %s: %s", req.method, req.path, ex)
        raise falcon.HTTPInternalServerError(description="the stream behind this path cannot run; see the gateway log")
    raise ex


def not_found(req: falcon.Request, resp: falcon.Response, **_: object) -> None:
    """Sink for every path no stream claims (under a listen path or not)."""
    raise falcon.HTTPNotFound(description=f"no stream endpoint at {req.path}")
