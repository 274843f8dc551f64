"""``amqp_0_9`` output: publish each message to an AMQP 0-9-1 exchange (RabbitMQ) on a channel in
confirm mode, so a write returns only once the broker confirmed every message (Bento's fields,
``internal/impl/amqp09``). With ``mandatory`` a message no queue takes is returned and the write
fails. Metadata goes out as headers (``_`` becomes ``-``), less ``metadata.exclude_prefixes``.

The worker's connection is made on the first write and again after it fails. ``timeout`` bounds
one publish and its confirm; past it the connection is dropped (a half-sent frame must not be
reused) and the write fails. ``immediate`` sets the flag on each publish; RabbitMQ does not
implement it and closes the connection (540 NOT_IMPLEMENTED), so every such write fails and the
connection is made again for the next. TLS: ``streams.connectors.amqp09``.
"""

from __future__ import annotations

from typing import Any

import gevent
import gevent.lock
import pika
import pika.exceptions

from streams import registry
from streams.bloblang import MappingError
from streams.brokers.base import BrokerError
from streams.connectors.amqp09 import (
    TLS_FIELD,
    connect,
    describe,
    parse_urls,
    publish_immediate,
    url_problems,
    warn_plain_with_tls,
)
from streams.contracts import Output, OutputError, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field
from streams.tls import tls_from_config

EXCHANGE_TYPES = ("direct", "fanout", "topic", "x-custom")
PROPERTIES = ("type", "content_type", "content_encoding", "correlation_id", "reply_to", "expiration",
              "message_id", "user_id", "app_id")
"""Interpolated fields that become ``BasicProperties`` of the same name (empty: not set)."""


