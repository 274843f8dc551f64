"""``amqp_0_9`` input: messages of an AMQP 0-9-1 queue (RabbitMQ), acknowledged to the broker only
after every output acknowledged them (Bento's fields and metadata, ``internal/impl/amqp09``).

A failed write is given back with ``basic.nack`` and ``requeue`` after a pause that grows with
each consecutive failure (so a broken output does not spin), and the broker delivers it again
(``amqp_redelivered: true``), to this worker or another. When the failure's error text matches
one of ``nack_reject_patterns`` (regular expressions, searched anywhere in the text as Go's
``MatchString`` does) the message is nacked without ``requeue`` instead, at once: the broker
dead-letters it (the queue's ``x-dead-letter-exchange``) or drops it. A worker that dies or loses its
connection leaves its unacknowledged messages to the broker, which delivers them again. With
``auto_ack: true`` the broker forgets each message as it sends it (no guarantee, as Bento).

It runs once per host, like the other inputs that are not consumer groups: two workers taking
turns on one queue would write its messages out of order. Gateway hosts compete for the queue as
consumers (the broker hands each message to one). Up to ``prefetch_count`` messages wait
unacknowledged; they are handled in order, one at a time.
TLS (``amqps://``, the ``tls`` block) as ``streams.connectors.amqp09`` says.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pika
import pika.exceptions

from streams import registry
from streams.brokers.base import BrokerError
from streams.connectors.amqp09 import (
    TLS_FIELD,
    connect,
    delivery_metadata,
    describe,
    parse_urls,
    url_problems,
    warn_plain_with_tls,
)
from streams.connectors.failure_pause import FailurePause
from streams.connectors.keepalive import run_keeping_alive
from streams.contracts import Deliver, Input, Stopping, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field
from streams.tls import tls_from_config

POLL = 0.5
"""Seconds the consumer waits for a message before looking at ``stopping`` again."""


def pattern_problems(patterns: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Each ``nack_reject_patterns`` entry must compile as a regular expression."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, pattern in enumerate(patterns if isinstance(patterns, list) else []):
        try:
            re.compile(str(pattern))
        except re.error as exc:
            problems.append(((index,), f"not a valid regular expression: {exc}"))
    return problems


def binding_problems(bindings: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """``bindings_declare`` must be a list of ``{exchange, key}`` objects of strings."""
    if not isinstance(bindings, list):
        return [((), "expected a list of {exchange, key} objects")]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, binding in enumerate(bindings):
        if not isinstance(binding, dict):
            problems.append(((index,), "expected an object with exchange and key"))
            continue
        for name, value in binding.items():
            if name not in ("exchange", "key"):
                problems.append(((index, str(name)), "unknown field (expected exchange or key)"))
            elif not isinstance(value, str):
                problems.append(((index, str(name)), "expected a string"))
    return problems


class Amqp09Input(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        tls = tls_from_config(conf["tls"])
        self.candidates = parse_urls(conf["urls"] or [], f"{res.path}.urls", tls)
        self.queue = str(conf["queue"])
        declare = conf["queue_declare"] or {}
        self.declare = bool(declare.get("enabled", False))
        self.durable = bool(declare.get("durable", True))
        self.auto_delete = bool(declare.get("auto_delete", False))
        self.bindings = [(str(b.get("exchange", "")), str(b.get("key", ""))) for b in conf["bindings_declare"] or []]
        self.consumer_tag = str(conf["consumer_tag"] or "") or None
        self.auto_ack = bool(conf["auto_ack"])
        self.prefetch_count = int(conf["prefetch_count"])
        self.prefetch_size = int(conf["prefetch_size"])
        self.reject_patterns = [re.compile(str(p)) for p in conf["nack_reject_patterns"] or []]
        self.log = res.logger()
        warn_plain_with_tls(self.candidates, tls, self.log)

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        conn = connect(self.candidates)
        try:
            channel = conn.channel()
            self._prepare(channel)
            self.log.info(f"amqp_0_9 input consuming {self.queue}")
            self._consume(conn, channel, deliver, stopping)
        except pika.exceptions.AMQPError as exc:
            raise BrokerError(f"amqp_0_9 queue {self.queue}: {describe(exc)}") from None
        finally:
            if conn.is_open:
                try:
                    conn.close()  # unacknowledged messages go back to the queue
                except pika.exceptions.AMQPError:
                    pass

    def _prepare(self, channel: Any) -> None:
        if self.declare:
            channel.queue_declare(self.queue, durable=self.durable, auto_delete=self.auto_delete)
        for exchange, key in self.bindings:
            channel.queue_bind(self.queue, exchange, routing_key=key)
        channel.basic_qos(prefetch_size=self.prefetch_size, prefetch_count=self.prefetch_count)

    def _consume(self, conn: Any, channel: Any, deliver: Deliver, stopping: Stopping) -> None:
        pause = FailurePause()
        extra = {"consumer_tag": self.consumer_tag} if self.consumer_tag else {}
        for method, props, body in channel.consume(self.queue, auto_ack=self.auto_ack, inactivity_timeout=POLL, **extra):
            if stopping.is_set():
                break
            if method is None:
                continue
            msg, txn = Message(bytes(body), delivery_metadata(method, props)), Transaction()
            if run_keeping_alive(partial(deliver, [msg], txn), lambda: conn.process_data_events(time_limit=0)):
                pause.succeeded()
                if not self.auto_ack:
                    channel.basic_ack(method.delivery_tag)
                continue
            if self.auto_ack:
                continue  # the broker already forgot it: nothing to give back
            if self.rejects(txn.failure):
                channel.basic_nack(method.delivery_tag, requeue=False)
                continue
            if stopping.wait(pause.failed()):
                break  # the connection's close gives it back
            channel.basic_nack(method.delivery_tag, requeue=True)

    def rejects(self, failure: str | None) -> bool:
        """Whether a failure with this error text gives its message up (no requeue)."""
        return failure is not None and any(p.search(failure) for p in self.reject_patterns)


def _factory(conf: dict[str, Any], res: Resources) -> Amqp09Input:
    return Amqp09Input(conf, res)


SPEC = registry.input(
    "amqp_0_9",
    _factory,
    Field("urls", "string_list", doc="Broker URLs (amqp://user:pass@host:port/vhost), first that connects.", check=url_problems),
    Field("queue", "string", doc="Queue to consume from."),
    Field(
        "queue_declare",
        "object",
        {},
        "Declare the queue before consuming.",
        fields=(
            Field("enabled", "bool", False, "Declare the queue."),
            Field("durable", "bool", True, "Declare it durable."),
            Field("auto_delete", "bool", False, "Declare it auto-deleting."),
        ),
    ),
    Field("bindings_declare", "any", [], "Bindings to declare for the queue: [{exchange, key}].", check=binding_problems),
    Field("consumer_tag", "string", "", "Consumer tag (empty: the broker makes one)."),
    Field("auto_ack", "bool", False, "Let the broker forget messages as it sends them (no delivery guarantee)."),
    Field(
        "nack_reject_patterns",
        "string_list",
        [],
        "Regular expressions; a failed message whose error matches one is nacked without requeue "
        "(dead-lettered or dropped by the broker) instead of requeued.",
        check=pattern_problems,
    ),
    Field("prefetch_count", "int", 10, "Most unacknowledged messages held by a worker."),
    Field("prefetch_size", "int", 0, "Most unacknowledged bytes held by a worker (0: no limit)."),
    TLS_FIELD,
    doc="Consume an AMQP 0-9-1 queue.",
)
