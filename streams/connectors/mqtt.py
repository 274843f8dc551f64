"""MQTT 3.1.1 connections for the ``mqtt`` input and output (paho-mqtt under gevent).

The config fields are Bento's (``internal/impl/mqtt``): ``urls`` (comma-separated entries
expanded), ``client_id``, ``dynamic_client_id_suffix`` (``nanoid``), ``connect_timeout`` 30s,
``will``, ``user``/``password``, ``keepalive`` 30 s, ``tls``. As in Bento a lost connection is not
reconnected in place: the connection reports it (``lost``) and its owner makes a new one, so a
message id acknowledged on the new connection always belongs to it.

TLS follows the URL, as in Bento's MQTT client: ``ssl://``, ``tls://``, ``mqtts://``, ``tcps://``
and ``mqtt+ssl://`` (port 8883 by default) connect over TLS, ``tcp://`` and ``mqtt://`` (1883) in
plain text. The ``tls`` block, when ``enabled``, says which CAs and client certificates the TLS
URLs use; without it they trust the system CAs. ``tls.enabled`` does not turn a ``tcp://`` URL
into TLS (Bento does not either): the connection stays plain, which the owner logs as a warning.

``ws://`` (port 80 by default) and ``wss://`` (443, TLS as above) carry MQTT over a WebSocket, as
Bento's client does; the URL's path (``/`` when it has none) and query are the WebSocket request's.

NOTE: paho's own network thread (``loop_start``) reconnects by itself; we drive ``Client.loop``
from a greenlet instead, which also keeps every socket wait a gevent one.
"""

from __future__ import annotations

import secrets
import ssl
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import gevent
import gevent.event
from paho.mqtt import client as paho

from streams.brokers.base import BrokerError
from streams.connectors.url_list import url_list_check
from streams.contracts import ConfigError
from streams.durations import parse_duration
from streams.registry import Field
from streams.tls import Tls, ssl_context, tls_field, tls_from_config, tls_problems

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
DEFAULT_WS_PORT = 80
DEFAULT_WSS_PORT = 443
SCHEMES = ("tcp", "mqtt")
TLS_SCHEMES = ("ssl", "tls", "mqtts", "tcps", "mqtt+ssl")
WS_SCHEMES = ("ws", "wss")
PLAIN_DESPITE_TLS = (
    "{path}.tls is enabled but a tcp://, mqtt:// or ws:// URL connects in plain text; "
    "use ssl:// (or tls://, mqtts://, wss://) for TLS"
)
NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"
NANOID_LENGTH = 21


class Broker(NamedTuple):
    """One broker address of ``urls``; ``secure`` when its scheme means TLS; ``ws_path`` set (the
    WebSocket request's path and query) when MQTT goes over a WebSocket."""

    host: str
    port: int
    secure: bool = False
    ws_path: str | None = None


@dataclass(frozen=True)
class Will:
    topic: str
    payload: str
    qos: int
    retained: bool


@dataclass(frozen=True)
class MqttOptions:
    """How to reach the broker: a validated, typed view of the shared fields."""

    addresses: tuple[Broker, ...]
    client_id: str
    connect_timeout: float
    keepalive: int
    user: str
    password: str
    will: Will | None
    tls: Tls = Tls()
    """The ``tls`` block; its CAs and certificates apply to the TLS URLs when ``enabled``."""

    @property
    def plain_despite_tls(self) -> bool:
        """``tls.enabled`` with a plain-text URL among ``urls``: worth a warning, as the user
        probably meant TLS there."""
        return self.tls.enabled and any(not a.secure for a in self.addresses)

    @classmethod
    def from_config(cls, conf: dict[str, Any], where: str) -> MqttOptions:
        """Raises ``ConfigError`` naming the field at fault."""
        for sub, problem in tls_problems(conf.get("tls") or {}):
            raise ConfigError(f"{'.'.join(map(str, (f'{where}.tls', *sub)))}: {problem}")
        suffix = conf.get("dynamic_client_id_suffix") or ""
        if suffix not in ("", "nanoid"):
            raise ConfigError(f"{where}.dynamic_client_id_suffix: unknown suffix {suffix!r} (use nanoid)")
        client_id = str(conf.get("client_id") or "") + (nanoid() if suffix else "")
        return cls(
            addresses=parse_urls(conf.get("urls") or [], f"{where}.urls"),
            client_id=client_id,
            connect_timeout=parse_duration(conf.get("connect_timeout", "30s"), 30.0),
            keepalive=int(conf.get("keepalive", 30)),
            user=str(conf.get("user") or ""),
            password=str(conf.get("password") or ""),
            will=parse_will(conf.get("will") or {}, f"{where}.will"),
            tls=tls_from_config(conf.get("tls") or {}),
        )

    def context_for(self, broker: Broker) -> ssl.SSLContext | None:
        """The TLS context of a connection to ``broker``; None for a plain-text one."""
        if not broker.secure:
            return None
        return ssl_context(self.tls if self.tls.enabled else Tls(enabled=True))


