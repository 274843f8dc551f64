"""``amqp_1`` input: messages of an AMQP 1.0 source address (ActiveMQ Artemis, Qpid, Azure
Service Bus...), settled as accepted only after every output acknowledged them (Bento's fields
and metadata, ``internal/impl/amqp1``).

A failed write is settled as *modified* with ``delivery-failed`` after a pause that grows with
each consecutive failure, as Bento does, so the broker delivers it again (counting the attempt:
a broker with a maximum of delivery attempts, Artemis's ``max-delivery-attempts`` 10 by
default, moves it to its dead-letter address past that). Unsettled messages of a worker that
dies or loses its connection are delivered again by the broker. ``credit`` messages at most wait
unsettled; they are handled in order, one at a time.

It runs once per host (two workers taking turns on one queue would write its messages out of
order); gateway hosts compete for the queue as receivers. The connection's idle frames go on
while a write is in progress (``streams.connectors.keepalive``). Metadata: ``amqp_content_type``,
``amqp_content_encoding``, ``amqp_creation_time``, ``amqp_to``, with ``read_header`` also
``amqp_durable``, ``amqp_priority``, ``amqp_ttl``, ``amqp_first_acquirer``,
``amqp_delivery_count``, and every message annotation whose key and value are strings.
``azure_renew_lock`` is not supported (refused when true).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from proton import Delivery, ProtonException, Timeout
from proton import Message as AmqpMessage

from streams import registry
from streams.brokers.base import BrokerError
from streams.connectors.amqp1 import (
    SASL_FIELD,
    TLS_FIELD,
    URL_FIELD,
    URLS_FIELD,
    body_bytes,
    close_quietly,
    connect,
    creation_time,
    metadata_text,
    parse_urls,
    sasl_of,
    symbol_property,
    urls_of,
)
from streams.connectors.failure_pause import FailurePause
from streams.connectors.keepalive import run_keeping_alive
from streams.contracts import ConfigError, Deliver, Input, Stopping
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field
from streams.tls import tls_from_config

POLL = 0.5
"""Seconds a receive waits before the input looks at ``stopping`` again."""


def metadata_of(received: AmqpMessage, read_header: bool) -> dict[str, str]:
    """Bento's metadata of an AMQP 1.0 message (empty values left out)."""
    pairs: list[tuple[str, Any]] = [
        ("amqp_content_type", symbol_property(received, "content_type")),
        ("amqp_content_encoding", symbol_property(received, "content_encoding")),
        ("amqp_creation_time", creation_time(received.creation_time)),
        ("amqp_to", received.address),
    ]
    if read_header:
        pairs += [
            ("amqp_durable", received.durable),
            ("amqp_priority", received.priority),
            ("amqp_ttl", f"{received.ttl:g}s" if received.ttl else ""),
            ("amqp_first_acquirer", received.first_acquirer),
            ("amqp_delivery_count", received.delivery_count),
        ]
    for key, value in (received.annotations or {}).items():
        if isinstance(key, str) and isinstance(value, str):
            pairs.append((str(key), value))
    out: dict[str, str] = {}
    for key, value in pairs:
        text = metadata_text(value)
        if text:
            out[key] = text
    return out


def _renew_lock_problems(renew: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Renewing a message's lock is Azure Service Bus's own management request
    (``com.microsoft:renew-lock``); no broker this gateway is tested against answers it."""
    if renew is True:
        return [((), "not supported by this gateway: lock renewal is specific to Azure Service Bus")]
    return []


class Amqp1Input(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.endpoints = parse_urls(urls_of(conf), f"{res.path}.urls", tls_from_config(conf["tls"]))
        self.sasl = sasl_of(conf)
        self.source = str(conf["source_address"])
        self.credit = max(1, int(conf["credit"]))
        self.read_header = bool(conf["read_header"])
        for _, problem in _renew_lock_problems(conf["azure_renew_lock"]):
            raise ConfigError(f"{res.path}.azure_renew_lock: {problem}")
        self.log = res.logger()

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        conn = connect(self.endpoints, self.sasl)
        try:
            receiver = conn.create_receiver(self.source, credit=self.credit)
            self.log.info(f"amqp_1 input receiving from {self.source}")
            self._receive(conn, receiver, deliver, stopping)
        except ProtonException as exc:
            raise BrokerError(f"amqp_1 source {self.source}: {exc}") from None
        finally:
            close_quietly(conn)  # what is unsettled goes back to the broker

    def _receive(self, connection: Any, receiver: Any, deliver: Deliver, stopping: Stopping) -> None:
        pause = FailurePause()
        while not stopping.is_set():
            try:
                received = receiver.receive(timeout=POLL)
            except Timeout:
                continue
            msg = Message(body_bytes(received.body), metadata_of(received, self.read_header))
            if run_keeping_alive(partial(deliver, [msg]), lambda: _turn(connection)):
                pause.succeeded()
                receiver.accept()
                continue
            if stopping.wait(pause.failed()):
                return  # closing the connection gives it back
            receiver.fetcher.unsettled[0].local.failed = True
            receiver.settle(Delivery.MODIFIED)


def _turn(connection: Any) -> None:
    """One short turn of the connection's I/O (idle frames, flow) while a write is in progress."""
    try:
        connection.wait(lambda: False, timeout=0.01)
    except Timeout:
        pass  # the normal end of a turn


def _factory(conf: dict[str, Any], res: Resources) -> Amqp1Input:
    return Amqp1Input(conf, res)


SPEC = registry.input(
    "amqp_1",
    _factory,
    URLS_FIELD,
    URL_FIELD,
    Field("source_address", "string", doc="Source address to receive from (a queue)."),
    Field("azure_renew_lock", "bool", False, "Refused when true (Azure Service Bus only).", check=_renew_lock_problems),
    Field("read_header", "bool", False, "Add the message header fields to the metadata."),
    Field("credit", "int", 64, "Most unsettled messages held by a worker."),
    TLS_FIELD,
    SASL_FIELD,
    doc="Receive messages from an AMQP 1.0 source.",
)
