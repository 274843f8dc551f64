"""An API's authentication, read from its definition the way Tyk reads it (no I/O).

Three places of an OAS document take part (Tyk's ``apidef/oas`` ``security.go``):

* ``components.securitySchemes.<name>``: the OAS type. ``apiKey`` (``in`` header, query or
  cookie, and ``name``) is an auth token (a key made through ``/tyk/keys``); ``http`` with
  ``scheme: bearer`` and ``bearerFormat: JWT`` is a JWT. Other types are not served here.
* ``x-tyk-api-gateway.server.authentication``: ``enabled`` and, per scheme name, Tyk's settings
  (``enabled``, the ``header``/``query``/``cookie`` ``{enabled, name}`` sources, and for JWT
  ``source``, ``jwksURIs``, ``signingMethod``, ``identityBaseField`` and the three skews).
* ``security``: which schemes a request must satisfy. Tyk's default ("legacy") processing
  reads the first requirement only and every scheme in it must pass; with
  ``securityProcessingMode: compliant`` any one requirement passing is enough.

Problems are reported through ``report(path, message)`` with config paths such as
``x-tyk-api-gateway.server.authentication.securitySchemes.jwt.source``; a definition with one is
not served, so an API whose author asked for protection is never served open (fail closed).
"""

from __future__ import annotations

import base64
import binascii
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509 import load_pem_x509_certificate

Path = tuple[Any, ...]
Report = Callable[[Path, str], None]

AUTH_PATH: Path = ("x-tyk-api-gateway", "server", "authentication")
SIGNING_METHODS = ("hmac", "rsa", "ecdsa")
DEFAULT_SOURCE_NAME = "Authorization"
DEFAULT_JWKS_CACHE_S = 600
"""How long fetched keys are trusted when a ``jwksURIs`` entry gives no ``cacheTimeout``."""

_AUTH_FIELDS = ("enabled", "stripAuthorizationData", "baseIdentityProvider", "securitySchemes", "securityProcessingMode")
_SOURCE_FIELDS = ("header", "query", "cookie")
_TOKEN_FIELDS = ("enabled", *_SOURCE_FIELDS, "enableClientCertificate", "signatureValidation")
_JWT_FIELDS = (
    "enabled", *_SOURCE_FIELDS, "source", "jwksURIs", "signingMethod", "identityBaseField", "subjectClaims",
    "skipKid", "policyFieldName", "basePolicyClaims", "clientBaseField", "scopes", "defaultPolicies",
    "issuedAtValidationSkew", "notBeforeValidationSkew", "expiresAtValidationSkew",
)
_UNSERVED_TYK_FIELDS = {
    "enableClientCertificate": "client certificates are not checked by this gateway",
    "signatureValidation": "request signatures are not checked by this gateway",
}


@dataclass(frozen=True)
class CredentialSources:
    """Where a credential is looked for: a header, a query parameter and/or a cookie name."""

    header: str | None = DEFAULT_SOURCE_NAME
    query: str | None = None
    cookie: str | None = None


@dataclass(frozen=True)
class JwksUri:
    url: str
    cache_timeout: float = DEFAULT_JWKS_CACHE_S


@dataclass(frozen=True)
class JwtScheme:
    """A JWT scheme: keys from ``source`` (decoded) or from ``jwks_uris``."""

    name: str
    sources: CredentialSources
    signing_method: str = ""
    """``hmac``, ``rsa``, ``ecdsa``; empty: the family of the key decides."""
    secret: bytes | None = None
    """An HMAC secret from ``source``."""
    public_key_pem: bytes | None = None
    """A PEM public key (or certificate) from ``source``."""
    jwks_uris: tuple[JwksUri, ...] = ()
    identity_base_field: str = "sub"
    issued_at_skew: float | None = None
    not_before_skew: float | None = None
    expires_at_skew: float | None = None

    kind = "jwt"


