"""Who may use the management API: the secret check alone, without HTTP (tested alone).

A request carries the secret in the ``x-tyk-authorization`` header, as Tyk Gateway's API does.
With no secret configured the management API is off and its paths do not exist (404), so an
open gateway never exposes it by accident. The secret is asked of ``secret()`` on every request:
that is the seam for a secret the gateway makes itself (``STREAMS_SECRET`` unset, DESIGN §11).
The comparison takes the same time whatever the header holds (``hmac.compare_digest``).
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable

HEADER = "x-tyk-authorization"
DENIED_MESSAGE = "Attempted administrative access with invalid or missing key!"


class Verdict(enum.Enum):
    OFF = "off"
    """No secret configured: answer 404, as if the path did not exist."""
    DENIED = "denied"
    """Missing or wrong secret: 403, no detail."""
    ALLOWED = "allowed"


class SecretGuard:
    """Decides one request from its ``x-tyk-authorization`` value (None when absent)."""

    def __init__(self, secret: Callable[[], str | None]) -> None:
        self._secret = secret

    def verdict(self, presented: str | None) -> Verdict:
        secret = self._secret()
        if not secret:
            return Verdict.OFF
        if presented is None:
            return Verdict.DENIED
        if hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), secret.encode("utf-8")):
            return Verdict.ALLOWED
        return Verdict.DENIED
