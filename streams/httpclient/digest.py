"""``digest_auth``: HTTP Digest authentication (RFC 7616; RFC 2617 servers too).

The first request goes out bare; a ``401`` whose ``WWW-Authenticate`` offers ``Digest`` is
answered by sending the request again with the computed ``Authorization``. The challenge is then
kept and later requests answer it at once with a growing nonce count, until the server sends a
new one (a ``stale`` nonce). Algorithms ``MD5``, ``SHA-256`` and their ``-sess`` forms, with
``qop=auth`` or no qop; ``auth-int`` alone is not offered by this client, so such a challenge
is left unanswered (the ``401`` stands).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class DigestError(ValueError):
    """A challenge this client cannot answer."""


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str = ""  # "auth" or "" (none offered)
    opaque: str = ""


def parse_challenge(header: str) -> Challenge:
    """The ``Digest`` challenge of a ``WWW-Authenticate`` value; ``DigestError`` when none can be
    answered."""
    at = header.lower().find("digest ")
    if at < 0:
        raise DigestError("no Digest challenge")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(header[at + 7 :])}
    params = {k: re.sub(r"\\(.)", r"\1", v) for k, v in params.items()}
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm.removesuffix("-SESS") not in HASHES:
        raise DigestError(f"unsupported digest algorithm {algorithm}")
    offered = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if offered and "auth" not in offered:
        raise DigestError(f"unsupported qop {params['qop']}")
    if "nonce" not in params:
        raise DigestError("challenge without a nonce")
    return Challenge(params.get("realm", ""), params["nonce"], algorithm, "auth" if offered else "", params.get("opaque", ""))


def response(ch: Challenge, username: str, password: str, method: str, uri: str, nc: str, cnonce: str) -> str:
    """The ``response`` value of RFC 7616 §3.4.1 for ``qop=auth`` (or RFC 2069's without qop)."""
    hash_ = HASHES[ch.algorithm.removesuffix("-SESS")]

    def h(text: str) -> str:
        return hash_(text.encode()).hexdigest()

    ha1 = h(f"{username}:{ch.realm}:{password}")
    if ch.algorithm.endswith("-SESS"):
        ha1 = h(f"{ha1}:{ch.nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    if ch.qop:
        return h(f"{ha1}:{ch.nonce}:{nc}:{cnonce}:{ch.qop}:{ha2}")
    return h(f"{ha1}:{ch.nonce}:{ha2}")


def authorization(ch: Challenge, username: str, password: str, method: str, uri: str, nc: int, cnonce: str) -> str:
    """The ``Authorization`` value answering ``ch`` for the ``nc``-th use of its nonce."""
    count = f"{nc:08x}"
    parts = [
        f'username="{username}"',
        f'realm="{ch.realm}"',
        f'nonce="{ch.nonce}"',
        f'uri="{uri}"',
        f"algorithm={ch.algorithm}",
        f'response="{response(ch, username, password, method, uri, count, cnonce)}"',
    ]
    if ch.qop:
        parts += [f"qop={ch.qop}", f"nc={count}", f'cnonce="{cnonce}"']
    if ch.opaque:
        parts.append(f'opaque="{ch.opaque}"')
    return "Digest " + ", ".join(parts)


@dataclass
class DigestAuth(requests.auth.AuthBase):
    username: str
    password: str = field(repr=False)
    _challenge: Challenge | None = field(default=None, repr=False)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _sign(self, r: requests.PreparedRequest) -> None:
        with self._lock:
            if self._challenge is None:
                return
            self._count += 1
            ch, nc = self._challenge, self._count
        uri = requests.utils.urlparse(str(r.url))
        path = (uri.path or "/") + (f"?{uri.query}" if uri.query else "")
        r.headers["Authorization"] = authorization(
            ch, self.username, self.password, str(r.method), path, nc, os.urandom(16).hex()
        )

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        self._sign(r)
        r.register_hook("response", self._answer_challenge)
        return r

    def _answer_challenge(self, resp: requests.Response, **kwargs: Any) -> requests.Response:
        """On a 401 with a Digest challenge, send the request once more with the answer."""
        if resp.status_code != 401 or getattr(resp.request, "_digest_retried", False):
            return resp
        try:
            ch = parse_challenge(resp.headers.get("WWW-Authenticate", ""))
        except DigestError:
            return resp
        with self._lock:
            self._challenge, self._count = ch, 0
        resp.content  # noqa: B018 - read the body so the connection can be reused
        resp.close()
        again = resp.request.copy()
        again._digest_retried = True  # type: ignore[attr-defined]
        self._sign(again)
        sent = resp.connection.send(again, **kwargs)
        sent.history.append(resp)
        sent.request = again
        return sent
