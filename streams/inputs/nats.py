"""``nats`` input: messages of a core NATS subject (Bento's ``internal/impl/nats`` input fields,
defaults and metadata).

Delivery: at most once. Core NATS keeps nothing: a message published while the gateway is not
subscribed (not started, reconnecting) is never seen, and one the gateway received is gone from
the server whatever happens to it here. What can be done is done: a message whose write to the
outputs failed is retried here with a growing pause while the stream runs
(``auto_replay_nacks: true``, the default); with ``auto_replay_nacks: false`` it is dropped and,
when the publisher asked for a reply, ``-NAK`` is sent to it (``-NAK {"delay": ns}`` with
``nak_delay``). After a successful write a message with a reply subject gets the
``sync_response`` of the stream there (its first message; metadata as header fields), which
makes the stream a NATS request-reply service, or else ``+ACK`` unless ``send_ack: false``.

Received messages wait in a local buffer of at most ``prefetch_count`` messages and 64 MiB of
payload (nats.go's limits); when it is full (the outputs are slower than the subject) further
messages are dropped with a warning, as a NATS client drops messages of a slow consumer. What is
still in the buffer when the stream stops is dropped too.

Per host or per worker: without ``queue`` every subscriber gets every message, so the input runs
once per host (a second worker would double each message); with a ``queue`` group the server
gives each message to one member, so every worker may subscribe.

Metadata: ``nats_subject``, ``nats_reply_subject`` and each header field (its first value).
"""

from __future__ import annotations

import json
from typing import Any

import gevent.queue

from streams import registry
from streams.connectors.nats_client import NatsClient
from streams.connectors.nats_options import AUTH_FIELD, TLS_FIELD, URLS_FIELD, NatsOptions
from streams.connectors.nats_protocol import Msg, header_line_ok
from streams.contracts import ConfigError, Deliver, Input, Stopping, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

DEFAULT_PREFETCH = 524288
"""nats.go's default limit of pending messages per subscription."""
PENDING_BYTES_LIMIT = 64 * 1024 * 1024
"""nats.go's default limit of pending payload bytes per subscription."""
RETRY_PAUSE_MAX = 5.0
ACK = b"+ACK"
NAK = b"-NAK"


def message_of(received: Msg) -> Message:
    """The stream message of a NATS message, with Bento's metadata."""
    metadata: dict[str, Any] = {key: values[0] for key, values in received.headers.items() if values}
    metadata["nats_subject"] = received.subject
    metadata["nats_reply_subject"] = received.reply
    return Message(received.payload, metadata)


def reply_headers(response: Message) -> dict[str, list[str]]:
    """A sync response's metadata as header fields (values as text); a key or value a header
    line cannot carry is left out."""
    fields = {key: value if isinstance(value, str) else str(value) for key, value in response.metadata.items()}
    return {key: [value] for key, value in fields.items() if header_line_ok(key, value)}


def nak_payload(delay: float) -> bytes:
    """``-NAK``, with the redelivery delay in nanoseconds when one is set."""
    if delay <= 0:
        return NAK
    return NAK + b" " + json.dumps({"delay": int(delay * 1e9)}).encode()


