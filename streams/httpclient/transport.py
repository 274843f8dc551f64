"""How a ``requests.Session`` reaches the server: the shared ``tls`` block's SSL context and
``proxy_url``.

``requests`` normally decides verification itself (its own CA bundle, ``verify``); the adapter
here hands every HTTPS connection, direct or through a proxy tunnel, the context of
``streams.tls`` and leaves its verification settings alone, so ``root_cas``,
``skip_cert_verify`` and ``client_certs`` mean what they mean for every other component.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter


class TlsAdapter(HTTPAdapter):
    """An adapter whose HTTPS connections use ``context`` as it is."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kw: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, ssl_context=self.context, **kw)

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        return super().proxy_manager_for(proxy, ssl_context=self.context, **kw)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        # NOTE: without these urllib3 takes the verification mode from the context.
        for key in ("cert_reqs", "ca_certs", "ca_cert_dir"):
            pool.pop(key, None)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """The context already says how to verify; nothing to add per connection."""


def session_for(context: ssl.SSLContext | None, proxy_url: str) -> requests.Session:
    """A session speaking TLS with ``context`` (when given) and through ``proxy_url`` (when set,
    instead of the environment's proxies)."""
    session = requests.Session()
    if context is not None:
        session.mount("https://", TlsAdapter(context))
    if proxy_url:
        session.proxies = {"http": proxy_url, "https": proxy_url}
    return session
