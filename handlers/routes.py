"""The stream URLs of the gateway, replaceable while the app serves.

Falcon's routes are fixed once the app is built, but a reload (``Gateway.reload``) adds, changes
and removes APIs at run time. So stream URLs live in a router of their own: a
``CompiledRouter`` built from the gateway's routes and swapped in one assignment when they change.
The app's sink for every path no fixed route claims (``/hello``, ``/metrics``, ``/tyk/...``)
asks the current router: a request that found its router before a swap finishes with it (its
``Api`` refuses new instances with 503 once retired), the next one sees the new table.

Matching is Falcon's own (URI templates, ``{param}`` fields, the default OPTIONS and 405
responders), so a stream URL answers exactly as a fixed route would.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import falcon
from falcon.routing import CompiledRouter

from handlers.admission import RequestAdmission
from handlers.endpoint import StreamEndpoint
from handlers.errors import not_found
from streams.engine.gateway import Route
from streams.settings import Settings

log = logging.getLogger("streams.http")


def build_router(routes: list[Route], settings: Settings, admission: RequestAdmission | None = None) -> CompiledRouter:
    """One ``StreamEndpoint`` per URL path, compiled before it is used."""
    by_path: dict[str, list[Route]] = defaultdict(list)
    for route in routes:
        by_path[route.path].append(route)
    router = CompiledRouter()
    for path, claimed in by_path.items():
        router.add_route(path, StreamEndpoint(path, claimed, settings, admission))
        log.info("route %s -> %s", path, ", ".join(f"{r.api.name}/{r.stream} ({r.kind})" for r in claimed))
    router.find("/")  # NOTE: compiles now, not in the first request after the swap
    return router


class StreamRoutes:
    """The sink serving every stream URL through the current router."""

    def __init__(self, routes: list[Route], settings: Settings, admission: RequestAdmission | None = None) -> None:
        self.settings = settings
        self.admission = admission
        self.router = build_router(routes, settings, admission)

    def replace(self, routes: list[Route]) -> None:
        """Serve ``routes`` from now on (a gateway reload listener)."""
        self.router = build_router(routes, self.settings, self.admission)

    def __call__(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        found = self.router.find(req.path, req)
        if found is None:
            not_found(req, resp)
            return
        _resource, method_map, params, _template = found
        responder: Any = method_map.get(req.method)  # WSGI responders (the ASGI union does not apply)
        if responder is None:
            raise falcon.HTTPMethodNotAllowed(sorted(method_map), description=f"{req.method} is not allowed on {req.path}")
        responder(req, resp, **params)
