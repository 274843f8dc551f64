"""The ``http`` processor's ``transport`` block against real servers on loopback: idle
connections kept per host and in all, the idle timeout, TCP keep-alive options, the dial and TLS
handshake timeouts (each failing with Go's text), HTTPS through the tuned connections, and what
is refused at load."""

from __future__ import annotations

import logging
import socket
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import pytest
from gevent.pywsgi import WSGIServer

from streams.definitions import load_text
from tests.stalled_ports import unanswered_port
from tests.tls_certs import Certificates, make_certificates, openssl_available
from tests.unit.processor_helpers import build, run


@dataclass
class Counting:
    """A server that records each request's client port and answers ``ok``; ``together`` requests
    are held until that many are in flight, so a parallel batch needs that many connections."""

    together: int = 1
    ports: list[int] = field(default_factory=list)
    waiting: list[gevent.event.Event] = field(default_factory=list)

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        self.ports.append(int(environ["REMOTE_PORT"]))
        arrived = gevent.event.Event()
        self.waiting.append(arrived)
        if len(self.waiting) >= self.together:
            for event in self.waiting:
                event.set()
            self.waiting.clear()
        arrived.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]


@pytest.fixture
def counting() -> Iterator[tuple[Counting, str]]:
    state = Counting()
    server = WSGIServer(("127.0.0.1", 0), state.app, log=None)
    server.start()
    yield state, f"http://127.0.0.1:{server.server_port}/x"
    server.stop(timeout=1)


def http(tmp_path: Path, **conf: Any) -> Any:
    return build({"http": conf}, tmp_path)


def connections_over_two_parallel_batches(tmp_path: Path, counting: tuple[Counting, str], transport: dict[str, Any]) -> int:
    """Distinct connections two batches of three parallel requests used."""
    state, url = counting
    state.together = 3
    proc = http(tmp_path, url=url, parallel=True, transport=transport)
    for _ in range(2):
        assert [m.content for m in run(proc, "a", "b", "c")] == [b"ok"] * 3
    return len(set(state.ports))


def test_two_idle_connections_per_host_are_kept_by_default(tmp_path: Path, counting: tuple[Counting, str]) -> None:
    """As Go's transport: the second batch reuses two of the first batch's three connections."""
    assert connections_over_two_parallel_batches(tmp_path, counting, {}) == 4


def test_max_idle_connections_bounds_the_connections_kept(tmp_path: Path, counting: tuple[Counting, str]) -> None:
    assert connections_over_two_parallel_batches(tmp_path, counting, {"max_idle_connections": 1}) == 5


def test_max_idle_connections_zero_keeps_the_per_host_limit(tmp_path: Path, counting: tuple[Counting, str]) -> None:
    assert connections_over_two_parallel_batches(tmp_path, counting, {"max_idle_connections": 0}) == 4


def test_a_connection_beyond_the_idle_ones_kept_is_closed_without_a_warning(
    tmp_path: Path, counting: tuple[Counting, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Go closes the third connection of a parallel batch quietly; urllib3 would warn of a full pool."""
    caplog.set_level(logging.WARNING)
    assert connections_over_two_parallel_batches(tmp_path, counting, {}) == 4
    assert [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")] == []


@pytest.mark.parametrize(("transport", "connections"), [({}, 1), ({"idle_connection_timeout": "1ns"}, 2)])
def test_idle_connection_timeout_closes_a_connection_idle_for_longer(
    tmp_path: Path, counting: tuple[Counting, str], transport: dict[str, Any], connections: int
) -> None:
    state, url = counting
    proc = http(tmp_path, url=url, transport=transport)
    run(proc, "a")
    run(proc, "b")
    assert len(state.ports) == 2 and len(set(state.ports)) == connections


def pooled_sockets(proc: Any, url: str) -> list[socket.socket]:
    """The sockets of the connections idle in the processor's pools."""
    pools = proc.client.session.get_adapter(url).poolmanager.pools
    conns = [conn for key in pools.keys() for conn in list(pools[key].pool.queue)]
    return [conn.sock for conn in conns if conn is not None and conn.sock is not None]


@pytest.mark.parametrize(
    ("keep_alive", "expected"),
    [("7s", (1, 7, 7)), ("0s", (1, 15, 15)), ("-1s", (0, None, None))],
)
def test_dial_context_keep_alive_sets_tcp_keep_alive(
    tmp_path: Path, counting: tuple[Counting, str], keep_alive: str, expected: tuple[int, int | None, int | None]
) -> None:
    """The period is Go's: 0 means 15s, a negative one turns the probes off."""
    _, url = counting
    proc = http(tmp_path, url=url, transport={"dial_context": {"keep_alive": keep_alive}})
    run(proc, "a")
    [sock] = pooled_sockets(proc, url)
    enabled = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) if enabled else None
    interval = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) if enabled else None
    assert (min(enabled, 1), idle, interval) == expected