class NatsInput(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.options = NatsOptions.from_config(conf, res.path, name=f"{res.api}/{res.stream}")
        self.subject = str(conf["subject"] or "")
        if not self.subject or any(c.isspace() for c in self.subject):
            raise ConfigError(f"{res.path}.subject: a subject without whitespace is required")
        self.queue = str(conf.get("queue") or "")
        if any(c.isspace() for c in self.queue):
            raise ConfigError(f"{res.path}.queue: a queue group cannot contain whitespace")
        self.prefetch_count = int(conf["prefetch_count"])
        if self.prefetch_count < 0:
            raise ConfigError(f"{res.path}.prefetch_count: prefetch count must be greater than or equal to zero")
        self.nak_delay = parse_duration(conf.get("nak_delay") or "0s", 0.0)
        self.replay_nacks = bool(conf["auto_replay_nacks"])
        self.send_ack = bool(conf["send_ack"])
        self.shared_by_nature = bool(self.queue)
        self.log = res.logger()
        self._dropped = 0
        self._pending_bytes = 0

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        received: gevent.queue.Queue[Msg] = gevent.queue.Queue(maxsize=max(self.prefetch_count, 1))
        self._pending_bytes = 0
        client = NatsClient(self.options, self.log, on_message=lambda m: self._buffer(received, m))
        client.connect()
        try:
            client.subscribe(self.subject, self.queue)
            group = f" in queue group {self.queue}" if self.queue else ""
            self.log.info(f"nats input subscribed to {self.subject}{group} on {client.where}")
            while not stopping.is_set():
                try:
                    incoming = received.get(timeout=0.5)
                except gevent.queue.Empty:
                    continue
                self._pending_bytes -= len(incoming.payload)
                txn = Transaction()
                self._settle(incoming, self._write(incoming, txn, deliver, stopping), txn, client)
        finally:
            client.close()

    def _buffer(self, received: gevent.queue.Queue[Msg], incoming: Msg) -> None:
        try:
            if self._pending_bytes + len(incoming.payload) > PENDING_BYTES_LIMIT:
                raise gevent.queue.Full
            received.put_nowait(incoming)
            self._pending_bytes += len(incoming.payload)
        except gevent.queue.Full:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                self.log.warning(
                    f"nats input on {self.subject} is slower than its subject: {self._dropped} messages dropped "
                    f"(prefetch_count {self.prefetch_count} or {PENDING_BYTES_LIMIT >> 20} MiB buffered)"
                )

    def _write(self, incoming: Msg, txn: Transaction, deliver: Deliver, stopping: Stopping) -> bool:
        """True once every output acknowledged; False when given up (stream stopping, or a
        failure with ``auto_replay_nacks: false``)."""
        msg = message_of(incoming)
        pause = 0.1
        while not deliver([msg.copy()], txn):
            if not self.replay_nacks:
                self.log.warning(f"nats message of {incoming.subject} dropped: an output failed")
                return False
            self.log.warning(f"nats message of {incoming.subject}: an output failed; writing it again in {pause:g}s")
            if stopping.wait(pause):
                self.log.warning(f"nats message of {incoming.subject} dropped: the stream stopped before an output took it")
                return False
            pause = min(pause * 2, RETRY_PAUSE_MAX)
        return True

    def _settle(self, incoming: Msg, written: bool, txn: Transaction, client: NatsClient) -> None:
        """Answer the publisher's reply subject, if it gave one: the sync response, else Bento's
        ack/nak of core NATS."""
        if not incoming.reply:
            return
        payload, headers = ACK if written else nak_payload(self.nak_delay), None
        if written and txn.response:
            payload, headers = txn.response[0].content, reply_headers(txn.response[0])
        elif written and not self.send_ack:
            return
        try:
            client.publish(incoming.reply, payload, headers=headers)
        except Exception as exc:  # noqa: BLE001 - a reply that cannot be sent is only logged
            self.log.warning(f"nats reply to {incoming.reply} failed: {exc}")


def _factory(conf: dict[str, Any], res: Resources) -> NatsInput:
    return NatsInput(conf, res)


SPEC = registry.input(
    "nats",
    _factory,
    URLS_FIELD,
    Field("subject", "string", doc="Subject to subscribe to; wildcards (`foo.*`, `foo.>`) allowed."),
    Field("queue", "string", "", "Queue group to subscribe in (each message goes to one member)."),
    Field("auto_replay_nacks", "bool", True, "Retry a message whose write failed (false: drop it and send -NAK)."),
    Field("nak_delay", "duration", "", "Redelivery delay sent with -NAK."),
    Field("prefetch_count", "int", DEFAULT_PREFETCH, "Messages buffered locally; more are dropped (slow consumer)."),
    Field("send_ack", "bool", True, "Send +ACK to the reply subject of a message once written."),
    TLS_FIELD,
    AUTH_FIELD,
    Field("extract_tracing_map", "string", "", "Accepted; trace context is not read from messages."),
    doc="Subscribe to a core NATS subject (at most once).",
)
