"""The one place a stream request is authenticated: ``authenticate``, called by the stream
endpoint as soon as the route is known and before anything else (a push is read, a GET waits,
an SSE stream opens, a WebSocket is upgraded: the 101 is never sent to an unauthenticated client).

The API's ``Gate`` (``streams.auth.gate``) decides; a refusal leaves as the gateway's JSON error
(``{"error": ..., "status": 401}``) with its headers (``WWW-Authenticate``, ``Retry-After``).
The identity is kept on ``req.context.identity``; ``handlers.request_context`` turns it into
``$tyk_context`` (``token``, ``jwt_claims_*``).
"""

from __future__ import annotations

import logging
import os
from urllib.parse import parse_qs

import falcon

from streams.auth.gate import AuthDenied, Credentials, Identity
from streams.engine.gateway import Route

log = logging.getLogger("streams.http")


def credentials(req: falcon.Request) -> Credentials:
    """The request's headers (lower-case names), first query values and cookies."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in req.env.items() if key.startswith("HTTP_")}
    query = {k: v[0] for k, v in parse_qs(req.query_string, keep_blank_values=True).items() if v}
    return Credentials(headers, query, dict(req.cookies))


def authenticate(req: falcon.Request, route: Route) -> Identity | None:
    """Check the request against its API's authentication; None when the API is open."""
    gate = route.api.gate
    req.context.identity = None
    if gate is None:
        return None
    try:
        identity = gate.check(credentials(req))
    except AuthDenied as denied:
        log.info("%s %s refused (%d): %s", req.method, req.path, denied.status, denied.message,
                 extra={"api": route.api.name})
        raise falcon.HTTPError(
            falcon.code_to_http_status(denied.status), description=denied.message, headers=denied.headers
        ) from None
    if gate.config.strip_authorization_data:
        for scheme in gate.config.schemes.values():
            if scheme.sources.header:
                req.env.pop("HTTP_" + scheme.sources.header.upper().replace("-", "_"), None)
    req.context.identity = identity
    log.debug("authenticated", extra={"api": route.api.name, "scheme": identity.scheme, "pid": os.getpid()})
    return identity