@pytest.fixture
def unanswered() -> Iterator[int]:
    """A port where connecting waits until the client gives up."""
    with unanswered_port() as port:
        yield port


@pytest.fixture
def silent() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (no TLS handshake)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_dial_context_timeout_gives_up_connecting_with_gos_text(tmp_path: Path, unanswered: int) -> None:
    url = f"http://127.0.0.1:{unanswered}/x"
    proc = http(tmp_path, url=url, retries=0, timeout="60s", transport={"dial_context": {"timeout": "200ms"}})
    [out] = run(proc, "x")
    assert out.error == f'{url}: Post "{url}": dial tcp 127.0.0.1:{unanswered}: i/o timeout'


def test_tls_handshake_timeout_gives_up_on_a_silent_server_with_gos_text(tmp_path: Path, silent: int) -> None:
    url = f"https://127.0.0.1:{silent}/x"
    proc = http(tmp_path, url=url, retries=0, timeout="60s", transport={"tls_handshake_timeout": "200ms"})
    [out] = run(proc, "x")
    assert out.error == f'{url}: Post "{url}": net/http: TLS handshake timeout'


@pytest.mark.skipif(not openssl_available(), reason="openssl is needed to make test certificates")
def test_https_goes_through_the_tuned_connections_and_they_are_reused(tmp_path: Path) -> None:
    certs: Certificates = make_certificates(tmp_path / "certs")
    state = Counting()
    server = WSGIServer(("127.0.0.1", 0), state.app, log=None, certfile=str(certs.server_cert), keyfile=str(certs.server_key))
    server.start()
    try:
        url = f"https://localhost:{server.server_port}/x"
        tls = {"enabled": True, "root_cas_file": str(certs.ca)}
        proc = http(tmp_path, url=url, tls=tls, transport={"tls_handshake_timeout": "5s"})
        assert [m.content for m in run(proc, "a") + run(proc, "b")] == [b"ok", b"ok"]
    finally:
        server.stop(timeout=1)
    assert len(state.ports) == 2 and len(set(state.ports)) == 1


def definition(transport: str) -> str:
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: 1.0.0}\npaths: {}\n"
        "x-tyk-streaming:\n  streams:\n    m:\n      input:\n        http_server: {}\n"
        "      pipeline:\n        processors:\n          - http:\n              url: http://h/x\n"
        "              transport:\n"
        + textwrap.indent(textwrap.dedent(transport), "                ")
        + "      output:\n        drop: {}\n"
        "x-tyk-api-gateway:\n  info: {name: t, state: {active: true}}\n"
        "  server: {listenPath: {value: /t/, strip: true}}\n"
    )


def test_bentos_transport_block_is_accepted_at_load() -> None:
    block = """\
        dial_context: {timeout: 5s, keep_alive: 10s}
        force_http2: false
        max_idle_connections: 10
        idle_connection_timeout: 30s
        tls_handshake_timeout: 3s
        expect_continue_timeout: 0s
        """
    api, problems = load_text(definition(block), "t.yaml")
    assert problems == [] and api is not None


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (
            "expect_continue_timeout: 2s\n",
            "http.transport.expect_continue_timeout: this gateway's HTTP client never waits for a 100 Continue",
        ),
        ("max_idle_connections: -1\n", "http.transport.max_idle_connections: must be 0 (no limit) or more, not -1"),
        (
            "dial_context: {timeout: soon}\n",
            "http.transport.dial_context.timeout: invalid duration 'soon' (expected e.g. 5s, 100ms, 1m30s)",
        ),
        (
            "dial_context: {deadline: 1s}\n",
            "http.transport.dial_context.deadline: unknown field (expected timeout or keep_alive)",
        ),
        ("dial_timeout: 5s\n", "http.transport.dial_timeout: unknown field"),
    ],
)
def test_a_transport_block_this_client_cannot_honour_is_refused_at_load(block: str, problem: str) -> None:
    api, problems = load_text(definition(block), "t.yaml")
    assert api is None
    assert len(problems) == 1 and problem in str(problems[0]), problems