@dataclass(frozen=True)
class TokenScheme:
    """An auth token (API key) scheme."""

    name: str
    sources: CredentialSources

    kind = "token"


Scheme = JwtScheme | TokenScheme


@dataclass(frozen=True)
class AuthConfig:
    """What a request to the API must present. ``requirements``: alternatives, each a tuple of
    schemes that must all pass (legacy processing has exactly one)."""

    requirements: tuple[tuple[Scheme, ...], ...]
    strip_authorization_data: bool = False
    base_identity_provider: str = ""
    schemes: dict[str, Scheme] = field(default_factory=dict)


def read_auth(doc: dict[str, Any], report: Report) -> AuthConfig | None:
    """The API's authentication, None when it is off (keyless, Tyk's default)."""
    gateway = doc.get("x-tyk-api-gateway")
    server = gateway.get("server") if isinstance(gateway, dict) else None
    auth = server.get("authentication") if isinstance(server, dict) else None
    if auth is None:
        return None
    if not isinstance(auth, dict):
        report(AUTH_PATH, f"expected an object, got {type(auth).__name__}")
        return None
    for key in auth:
        if key not in _AUTH_FIELDS:
            report(AUTH_PATH + (key,), "unknown field" + _hint(key, _AUTH_FIELDS))
    enabled = auth.get("enabled", False)
    if not isinstance(enabled, bool):
        report(AUTH_PATH + ("enabled",), "expected a boolean")
        return None
    if not enabled:
        return None  # keyless: the schemes are not read, as Tyk does not use them
    tyk_schemes = auth.get("securitySchemes") or {}
    if not isinstance(tyk_schemes, dict):
        report(AUTH_PATH + ("securitySchemes",), "expected an object")
        tyk_schemes = {}
    oas_schemes = _oas_schemes(doc, report)
    schemes = {
        name: scheme
        for name, conf in tyk_schemes.items()
        if (scheme := _scheme(str(name), conf, oas_schemes, report)) is not None
    }
    mode = auth.get("securityProcessingMode", "legacy")
    if mode not in ("legacy", "compliant"):
        report(AUTH_PATH + ("securityProcessingMode",), f"expected 'legacy' or 'compliant', got {mode!r}")
    requirements = _requirements(doc, schemes, oas_schemes, tyk_schemes, compliant=mode == "compliant", report=report)
    if not requirements:
        report(
            ("security",),
            "authentication is enabled but no enabled scheme is required: name one in security "
            "(defined in components.securitySchemes and x-tyk-api-gateway.server.authentication.securitySchemes)",
        )
        return None
    strip = auth.get("stripAuthorizationData", False)
    base = auth.get("baseIdentityProvider", "")
    return AuthConfig(tuple(requirements), strip is True, base if isinstance(base, str) else "", schemes)


def _oas_schemes(doc: dict[str, Any], report: Report) -> dict[str, dict[str, Any]]:
    components = doc.get("components")
    found = components.get("securitySchemes") if isinstance(components, dict) else None
    if found is None:
        return {}
    if not isinstance(found, dict):
        report(("components", "securitySchemes"), "expected an object")
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, scheme in found.items():
        path = ("components", "securitySchemes", name)
        if not isinstance(scheme, dict):
            report(path, "expected an object")
            continue
        kind = _oas_kind(scheme)
        if kind is None:
            report(path + ("type",), _unknown_type(scheme))
            continue
        if kind == "token" and scheme.get("in") not in ("header", "query", "cookie"):
            report(path + ("in",), f"expected header, query or cookie, got {scheme.get('in')!r}")
            continue
        if kind == "token" and not (isinstance(scheme.get("name"), str) and scheme["name"]):
            report(path + ("name",), "missing: the header, query parameter or cookie that carries the key")
            continue
        out[str(name)] = scheme
    return out


