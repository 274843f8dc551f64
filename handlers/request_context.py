"""Turn a Falcon request into the ``$tyk_context`` variables of DESIGN §3.2.

The handlers only gather raw request facts here (query, form, headers with their canonical names,
cookies, client address, bearer token); naming and escaping rules live in ``streams.context``.
The client address is the socket peer unless that peer is a trusted proxy
(:class:`ClientAddressMiddleware`, ``STREAMS_TRUSTED_PROXIES``).
JWT claims are taken only from a verified token: the one the API's authentication checked
(``handlers.auth``), or, for an API without authentication, a bearer token whose signature
verifies against ``STREAMS_JWT_SECRET``. An unverified claim would let anyone pick the ``sub``
that selects another user's stream.
"""

from __future__ import annotations

import functools
import logging
import random
from typing import Any
from urllib.parse import parse_qs

import falcon
import jwt

from streams import context
from streams.forwarded import client_address
from streams.settings import Settings

log = logging.getLogger("streams.http")


PEER_ADDR_KEY = "streams.peer_addr"
"""WSGI environ key keeping the socket peer when ``REMOTE_ADDR`` was replaced by the client's."""


class ClientAddressMiddleware:
    """Puts the client's address in ``REMOTE_ADDR`` before anything reads it, so traffic logs,
    ``$tyk_context.remote_addr`` and ``http_server_remote_ip`` all agree: ``X-Forwarded-For`` is
    followed only from a trusted proxy (``streams.forwarded``); the socket peer stays in
    ``environ["streams.peer_addr"]``."""

    def __init__(self, settings: Settings) -> None:
        self.trusted = settings.trusted_proxies

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.trusted:
            return
        peer = req.env.get("REMOTE_ADDR", "")
        client = client_address(peer, req.env.get("HTTP_X_FORWARDED_FOR"), self.trusted)
        if client != peer:
            req.env[PEER_ADDR_KEY] = peer
            req.env["REMOTE_ADDR"] = client


@functools.lru_cache(maxsize=1024)  # PERF: every header of every request; the names repeat
def canonical_header(wsgi_key: str) -> str:
    """``HTTP_X_USER_ID`` -> ``X-User-Id``: the WSGI key's header name in Go's canonical form
    (``streams.context.canonical_header``)."""
    name = wsgi_key[5:] if wsgi_key.startswith("HTTP_") else wsgi_key
    return context.canonical_header(name.replace("_", "-"))


def request_headers(req: falcon.Request) -> dict[str, str]:
    """Headers by canonical name, including Content-Type/Length which WSGI keeps apart."""
    headers: dict[str, str] = {}
    for key, value in req.env.items():
        if key.startswith("HTTP_"):
            headers[canonical_header(key)] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[canonical_header(key)] = value
    return headers


def request_id(req: falcon.Request) -> str:
    """The caller's X-Request-Id when it sent one, else a fresh UUID (echoed in the reply)."""
    rid = req.get_header("X-Request-Id")
    if rid and len(rid) <= 200:
        return rid
    return fresh_request_id()


def fresh_request_id() -> str:
    """A random (version 4) UUID in its usual text form.

    PERF: from ``random`` (reseeded in each forked worker), not ``uuid.uuid4()``, whose
    ``os.urandom`` call and ``UUID`` object made it 2.7 us of every push; 0.7 us here. A
    request id names a request in logs and replies, it guards nothing, so an unpredictable
    source buys nothing."""
    bits = random.getrandbits(128) & _UUID4_KEEP | _UUID4_SET
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48))  # the version and variant bits, cleared
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def bearer_token(req: falcon.Request) -> str | None:
    auth = req.get_header("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def verified_claims(token: str | None, settings: Settings) -> dict[str, Any] | None:
    """Claims of a JWT whose signature checks out against the gateway's key, else None."""
    secret = settings.jwt_secret
    if not token or not secret:
        return None
    algorithms = list(settings.jwt_algorithms or ("HS256", "RS256", "ES256"))
    try:
        claims = jwt.decode(token, secret, algorithms=algorithms, options={"verify_aud": False})
    except jwt.PyJWTError as exc:
        log.info("ignoring JWT: %s", exc)
        return None
    return claims if isinstance(claims, dict) else None


def variables_for(req: falcon.Request, body: bytes | None, settings: Settings, path: str) -> dict[str, str]:
    """All ``$tyk_context`` variables of one request.

    Without a body they are worked out once per request and kept on ``req.context``: a streaming
    request needs them first for its connection limit (``handlers.admission``), then to open its
    stream, and working them out includes checking a bearer JWT."""
    if body is None:
        kept = getattr(req.context, "tyk_variables", None)
        if kept is not None and kept[0] == path:
            return dict(kept[1])
        found = _variables(req, None, settings, path)
        req.context.tyk_variables = (path, found)
        return dict(found)
    return _variables(req, body, settings, path)


def parsed_query(query_string: str) -> dict[str, list[str]]:
    """``parse_qs`` of a query string (keeping blank values); short ones are remembered, as
    the same few (``user=alice``) come again and again. The result is shared: read it only."""
    if len(query_string) > _REMEMBERED_QUERY_LENGTH:
        return parse_qs(query_string, keep_blank_values=True)
    return _parsed_short_query(query_string)


_REMEMBERED_QUERY_LENGTH = 256  # at most 1024 of them remembered: 256 KiB of text at worst


@functools.lru_cache(maxsize=1024)  # PERF: 1.5 us of every push for "user=alice"
def _parsed_short_query(query_string: str) -> dict[str, list[str]]:
    return parse_qs(query_string, keep_blank_values=True)


def _variables(req: falcon.Request, body: bytes | None, settings: Settings, path: str) -> dict[str, str]:
    query = parsed_query(req.query_string)
    form = None
    if body and (req.content_type or "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    token = bearer_token(req)
    identity = getattr(req.context, "identity", None)
    if identity is not None:  # the API authenticated the request: only its verified facts count
        token, claims = identity.token, dict(identity.claims)
    elif getattr(req.context, "api", None) is not None and req.context.api.gate is not None:
        claims = None
    else:
        claims = verified_claims(token, settings)
    return context.request_variables(
        query=query,
        form=form,
        headers=request_headers(req),
        cookies=dict(req.cookies),
        path=path,
        remote_addr=req.remote_addr or "",
        request_id=req.context.request_id,
        token=token,
        jwt_claims=claims,
    )
