"""``http_client`` input: messages fetched from an HTTP endpoint (Bento's ``http_client`` input,
``internal/impl/io/input_http_client.go``, and its ``internal/httpclient`` fields).

Polling (the default): one request after another, as fast as the endpoint answers unless a
``rate_limit`` (a ``rate_limit_resources`` label) spaces them; each successful response body is
one message with ``http_status_code`` and the headers ``extract_headers`` selects (lower-cased)
as metadata. Empty bodies are dropped unless ``drop_empty_bodies: false``. ``url``, ``headers``
and ``payload`` are interpolated against the previous message, which allows simple pagination.

Streaming (``stream.enabled``): one long request whose body is cut into messages by a Bento
scanner (``stream.scanner``, default ``lines: {}``; ``streams.scanners``), which sees the body as a
source named by the URL's path (what ``switch`` cases match); when the body ends the request is
made again (``stream.reconnect``, default true) or the input finishes. A body the scanner cannot
read ends that request with an error in the log. Bento still accepts the deprecated
``stream.codec`` (with ``max_buffer``), which wins over ``scanner`` when set; its values are read
by the equivalent scanners (``streams.scanners.legacy_codec``).

A status in ``drop_on`` fails at once, one in ``backoff_on`` (429) is retried after a doubling
pause, anything outside 2xx and ``successful_on`` after ``retry_period``, up to ``retries`` times
(``streams.connectors.http_status``). A request that still failed is logged and tried again after
``retry_period``. A message whose write failed is written again until it succeeds (the endpoint
has nothing to acknowledge); it runs once per host. Authentication (``basic_auth``, ``oauth``,
``oauth2``, ``jwt``, ``digest_auth``), ``tls``, ``proxy_url``, ``rate_limit`` and the ``transport``
block (how connections are made and kept, ``streams.httpclient.tuning``) are the shared HTTP
client's (``streams.httpclient``); ``negotiate`` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from streams import registry
from streams.bloblang import MappingError
from streams.connectors.http_status import RetryPauses, StatusPolicy, Verdict
from streams.connectors.http_url import url_problems
from streams.contracts import ConfigError, Deliver, Input, Stopping
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.httpclient.config import build_client, client_fields
from streams.httpclient.request import RETRY_FIELDS
from streams.message import Message
from streams.registry import Field
from streams.scanners import catalog as scanners
from streams.scanners.base import ScanConfigError, ScanError, ScannerMaker
from streams.scanners.legacy_codec import scanner_of_codec

RETRY_PAUSE_MAX = 5.0
CHUNK = 64 * 1024


class RequestFailed(Exception):
    """A request that failed after its retries; the text names the verb, URL and reason."""


def stream_scanner(stream: dict[str, Any]) -> ScannerMaker:
    """The scanner of a ``stream`` block: its ``codec`` when set, else its ``scanner``. Raises
    ``ScanConfigError`` with the path inside the block."""
    codec = str(stream.get("codec") or "")
    if codec:
        try:
            return scanners.make(scanner_of_codec(codec, int(stream.get("max_buffer") or 1_000_000)))
        except ValueError as exc:
            raise ScanConfigError(("codec",), str(exc)) from exc
        except ScanConfigError as exc:  # a value inside the codec, such as a regex: pattern
            raise ScanConfigError(("codec",), exc.message) from exc
    conf = stream.get("scanner")
    found = scanners.problems(conf)
    if found:
        where, message = found[0]
        raise ScanConfigError(("scanner", *where), message)
    return scanners.make(conf)


def stream_problems(stream: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The load-time check of a ``stream`` block: the codec, or every problem of the scanner."""
    if stream.get("codec"):
        try:
            stream_scanner(stream)
        except ScanConfigError as exc:
            return [(exc.where, exc.message)]
        return []
    return [(("scanner", *where), message) for where, message in scanners.problems(stream.get("scanner"))]


