"""AMQP 1.0 connections (python-qpid-proton's blocking API) for the ``amqp_1`` input and output.

NOTE: proton's container waits in ``select``, which gevent's patching makes cooperative, so a
worker keeps serving other greenlets while a receiver waits. A connection belongs to one greenlet
at a time: each input run has its own, the output serialises its writes.

Fields follow Bento (``internal/impl/amqp1``): ``urls`` (entries split at commas, the first that
connects is used), ``sasl`` (``none``, ``plain``, ``anonymous``). ``amqps://`` and ``tls`` are
not supported yet (refused).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import cproton
from proton import ProtonException
from proton.utils import BlockingConnection

from streams.brokers.base import BrokerError
from streams.connectors.url_list import url_list_check
from streams.contracts import ConfigError
from streams.registry import Field

CONNECT_TIMEOUT = 10.0
SASL_MECHANISMS = ("none", "plain", "anonymous")
Problems = list[tuple[tuple[str | int, ...], str]]


@dataclass(frozen=True)
class Endpoint:
    """One broker URL: where to connect and the credentials written in it."""

    url: str  # without credentials
    user: str
    password: str

    @property
    def where(self) -> str:
        return f"amqp 1.0 broker {self.url.removeprefix('amqp://')}"


@dataclass(frozen=True)
class Sasl:
    mechanism: str = "none"
    user: str = ""
    password: str = ""


def parse_urls(entries: list[str], where: str) -> list[Endpoint]:
    out: list[Endpoint] = []
    for text in (u.strip() for e in entries for u in str(e).split(",")):
        if not text:
            continue
        parts = urlsplit(text)
        if parts.scheme != "amqp":
            raise ConfigError(f"{where}: {text!r}: scheme {parts.scheme!r} is not supported (use amqp://)")
        try:
            port = parts.port or 5672
        except ValueError:
            raise ConfigError(f"{where}: {text!r}: bad port") from None
        if not parts.hostname:
            raise ConfigError(f"{where}: {text!r}: no host")
        out.append(Endpoint(f"amqp://{parts.hostname}:{port}", unquote(parts.username or ""), unquote(parts.password or "")))
    if not out:
        raise ConfigError(f"{where}: at least one URL is required")
    return out


url_problems = url_list_check(parse_urls)


def tls_problems(tls: Any) -> Problems:
    if isinstance(tls, dict) and tls.get("enabled"):
        return [(("enabled",), "TLS connections to AMQP 1.0 brokers are not supported")]
    return []


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
URLS_FIELD = Field("urls", "string_list", doc="Broker URLs (amqp://[user:pass@]host:port), first that connects.", check=url_problems)
TLS_FIELD = Field("tls", "object", {}, "TLS is not supported yet: `enabled: true` is refused.", check=tls_problems)


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
            return BlockingConnection(endpoint.url, timeout=CONNECT_TIMEOUT, **_options(endpoint, sasl))
        except (ProtonException, OSError) as exc:
            reasons.append(f"{endpoint.where}: {exc}")
    raise BrokerError("; ".join(reasons))


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
