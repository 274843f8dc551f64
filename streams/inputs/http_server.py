"""``http_server`` input: POSTs (and WebSocket frames) under the API's listen path.

The gateway's own listener serves it; ``address`` (a second listener that would bypass the
gateway's routing and policies) is refused. The reply to a push is built here from what
``sync_response`` stored and this input's ``sync_response`` settings.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, Input
from streams.durations import parse_duration
from streams.engine.delivery import PushResult
from streams.engine.ratelimit import lookup
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

# NOTE: Bento's default headers are ``Content-Type: application/octet-stream``; we set none, so
# the HTTP layer labels JSON replies as JSON (what API clients of the seed expect). A configured
# ``headers`` block is honoured as written.
SYNC_RESPONSE_DEFAULT = {
    "status": "200",
    "headers": {},
    "metadata_headers": {"include_prefixes": [], "include_patterns": []},
}


class HttpServerInput(Input):
    passive = True
    shared_by_nature = True

    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        if conf.get("address"):
            raise ConfigError(
                f"{res.path}.address: a second listener is refused; the stream is served under the API's listen path"
            )
        self.path = conf["path"]
        self.ws_path = conf["ws_path"]
        self.timeout = parse_duration(conf["timeout"], 5.0)
        self.allowed_verbs = [v.upper() for v in conf["allowed_verbs"]]
        sync = {**SYNC_RESPONSE_DEFAULT, **(conf.get("sync_response") or {})}
        self.status = res.interpolation(str(sync.get("status", "200")))
        self.headers = {k: res.interpolation(str(v)) for k, v in (sync.get("headers") or {}).items()}
        meta = sync.get("metadata_headers") or {}
        self.meta_prefixes = list(meta.get("include_prefixes") or [])
        self.meta_patterns = [re.compile(p) for p in meta.get("include_patterns") or []]
        self.limiter = None
        if conf.get("rate_limit"):
            self.limiter = lookup(res, conf["rate_limit"])

    def respond(self, response: list[Message] | None) -> PushResult:
        """The HTTP reply to a push whose outputs all acknowledged."""
        batch = response or []
        first = batch[0] if batch else Message(b"")
        try:
            status = int(self.status.render(first, batch, 0))
        except (ValueError, MappingError):
            status = 200
        headers: dict[str, str] = {}
        for name, tpl in self.headers.items():
            try:
                headers[name] = tpl.render(first, batch, 0)
            except MappingError:
                continue
        for key, value in first.metadata.items():
            if any(key.startswith(p) for p in self.meta_prefixes) or any(p.search(key) for p in self.meta_patterns):
                headers[key] = str(value)
        if not batch:
            return PushResult(status, b"", headers)
        if len(batch) == 1:
            return PushResult(status, batch[0].content, headers)
        body, content_type = multipart(batch)
        headers["Content-Type"] = content_type
        return PushResult(status, body, headers)


def multipart(batch: list[Message]) -> tuple[bytes, str]:
    """A batch as one ``multipart/mixed`` body (how Bento answers a batch)."""
    boundary = uuid.uuid4().hex
    parts = []
    for msg in batch:
        parts.append(
            b"--" + boundary.encode() + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + msg.content + b"\r\n"
        )
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/mixed; boundary={boundary}"


def _factory(conf: dict[str, Any], res: Resources) -> HttpServerInput:
    return HttpServerInput(conf, res)


SPEC = registry.input(
    "http_server",
    _factory,
    Field("address", "string", "", "Refused: the gateway's listener serves every stream."),
    Field("path", "string", "/post", "Path (under the API listen path) for POSTed messages."),
    Field("ws_path", "string", "/post/ws", "Path for WebSocket clients; each frame is a message."),
    Field("ws_welcome_message", "string", "", "Accepted for compatibility; not sent."),
    Field("ws_rate_limit_message", "string", "", "Accepted for compatibility; not sent."),
    Field("allowed_verbs", "string_list", ["POST"], "HTTP methods accepted on path."),
    Field("timeout", "duration", "5s", "How long a push waits for every output (then 408)."),
    Field("rate_limit", "string", "", "Label of a rate_limit_resources entry (429 when exceeded)."),
    Field("cert_file", "string", "", "Accepted for compatibility; TLS is the gateway's business."),
    Field("key_file", "string", "", "Accepted for compatibility; TLS is the gateway's business."),
    Field("cors", "object", {}, "Accepted for compatibility; CORS is the gateway's business."),
    Field("sync_response", "object", SYNC_RESPONSE_DEFAULT, "status, headers and metadata_headers of the reply."),
    doc="Receive messages from HTTP POSTs and WebSocket frames under the API's listen path.",
)
