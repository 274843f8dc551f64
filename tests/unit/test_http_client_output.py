"""The ``http_client`` output against a real HTTP server on a loopback port (gevent's WSGI
server, in this process): metadata as headers, the status rules and their retries, the
propagated response, ``max_in_flight`` and the refused ``batching``; and a push through a
stream whose output propagates the upstream's answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import pytest

from streams.contracts import ConfigError, Output, OutputError, Transaction
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.testing import make_settings, push
from streams.message import Message
from tests.stalled_ports import unanswered_port
from tests.webhook import Endpoint, Reply

REASONS = {200: "OK", 201: "Created", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests", 503: "Service Unavailable"}


class Upstream:
    """Answers each request with the next of ``statuses`` (the last one once they run out) and
    echoes the body upper-cased; records each request's headers."""

    def __init__(self, *statuses: int, headers: list[tuple[str, str]] | None = None) -> None:
        self.statuses = list(statuses) or [200]
        self.reply_headers = headers or []
        self.headers: list[dict[str, str]] = []
        self.ports: list[int] = []
        self.endpoint = Endpoint(self.answer)
        self.url = self.endpoint.url + "/hook"

    def answer(self, n: int, environ: dict[str, Any]) -> Reply:
        seen = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        seen["content-type"] = environ.get("CONTENT_TYPE", "")
        self.headers.append(seen)
        self.ports.append(int(environ["REMOTE_PORT"]))
        status = self.statuses[min(n, len(self.statuses) - 1)]
        body = self.endpoint.requests[n][3].upper()
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *self.reply_headers]
        return f"{status} {REASONS[status]}", headers, [body]

    @property
    def bodies(self) -> list[bytes]:
        return [r[3] for r in self.endpoint.requests]


@pytest.fixture
def upstreams() -> Iterator[list[Upstream]]:
    started: list[Upstream] = []
    yield started
    for up in started:
        up.endpoint.stop()


def upstream(started: list[Upstream], *statuses: int, headers: list[tuple[str, str]] | None = None) -> Upstream:
    up = Upstream(*statuses, headers=headers)
    started.append(up)
    return up


def output(tmp_path: Path, **conf: Any) -> Output:
    settings = make_settings(str(tmp_path))
    res = Resources(settings, "api", "s", "streams.s", WorkerServices(settings, StreamLog()), BUILDER)
    return BUILDER.output({"http_client": {"retry_period": "1ms", **conf}}, res, "streams.s.output")


def msg(content: str, **meta: Any) -> Message:
    m = Message(content.encode())
    m.metadata.update(meta)
    return m


