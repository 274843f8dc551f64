"""The requests an HTTP component sends and their attempts, as Bento's ``internal/httpclient``
makes them; shared by the ``http`` processor and the ``http_client`` output.

``Requests`` builds a request from a message (or a batch sent as one ``multipart/form-data``
request): ``url`` and header values interpolated against the message, ``Content-Type``
``application/octet-stream`` unless a header sets it, the metadata ``metadata`` selects added as
headers (as part headers in a multipart body), an interpolated ``payload`` sent instead of the
message when set, else the explicit ``multipart`` parts (each one's ``content_type``,
``content_disposition`` and ``body`` interpolated) when the component has them. ``send`` performs it under the status rules of ``http_outcome`` (``drop_on``,
then ``backoff_on``, then ``successful_on``, then 2xx), waiting for the rate limit before each
attempt (its connect timeout the ``transport`` block's dialer's when that is shorter), and fails
with Bento's error texts (Go's for a request that got no response).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import gevent
import requests

from streams.bloblang import MappingError
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.httpclient.config import HttpClient
from streams.httpclient.multipart import multipart_body
from streams.httpclient.transport import TlsHandshakeTimeout
from streams.message import Message
from streams.processors.http_outcome import Attempts, Next, StatusRules
from streams.processors.http_response import bodies
from streams.registry import Field

OCTET_STREAM = "application/octet-stream"

Request = tuple[str, dict[str, str], bytes]


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


TLS_HANDSHAKE_TIMEOUT = "net/http: TLS handshake timeout"
"""Go's text for a TLS handshake that outlasted ``transport.tls_handshake_timeout``."""


def transport_failure(verb: str, url: str, exc: requests.RequestException, dial_timeout_first: bool = False) -> str:
    """Go's ``url.Error`` text for a request that got no response (``Post "url": ...``).
    ``dial_timeout_first``: a connect timeout is the dialer's (``transport.dial_context.timeout``
    is shorter than the request's ``timeout``), which Go reports as the dial's ``i/o timeout``
    rather than the whole request's deadline."""
    where = urlsplit(url)
    dial = f"dial tcp {where.hostname}:{where.port or (443 if where.scheme == 'https' else 80)}"
    if isinstance(_reason(exc), TlsHandshakeTimeout):
        why = TLS_HANDSHAKE_TIMEOUT
    elif isinstance(exc, requests.ConnectTimeout) and dial_timeout_first:
        why = f"{dial}: i/o timeout"
    elif isinstance(exc, requests.Timeout):
        why = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    elif isinstance(exc, requests.ConnectionError):
        cause = "connect: connection refused" if "refused" in str(exc).lower() else _root_cause(exc)
        why = f"{dial}: {cause}"
    else:
        why = _root_cause(exc)
    return f'{url}: {verb.capitalize()} "{url}": {why}'


def _reason(exc: requests.RequestException) -> object:
    """urllib3's reason for giving up, which ``requests`` wraps in its own exception."""
    wrapped = exc.args[0] if exc.args else None
    return getattr(wrapped, "reason", None)


def _root_cause(exc: BaseException) -> str:
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return str(exc)


def _render(text: Any, msg: Message, what: str) -> str:
    return _render_in(text, msg, [msg], what)


def _render_in(text: Any, msg: Message, batch: list[Message], what: str) -> str:
    try:
        return str(text.render(msg, batch, 0))
    except MappingError as exc:
        raise RequestFailed(f"{what}: {exc}") from None


class Requests:
    """How a component's config turns messages into requests (``url``, ``headers``, ``metadata``
    and, when the component has it, ``payload``)."""

    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.url = res.interpolation(str(conf["url"]))
        headers = {str(k): res.interpolation(str(v)) for k, v in (conf.get("headers") or {}).items()}
        host = [k for k in headers if k.lower() == "host"]
        self.host = headers.pop(host[0]) if host else None
        self.headers = headers
        payload = conf.get("payload")
        self.payload = res.interpolation(str(payload)) if payload else None
        self.send_meta = MetadataFilter(conf.get("metadata"))
        self.parts = [
            tuple(res.interpolation(str(part.get(k) or "")) for k in ("content_type", "content_disposition", "body"))
            for part in conf.get("multipart") or []
        ]

    def single(self, msg: Message) -> Request:
        """URL, headers and body for ``msg`` (interpolated against it as a batch of one, as Bento
        sends each message of a batch on its own); an interpolation that fails is named as
        Bento names it (``url interpolation error: ...``)."""
        return self._create(msg, [msg])

    def _create(self, msg: Message, batch: list[Message]) -> Request:
        """The request whose URL and headers come from ``msg``: its body is ``payload`` (against
        ``batch``), else the explicit ``multipart`` parts, else the message."""
        if self.payload is not None:
            return self._with_body(msg, self.payload.render(msg, batch, 0).encode("utf-8"))
        if self.parts:
            return self._explicit_parts(msg, batch)
        return self._with_body(msg, msg.content)

    def _with_body(self, msg: Message, body: bytes) -> Request:
        url = _render(self.url, msg, "url interpolation error")
        headers = {k: _render(v, msg, f"header '{k}' interpolation error") for k, v in self.headers.items()}
        headers.update(self._metadata_headers(msg))
        if "Content-Type" not in self.headers:
            headers["Content-Type"] = OCTET_STREAM
        if self.host is not None:
            headers["Host"] = _render(self.host, msg, "host interpolation error")
        return url, headers, body

    def _metadata_headers(self, msg: Message) -> dict[str, str]:
        """The message's metadata that ``metadata`` selects, as header values."""
        return {
            key: value if isinstance(value, str) else str(value)
            for key, value in msg.metadata.items()
            if self.send_meta.match(key)
        }

    def multipart(self, batch: list[Message]) -> Request:
        """URL and headers of the first message; one body part per message, its
        ``Content-Type`` the interpolated header or ``application/octet-stream``, plus the
        metadata ``metadata`` selects (``payload``, when set, is sent instead, as Bento does)."""
        if self.payload is not None or self.parts:
            return self._create(batch[0], batch)
        url, headers, body = self.single(batch[0])
        kind = self.headers.get("Content-Type")
        parts = []
        for msg in batch:
            part_headers = {"Content-Type": _render(kind, msg, "content-type interpolation error") if kind else OCTET_STREAM}
            part_headers.update(self._metadata_headers(msg))
            parts.append((part_headers, msg.content))
        headers["Content-Type"], body = multipart_body(parts)
        return url, headers, body

    def _explicit_parts(self, msg: Message, batch: list[Message]) -> Request:
        """Bento's ``multipart`` field: one part per entry, its ``Content-Type``,
        ``Content-Disposition`` and body interpolated against the first message, the request's
        ``Content-Type`` the form's."""
        parts = []
        for content_type, disposition, body in self.parts:
            head = {
                "Content-Disposition": _render_in(disposition, msg, batch, "content-disposition interpolation error"),
                "Content-Type": _render_in(content_type, msg, batch, "content-type interpolation error"),
            }
            parts.append((head, _render_in(body, msg, batch, "part body interpolation error").encode("utf-8")))
        url, headers, _ = self._with_body(msg, b"")
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"], form = multipart_body(parts)
        return url, headers, form


