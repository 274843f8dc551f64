"""An HTTP server on a loopback port (gevent's WSGI server, in the test process) that checks how
a client authenticates, for the tests of the shared HTTP client settings.

``AuthServer`` answers ``/token`` as an OAuth 2 client-credentials token endpoint and every other
path with the request body upper-cased, once ``check`` accepts the request (401 otherwise, with
a Digest challenge when ``digest`` is set). It can serve HTTPS with a given ``ssl.SSLContext``
(which may require a client certificate). ``ForwardProxy`` is a plain HTTP forward proxy that
records the absolute URLs it was asked for and forwards them.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

import requests
from gevent.pywsgi import WSGIServer

from streams.httpclient import digest


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def url_path(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def _seen(environ: dict[str, Any]) -> Seen:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    body = environ["wsgi.input"].read()
    return Seen(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""), headers, body)


@dataclass
class Token:
    """What ``/token`` hands out: ``access_token`` strings numbered from 1, ``expires_in`` each."""

    client_id: str = "key"
    client_secret: str = "secret"
    expires_in: int | None = 3600
    in_form_only: bool = False  # refuse client credentials in a basic Authorization header
    issued: int = 0


class LoopbackServer:
    """Serving ``app`` on a free loopback port (HTTPS when ``context`` is set) for a test."""

    port: int
    _server: WSGIServer | None
    context: ssl.SSLContext | None = None

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise NotImplementedError

    def _listen(self) -> None:
        extra = {"ssl_context": self.context} if self.context else {}
        self._server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None, **extra)
        self._server.start()
        self.port = self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)


def serve(servers: list[Any], server: Any) -> Any:
    """Start ``server`` and add it to the test's ``servers`` (stopped when the test ends)."""
    servers.append(server.start())
    return server


@dataclass
class AuthServer(LoopbackServer):
    check: Callable[[Seen], bool] = lambda seen: True
    digest: digest.Challenge | None = None
    token: Token = field(default_factory=Token)
    requests: list[Seen] = field(default_factory=list)
    token_requests: list[Seen] = field(default_factory=list)
    context: ssl.SSLContext | None = None
    routes: dict[str, Callable[[Seen, Any], list[bytes]]] = field(default_factory=dict)
    """Paths answered by their own function (given the request and ``start_response``)."""
    port: int = 0
    _server: WSGIServer | None = None

    def url(self, path: str) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}{path}"

    def start(self) -> AuthServer:
        self._listen()
        return self

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen = _seen(environ)
        if seen.path == "/token":
            self.token_requests.append(seen)
            return self._token(seen, start_response)
        self.requests.append(seen)
        if seen.path in self.routes:
            return self.routes[seen.path](seen, start_response)
        if not self.check(seen):
            headers = [("Content-Type", "text/plain")]
            if self.digest is not None:
                ch = self.digest
                headers.append(
                    (
                        "WWW-Authenticate",
                        f'Digest realm="{ch.realm}", qop="auth", algorithm={ch.algorithm}, nonce="{ch.nonce}", opaque="{ch.opaque}"',
                    )
                )
            start_response("401 Unauthorized", headers)
            return [b"who are you"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [seen.body.upper()]

    def _token(self, seen: Seen, start_response: Any) -> list[bytes]:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        auth = seen.headers.get("authorization", "")
        if auth.startswith("Basic ") and not self.token.in_form_only:
            user, _, password = b64decode(auth[6:]).decode().partition(":")
        else:
            user, password = form.get("client_id", ""), form.get("client_secret", "")
        if form.get("grant_type") != "client_credentials" or (user, password) != (self.token.client_id, self.token.client_secret):
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"error":"invalid_client"}']
        self.token.issued += 1
        reply: dict[str, Any] = {"access_token": f"token-{self.token.issued}", "token_type": "bearer"}
        if self.token.expires_in is not None:
            reply["expires_in"] = self.token.expires_in
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(reply).encode()]


@dataclass
class ForwardProxy(LoopbackServer):
    """Forwards absolute-URL requests (``GET http://host/path``) and records the URLs."""

    urls: list[str] = field(default_factory=list)
    port: int = 0
    _server: WSGIServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ForwardProxy:
        self._listen()
        return self

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = environ.get("QUERY_STRING", "")
        target = environ["PATH_INFO"] + (f"?{query}" if query else "")  # the absolute URL asked for
        self.urls.append(target)
        if not target.startswith("http://"):
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"not a proxy request"]
        seen = _seen(environ)
        drop = {"host", "proxy-connection", "connection", "content-length"}
        headers = {k: v for k, v in seen.headers.items() if k not in drop}
        with requests.Session() as session:
            session.trust_env = False
            resp = session.request(seen.method, target, data=seen.body, headers=headers, timeout=5)
        start_response(f"{resp.status_code} {resp.reason}", [("Content-Type", resp.headers.get("Content-Type", "text/plain"))])
        return [resp.content]


def digest_valid(seen: Seen, ch: digest.Challenge, password: str) -> bool:
    """The server's own check of RFC 7616 (qop=auth), with hashlib directly."""
    header = seen.headers.get("authorization", "")
    if not header.startswith("Digest "):
        return False
    p = {m.group(1): m.group(2) or m.group(3) for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)}
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[ch.algorithm]

    def hx(text: str) -> str:
        return h(text.encode()).hexdigest()

    ha1 = hx(f"{p['username']}:{ch.realm}:{password}")
    ha2 = hx(f"{seen.method}:{seen.url_path}")
    expected = hx(f"{ha1}:{ch.nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    return p["uri"] == seen.url_path and p["nonce"] == ch.nonce and p.get("opaque") == ch.opaque and p["response"] == expected


def multipart_parts(seen: Seen) -> list[EmailMessage]:
    """The parts of a multipart request body, read by the standard library's MIME parser."""
    raw = f"Content-Type: {seen.headers['content-type']}\r\n\r\n".encode() + seen.body
    message = BytesParser(policy=HTTP).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return list(message.iter_parts())  # type: ignore[arg-type]
