"""The client fields the three HTTP components share, checked at load and built into a client.

``client_fields()`` is the spec part (each block with its sub-fields and a meaning check, so
the definitions validator names the bad field), ``build_client`` turns a checked config into an
``HttpClient``: a ``requests.Session`` carrying the authentication, TLS and proxy, its
connections tuned by the ``transport`` block (``streams.httpclient.tuning``), and the rate limit
to wait for before each attempt. Authentication is applied in Bento's order: ``oauth``,
``jwt`` and ``basic_auth`` sign the request (the last one set wins the ``Authorization``
header), then an ``oauth2`` bearer token replaces it, and ``digest_auth`` answers the server's
challenge. ``negotiate`` (Kerberos/SPNEGO) is refused. Checks that need no files run at load
(``Field.check``); the ``jwt`` key file, which must lie inside the definitions directory like
every file a definition names, is read when the stream is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import gevent
import requests

from streams.contracts import ConfigError
from streams.engine.ratelimit import HostLimit, lookup
from streams.engine.resources import Resources
from streams.httpclient.digest import DigestAuth
from streams.httpclient.jwt_auth import METHODS, JwtAuth, JwtKeyError, load_key
from streams.httpclient.oauth1 import OAuth1
from streams.httpclient.oauth2 import ClientCredentials
from streams.httpclient.transport import session_for
from streams.httpclient.tuning import Tuning, transport_field, transport_problems, tuning_from_config
from streams.processors import local_files
from streams.registry import Field
from streams.tls import SecurityError, ssl_context, tls_field, tls_from_config, tls_problems

Problem = tuple[tuple[str | int, ...], str]


def _enabled(conf: Any) -> bool:
    return isinstance(conf, Mapping) and bool(conf.get("enabled"))


def jwt_problems(conf: Any) -> list[Problem]:
    if not _enabled(conf):
        return []
    method = str(conf.get("signing_method") or "")
    if method not in METHODS:
        return [(("signing_method",), f"jwt signing method {method!r} not accepted; use RS256, RS384, RS512 or EdDSA")]
    if not conf.get("private_key_file"):
        return [(("private_key_file",), "a private key file is required when jwt is enabled")]
    return []  # the file itself is read when the stream is built (``_jwt``)


def oauth2_problems(conf: Any) -> list[Problem]:
    if not _enabled(conf):
        return []
    problems: list[Problem] = []
    url = urlsplit(str(conf.get("token_url") or ""))
    if url.scheme not in ("http", "https") or not url.netloc:
        problems.append((("token_url",), "an http(s) URL of the token provider is required when oauth2 is enabled"))
    params = conf.get("endpoint_params") or {}
    for key, values in params.items() if isinstance(params, Mapping) else []:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append((("endpoint_params", str(key)), "expected a list of strings"))
    return problems


def proxy_problems(value: Any) -> list[Problem]:
    if not value:
        return []
    url = urlsplit(str(value))
    if url.scheme not in ("http", "https") or not url.hostname:
        return [((), f"failed to parse proxy_url string: expected http://host:port or https://host:port, got {value!r}")]
    return []


def _refused(value: Any) -> list[Problem]:
    return [(("enabled",), "not supported by this gateway")] if _enabled(value) else []


def _auth_block(name: str, doc: str, *fields: Field, check: Callable[[Any], list[Problem]] | None = None) -> Field:
    return Field(name, "object", {}, doc, fields=(Field("enabled", "bool", False, f"Use {name}."), *fields), check=check)


def client_fields() -> tuple[Field, ...]:
    """The authentication, ``tls``, ``proxy_url``, ``rate_limit`` and ``transport`` fields of an
    HTTP client."""
    return (
        _auth_block(
            "basic_auth",
            "HTTP basic authentication.",
            Field("username", "string", "", "User name."),
            Field("password", "string", "", "Password."),
        ),
        _auth_block(
            "oauth",
            "OAuth 1.0 request signing (HMAC-SHA1).",
            Field("consumer_key", "string", "", "Identifies the client to the service provider."),
            Field("consumer_secret", "string", "", "Secret of the consumer key."),
            Field("access_token", "string", "", "Token for the protected resources."),
            Field("access_token_secret", "string", "", "Secret of the access token."),
        ),
        _auth_block(
            "oauth2",
            "OAuth 2 client credentials: a bearer token from token_url, reused until it expires.",
            Field("client_key", "string", "", "Identifies the client to the token provider."),
            Field("client_secret", "string", "", "Secret of the client key."),
            Field("token_url", "string", "", "The token provider's URL."),
            Field("scopes", "string_list", [], "Requested permissions."),
            Field("endpoint_params", "object", {}, "Extra token request parameters: name -> list of strings."),
            check=oauth2_problems,
        ),
        _auth_block(
            "jwt",
            "A bearer JWT signed on each request.",
            Field("private_key_file", "string", "", "PEM private key (PKCS#1 or PKCS#8)."),
            Field("signing_method", "string", "", "RS256, RS384, RS512 or EdDSA."),
            Field("claims", "object", {}, "The token's claims."),
            Field("headers", "object", {}, "Extra token headers."),
            check=jwt_problems,
        ),
        _auth_block(
            "digest_auth",
            "HTTP digest authentication (MD5 or SHA-256, qop auth).",
            Field("username", "string", "", "User name."),
            Field("password", "string", "", "Password."),
        ),
        Field("negotiate", "object", {}, "Kerberos/SPNEGO: refused when enabled.", check=_refused),
        tls_field("TLS to the server: CAs, skip_cert_verify, client certificates."),
        Field("proxy_url", "string", "", "An HTTP proxy for the requests.", check=proxy_problems),
        Field("rate_limit", "string", "", "A rate_limit_resources label waited for before each request."),
        transport_field(),
    )


@dataclass
class HttpClient:
    """A configured session, the rate limit its requests wait for and its connections' tuning."""

    session: requests.Session
    limit: HostLimit | None = None
    tuning: Tuning | None = None
    """The ``transport`` block the session's connections follow (none: urllib3's defaults)."""

    def request_timeout(self, timeout: float | None) -> float | tuple[float | None, float | None] | None:
        """What ``requests`` takes as the timeout of a request that may take ``timeout``: with a
        ``transport`` block, the connect timeout is the dialer's when that is shorter."""
        if self.tuning is None:
            return timeout
        return (self.tuning.connect_timeout(timeout), timeout)

    def dial_gives_up_first(self, timeout: float | None) -> bool:
        """Whether a connect timeout of a request that may take ``timeout`` is the dialer's."""
        return self.tuning is not None and self.tuning.dial_gives_up_first(timeout)

    def wait_turn(self, stop: Callable[[float], bool] | None = None) -> bool:
        """Wait until the rate limit lets a request go (at once without one). ``stop(seconds)``
        waits and answers True when the caller is stopping; then this answers False."""
        if self.limit is None:
            return True
        while (pause := self.limit.take()) > 0:
            if stop is not None:
                if stop(pause):
                    return False
            else:
                gevent.sleep(pause)
        return True

    def close(self) -> None:
        self.session.close()