def exchange_declare_problems(declare: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The ``exchange_declare`` block's problem, for the definitions validator."""
    kind = declare.get("type", "direct") if isinstance(declare, dict) else "direct"
    if kind not in EXCHANGE_TYPES:
        return [(("type",), f"invalid value {kind!r} (expected one of: {', '.join(EXCHANGE_TYPES)})")]
    return []


def header_value(value: Any) -> Any:
    """A metadata value as an AMQP table value (strings, numbers and booleans as they are)."""
    if isinstance(value, (str, int, float, bool, bytes)):
        return value
    return str(value)


class Amqp09Output(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        tls = tls_from_config(conf["tls"])
        self.candidates = parse_urls(conf["urls"] or [], f"{res.path}.urls", tls)
        self.exchange = res.interpolation(str(conf["exchange"]))
        declare = conf["exchange_declare"] or {}
        self.declare = bool(declare.get("enabled", False))
        self.exchange_type = str(declare.get("type", "direct"))
        self.durable = bool(declare.get("durable", True))
        self.key = res.interpolation(str(conf["key"]))
        self.properties = {name: res.interpolation(str(conf[name])) for name in PROPERTIES}
        self.priority = res.interpolation(str(conf["priority"]))
        self.exclude_prefixes = tuple(str(p) for p in (conf["metadata"] or {}).get("exclude_prefixes") or [])
        self.persistent = bool(conf["persistent"])
        self.mandatory = bool(conf["mandatory"])
        self.immediate = bool(conf["immediate"])
        self.timeout = parse_duration(conf["timeout"], 0.0) or None
        self.log = res.logger()
        warn_plain_with_tls(self.candidates, tls, self.log)
        self._conn: Any = None
        self._channel: Any = None
        self._declared: set[str] = set()
        self._lock = gevent.lock.Semaphore()

    def _open_channel(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._drop_connection()
        try:
            self._conn = connect(self.candidates)
            self._channel = self._conn.channel()
            self._channel.confirm_delivery()
            if self.immediate:
                publish_immediate(self._channel)
        except BrokerError as exc:
            raise OutputError(str(exc)) from None
        self._declared.clear()
        return self._channel

    def _drop_connection(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except (pika.exceptions.AMQPError, OSError):
                pass

    def _render(self, msg: Message, batch: list[Message], index: int) -> tuple[str, str, pika.BasicProperties]:
        exchange = self.exchange.render(msg, batch, index)
        key = self.key.render(msg, batch, index)
        props: dict[str, Any] = {}
        for name, template in self.properties.items():
            text = template.render(msg, batch, index)
            if text:
                props[name] = text
        priority = self.priority.render(msg, batch, index).strip()
        if priority:
            if not priority.isdigit() or int(priority) > 255:
                raise OutputError(f"amqp_0_9 priority must be 0 to 255, not {priority!r}")
            props["priority"] = int(priority)
        headers = {
            k.replace("_", "-"): header_value(v)
            for k, v in msg.metadata.items()
            if not k.startswith(self.exclude_prefixes) or not self.exclude_prefixes
        }
        return exchange, key, pika.BasicProperties(headers=headers, delivery_mode=2 if self.persistent else 1, **props)

    def _publish(self, channel: Any, exchange: str, key: str, props: pika.BasicProperties, body: bytes) -> None:
        if self.declare and exchange not in self._declared:
            channel.exchange_declare(exchange, exchange_type=self.exchange_type, durable=self.durable)
            self._declared.add(exchange)
        channel.basic_publish(exchange, key, body, properties=props, mandatory=self.mandatory)

    def write(self, batch: list[Message], txn: Transaction) -> None:
        try:
            rendered = [self._render(msg, batch, i) for i, msg in enumerate(batch)]
        except MappingError as exc:
            raise OutputError(f"amqp_0_9 interpolation failed: {exc}") from exc
        with self._lock:
            channel = self._open_channel()
            for (exchange, key, props), msg in zip(rendered, batch, strict=True):
                self._publish_one(channel, exchange, key, props, msg.content)

    def _publish_one(self, channel: Any, exchange: str, key: str, props: pika.BasicProperties, body: bytes) -> None:
        where = f"exchange {exchange!r} key {key!r}"
        try:
            with gevent.Timeout(self.timeout, OutputError(f"amqp_0_9 publish to {where} not confirmed in time")):
                self._publish(channel, exchange, key, props, body)
        except pika.exceptions.UnroutableError:
            raise OutputError(f"amqp_0_9 publish to {where}: no queue took the message (mandatory)") from None
        except pika.exceptions.NackError:
            raise OutputError(f"amqp_0_9 publish to {where}: the broker refused the message") from None
        except pika.exceptions.AMQPError as exc:
            self._drop_connection()
            raise OutputError(f"amqp_0_9 publish to {where} failed: {describe(exc)}") from None
        except OutputError:
            self._drop_connection()
            raise


def _factory(conf: dict[str, Any], res: Resources) -> Amqp09Output:
    return Amqp09Output(conf, res)


def _interpolated(name: str, default: str, doc: str) -> Field:
    return Field(name, "string", default, doc + " (interpolated)")


SPEC = registry.output(
    "amqp_0_9",
    _factory,
    Field("urls", "string_list", doc="Broker URLs (amqp://user:pass@host:port/vhost), first that connects.", check=url_problems),
    Field("exchange", "string", doc="Exchange to publish to (interpolated)."),
    Field(
        "exchange_declare",
        "object",
        {},
        "Declare the exchange before publishing to it.",
        fields=(
            Field("enabled", "bool", False, "Declare the exchange."),
            Field("type", "string", "direct", "Exchange type.", options=EXCHANGE_TYPES),
            Field("durable", "bool", True, "Declare it durable."),
        ),
        check=exchange_declare_problems,
    ),
    _interpolated("key", "", "Routing key of each message"),
    _interpolated("type", "", "Type property"),
    _interpolated("content_type", "application/octet-stream", "Content type property"),
    _interpolated("content_encoding", "", "Content encoding property"),
    _interpolated("correlation_id", "", "Correlation id property"),
    _interpolated("reply_to", "", "Reply-to property"),
    _interpolated("expiration", "", "Per-message TTL property"),
    _interpolated("message_id", "", "Message id property"),
    _interpolated("user_id", "", "User id property (must be the connection's user)"),
    _interpolated("app_id", "", "Application id property"),
    Field(
        "metadata",
        "object",
        {},
        "Which metadata leaves as headers.",
        fields=(Field("exclude_prefixes", "string_list", [], "Metadata keys with these prefixes are not sent."),),
    ),
    _interpolated("priority", "", "Priority property (0-9 on RabbitMQ)"),
    Field("max_in_flight", "int", 64, "Accepted; a worker publishes one message at a time."),
    Field("persistent", "bool", False, "Publish persistent messages (delivery mode 2)."),
    Field("mandatory", "bool", False, "Fail a write whose message no queue takes."),
    Field("immediate", "bool", False, "Set the immediate flag (RabbitMQ refuses it: such writes fail)."),
    Field("timeout", "duration", "", "Longest wait for one publish and its confirm (empty: none)."),
    TLS_FIELD,
    doc="Publish messages to an AMQP 0-9-1 exchange.",
)
