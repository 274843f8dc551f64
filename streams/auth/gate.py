"""One API's decision on one request's credentials: who it is, or why not (HTTP status and all).

The gate knows nothing of HTTP frameworks: the handler hands it the request's headers, query
parameters and cookies (``Credentials``) and turns an ``AuthDenied`` into the reply. What it
uses is passed in: the keys (``lookup``), the JWKS keys (``jwks``), the host's shared counters
for rates and quotas (``limits``, ``HostState.rate_take``) and the clock.

Statuses: no credential or a bad one, an expired or disabled key: 401 (``WWW-Authenticate:
Bearer`` for a JWT scheme); a valid key for another API: 403; over the key's rate or quota: 429
with ``Retry-After``. The messages are Tyk's where it has one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509 import load_pem_x509_certificate

from streams.auth import jwt_verify
from streams.auth.config import AuthConfig, CredentialSources, JwksUri, JwtScheme, Scheme, TokenScheme
from streams.auth.jwt_verify import JwtRejected, Leeway, VerifyKey
from streams.auth.sessions import KeySession, hash_key

NEVER_RENEWS_S = 10 * 365 * 24 * 3600.0
"""The window of a quota whose ``quota_renewal_rate`` is 0 or less."""
MISSING = "Authorization field missing"


@dataclass(frozen=True)
class Credentials:
    """What a request carries: headers by lower-case name, first query values, cookies."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    cookies: Mapping[str, str]

    def find(self, sources: CredentialSources) -> str | None:
        """The credential from the first source that has one; a ``Bearer`` prefix is dropped."""
        if sources.header:
            value = self.headers.get(sources.header.lower(), "").strip()
            if value[:7].lower() == "bearer ":
                value = value[7:].strip()
            if value:
                return value
        if sources.query and self.query.get(sources.query):
            return self.query[sources.query]
        if sources.cookie and self.cookies.get(sources.cookie):
            return self.cookies[sources.cookie]
        return None


@dataclass(frozen=True)
class Identity:
    """Who a request was authenticated as: ``subject`` (the JWT's identity claim, or the key's
    alias, else its hash), the credential as presented (``token``) and the JWT's claims."""

    scheme: str
    subject: str
    token: str
    claims: Mapping[str, Any] = field(default_factory=dict)


class AuthDenied(Exception):
    """The request is refused: ``status``, a message for the client, and reply headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


KeyLookup = Callable[[str], KeySession | None]
JwksLookup = Callable[[tuple[JwksUri, ...], str | None], Sequence[VerifyKey]]
Limits = Callable[[str, int, float], float]


class Gate:
    """Authenticates requests to one API (see module doc)."""

    def __init__(
        self,
        api_id: str,
        api_name: str,
        config: AuthConfig,
        *,
        keys: KeyLookup,
        jwks: JwksLookup,
        limits: Limits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_id = api_id
        self.api_name = api_name
        self.config = config
        self._keys = keys
        self._jwks = jwks
        self._limits = limits
        self._clock = clock
        self._static = {s.name: static_keys(s) for s in config.schemes.values() if isinstance(s, JwtScheme)}

    def check(self, creds: Credentials) -> Identity:
        """The request's identity, or ``AuthDenied``: every scheme of one requirement must pass;
        of several failing requirements the most telling refusal (429, 403, then 401) is raised."""
        refusals: list[AuthDenied] = []
        for requirement in self.config.requirements:
            try:
                return self._requirement(requirement, creds)
            except AuthDenied as denied:
                refusals.append(denied)
        raise max(refusals, key=lambda d: {429: 3, 403: 2}.get(d.status, 1))

    def _requirement(self, schemes: tuple[Scheme, ...], creds: Credentials) -> Identity:
        found = [self._scheme(s, creds) for s in schemes]
        base = self.config.base_identity_provider
        for scheme, identity in zip(schemes, found, strict=True):
            if base and (scheme.kind == base or scheme.name == base):
                return identity
        return found[0]

    def _scheme(self, scheme: Scheme, creds: Credentials) -> Identity:
        if isinstance(scheme, TokenScheme):
            return self._token(scheme, creds)
        return self._jwt(scheme, creds)

    # -- JWT -----------------------------------------------------------------------------------

    def _jwt(self, scheme: JwtScheme, creds: Credentials) -> Identity:
        token = creds.find(scheme.sources)
        if token is None:
            raise AuthDenied(401, MISSING, {"WWW-Authenticate": f'Bearer realm="{self.api_name}"'})

        def keys(kid: str | None, family: str) -> list[VerifyKey]:
            found = [k for k in self._static[scheme.name] if k.family == family]
            if scheme.jwks_uris:
                found.extend(self._jwks(scheme.jwks_uris, kid))
            return found

        leeway = Leeway(*(
            jwt_verify.DEFAULT_LEEWAY_S if skew is None else float(skew)
            for skew in (scheme.expires_at_skew, scheme.not_before_skew, scheme.issued_at_skew)
        ))
        try:
            claims = jwt_verify.verify(token, keys, now=self._clock(), signing_method=scheme.signing_method, leeway=leeway)
            subject = jwt_verify.identity(claims, scheme.identity_base_field)
        except JwtRejected as exc:
            challenge = f'Bearer realm="{self.api_name}", error="invalid_token", error_description="{exc}"'
            raise AuthDenied(401, f"invalid JWT: {exc}", {"WWW-Authenticate": challenge}) from None
        return Identity(scheme.name, subject, token, claims)

    # -- auth tokens (keys) ----------------------------------------------------------------------

    def _token(self, scheme: TokenScheme, creds: Credentials) -> Identity:
        key = creds.find(scheme.sources)
        if key is None:
            raise AuthDenied(401, MISSING)
        key_hash = hash_key(key)
        session = self._keys(key_hash)
        if session is None:
            raise AuthDenied(401, "Key not authorised")
        now = self._clock()
        if session.inactive:
            raise AuthDenied(401, "Key is inactive, please renew")
        if session.expired(now):
            raise AuthDenied(401, "Key has expired, please renew")
        if not session.allows(self.api_id):
            raise AuthDenied(403, "Access to this API has been disallowed")
        self._take_limits(key_hash, session)
        return Identity(scheme.name, session.alias or key_hash, key)

    def _take_limits(self, key_hash: str, session: KeySession) -> None:
        if session.rate_limited:
            wait = self._limits(f"auth.rate:{key_hash}", max(1, int(session.rate)), session.per)
            if wait > 0:
                raise AuthDenied(429, "Rate limit exceeded", {"Retry-After": str(max(1, math.ceil(wait)))})
        if session.quota_limited:
            renews = session.quota_renewal_rate if session.quota_renewal_rate > 0 else NEVER_RENEWS_S
            wait = renews if session.quota_max == 0 else self._limits(quota_counter(key_hash), session.quota_max, renews)
            if wait > 0:
                raise AuthDenied(429, "Quota exceeded", {"Retry-After": str(max(1, math.ceil(wait)))})


def quota_counter(key_hash: str) -> str:
    """The name of a key's quota among the host's counters."""
    return f"auth.quota:{key_hash}"


def static_keys(scheme: JwtScheme) -> list[VerifyKey]:
    """The keys a JWT scheme's ``source`` gives (checked at load, so they parse)."""
    if scheme.secret is not None:
        return [VerifyKey("hmac", scheme.secret)]
    if scheme.public_key_pem is not None:
        try:
            key: Any = load_pem_public_key(scheme.public_key_pem)
        except ValueError:
            key = load_pem_x509_certificate(scheme.public_key_pem).public_key()
        return [VerifyKey(scheme.signing_method, key)]
    return []