class HttpClientInput(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        where = res.path
        self.url = res.interpolation(str(conf["url"]))
        self.verb = str(conf["verb"]).upper()
        self.headers = {str(k): res.interpolation(str(v)) for k, v in (conf["headers"] or {}).items()}
        payload = str(conf["payload"] or "")
        self.payload = res.interpolation(payload) if payload else None
        self.drop_empty = bool(conf["drop_empty_bodies"])
        self.timeout = parse_duration(conf["timeout"], 5.0)
        self.retries = max(0, int(conf["retries"]))
        self.retry_period = parse_duration(conf["retry_period"], 1.0)
        self.max_backoff = parse_duration(conf["max_retry_backoff"], 300.0)
        self.policy = StatusPolicy.of(conf["successful_on"] or [], conf["drop_on"] or [], conf["backoff_on"] or [])
        stream = conf["stream"] or {}
        self.streaming = bool(stream.get("enabled", False))
        self.reconnect = bool(stream.get("reconnect", True))
        self.scanner: ScannerMaker | None = None
        if self.streaming:
            try:
                self.scanner = stream_scanner(stream)  # refuse a bad scanner at start
            except ScanConfigError as exc:
                path = ".".join(str(p) for p in exc.where)
                raise ConfigError(f"{where}.stream.{path}: {exc.message}") from exc
        extract = conf["extract_headers"] or {}
        self.header_prefixes = tuple(str(p).lower() for p in extract.get("include_prefixes") or [])
        self.header_patterns = [re.compile(str(p)) for p in extract.get("include_patterns") or []]
        self.client = build_client(conf, res, self.timeout)
        self.previous = Message(b"")
        self.log = res.logger()

    # -- one request, with Bento's retries ----------------------------------------------------

    def _attempt(self, stream: bool) -> tuple[requests.Response | None, Verdict, str]:
        prev = self.previous
        url = self.url.render(prev)
        headers = {k: v.render(prev) for k, v in self.headers.items()}
        body = self.payload.render_bytes(prev) if self.payload is not None else None
        try:
            timeout = self.client.request_timeout(self.timeout)
            resp = self.client.session.request(self.verb, url, headers=headers, data=body, timeout=timeout, stream=stream)
        except requests.RequestException as exc:
            return None, Verdict.RETRY, f"{self.verb} {url}: {exc}"
        verdict = self.policy.verdict(resp.status_code)
        if verdict is Verdict.SUCCESS:
            return resp, verdict, ""
        resp.close()
        return None, verdict, f"{self.verb} {url}: returned {resp.status_code}"

    def request(self, stopping: Stopping, stream: bool = False) -> requests.Response | None:
        """A successful response, None when the stream stopped; raises ``RequestFailed``."""
        pauses = RetryPauses(self.retry_period, self.max_backoff)
        problem = ""
        for attempt in range(self.retries + 1):
            if not self.client.wait_turn(stopping.wait):
                return None
            try:
                resp, verdict, problem = self._attempt(stream)
            except MappingError as exc:
                raise RequestFailed(f"http_client interpolation failed: {exc}") from exc
            if resp is not None:
                return resp
            if verdict is Verdict.FAIL or attempt == self.retries:
                break
            if stopping.wait(pauses.after(verdict)):
                return None
        raise RequestFailed(problem)

    # -- reading ---------------------------------------------------------------------------------

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        while not stopping.is_set():
            try:
                resp = self.request(stopping, stream=self.streaming)
            except RequestFailed as exc:
                self.log.error(f"http_client input request failed: {exc}")
                if stopping.wait(self.retry_period):
                    return
                continue
            if resp is None:
                return
            with resp:
                parts = self._stream_parts(resp) if self.streaming else iter([self._message_of(resp)])
                for msg in parts:
                    if not self._write(msg, deliver, stopping):
                        return
            if self.streaming and not self.reconnect:
                return

    def _message_of(self, resp: requests.Response) -> Message | None:
        body = resp.content
        if not body and self.drop_empty:
            return None
        meta: dict[str, Any] = {"http_status_code": resp.status_code}
        for name, value in resp.headers.items():
            if self._extracts(name.lower()):
                meta[name.lower()] = value
        return Message(body, meta)

    def _extracts(self, header: str) -> bool:
        by_prefix = bool(self.header_prefixes) and header.startswith(self.header_prefixes)
        return by_prefix or any(p.search(header) for p in self.header_patterns)

    def _stream_parts(self, resp: requests.Response) -> Iterator[Message | None]:
        """The messages the scanner cuts from a streamed body, None for one dropped as empty."""
        assert self.scanner is not None
        try:
            scanner = self.scanner(urlsplit(resp.url or "").path)
            for chunk in resp.iter_content(chunk_size=CHUNK):
                yield from map(self._kept, scanner.feed(chunk))
            yield from map(self._kept, scanner.end())
        except requests.RequestException as exc:
            self.log.warning(f"http_client input stream broke off: {exc}")
        except ScanError as exc:
            self.log.error(f"http_client input stream refused by its scanner: {exc}")

    def _kept(self, msg: Message) -> Message | None:
        empty = not msg.has_value and not msg.content
        return None if empty and self.drop_empty else msg

    def _write(self, msg: Message | None, deliver: Deliver, stopping: Stopping) -> bool:
        """Deliver until every output acknowledged (True), or False when the stream stops."""
        if msg is None:
            return True
        pause = 0.1
        while not deliver([msg.copy()]):
            if stopping.wait(pause):
                return False
            pause = min(pause * 2, RETRY_PAUSE_MAX)
        self.previous = msg
        return True

    def close(self) -> None:
        self.client.close()


def _factory(conf: dict[str, Any], res: Resources) -> HttpClientInput:
    return HttpClientInput(conf, res)


SPEC = registry.input(
    "http_client",
    _factory,
    Field("url", "string", doc="Where to send requests (interpolated against the previous message).", check=url_problems),
    Field("verb", "string", "GET", "HTTP method."),
    Field("headers", "object", {}, "Request headers (values interpolated)."),
    Field("metadata", "object", {}, "Accepted; outgoing metadata is not sent as headers by this input."),
    Field("payload", "string", "", "Request body (interpolated); empty sends none."),
    Field("drop_empty_bodies", "bool", True, "Drop empty response bodies."),
    Field(
        "stream",
        "object",
        {},
        "Streaming mode: one long request whose body is split into messages.",
        fields=(
            Field("enabled", "bool", False, "Read the response body as a stream."),
            Field("reconnect", "bool", True, "Request again when the body ends."),
            Field("scanner", "object", scanners.DEFAULT, "How the body is cut into messages (a Bento scanner)."),
            Field("codec", "string", "", "Deprecated: a Bento codec such as lines, delim:<text> or gzip/csv; wins over scanner."),
            Field("max_buffer", "int", 1_000_000, "Deprecated: longest message of a codec, in bytes."),
        ),
        check=stream_problems,
    ),
    Field(
        "extract_headers",
        "object",
        {},
        "Response headers kept as metadata.",
        fields=(
            Field("include_prefixes", "string_list", [], "Header name prefixes to keep."),
            Field("include_patterns", "string_list", [], "Header name regular expressions to keep."),
        ),
    ),
    Field("timeout", "duration", "5s", "Per-request timeout."),
    *RETRY_FIELDS,
    *client_fields(),
    Field("dump_request_log_level", "string", "", "Accepted and ignored."),
    Field("auto_replay_nacks", "bool", True, "Accepted; failed writes are always retried."),
    doc="Fetch messages from an HTTP endpoint.",
)