def _oas_kind(scheme: dict[str, Any]) -> str | None:
    kind = scheme.get("type")
    if kind == "apiKey":
        return "token"
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer" and scheme.get("bearerFormat") == "JWT":
        return "jwt"
    return None


def _unknown_type(scheme: dict[str, Any]) -> str:
    kind = scheme.get("type")
    if kind in ("http", "oauth2", "openIdConnect", "mutualTLS"):
        detail = f"{kind} with scheme {scheme.get('scheme')!r}" if kind == "http" else kind
        return (
            f"not supported: {detail}; this gateway serves apiKey (auth tokens) and "
            "http bearer with bearerFormat JWT"
        )
    return f"unknown security scheme type {kind!r}: expected apiKey, or http with scheme bearer and bearerFormat JWT"


def _scheme(name: str, conf: Any, oas: dict[str, dict[str, Any]], report: Report) -> Scheme | None:
    path = AUTH_PATH + ("securitySchemes", name)
    if not isinstance(conf, dict):
        report(path, "expected an object")
        return None
    oas_scheme = oas.get(name)
    if oas_scheme is None:
        report(path, f"no components.securitySchemes.{name} says what kind of scheme this is")
        return None
    kind = _oas_kind(oas_scheme)
    allowed = _JWT_FIELDS if kind == "jwt" else _TOKEN_FIELDS
    for key in conf:
        if key not in allowed:
            report(path + (key,), "unknown field" + _hint(key, allowed))
    if conf.get("enabled") is not True:
        return None
    for key, why in _UNSERVED_TYK_FIELDS.items():
        if conf.get(key):
            report(path + (key,), f"not supported: {why}")
    if kind == "token":
        return TokenScheme(name, _sources(conf, path, report, oas_scheme))
    return _jwt_scheme(name, conf, path, report)


def _sources(conf: dict[str, Any], path: Path, report: Report, oas_scheme: dict[str, Any] | None = None) -> CredentialSources:
    """The scheme's credential sources: the OAS ``in``/``name`` of an apiKey, plus Tyk's
    ``header``/``query``/``cookie`` blocks; the ``Authorization`` header when none is given."""
    names: dict[str, str | None] = {"header": None, "query": None, "cookie": None}
    if oas_scheme is not None and oas_scheme.get("type") == "apiKey":
        names[str(oas_scheme["in"])] = str(oas_scheme["name"])
    for where in _SOURCE_FIELDS:
        block = conf.get(where)
        if block is None:
            continue
        if not isinstance(block, dict):
            report(path + (where,), "expected an object with enabled and name")
            continue
        if block.get("enabled") is True:
            name = block.get("name") or (DEFAULT_SOURCE_NAME if where == "header" else "")
            if not isinstance(name, str) or not name:
                report(path + (where, "name"), f"missing: the {where} name that carries the credential")
                continue
            names[where] = name
        elif block.get("enabled") is False and names[where] is None:
            names[where] = ""
    if not any(names.values()):
        names["header"] = DEFAULT_SOURCE_NAME
    return CredentialSources(names["header"] or None, names["query"] or None, names["cookie"] or None)


