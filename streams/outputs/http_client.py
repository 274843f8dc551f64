"""``http_client`` output: send each message to a URL (webhooks).

The request runs on gevent-patched ``requests``; a status outside 2xx (or listed in
``drop_on``/``successful_on``) decides success as Bento does. ``url`` and header values are
interpolated per message. Authentication (``basic_auth``, ``oauth``, ``oauth2``, ``jwt``,
``digest_auth``), ``tls``, ``proxy_url`` and ``rate_limit`` (waited for before each attempt) are the
shared HTTP client's (``streams.httpclient``); ``negotiate`` is refused. With
``batch_as_multipart: true`` a batch of several messages goes as one ``multipart/form-data``
request.
"""

from __future__ import annotations

from typing import Any

import gevent
import requests

from streams import registry
from streams.bloblang import MappingError
from streams.connectors.http_url import url_problems
from streams.contracts import Output, OutputError, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.httpclient.config import build_client, client_fields
from streams.httpclient.multipart import multipart_body
from streams.message import Message
from streams.registry import Field

OCTET_STREAM = "application/octet-stream"


class HttpClientOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.url = res.interpolation(conf["url"])
        self.verb = conf["verb"].upper()
        self.headers = {k: res.interpolation(str(v)) for k, v in (conf["headers"] or {}).items()}
        self.timeout = parse_duration(conf["timeout"], 5.0)
        self.retries = max(0, int(conf["retries"]))
        self.retry_period = parse_duration(conf["retry_period"], 1.0)
        self.successful_on = {int(c) for c in conf["successful_on"] or []}
        self.drop_on = {int(c) for c in conf["drop_on"] or []}
        self.multipart = bool(conf["batch_as_multipart"])
        self.client = build_client(conf, res, self.timeout)

    def _send(self, msg: Message, batch: list[Message], i: int) -> None:
        url = self.url.render(msg, batch, i)
        headers = {k: v.render(msg, batch, i) for k, v in self.headers.items()}
        self._deliver(url, headers, msg.content)

    def _send_multipart(self, batch: list[Message]) -> None:
        """The batch as one request: URL and headers of the first message, one part per message
        (its ``Content-Type`` the interpolated header, else ``application/octet-stream``)."""
        url = self.url.render(batch[0], batch, 0)
        headers = {k: v.render(batch[0], batch, 0) for k, v in self.headers.items()}
        kind = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        parts = [
            ({"Content-Type": kind.render(msg, batch, i) if kind else OCTET_STREAM}, msg.content) for i, msg in enumerate(batch)
        ]
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"], body = multipart_body(parts)
        self._deliver(url, headers, body)

    def _deliver(self, url: str, headers: dict[str, str], body: bytes) -> None:
        last = ""
        for attempt in range(self.retries + 1):
            self.client.wait_turn()
            try:
                resp = self.client.session.request(self.verb, url, data=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                last = f"{self.verb} {url} failed: {exc}"
            else:
                code = resp.status_code
                if code in self.drop_on or code in self.successful_on or 200 <= code < 300:
                    return
                last = f"{self.verb} {url} returned {code}"
            if attempt < self.retries:
                gevent.sleep(self.retry_period)
        raise OutputError(last)

    def write(self, batch: list[Message], txn: Transaction) -> None:
        try:
            if self.multipart and len(batch) > 1:
                self._send_multipart(batch)
                return
            for i, msg in enumerate(batch):
                self._send(msg, batch, i)
        except MappingError as exc:
            raise OutputError(f"http_client interpolation failed: {exc}") from exc

    def close(self) -> None:
        self.client.close()


def _factory(conf: dict[str, Any], res: Resources) -> HttpClientOutput:
    return HttpClientOutput(conf, res)


SPEC = registry.output(
    "http_client",
    _factory,
    Field("url", "string", doc="Where to send each message (interpolated).", check=url_problems),
    Field("verb", "string", "POST", "HTTP method."),
    Field("headers", "object", {}, "Request headers (values interpolated)."),
    Field("metadata", "object", {}, "Accepted and ignored."),
    Field("timeout", "duration", "5s", "Per-request timeout."),
    Field("retry_period", "duration", "1s", "Pause between attempts."),
    Field("max_retry_backoff", "duration", "300s", "Accepted and ignored."),
    Field("retries", "int", 3, "Attempts after the first failure."),
    Field("backoff_on", "any", [429], "Accepted and ignored."),
    Field("drop_on", "any", [], "Status codes that count as delivered (dropped)."),
    Field("successful_on", "any", [], "Status codes that count as success besides 2xx."),
    Field("max_in_flight", "int", 64, "Accepted and ignored."),
    Field("batch_as_multipart", "bool", False, "Send a batch as one multipart/form-data request."),
    Field("propagate_response", "bool", False, "Accepted and ignored."),
    *client_fields(),
    Field("batching", "object", {}, "Accepted and ignored."),
    doc="Send messages to an HTTP endpoint.",
)