def _block(conf: Mapping[str, Any], name: str) -> dict[str, Any]:
    block = conf.get(name) or {}
    return dict(block) if isinstance(block, Mapping) and block.get("enabled") else {}


def _refuse(where: str, problems: list[Problem]) -> None:
    if problems:
        path, message = problems[0]
        raise ConfigError(".".join([where, *(str(p) for p in path)]) + f": {message}")


def build_client(conf: Mapping[str, Any], res: Resources, timeout: float | None = None) -> HttpClient:
    """The client of a component's config (``res.path`` names it in errors), its connections
    tuned by its ``transport`` block (Bento's defaults when it has none); raises ``ConfigError``
    naming the field that cannot be used."""
    where = res.path
    checks = (("jwt", jwt_problems), ("oauth2", oauth2_problems), ("negotiate", _refused), ("transport", transport_problems))
    for name, check in checks:
        _refuse(f"{where}.{name}", check(conf.get(name)))
    tuning = tuning_from_config(conf.get("transport"))
    _refuse(f"{where}.proxy_url", proxy_problems(conf.get("proxy_url")))
    tls_conf = conf.get("tls") or {}
    context = None
    if tls_conf.get("enabled"):
        _refuse(f"{where}.tls", tls_problems(tls_conf))
        try:
            context = ssl_context(tls_from_config(tls_conf))
        except SecurityError as exc:
            raise ConfigError(f"{where}.tls: {exc}") from None
    session = session_for(context, str(conf.get("proxy_url") or ""), tuning)
    # NOTE: token requests go through a session of their own, so they carry none of the
    # request authentication (and reach the provider with the same TLS and proxy).
    token_session = session_for(context, str(conf.get("proxy_url") or ""))
    session.auth = _auth_chain(conf, token_session, timeout, res.settings.definitions_dir, where)
    label = str(conf.get("rate_limit") or "")
    return HttpClient(session, lookup(res, label) if label else None, tuning)


class _Chain(requests.auth.AuthBase):
    """Several authentications applied in order."""

    def __init__(self, steps: list[requests.auth.AuthBase]) -> None:
        self.steps = steps

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        for step in self.steps:
            r = step(r)
        return r


def _jwt(conf: Mapping[str, Any], root: str, where: str) -> JwtAuth:
    """The ``jwt`` signer; its key file must lie inside the definitions directory
    (``local_files``), like every other file a definition names."""
    method = str(conf["signing_method"])
    try:
        key = load_key(local_files.inside(root, str(conf["private_key_file"]), where), method)
    except JwtKeyError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return JwtAuth(method, key, dict(conf.get("claims") or {}), dict(conf.get("headers") or {}))


def _auth_chain(
    conf: Mapping[str, Any], token_session: requests.Session, timeout: float | None, root: str, where: str
) -> _Chain | None:
    steps: list[requests.auth.AuthBase] = []
    if oauth := _block(conf, "oauth"):
        steps.append(
            OAuth1(*(str(oauth.get(k) or "") for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")))
        )
    if jwt := _block(conf, "jwt"):
        steps.append(_jwt(jwt, root, f"{where}.jwt.private_key_file"))
    if basic := _block(conf, "basic_auth"):
        steps.append(requests.auth.HTTPBasicAuth(str(basic.get("username") or ""), str(basic.get("password") or "")))
    if oauth2 := _block(conf, "oauth2"):
        params = {str(k): [str(v) for v in vs] for k, vs in (oauth2.get("endpoint_params") or {}).items()}
        steps.append(
            ClientCredentials(
                str(oauth2.get("client_key") or ""),
                str(oauth2.get("client_secret") or ""),
                str(oauth2["token_url"]),
                tuple(str(s) for s in oauth2.get("scopes") or []),
                params,
                token_session,
                timeout,
            )
        )
    if digest := _block(conf, "digest_auth"):
        steps.append(DigestAuth(str(digest.get("username") or ""), str(digest.get("password") or "")))
    return _Chain(steps) if steps else None
