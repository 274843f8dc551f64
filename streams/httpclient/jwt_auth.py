"""``jwt``: a bearer token signed with a private key on every request, as Bento's ``jwt`` block
(``public/service/config_http.go``): the configured ``claims`` and extra ``headers`` as given (no
``iat``/``exp`` added), signed with ``RS256``/``RS384``/``RS512`` (an RSA key, PKCS#1 or PKCS#8
PEM) or ``EdDSA`` (an Ed25519 key). The key is read and parsed once, when the stream is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

METHODS = ("RS256", "RS384", "RS512", "EdDSA")


class JwtKeyError(ValueError):
    """The private key cannot be used with the signing method."""


def load_key(path: str, method: str) -> Any:
    """The private key of ``path`` for ``method``; ``JwtKeyError`` saying why not."""
    try:
        with open(path, "rb") as fh:
            key = load_pem_private_key(fh.read(), password=None)
    except OSError as exc:
        raise JwtKeyError(f"failed to read private key: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise JwtKeyError(f"failed to parse {method} private key: {exc}") from None
    wanted = ed25519.Ed25519PrivateKey if method == "EdDSA" else rsa.RSAPrivateKey
    if not isinstance(key, wanted):
        kind = "an Ed25519" if method == "EdDSA" else "an RSA"
        raise JwtKeyError(f"failed to parse {method} private key: not {kind} private key")
    return key


@dataclass(frozen=True)
class JwtAuth(requests.auth.AuthBase):
    method: str
    key: Any = field(repr=False)
    claims: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)

    def token(self) -> str:
        return jwt.encode(dict(self.claims), self.key, algorithm=self.method, headers=dict(self.headers) or None)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer " + self.token()
        return r
