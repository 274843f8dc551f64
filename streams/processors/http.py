"""``http`` processor: send each message as an HTTP request and replace it with the response.

Bento's rules (``internal/impl/io/processor_http.go``, ``internal/httpclient``): the request
body is the message (or the interpolated ``payload``), ``url`` and header values are
interpolated per message, ``Content-Type`` is ``application/octet-stream`` unless a header sets
it, and metadata matching ``metadata`` goes out as headers. A response accepted by the status
rules (``http_outcome``) replaces the payload; the message keeps its metadata and gains
``http_status_code`` and the response headers matching ``extract_headers`` (lowercased). A
request that fails after its retries leaves the message as it was, flagged with Bento's error
text (``<url>: HTTP request returned unexpected response code (404): 404 Not Found, Error:
<body>``) and with ``http_status_code`` when a response came back, so ``catch``/``try`` can
handle it. A ``multipart/*`` response makes one message per part (``http_response``). Messages
of a batch go one after the other, or all at once with ``parallel``.

With ``batch_as_multipart: true`` the whole batch goes as one ``multipart/form-data`` request
(one part per message, its ``Content-Type`` the interpolated header or
``application/octet-stream``, plus the metadata ``metadata`` selects; URL and headers
interpolated against the first message), and the parts of the response replace the messages in
order (extra parts are copies of the first message); a failure flags every message.

Authentication (``basic_auth``, ``oauth``, ``oauth2``, ``jwt``, ``digest_auth``), ``tls``,
``proxy_url`` and ``rate_limit`` are the shared HTTP client's (``streams.httpclient``); the rate
limit is waited for before every attempt. ``negotiate`` is refused when the stream is built
rather than silently ignored. The ``transport`` block, the shared client's too, tunes how
connections are made and kept as ``streams.httpclient.tuning`` says (its connect timeout never
outlasts ``timeout``). Requests run on gevent-patched ``requests``, so a waiting request never
blocks the worker. A ``timeout`` of zero means none, as in Bento.
"""

from __future__ import annotations

from typing import Any

import requests
from gevent.pool import Pool

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.httpclient.config import build_client, client_fields
from streams.httpclient.request import RETRY_FIELDS, MetadataFilter, RequestFailed, Requests, Retrying, replies, send, timeout_of
from streams.message import Message
from streams.processors.http_response import MultipartError
from streams.registry import Field


class HttpProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.requests = Requests(conf, res)
        self.raw_url = str(conf["url"])
        self.verb = str(conf["verb"]).upper()
        self.extract = MetadataFilter(conf["extract_headers"])
        self.timeout = timeout_of(conf)
        self.retrying = Retrying.from_conf(conf)
        self.parallel = bool(conf["parallel"])
        self.multipart = bool(conf["batch_as_multipart"])
        self.client = build_client(conf, res, self.timeout)
        self.log = res.logger()
        self.res = res

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        if self.multipart and len(batch) > 1:
            return self._as_multipart(batch, txn)
        if self.parallel and len(batch) > 1:
            sent = Pool(len(batch)).map(lambda msg: self._one(msg, txn), batch)
            return [self._exactly_one(results) for results in sent]
        return [out for msg in batch for out in self._one(msg, txn)]

    def _exactly_one(self, results: list[Message]) -> Message:
        """Bento's parallel sends expect one response part per message."""
        if len(results) == 1:
            return results[0]
        flagged = results[0]
        flagged.error = f"unexpected response size: {len(results)}"
        return flagged

    def _one(self, msg: Message, txn: Transaction) -> list[Message]:
        """The messages the response to ``msg`` makes (one per part of a multipart response),
        or ``msg`` flagged with the failure."""
        try:
            return replies([msg], self._send(self.requests.single(msg), txn), self.extract)
        except (RequestFailed, MappingError, MultipartError) as exc:
            return self._failed([msg], exc)

    def _as_multipart(self, batch: list[Message], txn: Transaction) -> list[Message]:
        """The batch as one request; the response parts replace the messages in order."""
        try:
            return replies(batch, self._send(self.requests.multipart(batch), txn), self.extract)
        except (RequestFailed, MappingError, MultipartError) as exc:
            return self._failed(batch, exc)

    def _failed(self, batch: list[Message], exc: Exception) -> list[Message]:
        status = getattr(exc, "status", None)
        # NOTE: the rendered URL and the response body may hold message values: not logged.
        self.log.error(f"HTTP request to '{self.raw_url}' failed", status=status if status is not None else "no response")
        self.res.incr("processor_error")
        flagged = []
        for msg in batch:
            out = msg.copy()
            if status is not None:
                out.metadata["http_status_code"] = status
            out.error = str(exc)
            flagged.append(out)
        return flagged

    def _send(self, request: tuple[str, dict[str, str], bytes], txn: Transaction) -> requests.Response:
        """The accepted response; ``RequestFailed`` once the attempts are spent, or at once when
        nobody waits for the pass any more (its push was answered 408)."""
        return send(self.client, self.verb, request, self.retrying, self.timeout, lambda: txn.abandoned)

    def close(self) -> None:
        self.client.close()


def _factory(conf: dict[str, Any], res: Resources) -> HttpProcessor:
    return HttpProcessor(conf, res)


SPEC = registry.processor(
    "http",
    _factory,
    Field("url", "string", doc="The URL to request (interpolated per message)."),
    Field("verb", "string", "POST", "HTTP method."),
    Field("headers", "object", {}, "Request headers (values interpolated)."),
    Field("metadata", "object", {}, "include_prefixes / include_patterns: metadata sent as headers."),
    Field("extract_headers", "object", {}, "include_prefixes / include_patterns: response headers kept as metadata."),
    Field("payload", "string", "", "An interpolated body sent instead of the message."),
    Field("timeout", "duration", "5s", "Per-request timeout."),
    *RETRY_FIELDS,
    Field("batch_as_multipart", "bool", False, "Send the whole batch as one multipart request."),
    Field("parallel", "bool", False, "Send the messages of a batch at once instead of one after the other."),
    Field("dump_request_log_level", "string", "", "Accepted; requests are not dumped."),
    *client_fields(),
    doc="Send each message as an HTTP request and replace it with the response.",
)
