"""The ``http`` processor against a real HTTP server on a loopback port (gevent's WSGI server,
in this process), and its status and retry rules alone (``http_outcome``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.pywsgi import WSGIServer

from streams.contracts import ConfigError, Transaction
from streams.message import Message
from streams.processors.http_outcome import Attempts, Next, StatusRules
from streams.processors.http_response import MultipartError, bodies
from tests.unit.processor_helpers import build, run

REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable"}


@dataclass
class Upstream:
    """What the server saw, and how it answers: ``/echo`` upper-cases the body, ``/status/N``
    answers N, ``/flaky/N`` fails N times with 503 then answers 200, ``/slow`` waits until
    ``release`` is set."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    most_in_flight: int = 0
    release: gevent.event.Event = field(default_factory=gevent.event.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        path = environ["PATH_INFO"]
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        self.requests.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": path,
                "query": environ.get("QUERY_STRING", ""),
                "headers": headers,
                "body": body,
            }
        )
        status, reply = 200, body.upper()
        if path.startswith("/status/"):
            status, reply = int(path.rsplit("/", 1)[1]), b"nope\nnope"
        elif path.startswith("/flaky/"):
            left = self.failures_left.setdefault(path, int(path.rsplit("/", 1)[1]))
            if left:
                self.failures_left[path] = left - 1
                status, reply = 503, b"later"
        elif path == "/slow":
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.release.wait(10)
            self.in_flight -= 1
        content_type = "text/plain"
        if path == "/multipart":
            content_type = "multipart/mixed; boundary=XX"
            reply = b"--XX\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--XX\r\n\r\nsecond\r\n\r\nlines\r\n--XX--\r\n"
        start_response(f"{status} {REASONS[status]}", [("Content-Type", content_type), ("X-Reply", "yes")])
        return [reply]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream()
    server = WSGIServer(("127.0.0.1", 0), state.app, log=None)
    server.start()
    state.port = server.server_port
    yield state
    server.stop(timeout=1)


def http(tmp_path: Path, **conf: Any) -> Any:
    return build({"http": conf}, tmp_path)


def test_the_response_replaces_the_message_and_metadata_is_kept(tmp_path: Path, upstream: Upstream) -> None:
    proc = http(tmp_path, url=upstream.url("/echo"), extract_headers={"include_prefixes": ["x-"]})
    [out] = run(proc, "hello", metadata={"user": "alice"})
    assert (out.content, out.error) == (b"HELLO", None)
    assert out.metadata == {"user": "alice", "http_status_code": 200, "x-reply": "yes"}
    [seen] = upstream.requests
    assert (seen["method"], seen["body"], seen["headers"]["content-type"]) == ("POST", b"hello", "application/octet-stream")


def test_url_headers_and_metadata_go_out_per_message(tmp_path: Path, upstream: Upstream) -> None:
    proc = http(
        tmp_path,
        url=upstream.url('/echo?id=${! json("id") }&user=${! meta("user") }'),
        verb="PUT",
        headers={"Content-Type": "application/json", "X-Id": '${! json("id") }'},
        metadata={"include_prefixes": ["trace-"]},
    )
    out = run(proc, '{"id":1}', '{"id":2}', metadata={"user": "bob", "trace-id": "t1", "secret": "s"})
    assert [m.content for m in out] == [b'{"ID":1}', b'{"ID":2}']
    assert [(r["method"], r["query"], r["headers"]["x-id"]) for r in upstream.requests] == [
        ("PUT", "id=1&user=bob", "1"),
        ("PUT", "id=2&user=bob", "2"),
    ]
    first = upstream.requests[0]["headers"]
    assert first["content-type"] == "application/json" and first["trace-id"] == "t1" and "secret" not in first


def test_an_interpolation_that_fails_is_named(tmp_path: Path, upstream: Upstream) -> None:
    [out] = run(http(tmp_path, url=upstream.url('/echo/${! json("a.b").uppercase() }')), '{"a":{}}')
    assert out.error and out.error.startswith("url interpolation error: ") and not upstream.requests
    [out] = run(http(tmp_path, url=upstream.url("/echo"), headers={"X-A": '${! json("n").number() }'}), '{"n":"x"}')
    assert out.error and out.error.startswith("header 'X-A' interpolation error: ")


def test_payload_replaces_the_body(tmp_path: Path, upstream: Upstream) -> None:
    [out] = run(http(tmp_path, url=upstream.url("/echo"), payload='${! json("name") }'), '{"name":"ann"}')
    assert out.content == b"ANN" and upstream.requests[0]["body"] == b"ann"