def test_metadata_selected_by_prefix_or_pattern_goes_out_as_headers(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    out = output(tmp_path, url=up.url, metadata={"include_prefixes": ["x-"], "include_patterns": ["^trace"]})
    out.write([msg("a", **{"x-user": "ann", "traceid": 7, "other": "no"})], Transaction())
    seen = up.headers[0]
    assert (seen["x-user"], seen["traceid"], "other" in seen) == ("ann", "7", False)
    assert seen["content-type"] == "application/octet-stream"


def test_no_metadata_goes_out_by_default(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    output(tmp_path, url=up.url).write([msg("a", **{"x-user": "ann"})], Transaction())
    assert "x-user" not in up.headers[0]


def test_payload_is_sent_instead_of_the_message(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    out = output(tmp_path, url=up.url, payload='${! content().uppercase() }-${! meta("n") }', dump_request_log_level="DEBUG")
    out.write([msg("a", n="1")], Transaction())
    assert up.bodies == [b"A-1"]


def test_a_payload_over_a_multipart_batch_sees_the_whole_batch(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    out = output(tmp_path, url=up.url, batch_as_multipart=True, payload="${! content() } of ${! batch_size() }")
    out.write([msg("a"), msg("b")], Transaction())
    assert up.bodies == [b"a of 2"]


def test_explicit_multipart_parts_make_the_body(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    parts = [
        {"content_type": "application/json", "content_disposition": 'form-data; name="doc"', "body": "${! content() }"},
        {"content_type": "text/plain", "content_disposition": 'form-data; name="f"; filename="${! meta("f") }"', "body": "x"},
    ]
    output(tmp_path, url=up.url, multipart=parts).write([msg('{"a":1}', f="a.txt")], Transaction())
    kind = up.headers[0]["content-type"]
    assert kind.startswith("multipart/form-data; boundary=")
    mark = b"--" + kind.split("boundary=", 1)[1].encode()
    expected = [
        mark + b'\r\nContent-Disposition: form-data; name="doc"\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n',
        mark + b'\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nx\r\n',
        mark + b"--\r\n",
    ]
    assert up.bodies == [b"".join(expected)]


def test_drop_on_fails_at_once_without_retries(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 409, 200)
    with pytest.raises(OutputError) as err:
        output(tmp_path, url=up.url, retries=3, drop_on=[409]).write([msg("a")], Transaction())
    assert str(err.value) == f"{up.url}: HTTP request returned unexpected response code (409): 409 Conflict, Error: A"
    assert up.bodies == [b"a"]


def test_drop_on_wins_over_successful_on(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 201)
    with pytest.raises(OutputError, match=r"\(201\)"):
        output(tmp_path, url=up.url, drop_on=[201], successful_on=[201]).write([msg("a")], Transaction())
    assert len(up.bodies) == 1


def test_backoff_on_is_retried_and_wins_over_successful_on(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 429, 429, 200)
    output(tmp_path, url=up.url, retries=3, successful_on=[429], max_retry_backoff="4ms").write([msg("a")], Transaction())
    assert up.bodies == [b"a", b"a", b"a"]


def test_successful_on_accepts_a_status_outside_2xx(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 404)
    output(tmp_path, url=up.url, successful_on=[404]).write([msg("a")], Transaction())
    assert up.bodies == [b"a"]


def test_other_statuses_are_retried_until_retries_run_out(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 503)
    with pytest.raises(OutputError, match=r"returned unexpected response code \(503\): 503 Service Unavailable"):
        output(tmp_path, url=up.url, retries=2).write([msg("a")], Transaction())
    assert up.bodies == [b"a"] * 3


def test_a_429_that_is_not_in_backoff_on_is_retried_linearly_too(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 429, 200)
    output(tmp_path, url=up.url, retries=1, backoff_on=[]).write([msg("a")], Transaction())
    assert up.bodies == [b"a", b"a"]


def test_the_first_failing_message_of_a_batch_fails_the_write(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 200, 409, 200)
    with pytest.raises(OutputError, match=r"\(409\)"):
        output(tmp_path, url=up.url, drop_on=[409]).write([msg("a"), msg("b"), msg("c")], Transaction())
    assert up.bodies == [b"a", b"b"]


def test_without_propagate_response_no_reply_is_stored(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    txn = Transaction()
    output(tmp_path, url=up.url).write([msg("a")], txn)
    assert txn.response is None


def test_propagate_response_stores_the_upstreams_answer(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 201, headers=[("X-Upstream-Id", "42"), ("X-Other", "no")])
    txn = Transaction()
    out = output(tmp_path, url=up.url, propagate_response=True, extract_headers={"include_prefixes": ["x-upstream"]})
    out.write([msg("a", kept="yes"), msg("b")], txn)
    assert txn.response is not None
    assert [m.content for m in txn.response] == [b"A", b"B"]
    first = txn.response[0].metadata
    assert (first["http_status_code"], first["x-upstream-id"], first["kept"], "x-other" in first) == (201, "42", "yes", False)


def test_propagate_response_of_a_multipart_batch_splits_the_answer(tmp_path: Path, upstreams: list[Upstream]) -> None:
    reply = b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b\r\n\r\nthree\r\n--b--\r\n"

    def answer(n: int, environ: dict[str, Any]) -> Reply:
        return "200 OK", [("Content-Type", "multipart/mixed; boundary=b")], [reply]

    endpoint = Endpoint(answer)
    try:
        txn = Transaction()
        out = output(tmp_path, url=endpoint.url, propagate_response=True, batch_as_multipart=True)
        out.write([msg("a", n=1), msg("b", n=2)], txn)
    finally:
        endpoint.stop()
    assert len(endpoint.requests) == 1
    assert txn.response is not None
    assert [(m.content, m.metadata["n"]) for m in txn.response] == [(b"one", 1), (b"two", 2), (b"three", 1)]


def test_max_in_flight_bounds_the_writes_running_at_once(tmp_path: Path) -> None:
    release = gevent.event.Event()
    state = {"now": 0, "most": 0}

    def answer(n: int, environ: dict[str, Any]) -> Reply:
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        release.wait()
        state["now"] -= 1
        return "200 OK", [("Content-Length", "0")], [b""]

    endpoint = Endpoint(answer)
    try:
        out = output(tmp_path, url=endpoint.url, max_in_flight=2, timeout="30s")
        writes = [gevent.spawn(out.write, [msg(str(i))], Transaction()) for i in range(5)]
        while state["now"] < 2:
            gevent.sleep(0.01)
        gevent.sleep(0.2)  # room for a third request, were it allowed
        assert state["now"] == 2
        release.set()
        gevent.joinall(writes, timeout=30, raise_error=True)
    finally:
        release.set()
        endpoint.stop()
    assert (len(endpoint.requests), state["most"]) == (5, 2)


def test_an_abandoned_write_waiting_for_its_turn_sends_nothing(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    txn = Transaction()
    txn.abandon()
    with pytest.raises(OutputError, match="abandoned"):
        output(tmp_path, url=up.url).write([msg("a")], txn)
    assert up.bodies == []


@pytest.mark.parametrize(("transport", "connections"), [({}, 1), ({"idle_connection_timeout": "1ns"}, 2)])
def test_transport_idle_connection_timeout_closes_a_connection_idle_for_longer(
    tmp_path: Path, upstreams: list[Upstream], transport: dict[str, Any], connections: int
) -> None:
    """Two writes share one kept connection, unless it stayed idle longer than the timeout."""
    up = upstream(upstreams)
    out = output(tmp_path, url=up.url, transport=transport)
    out.write([msg("a")], Transaction())
    out.write([msg("b")], Transaction())
    assert len(up.ports) == 2 and len(set(up.ports)) == connections


def test_transport_dial_timeout_fails_the_write_with_gos_text(tmp_path: Path) -> None:
    """A dialer that gives up before the request's timeout fails as Go's dial does."""
    with unanswered_port() as port:
        url = f"http://127.0.0.1:{port}/hook"
        out = output(tmp_path, url=url, retries=0, timeout="60s", transport={"dial_context": {"timeout": "200ms"}})
        with pytest.raises(OutputError) as err:
            out.write([msg("a")], Transaction())
    assert str(err.value) == f'{url}: Post "{url}": dial tcp 127.0.0.1:{port}: i/o timeout'


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        ({"batching": {"count": 10}}, "streams.s.output.http_client.batching.count: batching is not supported"),
        ({"batching": {"period": "1s"}}, "streams.s.output.http_client.batching.period: batching is not supported"),
        ({"batching": {"byte_size": 100}}, "streams.s.output.http_client.batching.byte_size: batching is not supported"),
        ({"batching": {"processors": [{"archive": {}}]}}, "streams.s.output.http_client.batching.processors: batching is not"),
        ({"max_in_flight": 0}, "streams.s.output.http_client.max_in_flight: must be at least 1"),
        ({"multipart": [{"body": "x", "name": "y"}]}, "streams.s.output.http_client.multipart.0.name: unknown field"),
        (
            {"transport": {"expect_continue_timeout": "2s"}},
            "streams.s.output.http_client.transport.expect_continue_timeout: this gateway's HTTP client never waits",
        ),
    ],
)
def test_what_cannot_be_honoured_is_refused_when_built(tmp_path: Path, conf: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace(".", r"\.")):
        output(tmp_path, url="http://127.0.0.1:9/", **conf)


def test_a_batching_policy_that_keeps_messages_apart_is_accepted(tmp_path: Path, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams)
    out = output(tmp_path, url=up.url, batching={"count": 1, "byte_size": 0, "period": "", "check": ""})
    out.write([msg("a")], Transaction())
    assert up.bodies == [b"a"]


def test_a_push_answers_with_the_propagated_response(tmp_path: Any, gateways: Any, upstreams: list[Upstream]) -> None:
    up = upstream(upstreams, 201, headers=[("X-Upstream-Id", "42")])
    stream = {
        "input": {
            "http_server": {
                "path": "/in",
                "sync_response": {
                    "status": '${! meta("http_status_code") }',
                    "metadata_headers": {"include_prefixes": ["x-upstream"]},
                },
            }
        },
        "output": {
            "http_client": {
                "url": up.url,
                "propagate_response": True,
                "extract_headers": {"include_prefixes": ["x-upstream"]},
            }
        },
    }
    _, api = gateways(tmp_path, {"s": stream})
    (result,) = push(api, "s", [b"hello"])
    assert (result.status, result.body, result.headers.get("x-upstream-id")) == (201, b"HELLO", "42")
    assert up.bodies == [b"hello"]
