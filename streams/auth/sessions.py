"""Tyk's key session object (what ``/tyk/keys`` takes and gives), read and checked; no I/O.

Fields enforced here, named and defaulted as in Tyk's ``user.SessionState``:

* ``access_rights``: ``{api_id: {api_id, api_name, versions, ...}}``; a key with none may use
  every API (Tyk's rule), otherwise only the APIs listed (another API answers 403);
* ``rate`` per ``per`` seconds: requests allowed per window (0 or less: no rate limit);
* ``quota_max`` per ``quota_renewal_rate`` seconds (``quota_max`` -1: unlimited; a renewal rate
  of 0 or less: the quota never renews);
* ``expires``: unix seconds after which the key is refused (0 or -1: never);
* ``is_inactive``: a disabled key is refused;
* ``alias`` and ``meta_data``: kept and returned.

The whole body is kept as sent (other Tyk fields included), so a GET answers what was PUT.
Keys are known by ``hash_key``: the plain key is never stored (Tyk's ``hash_keys``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

UNLIMITED = -1
KEY_BYTES = 16


class SessionInvalid(ValueError):
    """A session body that cannot be a key (the message names the field)."""


def hash_key(key: str) -> str:
    """The name a key is stored and looked up by (SHA-256, hex)."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def new_key() -> str:
    """A fresh random key (32 hex characters, as Tyk's generated keys)."""
    return secrets.token_hex(KEY_BYTES)


@dataclass(frozen=True)
class KeySession:
    """The enforced part of a session, and the whole document as stored."""

    document: dict[str, Any] = field(default_factory=dict, compare=False)
    access_rights: frozenset[str] = frozenset()
    rate: float = 0.0
    per: float = 0.0
    quota_max: int = UNLIMITED
    quota_renewal_rate: float = 0.0
    expires: float = 0.0
    inactive: bool = False
    alias: str = ""

    def allows(self, api_id: str) -> bool:
        return not self.access_rights or api_id in self.access_rights

    def expired(self, now: float) -> bool:
        return self.expires > 0 and now >= self.expires

    @property
    def rate_limited(self) -> bool:
        return self.rate > 0 and self.per > 0

    @property
    def quota_limited(self) -> bool:
        return self.quota_max >= 0


def read_session(doc: Any) -> KeySession:
    """A ``KeySession`` from a request body or a stored record; ``SessionInvalid`` otherwise."""
    if not isinstance(doc, dict):
        raise SessionInvalid("the key session must be a JSON object")
    rights = doc.get("access_rights") or {}
    if not isinstance(rights, dict) or not all(isinstance(v, dict) for v in rights.values()):
        raise SessionInvalid("access_rights must map API IDs to {api_id, api_name, versions}")
    alias = doc.get("alias", "")
    if not isinstance(alias, str):
        raise SessionInvalid("alias must be a string")
    meta = doc.get("meta_data")
    if meta is not None and not isinstance(meta, dict):
        raise SessionInvalid("meta_data must be an object")
    inactive = doc.get("is_inactive", False)
    if not isinstance(inactive, bool):
        raise SessionInvalid("is_inactive must be a boolean")
    return KeySession(
        document=doc,
        access_rights=frozenset(str(k) for k in rights),
        rate=_number(doc, "rate", 0.0),
        per=_number(doc, "per", 0.0),
        quota_max=int(_number(doc, "quota_max", UNLIMITED)),
        quota_renewal_rate=_number(doc, "quota_renewal_rate", 0.0),
        expires=_number(doc, "expires", 0.0),
        inactive=inactive,
        alias=alias,
    )


def stored_document(doc: dict[str, Any], key_hash: str, now: float) -> dict[str, Any]:
    """The body as kept: Tyk's derived fields filled in (``quota_remaining`` starts at
    ``quota_max``; ``date_created`` once), never the plain key."""
    out = {k: v for k, v in doc.items() if k not in ("key", "key_id")}
    out.setdefault("quota_max", UNLIMITED)
    out.setdefault("quota_remaining", out["quota_max"])
    out.setdefault("rate", 0)
    out.setdefault("per", 0)
    out.setdefault("expires", 0)
    out.setdefault("access_rights", {})
    out.setdefault("date_created", int(now))
    out["key_hash"] = key_hash
    return out


def _number(doc: dict[str, Any], name: str, default: float) -> float:
    value = doc.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SessionInvalid(f"{name} must be a number")
    return float(value)
