"""JSON Web Key Sets: fetched over HTTP, cached, refreshed when stale or when a token names an
unknown ``kid``, but never more often than ``MIN_REFRESH_S`` per URL and process, so a flood of
tokens with made-up kids costs the JWKS server one request per interval, not one per token.

``JwksCache`` holds the bookkeeping (what is known, when it was fetched, whether a fetch is due)
with no I/O; ``JwksKeys`` wraps it with the fetch (``requests``, gevent-patched in a worker) and
lets one greenlet fetch a URL while the others wait for its result.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent.lock
import jwt
import requests

from streams.auth.config import JwksUri
from streams.auth.jwt_verify import VerifyKey

log = logging.getLogger("streams.auth")

MIN_REFRESH_S = 3.0
"""Least time between two fetches of one URL by one process, whatever the tokens say."""
FETCH_TIMEOUT_S = 5.0
MAX_JWKS_BYTES = 1 << 20

_FAMILIES = {"RSA": "rsa", "EC": "ecdsa"}


def parse_jwks(body: bytes) -> list[VerifyKey]:
    """The RSA and EC signature keys of a JWKS document (``oct`` and encryption keys skipped:
    an HMAC secret served over HTTP would be no secret). ``ValueError`` when it is not a JWKS."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError("not a JWKS document (no keys list)")
    out = []
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in _FAMILIES or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            log.warning("JWKS key %r skipped: not a usable %s key", entry.get("kid"), entry.get("kty"))
            continue
        kid = entry.get("kid")
        out.append(VerifyKey(_FAMILIES[entry["kty"]], key, kid if isinstance(kid, str) else None))
    return out


@dataclass
class _Entry:
    keys: list[VerifyKey] = field(default_factory=list)
    fetched_at: float | None = None
    attempted_at: float | None = None


class JwksCache:
    """Keys per JWKS URL and when to fetch again (no I/O; times are the caller's clock)."""

    def __init__(self, min_refresh_s: float = MIN_REFRESH_S) -> None:
        self.min_refresh_s = min_refresh_s
        self._entries: dict[str, _Entry] = {}

    def keys(self, url: str) -> list[VerifyKey]:
        entry = self._entries.get(url)
        return list(entry.keys) if entry else []

    def due(self, source: JwksUri, kid: str | None, now: float) -> bool:
        """Whether to fetch ``source`` before answering: never fetched, older than its cache
        timeout, or ``kid`` unknown; in every case not within ``min_refresh_s`` of the last try."""
        entry = self._entries.get(source.url)
        if entry is None or entry.attempted_at is None:
            return True
        if now - entry.attempted_at < self.min_refresh_s:
            return False
        if entry.fetched_at is None or now - entry.fetched_at >= source.cache_timeout:
            return True
        return kid is not None and all(k.kid != kid for k in entry.keys)

    def attempted(self, url: str, now: float) -> None:
        self._entries.setdefault(url, _Entry()).attempted_at = now

    def store(self, url: str, keys: list[VerifyKey], now: float) -> None:
        entry = self._entries.setdefault(url, _Entry())
        entry.keys, entry.fetched_at, entry.attempted_at = keys, now, now


def fetch_jwks(url: str) -> list[VerifyKey]:
    """GET ``url`` and parse it; ``ValueError`` on any failure (logged by the caller)."""
    try:
        resp = requests.get(url, timeout=FETCH_TIMEOUT_S, headers={"Accept": "application/json"}, stream=True)
        body = resp.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise ValueError(f"cannot fetch: {exc}") from None
    if resp.status_code != 200:
        raise ValueError(f"answered {resp.status_code}")
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
    return parse_jwks(body)


class JwksKeys:
    """This process's JWKS keys for every API (one cache, one lock per URL)."""

    def __init__(
        self,
        fetch: Callable[[str], list[VerifyKey]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
        cache: JwksCache | None = None,
    ) -> None:
        self.cache = cache or JwksCache()
        self._fetch = fetch
        self._clock = clock
        self._locks: dict[str, Any] = {}

    def keys(self, sources: tuple[JwksUri, ...], kid: str | None) -> list[VerifyKey]:
        """Every key of ``sources``, fetched first where due (see ``JwksCache.due``)."""
        out: list[VerifyKey] = []
        for source in sources:
            if self.cache.due(source, kid, self._clock()):
                self._refresh(source, kid)
            out.extend(self.cache.keys(source.url))
        return out

    def _refresh(self, source: JwksUri, kid: str | None) -> None:
        lock = self._locks.setdefault(source.url, gevent.lock.Semaphore())
        with lock:
            if not self.cache.due(source, kid, self._clock()):
                return  # another greenlet fetched while this one waited
            self.cache.attempted(source.url, self._clock())
            try:
                keys = self._fetch(source.url)
            except ValueError as exc:
                log.warning("JWKS %s: %s; keeping the %d keys known", source.url, exc, len(self.cache.keys(source.url)))
                return
            self.cache.store(source.url, keys, self._clock())
            log.info("JWKS %s: %d keys", source.url, len(keys))