def nanoid() -> str:
    """A 21-character random id from the URL-safe alphabet (what Bento's ``nanoid`` suffix adds)."""
    return "".join(secrets.choice(NANOID_ALPHABET) for _ in range(NANOID_LENGTH))


def parse_urls(entries: list[str], where: str) -> tuple[Broker, ...]:
    """``tcp://host:port`` (or a TLS or WebSocket scheme's) entries, commas splitting an entry into
    several."""
    out: list[Broker] = []
    for entry in entries:
        for text in str(entry).split(","):
            text = text.strip()
            if not text:
                continue
            parts = urlsplit(text if "://" in text else f"tcp://{text}")
            websocket = parts.scheme in WS_SCHEMES
            secure = parts.scheme in TLS_SCHEMES or parts.scheme == "wss"
            if parts.scheme not in SCHEMES and not secure and not websocket:
                raise ConfigError(
                    f"{where}: {text!r}: scheme {parts.scheme!r} is not supported (use tcp://, ssl://, ws:// or wss://)"
                )
            try:
                port = parts.port or default_port(secure, websocket)
            except ValueError:
                raise ConfigError(f"{where}: {text!r}: bad port") from None
            if not parts.hostname:
                raise ConfigError(f"{where}: {text!r}: no host")
            ws_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "") if websocket else None
            out.append(Broker(parts.hostname, port, secure, ws_path))
    if not out:
        raise ConfigError(f"{where}: at least one broker URL is required")
    return tuple(out)


def default_port(secure: bool, websocket: bool) -> int:
    if websocket:
        return DEFAULT_WSS_PORT if secure else DEFAULT_WS_PORT
    return DEFAULT_TLS_PORT if secure else DEFAULT_PORT


def parse_will(conf: dict[str, Any], where: str) -> Will | None:
    if not conf.get("enabled"):
        return None
    topic = str(conf.get("topic") or "")
    if not topic:
        raise ConfigError(f"{where}.topic: include a topic to register a last will")
    return Will(topic, str(conf.get("payload") or ""), check_qos(conf.get("qos", 0), f"{where}.qos"), bool(conf.get("retained")))


def check_qos(value: Any, where: str) -> int:
    if value not in (0, 1, 2) or isinstance(value, bool):
        raise ConfigError(f"{where}: QoS must be 0, 1 or 2, not {value!r}")
    return int(value)


url_problems = url_list_check(parse_urls)


