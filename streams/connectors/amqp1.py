"""AMQP 1.0 connections (python-qpid-proton's blocking API) for the ``amqp_1`` input and output.

NOTE: proton's container waits in ``select``, which gevent's patching makes cooperative, so a
worker keeps serving other greenlets while a receiver waits. A connection belongs to one greenlet
at a time: each input run has its own, the output serialises its writes.

Fields follow Bento (``internal/impl/amqp1``): ``urls`` (entries split at commas, the first that
connects is used), ``sasl`` (``none``, ``plain``, ``anonymous``) and ``tls``.

TLS: an ``amqps://`` URL (port 5671 by default) is a TLS connection, checked against the ``tls``
block's CAs (the system's when none are given) with the peer's name verified unless
``skip_cert_verify``, and presenting its first client certificate. With ``tls.enabled`` an
``amqp://`` URL is a TLS connection too. NOTE: Bento's client then negotiates TLS inside AMQP
(the TLS protocol header, then the handshake); proton cannot, so it starts TLS at once on that
port, as for ``amqps://``, which is what brokers' TLS ports expect.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import cproton
from proton import ProtonException, SSLDomain, SSLException
from proton.utils import BlockingConnection

from streams.brokers.base import BrokerError
from streams.connectors.url_list import url_list_check
from streams.contracts import ConfigError
from streams.registry import Field
from streams.tls import SecurityError, Tls, pem_file, tls_field

CONNECT_TIMEOUT = 10.0
SASL_MECHANISMS = ("none", "plain", "anonymous")
Problems = list[tuple[tuple[str | int, ...], str]]


@dataclass(frozen=True)
class Endpoint:
    """One broker URL: where to connect and the credentials written in it."""

    url: str  # without credentials
    user: str
    password: str
    tls: Tls | None = None
    """How to set up TLS (``url`` is then ``amqps://``); None: a plain connection."""

    @property
    def where(self) -> str:
        scheme, _, address = self.url.partition("://")
        return f"amqp 1.0 broker {address}" + (" (TLS)" if scheme == "amqps" else "")


@dataclass(frozen=True)
class Sasl:
    mechanism: str = "none"
    user: str = ""
    password: str = ""


def parse_urls(entries: list[str], where: str, tls: Tls | None = None) -> list[Endpoint]:
    """The endpoints of ``urls``, TLS as the module docstring says; ``ConfigError`` names the
    bad URL."""
    tls = tls or Tls()
    out: list[Endpoint] = []
    for text in (u.strip() for e in entries for u in str(e).split(",")):
        if not text:
            continue
        parts = urlsplit(text)
        if parts.scheme not in ("amqp", "amqps"):
            raise ConfigError(f"{where}: {text!r}: scheme {parts.scheme!r} is not supported (use amqp:// or amqps://)")
        try:
            port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
        except ValueError:
            raise ConfigError(f"{where}: {text!r}: bad port") from None
        if not parts.hostname:
            raise ConfigError(f"{where}: {text!r}: no host")
        secure = parts.scheme == "amqps" or tls.enabled
        url = f"{'amqps' if secure else 'amqp'}://{parts.hostname}:{port}"
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        # a disabled block is not used at all: the system CAs, no client certificate
        settings = (tls if tls.enabled else Tls()) if secure else None
        out.append(Endpoint(url, user, password, settings))
    if not out:
        raise ConfigError(f"{where}: at least one URL is required")
    return out


url_problems = url_list_check(parse_urls)


@functools.lru_cache(maxsize=64)
def ssl_domain(tls: Tls) -> SSLDomain:
    """The proton client TLS settings of a ``Tls`` (cached like ``streams.tls.ssl_context``).

    Proton reads the CA and certificate files as it is given them, so PEM text passes through a
    temporary file only for the call. Raises ``SecurityError`` naming the field it could not use.
    """
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    if tls.root_cas or tls.root_cas_file:
        try:
            with pem_file(tls.root_cas, tls.root_cas_file) as name:
                domain.set_trusted_ca_db(name)
        except (SSLException, OSError) as exc:
            where = "root_cas_file" if tls.root_cas_file else "root_cas"
            raise SecurityError(f"{where}: not a usable PEM CA bundle ({exc})") from None
    if tls.skip_cert_verify:
        domain.set_peer_authentication(SSLDomain.ANONYMOUS_PEER)
    else:
        domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
    for cert in tls.client_certs[:1]:  # NOTE: a proton connection presents one certificate
        try:
            with pem_file(cert.cert, cert.cert_file) as cert_name, pem_file(cert.key, cert.key_file) as key_name:
                domain.set_credentials(cert_name, key_name, cert.password or None)
        except (SSLException, OSError) as exc:
            raise SecurityError(f"client_certs.0: certificate and key not usable ({exc})") from None
    return domain


def sasl_problems(sasl: Any) -> Problems:
    mechanism = sasl.get("mechanism", "none") if isinstance(sasl, dict) else "none"
    if mechanism not in SASL_MECHANISMS:
        return [(("mechanism",), f"invalid value {mechanism!r} (expected one of: {', '.join(SASL_MECHANISMS)})")]
    return []


SASL_FIELD = Field(
    "sasl",
    "object",
    {},
    "SASL authentication.",
    fields=(
        Field("mechanism", "string", "none", "none, plain or anonymous.", options=SASL_MECHANISMS),
        Field("user", "string", "", "User (plain)."),
        Field("password", "string", "", "Password (plain)."),
    ),
    check=sasl_problems,
)
URLS_FIELD = Field(
    "urls",
    "string_list",
    [],
    "Broker URLs (amqp[s]://[user:pass@]host:port), first that connects.",
    check=lambda urls: url_problems(urls) if urls else [],  # empty: ``url`` may stand in
)
URL_FIELD = Field(
    "url",
    "string",
    "",
    "Deprecated: one broker URL, used when urls is empty.",
    check=lambda url: url_problems([url]) if url else [],
)


def urls_of(conf: dict[str, Any]) -> list[str]:
    """``urls``, or the deprecated single ``url`` when the list is empty (as Bento reads them)."""
    return list(conf.get("urls") or []) or ([str(conf["url"])] if conf.get("url") else [])
TLS_FIELD = tls_field("TLS to the brokers (amqps:// URLs; with enabled, amqp:// ones too).")


def sasl_of(conf: dict[str, Any]) -> Sasl:
    sasl = conf.get("sasl") or {}
    return Sasl(str(sasl.get("mechanism", "none")), str(sasl.get("user", "")), str(sasl.get("password", "")))


def _options(endpoint: Endpoint, sasl: Sasl) -> dict[str, Any]:
    user = sasl.user or endpoint.user
    password = sasl.password or endpoint.password
    if sasl.mechanism == "plain" or (sasl.mechanism == "none" and user):
        return {"sasl_enabled": True, "allowed_mechs": "PLAIN", "allow_insecure_mechs": True,
                "user": user, "password": password}
    if sasl.mechanism == "anonymous":
        return {"sasl_enabled": True, "allowed_mechs": "ANONYMOUS"}
    return {"sasl_enabled": False}


def connect(endpoints: list[Endpoint], sasl: Sasl) -> BlockingConnection:
    """The first broker that accepts; ``BrokerError`` with every broker's reason otherwise."""
    reasons: list[str] = []
    for endpoint in endpoints:
        try:
            options = _options(endpoint, sasl)
            if endpoint.tls is not None:
                options["ssl_domain"] = ssl_domain(endpoint.tls)
            return BlockingConnection(endpoint.url, timeout=CONNECT_TIMEOUT, **options)
        except (ProtonException, SecurityError, OSError) as exc:
            reasons.append(f"{endpoint.where}: {exc}{_name_hint(endpoint, exc)}")
    raise BrokerError("; ".join(reasons))


def _name_hint(endpoint: Endpoint, exc: BaseException) -> str:
    """Proton matches a certificate's DNS names (and common name) only, never its IP addresses:
    a verified connection to an IP address fails, and the user is told how to fix it."""
    host = urlsplit(endpoint.url).hostname or ""
    verifying = endpoint.tls is not None and not endpoint.tls.skip_cert_verify
    if verifying and "certificate verify failed" in str(exc) and _is_ip(host):
        return " (the certificate is matched by host name only: use the broker's DNS name, not an IP address)"
    return ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def close_quietly(conn: BlockingConnection | None) -> None:
    if conn is None:
        return
    try:
        conn.close()
    except (ProtonException, OSError):
        pass


def body_bytes(body: Any) -> bytes:
    """A received body as message bytes: a data section or binary as is, a string encoded
    (Bento takes these two), anything else empty."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return b""


def symbol_property(message: Any, name: str) -> str:
    """A symbol property (``content_type``, ``content_encoding``) or "" when the message has none.

    NOTE: proton's properties wrap a missing symbol as ``symbol(None)``, which reads "None"; the
    C accessor tells a missing one apart (None), so it is asked directly.
    """
    value = getattr(cproton, f"pn_message_get_{name}")(message._msg)
    return "" if value is None else str(value)


def amqp_value(value: Any) -> Any:
    """A Bloblang value as one proton encodes: its own number and string subclasses become plain
    ``int``/``float``/``str`` (proton picks the AMQP type by exact class), other values text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, dict):
        return {str(k): amqp_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [amqp_value(v) for v in value]
    return str(value)


def metadata_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def creation_time(seconds: float | None) -> str:
    """AMQP creation time (proton gives float seconds, 0 for none) in RFC 3339, as Go prints it."""
    if not seconds:
        return ""
    when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return when.isoformat().replace("+00:00", "Z")