def _jwt_scheme(name: str, conf: dict[str, Any], path: Path, report: Report) -> JwtScheme | None:
    method = conf.get("signingMethod", "")
    if method and method not in SIGNING_METHODS:
        report(path + ("signingMethod",), f"unknown signing method {method!r}: expected one of {', '.join(SIGNING_METHODS)}")
        return None
    identity = conf.get("identityBaseField") or "sub"
    if not isinstance(identity, str):
        report(path + ("identityBaseField",), "expected a claim name")
        return None
    skews = {}
    for key in ("issuedAtValidationSkew", "notBeforeValidationSkew", "expiresAtValidationSkew"):
        value = conf.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            report(path + (key,), "expected a whole number of seconds (0 or more)")
            return None
        skews[key] = value
    jwks = _jwks_uris(conf.get("jwksURIs"), path + ("jwksURIs",), report)
    if jwks is None:
        return None
    secret = pem = None
    source = conf.get("source")
    if source:
        decoded = _decode_source(source, path + ("source",), report)
        if decoded is None:
            return None
        if decoded.startswith((b"http://", b"https://")):  # Tyk: a base64 URL is a JWKS address
            jwks = (*jwks, JwksUri(decoded.decode("ascii", "replace")))
        elif b"-----BEGIN" in decoded:
            family = _pem_family(decoded)
            if family is None:
                report(path + ("source",), "the decoded source is PEM but not an RSA or ECDSA public key or certificate")
                return None
            if method and method != family:
                report(path + ("signingMethod",), f"signingMethod {method} does not match the {family} key in source")
                return None
            pem, method = decoded, method or family
        else:
            if method and method != "hmac":
                report(path + ("source",), f"signingMethod {method} needs a PEM public key in source (base64 of the PEM)")
                return None
            secret, method = decoded, "hmac"
    if secret is None and pem is None and not jwks:
        report(path, "a JWT scheme needs source (a base64 secret or PEM public key) or jwksURIs")
        return None
    return JwtScheme(
        name=name,
        sources=_sources(conf, path, report),
        signing_method=method or "",
        secret=secret,
        public_key_pem=pem,
        jwks_uris=jwks,
        identity_base_field=identity,
        issued_at_skew=skews["issuedAtValidationSkew"],
        not_before_skew=skews["notBeforeValidationSkew"],
        expires_at_skew=skews["expiresAtValidationSkew"],
    )


def _decode_source(source: Any, path: Path, report: Report) -> bytes | None:
    if not isinstance(source, str):
        report(path, "expected a base64 string")
        return None
    try:
        decoded = base64.b64decode(source.strip(), validate=True)
    except (binascii.Error, ValueError):
        report(path, "not valid base64: Tyk reads source as the base64 of an HMAC secret, a PEM public key or a JWKS URL")
        return None
    if not decoded:
        report(path, "decodes to nothing")
        return None
    return decoded


def _pem_family(pem: bytes) -> str | None:
    """``rsa`` or ``ecdsa`` for a PEM public key or certificate, None for anything else."""
    try:
        key: Any = load_pem_public_key(pem)
    except (ValueError, TypeError):
        try:
            key = load_pem_x509_certificate(pem).public_key()
        except ValueError:
            return None
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    return None


def _jwks_uris(value: Any, path: Path, report: Report) -> tuple[JwksUri, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list):
        report(path, "expected a list of {url, cacheTimeout}")
        return None
    out = []
    for i, entry in enumerate(value):
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            report(path + (i, "url"), "expected an http:// or https:// URL of a JSON Web Key Set")
            return None
        timeout = entry.get("cacheTimeout") or DEFAULT_JWKS_CACHE_S
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            report(path + (i, "cacheTimeout"), "expected seconds (a number, 0 or more)")
            return None
        out.append(JwksUri(url, float(timeout)))
    return tuple(out)


def _requirements(
    doc: dict[str, Any],
    schemes: dict[str, Scheme],
    oas: dict[str, dict[str, Any]],
    tyk: dict[str, Any],
    *,
    compliant: bool,
    report: Report,
) -> list[tuple[Scheme, ...]]:
    security = doc.get("security")
    if security is None:
        return []
    if not isinstance(security, list):
        report(("security",), "expected a list of security requirements")
        return []
    out = []
    for i, requirement in enumerate(security if compliant else security[:1]):
        if not isinstance(requirement, dict):
            report(("security", i), "expected an object naming security schemes")
            continue
        chosen = []
        for name in requirement:
            if name not in oas and name not in tyk:
                report(("security", i, name), f"names the undefined security scheme {name!r}" + _hint(name, list(oas)))
            elif name in schemes:
                chosen.append(schemes[name])
        if chosen:
            out.append(tuple(chosen))
    return out


def _hint(name: Any, choices: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
