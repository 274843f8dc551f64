"""Check a JWT against keys of known families; no I/O (the keys are handed in).

The algorithm in the token's header is an attacker's choice, so it only ever selects among keys
the gateway already holds for the same family:

* ``alg: none`` and anything outside ``ALGORITHMS`` is refused before any key is touched;
* a token is verified only with keys of its algorithm's family (HMAC secrets for ``HS*``, RSA
  public keys for ``RS*``/``PS*``, EC public keys for ``ES*``), so an ``HS256`` token signed with
  an RSA public key as the HMAC secret (algorithm confusion) meets no HMAC key and fails;
* ``signingMethod`` of the scheme, when set, narrows the family further (Tyk's rule).

``exp``, ``nbf`` and ``iat`` are checked here against the caller's clock with a leeway per claim
(Tyk's ``expiresAtValidationSkew``, ``notBeforeValidationSkew``, ``issuedAtValidationSkew``;
``DEFAULT_LEEWAY_S`` when a skew is not set). A time claim that is not a number is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHMS = {
    "HS256": "hmac", "HS384": "hmac", "HS512": "hmac",
    "RS256": "rsa", "RS384": "rsa", "RS512": "rsa", "PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
    "ES256": "ecdsa", "ES384": "ecdsa", "ES512": "ecdsa",
}
DEFAULT_LEEWAY_S = 5.0
"""Clock difference tolerated on ``exp``/``nbf``/``iat`` when the scheme sets no skew."""


class JwtRejected(Exception):
    """The token does not authenticate anyone; the message says why (safe to show the client)."""


@dataclass(frozen=True)
class VerifyKey:
    """A key a token may be verified with: ``family`` is ``hmac``, ``rsa`` or ``ecdsa``;
    ``key`` is the HMAC secret (bytes) or a ``cryptography`` public key object."""

    family: str
    key: Any
    kid: str | None = None


@dataclass(frozen=True)
class Leeway:
    expires: float = DEFAULT_LEEWAY_S
    not_before: float = DEFAULT_LEEWAY_S
    issued_at: float = DEFAULT_LEEWAY_S


KeyLookup = Callable[[str | None, str], Sequence[VerifyKey]]
"""``(kid, family) -> keys`` of that family to try (the JWKS cache may fetch anew for a kid)."""


def token_family(token: str, signing_method: str = "") -> tuple[str, str | None, str]:
    """``(alg, kid, family)`` from the unverified header, refused when the algorithm is not one
    we verify or not of ``signing_method``'s family."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise JwtRejected("malformed token") from None
    alg = header.get("alg")
    family = ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if family is None:
        raise JwtRejected(f"algorithm {alg!r} is not accepted")
    if signing_method and family != signing_method:
        raise JwtRejected(f"algorithm {alg} does not match the API's signing method {signing_method}")
    kid = header.get("kid")
    return str(alg), kid if isinstance(kid, str) else None, family


def verify(token: str, keys: KeyLookup, *, now: float, signing_method: str = "", leeway: Leeway = Leeway()) -> dict[str, Any]:
    """The claims of ``token`` when its signature verifies with one of the keys ``keys`` gives
    for its family and its times hold at ``now``; ``JwtRejected`` otherwise."""
    alg, kid, family = token_family(token, signing_method)
    candidates = [k for k in keys(kid, family) if k.family == family]
    if not candidates:
        raise JwtRejected("no key to verify the token with" + (f" (kid {kid!r})" if kid else ""))
    claims: dict[str, Any] | None = None
    for candidate in candidates:
        try:
            claims = jwt.decode(
                token,
                candidate.key,
                algorithms=[alg],
                options={"verify_signature": True, "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False, "verify_aud": False, "verify_iss": False},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except (jwt.InvalidKeyError, jwt.DecodeError):
            continue
    if claims is None:
        raise JwtRejected("signature verification failed")
    if not isinstance(claims, dict):
        raise JwtRejected("the token's payload is not a JSON object")
    check_times(claims, now, leeway)
    return claims


def check_times(claims: dict[str, Any], now: float, leeway: Leeway) -> None:
    """``exp``, ``nbf`` and ``iat`` against ``now`` with ``leeway``."""
    exp, nbf, iat = (_number(claims, name) for name in ("exp", "nbf", "iat"))
    if exp is not None and now > exp + leeway.expires:
        raise JwtRejected("token has expired")
    if nbf is not None and now + leeway.not_before < nbf:
        raise JwtRejected("token is not valid yet (nbf)")
    if iat is not None and now + leeway.issued_at < iat:
        raise JwtRejected("token was issued in the future (iat)")


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JwtRejected(f"claim {name} is not a number")
    return float(value)


def identity(claims: dict[str, Any], base_field: str) -> str:
    """Who the token names: ``base_field``, else ``sub`` (Tyk's fallback); refused when neither
    holds a non-empty value."""
    for name in (base_field, "sub"):
        value = claims.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    raise JwtRejected(f"the token has no {base_field!r} claim naming its subject")
