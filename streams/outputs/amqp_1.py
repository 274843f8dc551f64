"""``amqp_1`` output: send each message to an AMQP 1.0 target address; a write returns once the
broker settled every message as accepted (a *rejected* or *released* outcome fails it). The body
goes out as a data section; ``application_properties_map`` (a Bloblang mapping) sets the
application properties and metadata goes out as message annotations, less
``metadata.exclude_prefixes`` (Bento's fields, ``internal/impl/amqp1``).

The worker's connection is made on the first write and again after a failure. One send waits
``SEND_TIMEOUT`` at most for its outcome.
"""

from __future__ import annotations

from typing import Any

import gevent.lock
from proton import Message as AmqpMessage
from proton import ProtonException
from proton.utils import SendException

from streams import registry
from streams.bloblang import MappingError
from streams.brokers.base import BrokerError
from streams.connectors.amqp1 import (
    SASL_FIELD,
    TLS_FIELD,
    URL_FIELD,
    URLS_FIELD,
    amqp_value,
    close_quietly,
    connect,
    parse_urls,
    sasl_of,
    urls_of,
)
from streams.contracts import Output, OutputError, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field
from streams.tls import tls_from_config

SEND_TIMEOUT = 30.0
OUTCOMES = {36: "accepted", 37: "rejected", 38: "released", 39: "modified"}


class Amqp1Output(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.endpoints = parse_urls(urls_of(conf), f"{res.path}.urls", tls_from_config(conf["tls"]))
        self.sasl = sasl_of(conf)
        self.target = str(conf["target_address"])
        text = str(conf["application_properties_map"] or "")
        self.properties_map = res.mapping(text, "application_properties_map") if text else None
        self.exclude_prefixes = tuple(str(p) for p in (conf["metadata"] or {}).get("exclude_prefixes") or [])
        self._conn: Any = None
        self._sender: Any = None
        self._lock = gevent.lock.Semaphore()

    def _open_sender(self) -> Any:
        if self._sender is not None:
            return self._sender
        try:
            self._conn = connect(self.endpoints, self.sasl)
            self._sender = self._conn.create_sender(self.target)
        except BrokerError as exc:
            self._drop()
            raise OutputError(str(exc)) from None
        except ProtonException as exc:
            self._drop()
            raise OutputError(f"amqp_1 target {self.target}: {exc}") from None
        return self._sender

    def _drop(self) -> None:
        conn, self._conn, self._sender = self._conn, None, None
        close_quietly(conn)

    def _message(self, msg: Message) -> AmqpMessage:
        fields: dict[str, Any] = {}
        if self.properties_map is not None:
            try:
                mapped = self.properties_map.apply_message(msg.copy())
            except MappingError as exc:
                raise OutputError(f"amqp_1 application_properties_map failed: {exc}") from exc
            if mapped is not None:
                value = mapped.value
                if not isinstance(value, dict):
                    raise OutputError(f"amqp_1 application_properties_map resulted in a non-object: {type(value).__name__}")
                fields["properties"] = amqp_value(value)
        annotations = {
            k: amqp_value(v) for k, v in msg.metadata.items() if not self.exclude_prefixes or not k.startswith(self.exclude_prefixes)
        }
        if annotations:
            fields["annotations"] = annotations
        return AmqpMessage(body=msg.content, inferred=True, **fields)  # inferred: bytes go as a data section

    def write(self, batch: list[Message], txn: Transaction) -> None:
        messages = [self._message(m) for m in batch]
        with self._lock:
            sender = self._open_sender()
            for amqp_message in messages:
                try:
                    sender.send(amqp_message, timeout=SEND_TIMEOUT)
                except SendException as exc:
                    outcome = OUTCOMES.get(exc.state, str(exc.state))
                    raise OutputError(f"amqp_1 send to {self.target}: the broker settled it as {outcome}") from None
                except ProtonException as exc:
                    self._drop()
                    raise OutputError(f"amqp_1 send to {self.target} failed: {exc}") from None

    def close(self) -> None:
        self._drop()


def _factory(conf: dict[str, Any], res: Resources) -> Amqp1Output:
    return Amqp1Output(conf, res)


SPEC = registry.output(
    "amqp_1",
    _factory,
    URLS_FIELD,
    URL_FIELD,
    Field("target_address", "string", doc="Target address to send to (a queue)."),
    Field("max_in_flight", "int", 64, "Accepted; a worker sends one message at a time."),
    TLS_FIELD,
    Field("application_properties_map", "string", "", "Bloblang mapping whose object result sets the application properties."),
    Field(
        "metadata",
        "object",
        {},
        "Which metadata leaves as message annotations.",
        fields=(Field("exclude_prefixes", "string_list", [], "Metadata keys with these prefixes are not sent."),),
    ),
    SASL_FIELD,
    doc="Send messages to an AMQP 1.0 target.",
)