RETRY_FIELDS = (
    Field("retry_period", "duration", "1s", "Pause before retrying a failed request."),
    Field("max_retry_backoff", "duration", "300s", "Longest pause between retries of backoff_on statuses."),
    Field("retries", "int", 3, "Retries after the first attempt."),
    Field("backoff_on", "any", [429], "Statuses retried with exponential backoff."),
    Field("drop_on", "any", [], "Statuses that fail the request at once, without retries."),
    Field("successful_on", "any", [], "Statuses that count as success besides 2xx."),
)
"""The retry and status fields Bento's HTTP components share (``Retrying`` reads them)."""


@dataclass(frozen=True)
class Retrying:
    """``retries``, ``retry_period``, ``max_retry_backoff`` and the status rules of a config."""

    rules: StatusRules
    retries: int
    retry_period: float
    max_backoff: float

    @classmethod
    def from_conf(cls, conf: dict[str, Any]) -> Retrying:
        return cls(
            StatusRules(
                successful_on=frozenset(int(c) for c in conf.get("successful_on") or []),
                drop_on=frozenset(int(c) for c in conf.get("drop_on") or []),
                backoff_on=frozenset(int(c) for c in conf.get("backoff_on") or []),
            ),
            max(0, int(conf["retries"])),
            parse_duration(conf["retry_period"], 1.0),
            parse_duration(conf["max_retry_backoff"], 300.0),
        )

    def attempts(self) -> Attempts:
        return Attempts(self.rules, self.retries, self.retry_period, self.max_backoff)


def send(
    client: HttpClient,
    verb: str,
    request: Request,
    retrying: Retrying,
    timeout: float | None,
    abandoned: Callable[[], bool],
) -> requests.Response:
    """The accepted response; ``RequestFailed`` once the attempts are spent, or at once when
    ``abandoned()`` says nobody waits any more: no retry is started then. Each attempt waits
    for the rate limit first."""
    url, headers, body = request
    attempts = retrying.attempts()
    while True:
        client.wait_turn()
        try:
            resp = client.session.request(
                verb, url, data=body, headers=headers, timeout=client.request_timeout(timeout), allow_redirects=True
            )
        except requests.RequestException as exc:
            failure = RequestFailed(transport_failure(verb, url, exc, client.dial_gives_up_first(timeout)))
            step = attempts.after_failure()
        else:
            step = attempts.after_status(resp.status_code)
            if step is Next.DONE:
                return resp
            failure = RequestFailed(unexpected_status(url, resp), resp.status_code)
        if step is Next.GIVE_UP or abandoned():
            raise failure
        gevent.sleep(attempts.wait)


def replies(batch: list[Message], resp: requests.Response, extract: MetadataFilter) -> list[Message]:
    """The messages a response makes, as Bento reads it: one per body part (a ``multipart/*``
    response has several; ``MultipartError`` when it breaks its boundary). Part i is a copy of
    message i (of the first beyond the batch) with the part as content, ``http_status_code``
    and the response headers ``extract`` selects (names lowercased) as metadata."""
    payloads = bodies(resp.headers.get("Content-Type", ""), resp.content)
    extracted = {name.lower(): value for name, value in resp.headers.items() if extract.match(name.lower())}
    results = []
    for i, payload in enumerate(payloads):
        part = (batch[i] if i < len(batch) else batch[0]).copy()
        part.set_content(payload)
        part.metadata["http_status_code"] = resp.status_code
        part.metadata.update(extracted)
        results.append(part)
    return results


def timeout_of(conf: dict[str, Any]) -> float | None:
    """``timeout`` in seconds; zero means none, as in Bento."""
    timeout = parse_duration(conf["timeout"], 5.0)
    return timeout if timeout > 0 else None
