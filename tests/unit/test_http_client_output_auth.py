"""The ``http_client`` output's client settings (the shared ``streams.httpclient`` config)
against real servers on loopback ports: the same checks as the ``http`` processor's, through
the output's write path."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from streams.contracts import Output, OutputError, Transaction
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.testing import make_settings
from streams.httpclient import digest
from streams.message import Message
from tests.http_auth_server import AuthServer, ForwardProxy, Seen, digest_valid, multipart_parts, serve
from tests.tls_certs import Certificates


def output(tmp_path: Path, **conf: Any) -> Output:
    settings = make_settings(str(tmp_path))
    res = Resources(settings, "api", "s", "streams.s", WorkerServices(settings, StreamLog()), BUILDER)
    return BUILDER.output({"http_client": {"retries": 0, **conf}}, res, "streams.s.output")


def write(out: Output, *payloads: str) -> None:
    out.write([Message(p.encode()) for p in payloads], Transaction())


def test_digest_auth_on_the_output(tmp_path: Path, servers: list[Any]) -> None:
    ch = digest.Challenge("out", "nonce-1", "SHA-256", "auth", "op")
    server = serve(servers, AuthServer(digest=ch))
    server.check = lambda seen: digest_valid(seen, ch, "pw")
    write(output(tmp_path, url=server.url("/hook"), digest_auth={"enabled": True, "username": "u", "password": "pw"}), "a", "b")
    assert [s.body for s in server.requests] == [b"a", b"a", b"b"]  # the first one was challenged
    with pytest.raises(OutputError, match=r"returned unexpected response code \(401\): 401 Unauthorized"):
        write(output(tmp_path, url=server.url("/hook"), digest_auth={"enabled": True, "username": "u", "password": "no"}), "c")


def test_jwt_through_a_proxy_on_the_output(tmp_path: Path, servers: list[Any]) -> None:
    key = rsa.generate_private_key(65537, 2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    (tmp_path / "key.pem").write_bytes(pem)  # PKCS#1

    def check(seen: Seen) -> bool:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        return jwt.decode(token, key.public_key(), algorithms=["RS512"]) == {"iss": "streams"}

    server = serve(servers, AuthServer(check=check))
    proxy = serve(servers, ForwardProxy())
    conf = {"enabled": True, "private_key_file": "key.pem", "signing_method": "RS512", "claims": {"iss": "streams"}}
    write(output(tmp_path, url=server.url("/hook"), jwt=conf, proxy_url=proxy.url), "a")
    assert [s.body for s in server.requests] == [b"a"] and proxy.urls == [server.url("/hook")]


def test_oauth2_over_mutual_tls_on_the_output(tmp_path: Path, servers: list[Any], tls_certificates: Certificates) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tls_certificates.server_cert), str(tls_certificates.server_key))
    ctx.load_verify_locations(str(tls_certificates.ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = serve(servers, AuthServer(context=ctx))
    server.check = lambda seen: bool(re.fullmatch(r"Bearer token-1", seen.headers.get("authorization", "")))
    tls = {
        "enabled": True,
        "root_cas_file": str(tls_certificates.ca),
        "client_certs": [{"cert": tls_certificates.client_cert.read_text(), "key": tls_certificates.client_key.read_text()}],
    }
    oauth2 = {"enabled": True, "client_key": "key", "client_secret": "secret", "token_url": server.url("/token")}
    write(output(tmp_path, url=server.url("/hook"), tls=tls, oauth2=oauth2), "a", "b")
    assert [s.body for s in server.requests] == [b"a", b"b"] and server.token.issued == 1


def test_batch_as_multipart_on_the_output(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer())
    out = output(
        tmp_path, url=server.url('/hook/${! meta("k") }'), batch_as_multipart=True, headers={"Content-Type": '${! meta("t") }'}
    )
    out.write(
        [Message(b"one", {"k": "a", "t": "text/plain"}), Message(b"{}", {"k": "b", "t": "application/json"})], Transaction()
    )
    write(out, "single")
    multi, single = server.requests
    assert multi.path == "/hook/a" and multi.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert [(p["Content-Type"], p.get_payload(decode=True)) for p in multipart_parts(multi)] == [
        ("text/plain", b"one"),
        ("application/json", b"{}"),
    ]
    assert single.body == b"single"
