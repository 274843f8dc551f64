"""``oauth2``: the client credentials flow (RFC 6749 §4.4), as Bento's ``oauth2`` block does it
with Go's ``clientcredentials`` package.

A token is fetched from ``token_url`` (``grant_type=client_credentials``, ``scope`` the
space-joined ``scopes``, plus every ``endpoint_params`` value) with the client's key and secret
in a basic ``Authorization`` header; a token endpoint that refuses that is asked again with them
in the form (Go's auto-detection), and the style that worked is kept. The token is reused until
10 seconds before its ``expires_in`` runs out (a token without one is kept for good) and is sent
as ``Authorization: Bearer <token>``. A token request that fails makes the request fail as if it
got no response, so the component's retries apply.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote_plus

import requests

EXPIRY_MARGIN = 10.0  # Go's oauth2 expiryDelta


class TokenError(requests.RequestException):
    """The token endpoint did not hand out a token."""


@dataclass(frozen=True)
class Token:
    access_token: str
    token_type: str = "Bearer"
    expires_at: float | None = None  # monotonic seconds; None: never

    def valid(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at - EXPIRY_MARGIN

    def header(self) -> str:
        kind = self.token_type
        # Go's Token.Type: the bearer type is always spelled "Bearer".
        return f"{'Bearer' if kind.lower() in ('', 'bearer') else kind} {self.access_token}"


def token_of(reply: dict[str, object], now: float) -> Token:
    """The token of a token endpoint's JSON reply; ``TokenError`` when it holds none."""
    access = reply.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenError("oauth2: server response missing access_token")
    expires = reply.get("expires_in")
    try:
        seconds = float(expires) if expires not in (None, "", 0) else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = None
    return Token(access, str(reply.get("token_type") or "Bearer"), now + seconds if seconds else None)


@dataclass
class ClientCredentials(requests.auth.AuthBase):
    client_key: str
    client_secret: str = field(repr=False)
    token_url: str
    scopes: tuple[str, ...] = ()
    endpoint_params: dict[str, list[str]] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    timeout: float | None = None
    _token: Token | None = field(default=None, repr=False)
    _in_form: bool | None = None  # None until a style worked
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self) -> Token:
        """The cached token, or a new one when it is missing or about to expire."""
        with self._lock:
            now = time.monotonic()
            if self._token is None or not self._token.valid(now):
                self._token = self._fetch(now)
            return self._token

    def _fetch(self, now: float) -> Token:
        styles = [False, True] if self._in_form is None else [self._in_form]
        problem = ""
        for in_form in styles:
            resp = self._ask(in_form)
            if 200 <= resp.status_code < 300:
                self._in_form = in_form
                try:
                    reply = resp.json()
                except ValueError:
                    raise TokenError("oauth2: cannot parse token response (not JSON)") from None
                return token_of(reply if isinstance(reply, dict) else {}, now)
            body = resp.text.replace("\n", " ")
            problem = f"oauth2: cannot fetch token: {resp.status_code} {resp.reason}\nResponse: {body}"
        raise TokenError(problem)

    def _ask(self, in_form: bool) -> requests.Response:
        form: dict[str, list[str]] = {"grant_type": ["client_credentials"]}
        if self.scopes:
            form["scope"] = [" ".join(self.scopes)]
        for key, values in self.endpoint_params.items():
            form[key] = list(values)
        auth = None
        if in_form:
            form["client_id"] = [self.client_key]
            form["client_secret"] = [self.client_secret]
        else:
            auth = (quote_plus(self.client_key), quote_plus(self.client_secret))
        try:
            return self.session.post(self.token_url, data=form, auth=auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TokenError(f"oauth2: cannot fetch token: {exc}") from None

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self.token().header()
        return r
