"""The ``http`` processor's client settings against real servers on loopback ports
(``tests.http_auth_server``): each server checks the ``Authorization`` header the way a real
one would (recomputing the OAuth 1 signature, verifying the JWT with the public key, issuing and
checking OAuth 2 tokens and digest challenges), serves HTTPS with a test CA (requiring a client
certificate when asked), forwards as a proxy, and reads multipart bodies."""

from __future__ import annotations

import hashlib
import hmac
import re
import ssl
from base64 import b64encode
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import gevent
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from streams.contracts import ConfigError, Transaction
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.ratelimit import LocalLimit
from streams.engine.resources import Resources, StreamScope
from streams.engine.services import WorkerServices
from streams.engine.testing import make_settings
from streams.httpclient import digest
from streams.message import Message
from tests.http_auth_server import AuthServer, ForwardProxy, Seen, Token, digest_valid, multipart_parts, serve
from tests.tls_certs import Certificates
from tests.unit.processor_helpers import build, run


def http(tmp_path: Path, **conf: Any) -> Any:
    return build({"http": conf}, tmp_path)


# -- OAuth 1 ----------------------------------------------------------------------------------


def oauth1_valid(seen: Seen, url: str) -> bool:
    """The server's own check: the signature recomputed from the header's parameters."""
    params = {k: unquote_plus(v) for k, v in re.findall(r'(\w+)="([^"]*)"', seen.headers.get("authorization", ""))}
    given = params.pop("oauth_signature", "")
    if params.get("oauth_consumer_key") != "ck" or params.get("oauth_token") != "at":
        return False
    esc = lambda s: quote_plus(s, safe="~")  # noqa: E731
    encoded = "&".join(f"{esc(k)}={esc(params[k])}" for k in sorted(params))
    base = f"{seen.method}&{esc(url)}&{esc(encoded)}"
    expected = b64encode(hmac.new(b"cs&ats", base.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(given, expected)


def test_oauth1_signs_each_request(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer())
    server.check = lambda seen: oauth1_valid(seen, server.url("/items?page=1"))
    conf = {"enabled": True, "consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}
    out = run(http(tmp_path, url=server.url("/items?page=1"), oauth=conf, retries=0), "one", "two")
    assert [(m.content, m.error) for m in out] == [(b"ONE", None), (b"TWO", None)]
    wrong = run(http(tmp_path, url=server.url("/items?page=1"), oauth={**conf, "consumer_secret": "x"}, retries=0), "three")
    assert wrong[0].metadata["http_status_code"] == 401


# -- OAuth 2 ----------------------------------------------------------------------------------


def oauth2_conf(server: AuthServer, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "client_key": "key", "client_secret": "secret", "token_url": server.url("/token"), **extra}


def test_oauth2_fetches_a_token_once_and_sends_it_as_bearer(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer(check=lambda seen: seen.headers.get("authorization") == "Bearer token-1"))
    conf = oauth2_conf(server, scopes=["read", "write"], endpoint_params={"audience": ["api"]})
    out = run(http(tmp_path, url=server.url("/x"), oauth2=conf, retries=0), "a", "b", "c")
    assert [(m.content, m.error) for m in out] == [(b"A", None), (b"B", None), (b"C", None)]
    [asked] = server.token_requests
    form = dict(p.split("=", 1) for p in asked.body.decode().split("&"))
    assert form == {"grant_type": "client_credentials", "scope": "read+write", "audience": "api"}
    assert asked.headers["authorization"] == "Basic " + b64encode(b"key:secret").decode()


def test_oauth2_renews_a_token_about_to_expire_and_falls_back_to_form_credentials(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer(token=Token(expires_in=5, in_form_only=True)))
    server.check = lambda seen: seen.headers.get("authorization") == f"Bearer token-{server.token.issued}"
    out = run(http(tmp_path, url=server.url("/x"), oauth2=oauth2_conf(server), retries=0), "a", "b")
    assert [m.error for m in out] == [None, None]
    # 5s is inside the 10s margin: every request needs a new token; the header style was refused
    # once (the first ask), then credentials go in the form straight away.
    assert server.token.issued == 2
    styles = ["authorization" in t.headers for t in server.token_requests]
    assert styles == [True, False, False]


def test_a_token_endpoint_that_refuses_fails_the_request(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer())
    [out] = run(http(tmp_path, url=server.url("/x"), oauth2=oauth2_conf(server, client_secret="wrong"), retries=0), "a")
    assert out.error and "oauth2: cannot fetch token: 401 Unauthorized" in out.error and not server.requests


# -- JWT --------------------------------------------------------------------------------------


def write_key(tmp_path: Path, key: Any) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    path.parent.mkdir(exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    return path


@pytest.mark.parametrize("method", ["RS256", "RS384", "RS512", "EdDSA"])
def test_jwt_is_signed_with_the_private_key(tmp_path: Path, servers: list[Any], method: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate() if method == "EdDSA" else rsa.generate_private_key(65537, 2048)
    write_key(tmp_path, key)
    decoded: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def check(seen: Seen) -> bool:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        claims = jwt.decode(token, key.public_key(), algorithms=[method], audience="api")
        decoded.append((claims, jwt.get_unverified_header(token)))
        return True

    server = serve(servers, AuthServer(check=check))
    conf = {
        "enabled": True,
        "private_key_file": "keys/signing.pem",
        "signing_method": method,
        "claims": {"sub": "streams", "aud": "api"},
        "headers": {"kid": "k1"},
    }
    [out] = run(http(tmp_path, url=server.url("/x"), jwt=conf, retries=0), "a")
    assert out.error is None
    [(claims, header)] = decoded
    assert claims == {"sub": "streams", "aud": "api"} and header["kid"] == "k1" and header["alg"] == method


def test_a_jwt_key_file_outside_the_definitions_directory_or_of_the_wrong_kind_is_refused(tmp_path: Path) -> None:
    write_key(tmp_path, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(
        ConfigError, match=r"http\.jwt\.private_key_file: failed to parse RS256 private key: not an RSA private key"
    ):
        http(tmp_path, url="http://x", jwt={"enabled": True, "private_key_file": "keys/signing.pem", "signing_method": "RS256"})
    with pytest.raises(ConfigError, match=r"http\.jwt\.private_key_file: /etc/hostname is outside the definitions directory"):
        http(tmp_path, url="http://x", jwt={"enabled": True, "private_key_file": "/etc/hostname", "signing_method": "RS256"})


# -- digest -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_answers_the_challenge_then_reuses_it(tmp_path: Path, servers: list[Any], algorithm: str) -> None:
    ch = digest.Challenge("streams@test", "n0nce", algorithm, "auth", "0paque")
    server = serve(servers, AuthServer(digest=ch))
    server.check = lambda seen: digest_valid(seen, ch, "s3cret")
    conf = {"enabled": True, "username": "ann", "password": "s3cret"}
    out = run(http(tmp_path, url=server.url("/a/b?c=d"), digest_auth=conf, retries=0), "one", "two")
    assert [(m.content, m.error) for m in out] == [(b"ONE", None), (b"TWO", None)]
    answers = [s.headers.get("authorization", "") for s in server.requests]
    assert answers[0] == "" and len(answers) == 3  # one challenge, then two answered requests
    assert [re.search(r"nc=(\w+)", a).group(1) for a in answers[1:]] == ["00000001", "00000002"]  # type: ignore[union-attr]
    [bad] = run(http(tmp_path, url=server.url("/x"), digest_auth={**conf, "password": "no"}, retries=0), "x")
    assert bad.metadata["http_status_code"] == 401


# -- TLS and proxy ----------------------------------------------------------------------------


def server_context(tls_certificates: Certificates, client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tls_certificates.server_cert), str(tls_certificates.server_key))
    if client_cert:
        ctx.load_verify_locations(str(tls_certificates.ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def test_tls_trusts_the_given_ca_or_skips_verification(tmp_path: Path, servers: list[Any], tls_certificates: Certificates) -> None:
    server = serve(servers, AuthServer(context=server_context(tls_certificates, client_cert=False)))
    [untrusted] = run(http(tmp_path, url=server.url("/x"), retries=0), "a")
    assert untrusted.error and "CERTIFICATE_VERIFY_FAILED" in untrusted.error
    [trusted] = run(http(tmp_path, url=server.url("/x"), retries=0, tls={"enabled": True, "root_cas_file": str(tls_certificates.ca)}), "a")
    [skipped] = run(http(tmp_path, url=server.url("/x"), retries=0, tls={"enabled": True, "skip_cert_verify": True}), "b")
    assert [(m.content, m.error) for m in (trusted, skipped)] == [(b"A", None), (b"B", None)]


def test_tls_presents_a_client_certificate_when_the_server_requires_one(
    tmp_path: Path, servers: list[Any], tls_certificates: Certificates
) -> None:
    server = serve(servers, AuthServer(context=server_context(tls_certificates, client_cert=True)))
    tls = {"enabled": True, "root_cas": tls_certificates.ca.read_text()}
    [refused] = run(http(tmp_path, url=server.url("/x"), retries=0, tls=tls), "a")
    assert refused.error and not server.requests
    with_cert = {**tls, "client_certs": [{"cert_file": str(tls_certificates.client_cert), "key_file": str(tls_certificates.client_key)}]}
    [accepted] = run(http(tmp_path, url=server.url("/x"), retries=0, tls=with_cert), "a")
    assert (accepted.content, accepted.error) == (b"A", None)


def test_proxy_url_sends_the_requests_through_the_proxy(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer())
    proxy = serve(servers, ForwardProxy())
    [out] = run(http(tmp_path, url=server.url("/via?x=1"), proxy_url=proxy.url, retries=0), "a")
    assert (out.content, out.error) == (b"A", None)
    assert proxy.urls == [server.url("/via?x=1")] and [s.url_path for s in server.requests] == ["/via?x=1"]


# -- batch_as_multipart and rate_limit --------------------------------------------------------


def multipart_echo(seen: Seen, start_response: Any) -> list[bytes]:
    """Reads the multipart body and answers one multipart/mixed part per part, upper-cased."""
    parts = multipart_parts(seen)
    reply = b"".join(b"--R\r\n\r\n" + bytes(p.get_payload(decode=True)).upper() + b"\r\n" for p in parts) + b"--R--\r\n"
    start_response("200 OK", [("Content-Type", "multipart/mixed; boundary=R")])
    return [reply]


def test_batch_as_multipart_sends_one_request_and_maps_the_parts_back(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer(routes={"/multi": multipart_echo}))
    proc = http(tmp_path, url=server.url("/multi"), batch_as_multipart=True, metadata={"include_prefixes": ["trace"]})
    batch = [Message(b"one", {"trace": "t1", "n": 1}), Message(b"two", {"trace": "t2", "n": 2})]
    out = proc.process(batch, Transaction())
    assert [(m.content, m.metadata["n"], m.metadata["http_status_code"]) for m in out] == [(b"ONE", 1, 200), (b"TWO", 2, 200)]
    [seen] = server.requests
    assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = multipart_parts(seen)
    assert [(p["Content-Type"], p["trace"]) for p in parts] == [
        ("application/octet-stream", "t1"),
        ("application/octet-stream", "t2"),
    ]


def test_rate_limit_holds_requests_beyond_the_resource_count(tmp_path: Path, servers: list[Any]) -> None:
    server = serve(servers, AuthServer())
    settings = make_settings(str(tmp_path))
    scope = StreamScope(rate_limits={"slow": LocalLimit(count=2, interval=3600.0)}, instance_key="i")
    res = Resources(settings, "api", "s", "streams.s", WorkerServices(settings, StreamLog()), BUILDER, scope=scope)
    proc = BUILDER.processor({"http": {"url": server.url("/x"), "rate_limit": "slow"}}, res, "streams.s.pipeline.processors.0")
    worker = gevent.spawn(run, proc, "a", "b", "c")
    while len(server.requests) < 2:
        gevent.sleep(0.01)
    held = not worker.dead
    worker.kill()
    assert held and [s.body for s in server.requests] == [b"a", b"b"]
