"""How a ``requests.Session`` reaches the server: the shared ``tls`` block's SSL context,
``proxy_url``, and the ``transport`` block's tuning (``streams.httpclient.tuning``).

``requests`` normally decides verification itself (its own CA bundle, ``verify``); the adapter
here hands every HTTPS connection, direct or through a proxy tunnel, the context of
``streams.tls`` and leaves its verification settings alone, so ``root_cas``,
``skip_cert_verify`` and ``client_certs`` mean what they mean for every other component.

With a tuning, the adapter's urllib3 pools are of classes made for it: connections carry the
TCP keep-alive socket options and bound each TLS handshake step, and a pool closes a connection
that stayed idle too long instead of handing it out again.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

from streams.httpclient.tuning import Tuning


class TlsHandshakeTimeout(ConnectTimeoutError):
    """The TLS handshake took longer than ``tls_handshake_timeout`` (a failed request names it
    with Go's text, ``streams.httpclient.request``)."""


def keep_alive_options(period: float | None) -> list[tuple[int, int, int]]:
    """Socket options for TCP keep-alive probes after ``period`` seconds of silence and every
    ``period`` after (Go's dialer sets both); none when ``period`` is None."""
    if period is None:
        return []
    seconds = max(1, round(period))
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; other systems keep their own schedule
        options += [(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, seconds), (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, seconds)]
    return options


class _IdleLimitMixin:
    """Pool behaviour: a connection back in the pool is stamped; one handed out after more than
    ``idle_timeout`` seconds there is closed first, so the request opens a new one. A connection
    beyond the idle ones kept per host is closed without a word, as Go's transport does (urllib3
    would log a warning for each)."""

    idle_timeout: float | None = None

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        since = getattr(conn, "idle_since", None)
        if since is not None and self.idle_timeout is not None and time.monotonic() - since > self.idle_timeout:
            conn.close()
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.idle_since = time.monotonic()
            pool = getattr(self, "pool", None)
            if pool is not None and pool.full():
                conn.close()
                return
        super()._put_conn(conn)  # type: ignore[misc]


class _HandshakeLimitMixin:
    """HTTPS connection behaviour: once the TCP connection stands, each handshake step may take
    ``handshake_timeout`` (never more than the connect timeout); then the connect timeout is back
    for sending the request."""

    handshake_timeout: float | None = None
    timeout: Any
    sock: Any
    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self._handshaking = True
        limits = [t for t in (self.handshake_timeout, self.timeout) if isinstance(t, (int, float))]
        if self.handshake_timeout is not None and limits:
            sock.settimeout(min(limits))
        return sock

    def connect(self) -> None:
        self._handshaking = False
        try:
            super().connect()  # type: ignore[misc]
        except TimeoutError as exc:  # the socket's own timeout, not urllib3's connect timeout
            if self._handshaking and self.handshake_timeout is not None:
                raise TlsHandshakeTimeout(self, f"TLS handshake with {self.host} timed out") from exc
            raise
        finally:
            self._handshaking = False
        if isinstance(self.timeout, (int, float)) or self.timeout is None:
            self.sock.settimeout(self.timeout)


def pool_classes(tuning: Tuning) -> dict[str, type]:
    """urllib3 pool classes (by scheme) whose connections follow ``tuning`` (the socket options
    travel as pool arguments: ``socket_options``)."""
    secure = type(
        "TunedHTTPSConnection", (_HandshakeLimitMixin, HTTPSConnection), {"handshake_timeout": tuning.tls_handshake_timeout}
    )
    idle = {"idle_timeout": tuning.idle_timeout}
    return {
        "http": type("TunedHTTPConnectionPool", (_IdleLimitMixin, HTTPConnectionPool), idle),
        "https": type("TunedHTTPSConnectionPool", (_IdleLimitMixin, HTTPSConnectionPool), {**idle, "ConnectionCls": secure}),
    }


class TlsAdapter(HTTPAdapter):
    """An adapter whose HTTPS connections use ``context`` as it is (when given), and whose pools
    follow ``tuning`` (when given)."""

    def __init__(self, context: ssl.SSLContext | None, tuning: Tuning | None = None) -> None:
        self.context = context
        self.pools = pool_classes(tuning) if tuning is not None else None
        self.socket_options = (
            HTTPConnection.default_socket_options + keep_alive_options(tuning.keep_alive) if tuning is not None else None
        )
        if tuning is None:
            super().__init__()
        else:
            super().__init__(pool_connections=tuning.host_pools, pool_maxsize=tuning.idle_per_host)

    def _pool_arguments(self, kw: dict[str, Any]) -> dict[str, Any]:
        if self.context is not None:
            kw["ssl_context"] = self.context
        if self.socket_options is not None:
            kw["socket_options"] = self.socket_options
        return kw

    def _tuned(self, manager: Any) -> Any:
        if self.pools is not None:
            manager.pool_classes_by_scheme = self.pools
        return manager

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kw: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **self._pool_arguments(kw))
        self._tuned(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        return self._tuned(super().proxy_manager_for(proxy, **self._pool_arguments(kw)))

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        if self.context is not None:
            # NOTE: without these urllib3 takes the verification mode from the context.
            for key in ("cert_reqs", "ca_certs", "ca_cert_dir"):
                pool.pop(key, None)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """With a context, it already says how to verify; nothing to add per connection."""
        if self.context is None:
            super().cert_verify(conn, url, verify, cert)


def session_for(context: ssl.SSLContext | None, proxy_url: str, tuning: Tuning | None = None) -> requests.Session:
    """A session speaking TLS with ``context`` (when given), through ``proxy_url`` (when set,
    instead of the environment's proxies), with its connections tuned by ``tuning`` (when given)."""
    session = requests.Session()
    if tuning is not None:
        adapter = TlsAdapter(context, tuning)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    elif context is not None:
        session.mount("https://", TlsAdapter(context))
    if proxy_url:
        session.proxies = {"http": proxy_url, "https": proxy_url}
    return session
