"""``oauth``: OAuth 1.0 request signing with HMAC-SHA1, as Bento signs (``public/service/config_http.go``).

Bento's variant, kept so servers that accept Bento's requests accept ours: the base string is
``METHOD&escape(full URL, query included)&escape(oauth parameters)`` (the query's parameters are
not merged into the parameter list), the key is ``escape(consumer_secret)&escape(token_secret)``,
and the ``Authorization`` value is the bare parameter list, without the ``OAuth`` scheme word.
``escape`` is form escaping (Go's ``url.QueryEscape``: space as ``+``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time
from dataclasses import dataclass, field
from urllib.parse import quote_plus

import requests


def escape(text: str) -> str:
    """Go's ``url.QueryEscape``: everything but letters, digits and ``-_.~`` escaped, space as ``+``."""
    return quote_plus(text, safe="~")


def base_string(method: str, url: str, params: dict[str, str]) -> str:
    """What gets signed: the verb, the URL and the oauth parameters sorted by name."""
    encoded = "&".join(f"{escape(k)}={escape(params[k])}" for k in sorted(params))
    return f"{method}&{escape(url)}&{escape(encoded)}"


def signature(base: str, consumer_secret: str, token_secret: str) -> str:
    """The base64 HMAC-SHA1 of ``base`` under the two secrets."""
    key = f"{escape(consumer_secret)}&{escape(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


@dataclass(frozen=True)
class OAuth1(requests.auth.AuthBase):
    consumer_key: str
    consumer_secret: str = field(repr=False)
    access_token: str
    access_token_secret: str = field(repr=False)

    def header(self, method: str, url: str, nonce: str, timestamp: str) -> str:
        """The ``Authorization`` value for one request."""
        params = {
            "oauth_consumer_key": self.consumer_key,
            "oauth_nonce": nonce,
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": timestamp,
            "oauth_token": self.access_token,
            "oauth_version": "1.0",
        }
        sig = signature(base_string(method, url, params), self.consumer_secret, self.access_token_secret)
        return (
            f'oauth_consumer_key="{escape(self.consumer_key)}", oauth_nonce="{nonce}", '
            f'oauth_signature="{escape(sig)}", oauth_signature_method="HMAC-SHA1", '
            f'oauth_timestamp="{timestamp}", oauth_token="{escape(self.access_token)}", oauth_version="1.0"'
        )

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        nonce = str(random.getrandbits(63))  # noqa: S311 - a nonce, not a secret (as Bento's)
        r.headers["Authorization"] = self.header(str(r.method), str(r.url), nonce, str(int(time.time())))
        return r
