"""``http_client`` output: send each message to a URL (webhooks).

Bento's rules (``internal/impl/io/output_http_client.go``, ``internal/httpclient``), through the
request building and attempts the ``http`` processor uses (``streams.httpclient.request``):
``url`` and header values are interpolated per message, ``Content-Type`` is
``application/octet-stream`` unless a header sets it, the metadata ``metadata`` selects goes out
as headers, and ``payload``, when set, is sent instead of the message (else the explicit
``multipart`` parts, when listed). A status is judged in Bento's order: ``drop_on`` fails at
once (no retry; the message is not dropped, its write fails), ``backoff_on`` retries with an
exponential pause (from ``retry_period`` up to ``max_retry_backoff``, ``http_outcome``),
``successful_on`` or 2xx succeeds, anything else retries after the current pause; ``retries``
retries at most follow the first attempt. A failure names the URL and the status as Bento does.
Messages of a batch go one after the other (the first failure fails the write), or as one ``multipart/form-data`` request with ``batch_as_multipart: true``.

With ``propagate_response: true`` the response becomes the reply of the push that carried the
messages (what a ``sync_response`` output would store): the body replaces the message (one
message per part of a ``multipart/*`` response) with ``http_status_code`` and the response
headers ``extract_headers`` selects as metadata. A write stores the responses of all its
messages, replacing what an earlier output of the pass stored.

``max_in_flight`` bounds the writes of one worker that run at once (pushes run side by side).
``batching`` is refused unless it keeps every message a batch of its own: the engine hands this
output the batches its input made. Authentication (``basic_auth``, ``oauth``, ``oauth2``,
``jwt``, ``digest_auth``), ``tls``, ``proxy_url``, ``rate_limit`` (waited for before each
attempt) and the ``transport`` block (how connections are made and kept,
``streams.httpclient.tuning``) are the shared HTTP client's (``streams.httpclient``);
``negotiate`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import gevent.lock

from streams import registry
from streams.bloblang import MappingError
from streams.connectors.http_url import url_problems
from streams.contracts import ConfigError, Output, OutputError, Transaction, WriteAbandoned
from streams.engine.resources import Resources
from streams.httpclient.config import build_client, client_fields
from streams.httpclient.request import (
    RETRY_FIELDS,
    MetadataFilter,
    Request,
    RequestFailed,
    Requests,
    Retrying,
    replies,
    send,
    timeout_of,
)
from streams.message import Message
from streams.processors.http_response import MultipartError
from streams.registry import Field

Problem = tuple[tuple[str | int, ...], str]


class HttpClientOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        checks = (("batching", batching_problems), ("max_in_flight", in_flight_problems), ("multipart", multipart_problems))
        for name, check in checks:
            for sub, problem in check(conf.get(name)):
                raise ConfigError(".".join([res.path, name, *(str(p) for p in sub)]) + f": {problem}")
        self.requests = Requests(conf, res)
        self.verb = str(conf["verb"]).upper()
        self.timeout = timeout_of(conf)
        self.retrying = Retrying.from_conf(conf)
        self.multipart = bool(conf["batch_as_multipart"])
        self.propagate = bool(conf["propagate_response"])
        self.extract = MetadataFilter(conf["extract_headers"])
        self.in_flight = gevent.lock.BoundedSemaphore(int(conf["max_in_flight"]))
        self.client = build_client(conf, res, self.timeout)

    def write(self, batch: list[Message], txn: Transaction) -> None:
        with self.in_flight:
            if txn.abandoned:
                raise WriteAbandoned("abandoned: the push timed out before its write started")
            if self.multipart and len(batch) > 1:
                responses = self._deliver(batch, partial(self.requests.multipart, batch), txn)
            else:
                responses = []
                for msg in batch:
                    responses += self._deliver([msg], partial(self.requests.single, msg), txn)
        if self.propagate:
            txn.response = responses

    def _deliver(self, batch: list[Message], request: Callable[[], Request], txn: Transaction) -> list[Message]:
        """The messages the response makes (only read with ``propagate_response``)."""
        try:
            resp = send(self.client, self.verb, request(), self.retrying, self.timeout, lambda: txn.abandoned)
            return replies(batch, resp, self.extract) if self.propagate else []
        except MappingError as exc:
            raise OutputError(f"http_client interpolation failed: {exc}") from exc
        except (RequestFailed, MultipartError) as exc:
            raise OutputError(str(exc)) from exc

    def close(self) -> None:
        self.client.close()


def batching_problems(value: Any) -> list[Problem]:
    """A batching policy that would group messages is refused: this output writes the batches
    its input makes (one message per push or record)."""
    if not isinstance(value, dict):
        return []
    refused = "batching is not supported by this gateway; each message is written as it comes"
    problems: list[Problem] = []
    if _number(value.get("count")) > 1:
        problems.append((("count",), refused))
    if _number(value.get("byte_size")) > 0:
        problems.append((("byte_size",), refused))
    for key in ("period", "check", "processors"):
        if value.get(key):
            problems.append(((key,), refused))
    return problems


PART_FIELDS = ("content_type", "content_disposition", "body")


def multipart_problems(value: Any) -> list[Problem]:
    """``multipart`` is a list of parts, each an object of interpolated strings."""
    if not isinstance(value, list):
        return [((), "expected a list of parts (content_type, content_disposition, body)")]
    problems: list[Problem] = []
    for i, part in enumerate(value):
        if not isinstance(part, dict):
            problems.append(((i,), "expected an object with content_type, content_disposition and body"))
            continue
        for key, item in part.items():
            if key not in PART_FIELDS:
                problems.append(((i, str(key)), "unknown field"))
            elif not isinstance(item, str):
                problems.append(((i, str(key)), "expected a string"))
    return problems


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 1.0  # not a number: refused as a policy that would batch


def in_flight_problems(value: Any) -> list[Problem]:
    return [((), "must be at least 1")] if isinstance(value, int) and not isinstance(value, bool) and value < 1 else []


def _factory(conf: dict[str, Any], res: Resources) -> HttpClientOutput:
    return HttpClientOutput(conf, res)


SPEC = registry.output(
    "http_client",
    _factory,
    Field("url", "string", doc="Where to send each message (interpolated).", check=url_problems),
    Field("verb", "string", "POST", "HTTP method."),
    Field("headers", "object", {}, "Request headers (values interpolated)."),
    Field("metadata", "object", {}, "include_prefixes / include_patterns: metadata sent as headers."),
    Field("payload", "string", "", "An interpolated body sent instead of the message."),
    Field("dump_request_log_level", "string", "", "Accepted; requests are not dumped."),
    Field(
        "multipart",
        "any",
        [],
        "Explicit multipart parts (content_type, content_disposition, body; interpolated) sent as the body.",
        check=multipart_problems,
    ),
    Field("timeout", "duration", "5s", "Per-request timeout (0: none)."),
    *RETRY_FIELDS,
    Field("max_in_flight", "int", 64, "Writes of one worker running at once.", check=in_flight_problems),
    Field("batch_as_multipart", "bool", False, "Send a batch as one multipart/form-data request."),
    Field("propagate_response", "bool", False, "The response becomes the push's synchronous reply."),
    Field(
        "extract_headers",
        "object",
        {},
        "include_prefixes / include_patterns: response headers kept as metadata of a propagated response.",
    ),
    *client_fields(),
    Field("batching", "object", {}, "Refused unless every message stays a batch of its own.", check=batching_problems),
    doc="Send messages to an HTTP endpoint.",
)