def will_problems(will: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The ``will`` block's problems, for the definitions validator."""
    try:
        parse_will(will, "will")
    except ConfigError as exc:
        sub, _, message = str(exc).partition(": ")
        return [(tuple(sub.split(".")[1:]), message)]
    return []


WILL_FIELD = Field(
    "will",
    "object",
    {},
    "Last will message the broker publishes when the client goes away unannounced.",
    fields=(
        Field("enabled", "bool", False, "Register a last will."),
        Field("qos", "int", 0, "QoS of the last will (0, 1, 2)."),
        Field("retained", "bool", False, "Publish the last will retained."),
        Field("topic", "string", "", "Topic of the last will (required when enabled)."),
        Field("payload", "string", "", "Payload of the last will."),
    ),
    check=will_problems,
)
CLIENT_FIELDS = (
    Field(
        "urls",
        "string_list",
        doc="Broker URLs (tcp://host:1883, or ssl://, tls://, mqtts://, tcps://, mqtt+ssl:// for TLS on 8883; "
        "ws://host:80/path and wss://host:443/path over a WebSocket); entries may hold several, comma-separated.",
        check=url_problems,
    ),
    Field("client_id", "string", "", "Client identifier; empty lets the broker choose (clean sessions only)."),
    Field(
        "dynamic_client_id_suffix",
        "string",
        "",
        "`nanoid` appends 21 random characters to client_id.",
        options=("", "nanoid"),
    ),
    Field("connect_timeout", "duration", "30s", "Longest wait for the broker to accept the connection."),
    WILL_FIELD,
    Field("user", "string", "", "User name to connect with."),
    Field("password", "string", "", "Password to connect with."),
    Field("keepalive", "int", 30, "Seconds of silence before a keep-alive ping."),
    tls_field("CAs and client certificates of the TLS URLs (ssl://, tls://, mqtts://, tcps://, mqtt+ssl://, wss://)."),
)
"""The connection fields the ``mqtt`` input and output share (Bento's ``ClientFields``)."""


class MqttConnection:
    """One connected paho client and the greenlet that runs its network loop.

    ``lost`` is set once the connection is gone (broker closed it, network failed, ``close``);
    a new ``MqttConnection`` is the only way back.
    """

    def __init__(self, client: paho.Client, address: Broker) -> None:
        self.client = client
        self.address = address
        self.lost = gevent.event.Event()
        self.first_error = ""
        """paho's first error-level log line: why the connection failed (a TLS alert, such as a
        client certificate refused, shows there alone)."""
        self._closing = False
        self._loop: gevent.Greenlet | None = None

    @property
    def where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def note_log(self, level: int, text: str) -> None:
        # "Client is not connected" follows a loss paho did not explain (the broker's EOF)
        if level == paho.MQTT_LOG_ERR and not self.first_error and not text.startswith("Client is not connected"):
            self.first_error = text

    def start_loop(self) -> None:
        self._loop = gevent.spawn(self._run_loop)

    def _run_loop(self) -> None:
        try:
            while not self._closing:
                if self.client.loop(timeout=1.0) != paho.MQTT_ERR_SUCCESS:
                    break
        finally:
            self.lost.set()

    def close(self) -> None:
        """Disconnect cleanly (no last will) and stop the loop."""
        self._closing = True
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - the socket may already be gone; nothing to release then
            pass
        if self._loop is not None:
            self._loop.join(timeout=2.0)
            self._loop.kill(block=False)
        self.lost.set()


def connect(
    options: MqttOptions,
    *,
    clean_session: bool,
    manual_ack: bool = False,
    on_message: Callable[[paho.MQTTMessage], None] | None = None,
) -> MqttConnection:
    """Connect to the first broker of ``options`` that accepts, waiting for its CONNACK.

    Raises ``BrokerError`` with every address's reason when none accepts."""
    reasons: list[str] = []
    for address in options.addresses:
        try:
            return _connect_one(options, address, clean_session, manual_ack, on_message)
        except BrokerError as exc:
            reasons.append(str(exc))
    raise BrokerError("; ".join(reasons))


def _connect_one(
    options: MqttOptions,
    address: Broker,
    clean_session: bool,
    manual_ack: bool,
    on_message: Callable[[paho.MQTTMessage], None] | None,
) -> MqttConnection:
    where = f"mqtt broker {address[0]}:{address[1]}"
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=options.client_id,
        clean_session=clean_session,
        protocol=paho.MQTTv311,
        manual_ack=manual_ack,
        transport="tcp" if address.ws_path is None else "websockets",
    )
    if address.ws_path is not None:
        client.ws_set_options(path=address.ws_path)
    client.connect_timeout = options.connect_timeout
    context = options.context_for(address)
    if context is not None:
        # NOTE: paho takes the host name to verify from check_hostname; the context is shared
        # (cached per config), so tls_insecure_set, which would change it, is never called.
        client.tls_set_context(context)
    if options.user or options.password:
        client.username_pw_set(options.user or None, options.password or None)
    if options.will is not None:
        will = options.will
        client.will_set(will.topic, will.payload, will.qos, will.retained)
    accepted = gevent.event.AsyncResult()

    def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        accepted.set(reason)

    client.on_connect = on_connect
    if on_message is not None:
        client.on_message = lambda _c, _u, message: on_message(message)
    try:
        client.connect(address[0], address[1], keepalive=options.keepalive)
    except (OSError, ValueError) as exc:
        raise BrokerError(f"{where}: {exc}") from None
    conn = MqttConnection(client, address)
    client.on_log = lambda _c, _u, level, text: conn.note_log(level, text)
    conn.start_loop()
    gevent.wait([accepted, conn.lost], timeout=options.connect_timeout, count=1)
    reason = accepted.get(block=False) if accepted.ready() else None
    if reason is None:
        conn.close()
        if conn.lost.is_set():
            why = f" ({conn.first_error})" if conn.first_error else ""
            raise BrokerError(f"{where} closed the connection before its CONNACK{why}")
        raise BrokerError(f"{where}: no CONNACK within {options.connect_timeout:g}s")
    if reason.is_failure:
        conn.close()
        raise BrokerError(f"{where} refused the connection: {reason}")
    return conn
