"""``http_server`` output: GET (next message), a stream path (SSE / newline-delimited) and a
WebSocket path, under the API's listen path. The instance attaches the hub that serves them."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.engine.components import ConfigError, Output, OutputError, Transaction
from streams.engine.durations import parse_duration
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
        self.stream_format = conf["stream_format"]
        self.hub: Any = None  # set by the instance when messages are handed over in-process

    def write(self, batch: list[Message], txn: Transaction) -> None:
        if self.hub is None:
            raise OutputError("http_server output is only supported as a stream's top-level output")
        self.hub.write(batch)


@registry.output(
    "http_server",
    Field("address", "string", "", "Refused: the gateway's listener serves every stream."),
    Field("path", "string", "/get", "GET returns the next message (408 after timeout)."),
    Field("stream_path", "string", "/get/stream", "Long-lived stream of messages (SSE or lines)."),
    Field("ws_path", "string", "/get/ws", "WebSocket: one frame per message."),
    Field("allowed_verbs", "string_list", ["GET"], "HTTP methods accepted on path."),
    Field("timeout", "duration", "5s", "How long a GET waits for a message."),
    Field("stream_format", "string", "raw", "raw (newline-delimited) or event_source (SSE).",
          options=("raw", "event_source")),
    Field("heartbeat", "duration", "", "SSE heartbeat interval; empty = the gateway's default."),
    Field("ws_message_type", "string", "text", "text or binary WebSocket frames.", options=("text", "binary")),
    Field("cert_file", "string", "", "Accepted for compatibility; TLS is the gateway's business."),
    Field("key_file", "string", "", "Accepted for compatibility; TLS is the gateway's business."),
    Field("cors", "object", {}, "Accepted for compatibility; CORS is the gateway's business."),
    doc="Serve messages to HTTP GET, stream and WebSocket clients under the API's listen path.",
)
def _factory(conf: dict[str, Any], res: Resources) -> HttpServerOutput:
    return HttpServerOutput(conf, res)
