"""The Falcon resource behind every stream URL.

One resource per URL path; a path may be claimed by several routes of the engine (an input's
``path`` taking POST and an output's ``path`` answering GET, say), so the resource dispatches on
the verb and on whether the request is a WebSocket upgrade:

| route kind | verb / upgrade      | served by                                     |
|------------|---------------------|-----------------------------------------------|
| push       | allowed_verbs       | ``push``: body -> stream -> sync response      |
| push_ws    | GET + upgrade       | ``websocket.serve_push``                       |
| pull       | allowed_verbs       | next message, or SSE if Accept asks for it     |
| stream     | allowed_verbs       | SSE or newline-delimited stream                |
| pull_ws    | GET + upgrade       | ``websocket.serve_subscription``               |

An output's ``allowed_verbs`` (default GET) covers its ``path`` and ``stream_path``, as in Bento;
HEAD is never served on them (see ``served_methods``).
"""

from __future__ import annotations

import email.policy
import logging
import re
from collections.abc import Iterable
from email.parser import BytesParser
from typing import Any

import falcon
from geventwebsocket.websocket import WebSocket

from handlers import streaming, websocket
from handlers.admission import HeldBody, RequestAdmission
from handlers.auth import authenticate
from handlers.delivery_body import HEAD_APART_KEY, STREAM_BODY_KEY, DeliveryBody, multipart_batch
from handlers.errors import error_body
from handlers.request_context import canonical_header, variables_for
from handlers.server.handshake import missing_upgrade_token
from handlers.server.upgrade import HandshakeError, accept_websocket, upgrade_requested
from streams.engine.gateway import Route
from streams.engine.instance import StreamInstance
from streams.message import Message
from streams.settings import Settings

log = logging.getLogger("streams.http")

WS_KINDS = ("push_ws", "pull_ws")


