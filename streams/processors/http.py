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
limit is waited for before every attempt. ``negotiate`` and ``transport`` tuning are refused when
the stream is built rather than silently ignored. Requests run on gevent-patched ``requests``, so
a waiting request never blocks the worker. A ``timeout`` of zero means none, as in Bento.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import gevent
import requests
from gevent.pool import Pool

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, Processor, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.httpclient.config import build_client, client_fields
from streams.httpclient.multipart import multipart_body
from streams.message import Message
from streams.processors.http_outcome import Attempts, Next, StatusRules
from streams.processors.http_response import MultipartError, bodies
from streams.registry import Field

OCTET_STREAM = "application/octet-stream"


class MetadataFilter:
    """Bento's metadata filter: keys starting with one of ``include_prefixes`` or matching one
    of ``include_patterns`` (regular expressions); empty lists match nothing."""

    def __init__(self, conf: dict[str, Any] | None) -> None:
        conf = conf or {}
        self.prefixes = [str(p) for p in conf.get("include_prefixes") or []]
        self.patterns = [re.compile(str(p)) for p in conf.get("include_patterns") or []]

    def match(self, key: str) -> bool:
        return any(key.startswith(p) for p in self.prefixes) or any(p.search(key) for p in self.patterns)


class RequestFailed(Exception):
    """A request that failed for good; ``status`` when a response came back."""

    def __init__(self, text: str, status: int | None = None) -> None:
        super().__init__(text)
        self.status = status


def unexpected_status(url: str, resp: requests.Response) -> str:
    """Bento's ``ErrUnexpectedHTTPRes`` text, prefixed with the URL."""
    body = resp.content.decode("utf-8", "replace").replace("\n", "")
    return f"{url}: HTTP request returned unexpected response code ({resp.status_code}): {resp.status_code} {resp.reason}, Error: {body}"


def transport_failure(verb: str, url: str, exc: requests.RequestException) -> str:
    """Go's ``url.Error`` text for a request that got no response (``Post "url": ...``)."""
    if isinstance(exc, requests.Timeout):
        why = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    elif isinstance(exc, requests.ConnectionError):
        where = urlsplit(url)
        port = where.port or (443 if where.scheme == "https" else 80)
        cause = "connect: connection refused" if "refused" in str(exc).lower() else _root_cause(exc)
        why = f"dial tcp {where.hostname}:{port}: {cause}"
    else:
        why = _root_cause(exc)
    return f'{url}: {verb.capitalize()} "{url}": {why}'


def _render(text: Any, msg: Message, what: str) -> str:
    try:
        return str(text.render(msg, [msg], 0))
    except MappingError as exc:
        raise RequestFailed(f"{what}: {exc}") from None


def _root_cause(exc: BaseException) -> str:
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return str(exc)


class HttpProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        _refuse_unsupported(conf, res.path)
        self.url = res.interpolation(str(conf["url"]))
        self.raw_url = str(conf["url"])
        self.verb = str(conf["verb"]).upper()
        headers = {str(k): res.interpolation(str(v)) for k, v in (conf["headers"] or {}).items()}
        host = [k for k in headers if k.lower() == "host"]
        self.host = headers.pop(host[0]) if host else None
        self.headers = headers
        self.payload = res.interpolation(str(conf["payload"])) if conf["payload"] else None
        self.send_meta = MetadataFilter(conf["metadata"])
        self.extract = MetadataFilter(conf["extract_headers"])
        timeout = parse_duration(conf["timeout"], 5.0)
        self.timeout = timeout if timeout > 0 else None  # Bento: no timeout unless positive
        self.retries = max(0, int(conf["retries"]))
        self.retry_period = parse_duration(conf["retry_period"], 1.0)
        self.max_backoff = parse_duration(conf["max_retry_backoff"], 300.0)
        self.rules = StatusRules(
            successful_on=frozenset(int(c) for c in conf["successful_on"] or []),
            drop_on=frozenset(int(c) for c in conf["drop_on"] or []),
            backoff_on=frozenset(int(c) for c in conf["backoff_on"] or []),
        )
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
            resp = self._send(self._request(msg), txn)
            payloads = bodies(resp.headers.get("Content-Type", ""), resp.content)
        except (RequestFailed, MappingError, MultipartError) as exc:
            return self._failed([msg], exc)
        return self._replies([msg], resp, payloads)

    def _as_multipart(self, batch: list[Message], txn: Transaction) -> list[Message]:
        """The batch as one request; the response parts replace the messages in order."""
        try:
            resp = self._send(self._multipart_request(batch), txn)
            payloads = bodies(resp.headers.get("Content-Type", ""), resp.content)
        except (RequestFailed, MappingError, MultipartError) as exc:
            return self._failed(batch, exc)
        return self._replies(batch, resp, payloads)

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

    def _replies(self, batch: list[Message], resp: requests.Response, payloads: list[bytes]) -> list[Message]:
        """Response part i replaces message i (a part beyond the batch copies the first)."""
        extracted = {name.lower(): value for name, value in resp.headers.items() if self.extract.match(name.lower())}
        results = []
        for i, payload in enumerate(payloads):
            part = (batch[i] if i < len(batch) else batch[0]).copy()
            part.set_content(payload)
            part.metadata["http_status_code"] = resp.status_code
            part.metadata.update(extracted)
            results.append(part)
        return results

    def _multipart_request(self, batch: list[Message]) -> tuple[str, dict[str, str], bytes]:
        """URL and headers of the first message; one body part per message (``payload``, when
        set, is sent instead, as Bento does)."""
        url, headers, body = self._request(batch[0])
        if self.payload is not None:
            return url, headers, body
        kind = self.headers.get("Content-Type")
        parts = []
        for msg in batch:
            part_headers = {"Content-Type": _render(kind, msg, "content-type interpolation error") if kind else OCTET_STREAM}
            for key, value in msg.metadata.items():
                if self.send_meta.match(key):
                    part_headers[key] = value if isinstance(value, str) else str(value)
            parts.append((part_headers, msg.content))
        headers["Content-Type"], body = multipart_body(parts)
        return url, headers, body

    def _request(self, msg: Message) -> tuple[str, dict[str, str], bytes]:
        """URL, headers and body for ``msg`` (interpolated against it as a batch of one, as Bento
        sends each message of a batch on its own); an interpolation that fails is named as
        Bento names it (``url interpolation error: ...``)."""
        one = [msg]
        body = self.payload.render(msg, one, 0).encode("utf-8") if self.payload is not None else msg.content
        url = _render(self.url, msg, "url interpolation error")
        headers = {k: _render(v, msg, f"header '{k}' interpolation error") for k, v in self.headers.items()}
        for key, value in msg.metadata.items():
            if self.send_meta.match(key):
                headers[key] = value if isinstance(value, str) else str(value)
        if "Content-Type" not in self.headers:
            headers["Content-Type"] = OCTET_STREAM
        if self.host is not None:
            headers["Host"] = _render(self.host, msg, "host interpolation error")
        return url, headers, body

    def _send(self, request: tuple[str, dict[str, str], bytes], txn: Transaction) -> requests.Response:
        """The accepted response; ``RequestFailed`` once the attempts are spent, or at once when
        nobody waits for the pass any more (its push was answered 408): no retry is started then.
        Each attempt waits for the rate limit first."""
        url, headers, body = request
        attempts = Attempts(self.rules, self.retries, self.retry_period, self.max_backoff)
        while True:
            self.client.wait_turn()
            try:
                resp = self.client.session.request(
                    self.verb, url, data=body, headers=headers, timeout=self.timeout, allow_redirects=True
                )
            except requests.RequestException as exc:
                failure = RequestFailed(transport_failure(self.verb, url, exc))
                step = attempts.after_failure()
            else:
                step = attempts.after_status(resp.status_code)
                if step is Next.DONE:
                    return resp
                failure = RequestFailed(unexpected_status(url, resp), resp.status_code)
            if step is Next.GIVE_UP or txn.abandoned:
                raise failure
            gevent.sleep(attempts.wait)

    def close(self) -> None:
        self.client.close()


def _refuse_unsupported(conf: dict[str, Any], path: str) -> None:
    """Options this gateway does not implement are refused, not silently dropped."""
    if conf.get("transport"):
        raise ConfigError(f"{path}.transport: not supported by this gateway")


def _not_supported(value: object) -> list[tuple[tuple[str | int, ...], str]]:
    return [((), "not supported by this gateway")] if value else []


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
    Field("retry_period", "duration", "1s", "Pause before retrying a failed request."),
    Field("max_retry_backoff", "duration", "300s", "Longest pause between retries of backoff_on statuses."),
    Field("retries", "int", 3, "Retries after the first attempt."),
    Field("backoff_on", "any", [429], "Statuses retried with exponential backoff."),
    Field("drop_on", "any", [], "Statuses that fail the request at once, without retries."),
    Field("successful_on", "any", [], "Statuses that count as success besides 2xx."),
    Field("batch_as_multipart", "bool", False, "Send the whole batch as one multipart request."),
    Field("parallel", "bool", False, "Send the messages of a batch at once instead of one after the other."),
    Field("dump_request_log_level", "string", "", "Accepted; requests are not dumped."),
    *client_fields(),
    Field("transport", "object", {}, "Refused when set.", check=_not_supported),
    doc="Send each message as an HTTP request and replace it with the response.",
)
