"""``tls.enable_renegotiation`` against a real TLS 1.2 server (``openssl s_server``) that asks the
client to renegotiate: followed when enabled, and the connection fails when not (Go's default,
which Bento keeps)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.tls import Tls, ssl_context, tls_from_config
from tests.e2e.server import free_port
from tests.tls_certs import Certificates


@pytest.fixture()
def server(tls_certificates: Certificates) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``s_server`` renegotiates when its stdin gets ``r``, and sends any other line it reads."""
    port = free_port()
    proc = subprocess.Popen(
        ["openssl", "s_server", "-tls1_2", "-accept", str(port), "-cert", str(tls_certificates.server_cert),
         "-key", str(tls_certificates.server_key)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    # s_server says ACCEPT once it listens (a probe connection would become its first session).
    lines = [proc.stdout.readline().strip() for _ in range(2)]
    assert b"ACCEPT" in lines, f"openssl s_server did not start: {lines}"
    yield port, proc
    proc.kill()
    proc.wait(5)


def _read_after_renegotiation(port: int, proc: subprocess.Popen[bytes], tls: Tls) -> bytes:
    """Ask for a renegotiation, then send a line a second later; the client reads meanwhile, so it
    meets the request before any data."""
    assert proc.stdin is not None
    stdin = proc.stdin

    def send(line: bytes) -> None:
        stdin.write(line)
        stdin.flush()

    ctx = ssl_context(tls)
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost") as conn:
        send(b"r\n")
        later = threading.Timer(1.0, send, (b"after\n",))
        later.start()
        try:
            return conn.recv(100)
        finally:
            later.join()


def test_a_renegotiation_request_fails_the_connection_by_default(tls_certificates: Certificates, server: tuple[int, subprocess.Popen[bytes]]) -> None:
    tls = tls_from_config({"enabled": True, "root_cas_file": str(tls_certificates.ca)})
    assert tls.enable_renegotiation is False
    with pytest.raises(ssl.SSLError):
        _read_after_renegotiation(*server, tls)


def test_enable_renegotiation_follows_the_servers_request(tls_certificates: Certificates, server: tuple[int, subprocess.Popen[bytes]]) -> None:
    tls = tls_from_config({"enabled": True, "root_cas_file": str(tls_certificates.ca), "enable_renegotiation": True})
    assert _read_after_renegotiation(*server, tls) == b"after\n"


def test_the_setting_is_part_of_the_cached_context_key(tls_certificates: Certificates, tmp_path: Path) -> None:
    plain = tls_from_config({"enabled": True, "root_cas_file": str(tls_certificates.ca)})
    renegotiating = tls_from_config({"enabled": True, "root_cas_file": str(tls_certificates.ca), "enable_renegotiation": True})
    assert ssl_context(plain).options & ssl.OP_NO_RENEGOTIATION
    assert not ssl_context(renegotiating).options & ssl.OP_NO_RENEGOTIATION