class StreamEndpoint:
    """Serves one URL path for the routes that claim it."""

    def __init__(
        self, path: str, routes: list[Route], settings: Settings, admission: RequestAdmission | None = None
    ) -> None:
        self.path = path
        self.routes = routes
        self.settings = settings
        self.admission = admission or RequestAdmission(None, settings)

    # Falcon looks for on_<verb>; every verb goes through one dispatcher.
    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        self._dispatch(req, resp, params)

    on_post = on_put = on_patch = on_delete = on_head = on_get

    def _route(self, req: falcon.Request) -> Route:
        upgrade = upgrade_requested(req.env)
        method = req.method
        for route in self.routes:
            if upgrade and route.kind in WS_KINDS:
                return route
            if not upgrade and route.kind not in WS_KINDS and method in served_methods(route):
                return route
        if any(r.kind in WS_KINDS for r in self.routes) and not upgrade and method == "GET":
            missing = missing_upgrade_token(req.env)
            raise falcon.HTTPBadRequest(
                description=f"{req.path} is a WebSocket endpoint, and this is no WebSocket upgrade: {missing}"
            )
        if upgrade:
            raise falcon.HTTPBadRequest(description=f"{req.path} is not a WebSocket endpoint")
        allowed = sorted({m for r in self.routes for m in served_methods(r)})
        raise falcon.HTTPMethodNotAllowed(allowed, description=f"{method} is not allowed on {req.path}")

    def _dispatch(self, req: falcon.Request, resp: falcon.Response, params: dict[str, str]) -> None:
        route = self._route(req)
        req.context.api = route.api
        # Who first (handlers.auth), then limits (handlers.admission): a refused request starts
        # nothing of the stream, and a limit per identity counts the verified one.
        authenticate(req, route)
        self.admission.check_rate(req, route)
        slot = self.admission.streaming_slot(req, route)
        try:
            if route.kind == "push":
                self._push(req, resp, route, params)
            elif route.kind == "push_ws":
                self._push_ws(req, resp, route, params)
            elif route.kind == "pull_ws":
                self._pull_ws(req, resp, route)
            elif route.kind == "stream" or (wants_event_stream(req) and sse_allowed(route)):
                self._stream(req, resp, route)
                if slot is not None and isinstance(resp.stream, Iterable):
                    resp.stream, slot = HeldBody(resp.stream, slot), None  # held until the body closes
            else:
                self._pull(req, resp, route)
        finally:
            if slot is not None:
                slot.close()

    # -- input side -------------------------------------------------------------------------
    def _push(self, req: falcon.Request, resp: falcon.Response, route: Route, params: dict[str, str]) -> None:
        body = read_body(req, self.settings.max_body_bytes)
        parts = multipart_parts(req.content_type, body)
        instance = route.api.open(route.stream, variables_for(req, body, self.settings, req.path))
        try:
            meta = message_metadata(req, params)
            if parts is None:
                result = instance.push(Message(body, meta), route.timeout)
            else:
                result = instance.push_batch([Message(part, meta) for part in parts], route.timeout)
        finally:
            instance.release()
        resp.status = falcon.code_to_http_status(result.status)
        headers = reply_headers(result.headers or {}, route)
        for name, value in headers.items():
            resp.set_header(name, value)
        if result.error is None:  # the sync response, with whatever status sync_response.status names (as Bento)
            resp.data = result.body or b""
            if not any(name.lower() == "content-type" for name in headers):
                resp.content_type = sniff_content_type(resp.data)
        else:
            if result.status == 429:
                resp.set_header("Retry-After", headers.get("Retry-After", "1"))
            resp.content_type = falcon.MEDIA_JSON
            resp.data = error_body(result.status, result.error or "the message was not accepted")

    def _push_ws(self, req: falcon.Request, resp: falcon.Response, route: Route, params: dict[str, str]) -> None:
        metadata = message_metadata(req, params)
        instance = route.api.open(route.stream, variables_for(req, None, self.settings, req.path))
        check = self.admission.message_check(req, route)
        ws = accept_or_release(req, instance)
        resp.status = falcon.HTTP_101  # what the traffic log records for the session (Tyk's analytics do too)
        websocket.serve_push(ws, instance, timeout=route.timeout, metadata=metadata, check=check)

    # -- output side ------------------------------------------------------------------------
    def _pull(self, req: falcon.Request, resp: falcon.Response, route: Route) -> None:
        instance = route.api.open(route.stream, variables_for(req, None, self.settings, req.path))
        try:
            delivery = instance.pull(route.timeout)
        finally:
            instance.release()
        if delivery is None:
            raise falcon.HTTPError(
                falcon.HTTP_408, description=f"no message for this request within {route.timeout:g}s"
            )
        content = delivery.content
        if len(delivery.parts) > 1:
            resp.content_type, content = multipart_batch(delivery.parts)
        else:
            resp.content_type = sniff_content_type(content)
        resp.set_header("X-Stream-Position", delivery.event_id)
        resp.content_length = len(content)
        resp.stream = DeliveryBody(delivery, content)
        req.env[HEAD_APART_KEY] = True

    def _stream(self, req: falcon.Request, resp: falcon.Response, route: Route) -> None:
        sse = route.stream_format == "event_source" or (wants_event_stream(req) and sse_allowed(route))
        last_event_id = req.get_header("Last-Event-ID") or req.get_param("last_event_id")
        instance = route.api.open(route.stream, variables_for(req, None, self.settings, req.path))
        try:
            subscription = instance.subscribe(last_event_id)
        except ValueError as exc:  # an unreadable Last-Event-ID
            instance.release()
            raise falcon.HTTPBadRequest(description=str(exc)) from None
        except BaseException:
            instance.release()
            raise
        resp.content_type = "text/event-stream" if sse else "application/x-ndjson"
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")  # nginx: pass each event through at once
        resp.stream = streaming.subscription_body(
            subscription, instance, sse=sse, heartbeat=self._heartbeat(route),
            peer_gone=streaming.peer_gone_check(req.env.get("gunicorn.sock")),
        )
        req.env[STREAM_BODY_KEY] = True

    def _pull_ws(self, req: falcon.Request, resp: falcon.Response, route: Route) -> None:
        instance = route.api.open(route.stream, variables_for(req, None, self.settings, req.path))
        ping_period = route.ping_period if route.ping_period > 0 else self._heartbeat(route)
        ws = accept_or_release(req, instance)
        resp.status = falcon.HTTP_101  # what the traffic log records for the session (Tyk's analytics do too)
        websocket.serve_subscription(
            ws,
            instance,
            keepalive=websocket.KeepAlive.of(ping_period, route.pong_wait),
            binary=route.ws_message_type == "binary",
        )

    def _heartbeat(self, route: Route) -> float:
        """The output's ``heartbeat``, or the gateway's ``STREAMS_SSE_HEARTBEAT`` when it is empty
        (or not positive: a zero wait would send keep-alives in a busy loop)."""
        return route.heartbeat if route.heartbeat > 0 else self.settings.sse_heartbeat


# RFC 9110 field names are tokens; values are visible ASCII/latin-1 with spaces and tabs inside.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_MAX_REPORTED = 256
_reported_headers: set[str] = set()


def served_methods(route: Route) -> tuple[str, ...]:
    """The verbs a route answers: its ``allowed_verbs`` (an input's ``path``, an output's
    ``path`` and ``stream_path``, as in Bento), GET for a WebSocket upgrade."""
    if route.kind in WS_KINDS:
        return ("GET",)
    if route.kind == "push":
        return tuple(route.methods)
    # NOTE: not HEAD: Falcon drops a HEAD reply's body without closing it, so a HEAD served like
    # a GET would take the user's next message (or a subscription) and never settle it.
    return tuple(m for m in route.methods if m != "HEAD")


