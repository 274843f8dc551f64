"""``nats`` output: publish each message to an (interpolated) core NATS subject, with
interpolated ``headers`` and the metadata ``metadata`` selects as header fields (Bento's
``internal/impl/nats`` output fields; headers are left out when the server does not take them).

A write returns once the server answered a ``PING`` sent after the batch, that is once the
server processed every message of it; core NATS has no acknowledgement beyond that, and a
subject without subscribers drops what it gets (at most once). A write on a connection being
made again fails, so the input retries it.

This output runs in every gunicorn worker, each with its own connection.
"""

from __future__ import annotations

from typing import Any

import gevent.lock

from streams import registry
from streams.bloblang import MappingError
from streams.brokers.base import BrokerError
from streams.connectors.nats_client import NatsClient
from streams.connectors.nats_options import AUTH_FIELD, TLS_FIELD, URLS_FIELD, NatsOptions
from streams.contracts import Output, OutputError, Transaction
from streams.engine.resources import Resources
from streams.httpclient.request import MetadataFilter
from streams.message import Message
from streams.registry import Field

FLUSH_TIMEOUT = 5.0
"""Longest wait for the server to confirm it processed a batch."""


class NatsOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.options = NatsOptions.from_config(conf, res.path, name=f"{res.api}/{res.stream}")
        self.subject = res.interpolation(str(conf["subject"] or ""))
        self.headers = {str(k): res.interpolation(str(v)) for k, v in (conf["headers"] or {}).items()}
        self.metadata = MetadataFilter(conf.get("metadata"))
        self.log = res.logger()
        self._client: NatsClient | None = None
        self._connecting = gevent.lock.Semaphore()

    def _connection(self) -> NatsClient:
        with self._connecting:
            if self._client is None:
                client = NatsClient(self.options, self.log)
                try:
                    client.connect()
                except BrokerError as exc:
                    raise OutputError(str(exc)) from None
                self._client = client
            return self._client

    def _headers_of(self, msg: Message, batch: list[Message], index: int) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            out.setdefault(key, []).append(value.render(msg, batch, index))
        for key, value in msg.metadata.items():
            if self.metadata.match(key):
                out.setdefault(key, []).append(value if isinstance(value, str) else str(value))
        return out

    def write(self, batch: list[Message], txn: Transaction) -> None:
        client = self._connection()
        for index, msg in enumerate(batch):
            try:
                subject = self.subject.render(msg, batch, index)
                headers = self._headers_of(msg, batch, index)
            except MappingError as exc:
                raise OutputError(f"nats subject or header interpolation failed: {exc}") from exc
            try:
                client.publish(subject, msg.content, headers=headers)
            except BrokerError as exc:
                raise OutputError(f"nats publish to {subject!r} failed: {exc}") from None
        try:
            client.flush(FLUSH_TIMEOUT)
        except BrokerError as exc:
            raise OutputError(f"nats publish not confirmed: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _factory(conf: dict[str, Any], res: Resources) -> NatsOutput:
    return NatsOutput(conf, res)


SPEC = registry.output(
    "nats",
    _factory,
    URLS_FIELD,
    Field("subject", "string", doc="Subject to publish to (interpolated)."),
    Field("headers", "object", {}, "Header fields added to every message (values interpolated)."),
    Field(
        "metadata",
        "object",
        {},
        "Which metadata goes out as header fields.",
        fields=(
            Field("include_prefixes", "string_list", [], "Metadata keys starting with one of these."),
            Field("include_patterns", "string_list", [], "Metadata keys matching one of these regular expressions."),
        ),
    ),
    Field("max_in_flight", "int", 64, "Accepted; each write waits for the server to confirm its batch."),
    TLS_FIELD,
    AUTH_FIELD,
    Field("inject_tracing_map", "string", "", "Accepted; trace context is not written to messages."),
    doc="Publish messages to core NATS subjects (at most once).",
)
