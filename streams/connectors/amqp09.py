"""AMQP 0-9-1 connections (pika's ``BlockingConnection``) for the ``amqp_0_9`` input and output.

NOTE: pika's blocking connection waits in ``select``, which gevent's patching makes cooperative:
a worker keeps serving other greenlets while a consumer waits. A connection is not safe for two
greenlets at once; each input run has its own, and the output serialises its writes.

URLs follow Bento (``internal/impl/amqp09``): a list, entries split at commas, the first that
connects is used until it fails.

TLS follows Bento and its client (amqp091-go): the scheme decides. An ``amqps://`` URL (port 5671
by default) is wrapped in TLS, with the ``tls`` block's CAs and client certificates when it is
enabled and the system CAs otherwise; an ``amqp://`` URL stays plain even with ``tls.enabled``.
With ``tls.enabled`` and no user in the URL the login is SASL EXTERNAL (the broker takes the name
from the client certificate); otherwise PLAIN with the URL's user (``guest`` when none).
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any
from urllib.parse import urlsplit

import pika
import pika.exceptions
from pika import spec
from pika.credentials import ExternalCredentials

from streams.brokers.base import BrokerError
from streams.connectors.url_list import url_list_check
from streams.contracts import ConfigError
from streams.tls import Tls, ssl_context, tls_field

SCHEMES = ("amqp", "amqps")
CONNECT_TIMEOUT = 10.0


def split_urls(entries: list[str]) -> list[str]:
    return [u.strip() for entry in entries for u in str(entry).split(",") if u.strip()]


def parse_urls(entries: list[str], where: str, tls: Tls | None = None) -> list[pika.URLParameters]:
    """Connection parameters of each URL, TLS and login as the module docstring says;
    ``ConfigError`` names the bad one."""
    tls = tls or Tls()
    out: list[pika.URLParameters] = []
    for url in split_urls(entries):
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ConfigError(f"{where}: {url!r}: scheme {parts.scheme!r} is not supported (use amqp:// or amqps://)")
        try:
            # NOTE: pika would make its own TLS context for amqps://; ours is set below instead.
            params = pika.URLParameters("amqp://" + url.split("://", 1)[1] if parts.scheme == "amqps" else url)
            if parts.scheme == "amqps" and parts.port is None:
                params.port = 5671
        except ValueError as exc:
            raise ConfigError(f"{where}: {url!r}: {exc}") from None
        if parts.scheme == "amqps":
            # a disabled block is not used at all: the system CAs, no client certificate
            params.ssl_options = pika.SSLOptions(ssl_context(tls if tls.enabled else Tls()), server_hostname=params.host)
        if tls.enabled and parts.username is None:
            params.credentials = ExternalCredentials()
        params.socket_timeout = CONNECT_TIMEOUT
        params.blocked_connection_timeout = CONNECT_TIMEOUT
        out.append(params)
    if not out:
        raise ConfigError(f"{where}: at least one URL is required")
    return out


url_problems = url_list_check(parse_urls)
TLS_FIELD = tls_field("TLS for amqps:// URLs: CAs and client certificates (no user in the URL: SASL EXTERNAL).")


def warn_plain_with_tls(candidates: list[pika.URLParameters], tls: Tls, log: Any) -> None:
    """Bento keeps ``amqp://`` URLs plain when ``tls.enabled``; that is followed, and said once."""
    plain = [where_of(p) for p in candidates if p.ssl_options is None]
    if tls.enabled and plain:
        log.warning(f"tls.enabled has no effect on amqp:// URLs (use amqps:// for TLS): {', '.join(plain)} stay plain")


def where_of(params: pika.URLParameters) -> str:
    scheme = "amqps" if params.ssl_options is not None else "amqp"
    return f"{scheme} broker {params.host}:{params.port}"


def connect(candidates: list[pika.URLParameters]) -> pika.BlockingConnection:
    """The first broker that accepts; ``BrokerError`` with every broker's reason otherwise."""
    reasons: list[str] = []
    for params in candidates:
        try:
            return pika.BlockingConnection(params)
        except pika.exceptions.AMQPError as exc:
            reasons.append(f"{where_of(params)}: {describe(exc)}")
        except OSError as exc:
            reasons.append(f"{where_of(params)}: {exc}")
    raise BrokerError("; ".join(reasons))


def publish_immediate(channel: Any) -> None:
    """Make every publish of ``channel`` (a ``BlockingChannel``) carry the ``immediate`` flag.

    NOTE: pika 1.x dropped ``immediate`` from ``basic_publish``. The blocking channel publishes
    (and then waits for the confirm or return) through its implementation's ``basic_publish``;
    on this one channel that method is replaced by one sending the same ``Basic.Publish`` frame
    with the flag set, so confirms, returns and broker errors are handled as for any publish.
    """
    impl = channel._impl

    def publish(exchange: str, routing_key: str, body: bytes, properties: Any = None, mandatory: bool = False) -> None:
        impl._raise_if_not_open()
        method = spec.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory, immediate=True)
        impl._send_method(method, (properties or spec.BasicProperties(), bytes(body)))

    impl.basic_publish = publish


def describe(exc: BaseException) -> str:
    """pika's exceptions often print as a bare tuple: name the class too."""
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


def metadata_value(value: Any) -> str:
    """A header or property as the metadata string Bento makes of it ("" for nothing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime.datetime):
        # AMQP timestamps are UTC seconds; pika gives them naive. RFC 3339 as Go formats UTC.
        when = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return when.isoformat().replace("+00:00", "Z")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (int, float, str)):
        return str(value)
    return ""


def flatten(key: str, value: Any, out: dict[str, str]) -> None:
    """Headers as Bento sets them: ``-`` becomes ``_``, tables and arrays flattened with ``_``
    (``h_k``, ``h_0``), empty values left out."""
    key = key.replace("-", "_")
    if isinstance(value, dict):
        for sub, item in value.items():
            flatten(f"{key}_{sub}", item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            flatten(f"{key}_{index}", item, out)
    else:
        text = metadata_value(value)
        if text:
            out[key] = text


def delivery_metadata(method: Any, props: pika.BasicProperties) -> dict[str, str]:
    """Bento's metadata of a delivery: its headers, then the ``amqp_*`` properties."""
    out: dict[str, str] = {}
    for key, value in (props.headers or {}).items():
        flatten(str(key), value, out)
    fields: list[tuple[str, Any]] = [
        ("amqp_content_type", props.content_type),
        ("amqp_content_encoding", props.content_encoding),
        ("amqp_delivery_mode", props.delivery_mode or None),
        ("amqp_priority", props.priority if props.priority is not None else 0),
        ("amqp_correlation_id", props.correlation_id),
        ("amqp_reply_to", props.reply_to),
        ("amqp_expiration", props.expiration),
        ("amqp_message_id", props.message_id),
        ("amqp_timestamp", props.timestamp or None),
        ("amqp_type", props.type),
        ("amqp_user_id", props.user_id),
        ("amqp_app_id", props.app_id),
        ("amqp_consumer_tag", method.consumer_tag),
        ("amqp_delivery_tag", method.delivery_tag),
        ("amqp_redelivered", method.redelivered),
        ("amqp_exchange", method.exchange),
        ("amqp_routing_key", method.routing_key),
    ]
    for key, value in fields:
        flatten(key, value, out)
    return out
