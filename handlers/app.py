"""Build the Falcon WSGI app for a gateway: its stream URLs, health, metrics and management.

Registration is explicit: the engine lists its routes, each URL path gets one ``StreamEndpoint``
in a table a reload can replace (``handlers.routes``), and that table's sink answers every other
path with a JSON 404. The management API (``/tyk/...``) is registered by
``handlers.management``, the console (``/tyk/console/``) by ``handlers.console``. The gateway itself is started by the gunicorn worker hooks (after
fork); an app built without them starts it on the first request.
"""

from __future__ import annotations

import logging
import time

import falcon

from handlers.admission import RequestAdmission
from handlers.console import add_console_routes
from handlers.errors import add_engine_error_handlers, handle_unexpected, serialize_error
from handlers.health import HealthResource, MetricsResource
from handlers.keys import add_key_routes
from handlers.management import add_management_routes
from handlers.request_context import ClientAddressMiddleware, request_id
from handlers.routes import StreamRoutes
from streams.engine.gateway import Gateway
from streams.logformat import redact
from streams.settings import Settings

log = logging.getLogger("streams.http")
traffic_log = logging.getLogger("streams.traffic")


class GatewayRunner:
    """Starts the gateway once per process and drains it once.

    Gunicorn's worker hooks call ``start`` right after fork and ``drain`` on exit; the first
    request calls ``start`` too, so an app served without those hooks still runs its streams.
    The worker calls ``begin_shutdown`` as soon as it is told to stop, before its connections
    are done (stream clients would otherwise hold them until the graceful timeout).
    """

    def __init__(self, gateway: Gateway, drain_timeout: float) -> None:
        self.gateway = gateway
        self.drain_timeout = drain_timeout
        self._started = False
        self._drained = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.gateway.start()

    def begin_shutdown(self) -> int:
        """The worker is stopping: end the stream clients now (see ``Gateway.begin_shutdown``)
        so its connections finish; returns how many clients were told to leave."""
        if not self._started or self._drained:
            return 0
        return self.gateway.begin_shutdown()

    def drain(self) -> float:
        """Stop inputs, finish in-flight work, commit and close; returns the seconds it took."""
        if not self._started or self._drained:
            return 0.0
        self._drained = True
        started = time.monotonic()
        self.gateway.drain(self.drain_timeout)
        return time.monotonic() - started


def logged_status(req: falcon.Request, resp: falcon.Response) -> str:
    """The status a request ended with, as its traffic-log line records it: a WebSocket whose
    upgrade was accepted got ``101 Switching Protocols`` (the response object Falcon holds is
    never sent then), as Tyk records a hijacked stream connection."""
    if req.env.get("wsgi.websocket") is not None:
        return falcon.HTTP_101
    return str(resp.status)


class RequestContextMiddleware:
    """Request ids, lazy gateway start, and one traffic-log line per request where enabled."""

    def __init__(self, runner: GatewayRunner) -> None:
        self.runner = runner

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.runner.start()
        req.context.request_id = request_id(req)
        req.context.started = time.monotonic()
        req.context.api = None

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        rid = getattr(req.context, "request_id", None)
        if rid:
            resp.set_header("X-Request-Id", rid)
        api = getattr(req.context, "api", None)
        # PERF: the line's fields (the redacted URI above all) are made only when it is written.
        if api is not None and api.traffic_logs and traffic_log.isEnabledFor(logging.INFO):
            status = logged_status(req, resp)
            traffic_log.info(
                "%s %s %s",
                req.method,
                redact(req.relative_uri),  # query keys kept, their values (tokens, keys) not
                status,
                extra={
                    "api": api.name,
                    "request_id": rid,
                    "remote_addr": req.remote_addr,
                    "status": falcon.http_status_to_code(status),
                    "duration_ms": round((time.monotonic() - req.context.started) * 1000, 2),
                },
            )


def create_app(gateway: Gateway, settings: Settings, runner: GatewayRunner | None = None) -> falcon.App:
    """The WSGI app serving every route of ``gateway``."""
    runner = runner or GatewayRunner(gateway, settings.drain_timeout)
    app = falcon.App(middleware=(ClientAddressMiddleware(settings), RequestContextMiddleware(runner)))
    app.req_options.auto_parse_qs_csv = False
    app.resp_options.secure_cookies_by_default = False
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected)
    add_engine_error_handlers(app)

    streams = StreamRoutes(gateway.routes(), settings, RequestAdmission(gateway.admission, settings))
    gateway.route_listeners.append(streams.replace)
    app.add_route("/hello", HealthResource(gateway))
    app.add_route("/health", HealthResource(gateway))
    if settings.metrics_enabled:
        app.add_route("/metrics", MetricsResource())
    mgmt = add_management_routes(app, gateway, settings)
    add_key_routes(app, mgmt, gateway.auth.keys, lambda: gateway.services.host)
    add_console_routes(app, mgmt)
    app.add_sink(streams, prefix="/")
    return app
