"""``http_server`` output: GET (next message), a stream path (SSE / newline-delimited) and a
WebSocket path, under the API's listen path. The instance attaches the hub that serves them.

Fed by a ``kafka`` input, the hub reads the topic itself and ``write`` is never called. Fed by
anything else, ``write`` stores each message in the instance's topic on the host bus (metadata as
record headers) and returns once it is stored, so the clients of every worker of the host read
it from there, and nothing acknowledged is lost while no client is attached."""

from __future__ import annotations

import json
from typing import Any

from streams import registry
from streams.brokers.base import Broker, BrokerError
from streams.contracts import ConfigError, Output, OutputError, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class HttpServerOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        if conf.get("address"):
            raise ConfigError(
                f"{res.path}.address: a second listener is refused; the stream is served under the API's listen path"
            )
        self.path = conf["path"]
        self.stream_path = conf["stream_path"]
        self.ws_path = conf["ws_path"]
        self.timeout = parse_duration(conf["timeout"], 5.0)
        self._bus: Broker | None = None
        self._topic = ""

    def attach_bus(self, bus: Broker, topic: str) -> None:
        """Write to ``topic`` of the host bus (called by the instance that serves the clients)."""
        self._bus, self._topic = bus, topic

    def write(self, batch: list[Message], txn: Transaction) -> None:
        if self._bus is None:
            raise OutputError("http_server output is only supported as a stream's top-level output")
        for msg in batch:
            try:
                self._bus.produce(self._topic, msg.content, headers=_headers(msg.metadata), timeout=self.timeout)
            except BrokerError as exc:
                raise OutputError(f"message not stored for the output's clients: {exc}") from exc


STREAM_FORMATS = ("raw_bytes", "event_source", "raw")
"""Bento's two ``stream_format`` values, and ``raw``, an older spelling of ``raw_bytes`` here."""


def _headers(metadata: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Metadata as record headers (text; what a client of the output can see of it)."""
    out: list[tuple[str, bytes]] = []
    for name, value in metadata.items():
        if isinstance(value, bytes):
            out.append((name, value))
        else:
            out.append((name, value.encode() if isinstance(value, str) else json.dumps(value, default=str).encode()))
    return out


def _factory(conf: dict[str, Any], res: Resources) -> HttpServerOutput:
    return HttpServerOutput(conf, res)


SPEC = registry.output(
    "http_server",
    _factory,
    Field("address", "string", "", "Refused: the gateway's listener serves every stream."),
    Field("path", "string", "/get", "GET returns the next message (408 after timeout)."),
    Field("stream_path", "string", "/get/stream", "Long-lived stream of messages (SSE or lines)."),
    Field("ws_path", "string", "/get/ws", "WebSocket: one frame per message."),
    Field("allowed_verbs", "string_list", ["GET"], "HTTP methods accepted on path."),
    Field("timeout", "duration", "5s", "How long a GET waits for a message."),
    Field("stream_format", "string", "raw_bytes",
          "raw_bytes (newline-delimited; also spelled raw) or event_source (SSE). Left out, the "
          "request's Accept header chooses.", options=STREAM_FORMATS),
    Field("heartbeat", "duration", "", "SSE heartbeat interval; empty = the gateway's default."),
    Field("ws_message_type", "string", "text", "text or binary WebSocket frames.", options=("text", "binary")),
    Field("ping_period", "duration", "54s", "WebSocket pings this often; left out, every STREAMS_SSE_HEARTBEAT."),
    Field("pong_wait", "duration", "60s",
          "A WebSocket client silent this long (no pong, no frame) is closed; left out, never."),
    Field("write_wait", "duration", "10s", "Accepted for compatibility; a slow client is cut off by its queue."),
    Field("cert_file", "string", "", "Accepted for compatibility; TLS is the gateway's business."),
    Field("key_file", "string", "", "Accepted for compatibility; TLS is the gateway's business."),
    Field("cors", "object", {}, "Accepted for compatibility; CORS is the gateway's business."),
    doc="Serve messages to HTTP GET, stream and WebSocket clients under the API's listen path.",
)