def reply_headers(headers: dict[str, str], route: Route) -> dict[str, str]:
    """The push reply's headers without any whose name is not a token or whose value holds CR,
    LF or another control character (or cannot be sent as latin-1).

    They come from message metadata (``sync_response.metadata_headers``, interpolated
    ``headers``), and metadata comes from the request: written as is they would let a client
    add headers, or a whole response, to its own reply (header injection). Each offending name is
    logged once per process, so a client repeating the request cannot flood the log."""
    safe: dict[str, str] = {}
    for name, value in headers.items():
        text = str(value)
        if _HEADER_NAME.fullmatch(name) and _HEADER_VALUE.fullmatch(text):
            safe[name] = text
            continue
        if name not in _reported_headers and len(_reported_headers) < _MAX_REPORTED:
            _reported_headers.add(name)
            log.warning(
                "reply header %r of %s/%s dropped: its name or value holds a control character",
                name,
                route.api.name,
                route.stream,
            )
    return safe


def accept_or_release(req: falcon.Request, instance: StreamInstance) -> WebSocket:
    """Switch the request's connection to WebSocket (the 101 goes out only now, once the route
    and its stream instance are known); on a bad handshake release ``instance`` and answer the
    handshake's status over HTTP."""
    try:
        return accept_websocket(req.env)
    except HandshakeError as exc:
        instance.release()
        raise falcon.HTTPError(
            falcon.code_to_http_status(exc.status), description=exc.message, headers=exc.headers
        ) from None
    except BaseException:
        instance.release()
        raise


def sse_allowed(route: Route) -> bool:
    """Whether an ``Accept: text/event-stream`` request may get Server-Sent Events: only where
    the definition left ``stream_format`` open or chose ``event_source``. A format written in
    the definition wins over the header (``raw_bytes`` stays newline-delimited, and its ``path``
    answers one message), as in Bento, which reads no ``Accept``."""
    return route.stream_format in ("", "event_source")


def wants_event_stream(req: falcon.Request) -> bool:
    return "text/event-stream" in (req.get_header("Accept") or "")


def sniff_content_type(body: bytes) -> str:
    """JSON bodies are labelled as such (what API clients expect); anything else is opaque."""
    head = body[:1]
    if head in (b"{", b"["):
        return falcon.MEDIA_JSON
    return "application/octet-stream"


def read_body(req: falcon.Request, limit: int) -> bytes:
    """The request body, refused with 413 beyond ``limit`` and 400 when it cannot be read."""
    length = req.content_length
    if length is not None and length > limit:
        raise falcon.HTTPContentTooLarge(description=f"request body of {length} bytes is over the {limit} byte limit")
    try:
        body = req.bounded_stream.read(limit + 1) if length is not None else req.stream.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise falcon.HTTPBadRequest(description=f"unreadable request body: {exc}") from exc
    if len(body) > limit:
        raise falcon.HTTPContentTooLarge(description=f"request body is over the {limit} byte limit")
    return body


def multipart_parts(content_type: str | None, body: bytes) -> list[bytes] | None:
    """The parts of a ``multipart/*`` body, one message each as in Bento's ``http_server``
    (the request's metadata goes on every part); None for any other body. 400 when the body does
    not hold the parts its Content-Type announces."""
    if not (content_type or "").lower().startswith("multipart/"):
        return None
    head = b"Content-Type: " + (content_type or "").encode("latin-1", "replace") + b"\r\n\r\n"
    parsed = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = list(parsed.iter_parts()) if parsed.is_multipart() else []
    if not parts or parsed.defects:
        raise falcon.HTTPBadRequest(description="unreadable multipart body: no parts or no boundary")
    return [_part_bytes(part.get_payload(decode=True)) for part in parts]


def _part_bytes(payload: object) -> bytes:
    """A part's decoded body; ``get_payload(decode=True)`` gives bytes for every leaf part."""
    return payload if isinstance(payload, bytes) else b""


def message_metadata(req: falcon.Request, params: dict[str, str]) -> dict[str, Any]:
    """Request facts as message metadata, named as the http_server input of Bento names them."""
    meta: dict[str, Any] = {}
    for key, value in req.env.items():
        if key.startswith("HTTP_"):
            meta[canonical_header(key)] = value
    if req.content_type:
        meta["Content-Type"] = req.content_type
    for name, value in req.params.items():
        meta[name] = value[0] if isinstance(value, list) else value
    for name, value in req.cookies.items():
        meta[name] = value
    meta.update(params)
    meta["http_server_user_agent"] = req.user_agent or ""
    meta["http_server_request_path"] = req.path
    meta["http_server_verb"] = req.method
    meta["http_server_remote_ip"] = req.remote_addr or ""
    return meta