def test_a_failed_request_flags_the_message_with_bentos_text(tmp_path: Path, upstream: Upstream) -> None:
    url = upstream.url("/status/404")
    [out] = run(http(tmp_path, url=url, retries=2, retry_period="1ms"), "keep me", metadata={"k": "v"})
    assert out.content == b"keep me"
    assert out.error == f"{url}: HTTP request returned unexpected response code (404): 404 Not Found, Error: nopenope"
    assert out.metadata == {"k": "v", "http_status_code": 404}
    assert len(upstream.requests) == 3  # the first attempt and two retries


def test_drop_on_gives_up_at_once_and_successful_on_accepts(tmp_path: Path, upstream: Upstream) -> None:
    [dropped] = run(http(tmp_path, url=upstream.url("/status/404"), drop_on=[404], retry_period="1ms"), "x")
    assert dropped.error and len(upstream.requests) == 1
    [accepted] = run(http(tmp_path, url=upstream.url("/status/404"), successful_on=[404]), "x")
    assert (accepted.content, accepted.error, accepted.metadata["http_status_code"]) == (b"nope\nnope", None, 404)


def test_no_retry_once_nobody_waits_for_the_pass(tmp_path: Path, upstream: Upstream) -> None:
    txn = Transaction()
    txn.abandon()
    [out] = http(tmp_path, url=upstream.url("/flaky/2"), retries=3, retry_period="1ms").process([Message(b"x")], txn)
    assert out.error and len(upstream.requests) == 1


def test_retries_until_the_upstream_recovers(tmp_path: Path, upstream: Upstream) -> None:
    [out] = run(http(tmp_path, url=upstream.url("/flaky/2"), retries=3, retry_period="1ms"), "x")
    assert (out.content, out.error) == (b"X", None)
    assert len(upstream.requests) == 3


def test_no_response_at_all(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once this socket closes
    url = f"http://127.0.0.1:{port}/x"
    [out] = run(http(tmp_path, url=url, retries=0), "x")
    assert out.error == f'{url}: Post "{url}": dial tcp 127.0.0.1:{port}: connect: connection refused'
    assert "http_status_code" not in out.metadata


def test_a_timeout(tmp_path: Path, upstream: Upstream) -> None:
    [out] = run(http(tmp_path, url=upstream.url("/slow"), timeout="50ms", retries=0), "x")
    upstream.release.set()
    assert (
        out.error
        == f'{upstream.url("/slow")}: Post "{upstream.url("/slow")}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    )


def test_parallel_sends_the_batch_at_once(tmp_path: Path, upstream: Upstream) -> None:
    proc = http(tmp_path, url=upstream.url("/slow"), parallel=True, timeout="10s")
    running = gevent.spawn(run, proc, "a", "b", "c")
    deadline = gevent.Timeout(10)
    with deadline:
        while upstream.in_flight < 3:
            gevent.sleep(0.01)
    upstream.release.set()
    out = running.get(timeout=10)
    assert [m.content for m in out] == [b"A", b"B", b"C"]
    assert upstream.most_in_flight == 3


def test_serial_sends_one_after_the_other(tmp_path: Path, upstream: Upstream) -> None:
    upstream.release.set()
    out = run(http(tmp_path, url=upstream.url("/slow")), "a", "b")
    assert [m.content for m in out] == [b"A", b"B"] and upstream.most_in_flight == 1


def test_a_multipart_response_makes_one_message_per_part(tmp_path: Path, upstream: Upstream) -> None:
    out = run(http(tmp_path, url=upstream.url("/multipart")), "x", metadata={"k": "v"})
    assert [m.content for m in out] == [b"first", b"second\r\n\r\nlines"]
    assert [m.metadata for m in out] == [{"k": "v", "http_status_code": 200}] * 2
    # A batch of one is sent as Bento sends it whatever ``parallel`` says: every part comes back.
    assert len(run(http(tmp_path, url=upstream.url("/multipart"), parallel=True), "x")) == 2


def test_parallel_sends_expect_one_part_per_message(tmp_path: Path, upstream: Upstream) -> None:
    out = run(http(tmp_path, url=upstream.url("/multipart"), parallel=True), "x", "y")
    assert [(m.content, m.error) for m in out] == [(b"first", "unexpected response size: 2")] * 2


def test_multipart_bodies_as_go_reads_them() -> None:
    assert bodies("text/plain", b"a\r\n") == [b"a\r\n"]
    assert bodies('multipart/mixed; boundary="b"', b"--b\nH: 1\n\none\n--b\n\ntwo\n--b--") == [b"one", b"two"]
    assert bodies("multipart/mixed; boundary=b", b"--b--\r\n") == []
    with pytest.raises(MultipartError):
        bodies("multipart/mixed; boundary=b", b"--b\r\n\r\nno end")
    with pytest.raises(MultipartError):
        bodies("multipart/mixed", b"")


def test_options_the_gateway_does_not_implement_or_cannot_use_are_refused(tmp_path: Path) -> None:
    refused = {
        "negotiate": ({"negotiate": {"enabled": True}}, r"http\.negotiate\.enabled: not supported by this gateway"),
        "transport": (
            {"transport": {"expect_continue_timeout": "2s"}},
            r"http\.transport\.expect_continue_timeout: this gateway's HTTP client never waits for a 100 Continue",
        ),
        "token_url": ({"oauth2": {"enabled": True}}, r"http\.oauth2\.token_url: an http\(s\) URL of the token provider"),
        "jwt method": (
            {"jwt": {"enabled": True, "signing_method": "HS256"}},
            r"http\.jwt\.signing_method: jwt signing method 'HS256' not accepted",
        ),
        "jwt key": (
            {"jwt": {"enabled": True, "signing_method": "RS256", "private_key_file": str(tmp_path / "none.pem")}},
            r"http\.jwt\.private_key_file: failed to read private key",
        ),
        "proxy": ({"proxy_url": "ftp://proxy"}, r"http\.proxy_url: failed to parse proxy_url string"),
        "rate_limit": ({"rate_limit": "nope"}, r"http\.rate_limit: no rate_limit_resources entry labelled 'nope'"),
        "tls": (
            {"tls": {"enabled": True, "root_cas_file": "/no/ca.pem"}},
            r"http\.tls\.root_cas_file: file not found: /no/ca\.pem",
        ),
    }
    for conf, problem in refused.values():
        with pytest.raises(ConfigError, match=problem):
            http(tmp_path, url="http://x", **conf)


def test_basic_auth(tmp_path: Path, upstream: Upstream) -> None:
    run(http(tmp_path, url=upstream.url("/echo"), basic_auth={"enabled": True, "username": "u", "password": "p"}), "x")
    assert upstream.requests[0]["headers"]["authorization"] == "Basic dTpw"


def rules() -> StatusRules:
    return StatusRules(successful_on=frozenset({304}), drop_on=frozenset({400}), backoff_on=frozenset({429}))


def test_statuses_decide_success_retry_or_giving_up() -> None:
    assert Attempts(rules(), 3, 1.0, 10.0).after_status(200) is Next.DONE
    assert Attempts(rules(), 3, 1.0, 10.0).after_status(304) is Next.DONE
    assert Attempts(rules(), 3, 1.0, 10.0).after_status(400) is Next.GIVE_UP
    attempts = Attempts(rules(), 3, 1.0, 10.0)
    assert attempts.after_status(500) is Next.RETRY and attempts.wait == 1.0


def test_backoff_doubles_up_to_the_limit_and_retries_run_out() -> None:
    attempts = Attempts(rules(), 4, 1.0, 3.0)
    waits = []
    for _ in range(4):
        assert attempts.after_status(429) is Next.RETRY
        waits.append(attempts.wait)
    assert waits == [1.0, 2.0, 3.0, 3.0]
    assert attempts.after_status(429) is Next.GIVE_UP


def test_the_backoff_period_is_shared_by_the_retries_of_a_request() -> None:
    """Bento's throttle: a backoff retry after an earlier retry doubles the one period, and a
    later linear retry waits that doubled period too."""
    attempts = Attempts(rules(), 5, 1.0, 10.0)
    waits = []
    for status in (500, 429, 500, 429):
        assert attempts.after_status(status) is Next.RETRY
        waits.append(attempts.wait)
    assert waits == [1.0, 2.0, 2.0, 4.0]


def test_a_retry_period_above_the_backoff_limit_is_kept() -> None:
    attempts = Attempts(rules(), 3, 5.0, 2.0)
    waits = []
    for _ in range(3):
        assert attempts.after_status(429) is Next.RETRY
        waits.append(attempts.wait)
    assert waits == [5.0, 5.0, 5.0]


def test_no_response_is_retried_linearly() -> None:
    attempts = Attempts(rules(), 1, 0.5, 10.0)
    assert (attempts.after_failure(), attempts.wait) == (Next.RETRY, 0.5)
    assert attempts.after_failure() is Next.GIVE_UP
