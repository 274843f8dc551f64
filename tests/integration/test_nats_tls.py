"""The ``nats`` input and output over TLS and with NKey authentication, against real
``nats-server``s configured by the tests: a ``tls {}`` block (``verify: true`` for mutual TLS), an
NKey user, and operator mode with a user JWT (the keys and JWTs made here with the gateway's own
NKey code)."""

from __future__ import annotations

import base64
import json
import os
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from streams.brokers.base import BrokerError
from streams.brokers.embedded import EmbeddedBroker
from streams.connectors.nats_client import NatsClient
from streams.connectors.nats_options import NatsOptions
from streams.connectors.nkeys import KeyPair, encode_seed
from streams.definitions import load_text
from streams.engine.testing import Gateways, push_until_written, read_topic, wait_until
from tests.integration.test_nats import Log, SilentServer, definition
from tests.message_brokers import nats_server
from tests.tls_certs import Certificates, openssl_available

needs_openssl = pytest.mark.skipif(not openssl_available(), reason="openssl is needed to make test certificates")


@contextmanager
def configured_nats(directory: Path, conf: str) -> Iterator[str]:
    """A nats-server with ``conf`` as its configuration file; yields its ``nats://`` URL."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"nats-{uuid.uuid4().hex[:6]}.conf"
    path.write_text(conf)
    with nats_server("-c", str(path)) as url:
        yield url


def tls_block(tls_certificates: Certificates, *, verify: bool = False) -> str:
    return (
        f'tls {{\n  cert_file: "{tls_certificates.server_cert}"\n  key_file: "{tls_certificates.server_key}"\n'
        f'  ca_file: "{tls_certificates.ca}"\n  verify: {str(verify).lower()}\n}}\n'
    )


def new_key(role: str = "U") -> KeyPair:
    return KeyPair.from_seed(encode_seed(role, os.urandom(32)))


def connect(conf: dict[str, Any]) -> NatsClient:
    client = NatsClient(NatsOptions.from_config(conf, "in"), Log())
    client.connect()
    client.flush(10)
    return client


def refusal(conf: dict[str, Any]) -> str:
    client = NatsClient(NatsOptions.from_config(conf, "in"), Log())
    with pytest.raises(BrokerError) as caught:
        client.connect()
    return str(caught.value)


@needs_openssl
def test_a_message_goes_through_output_and_input_over_tls(
    tmp_path: Path, gateways: Gateways, broker: EmbeddedBroker, tls_certificates: Certificates
) -> None:
    """The output says ``tls://`` and trusts the CA from a file; the input says ``nats://`` (the
    server requires TLS) and trusts the CA as PEM text. As in Bento, a ``tls`` block counts only
    when ``enabled``."""
    with configured_nats(tmp_path, tls_block(tls_certificates)) as url:
        where = url.removeprefix("nats://")
        subject = f"t.{uuid.uuid4().hex[:10]}"
        streams = {
            "p": {
                "input": {"http_server": {"path": "/in"}},
                "output": {
                    "nats": {
                        "urls": [f"tls://{where}"],
                        "subject": subject,
                        "tls": {"enabled": True, "root_cas_file": str(tls_certificates.ca)},
                    }
                },
            },
            "m": {
                "input": {
                    "nats": {
                        "urls": [f"nats://localhost:{where.rpartition(':')[2]}"],
                        "subject": subject,
                        "tls": {"enabled": True, "root_cas": tls_certificates.ca.read_text()},
                    }
                },
                "output": {"kafka": {"topic": "nats-tls"}},
            },
        }
        _, api = gateways(tmp_path, streams)
        push_until_written(api, "p", b"over tls", broker, "nats-tls", "a message through nats over TLS")
        assert {r.value for r in read_topic(broker, "nats-tls")} == {b"over tls"}


@needs_openssl
def test_a_server_that_requires_tls_gets_it_without_a_tls_url_and_checks_the_certificate(
    tmp_path: Path, tls_certificates: Certificates, other_tls_certificates: Certificates
) -> None:
    """The INFO's ``tls_required`` upgrades a ``nats://`` connection: with the system CAs alone
    (no ``tls`` block) the test CA's certificate is refused, so is one of another CA."""
    with configured_nats(tmp_path, tls_block(tls_certificates)) as url:
        where = url.removeprefix("nats://")
        assert "TLS handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED]" in refusal({"urls": [url]})
        other = {"enabled": True, "root_cas_file": str(other_tls_certificates.ca)}
        assert refusal({"urls": [url], "tls": other}).startswith(
            f"no NATS server accepted the connection ({where}: TLS handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED]"
        )
        connect({"urls": [url], "tls": {"enabled": True, "skip_cert_verify": True}}).close()


@needs_openssl
def test_a_tls_url_to_a_server_without_tls_is_refused_with_the_reason() -> None:
    with nats_server() as url:
        where = url.removeprefix("nats://")
        assert refusal({"urls": [f"tls://{where}"]}) == (
            f"no NATS server accepted the connection ({where}: TLS was asked for but the server does not offer it)"
        )


@needs_openssl
def test_a_server_verifying_clients_takes_only_one_with_a_certificate_of_its_ca(tmp_path: Path, tls_certificates: Certificates) -> None:
    with configured_nats(tmp_path, tls_block(tls_certificates, verify=True)) as url:
        tls: dict[str, Any] = {"enabled": True, "root_cas_file": str(tls_certificates.ca)}
        with_cert = {**tls, "client_certs": [{"cert_file": str(tls_certificates.client_cert), "key_file": str(tls_certificates.client_key)}]}
        client = connect({"urls": [url], "tls": with_cert})
        assert client.log.lines[0].startswith(f"nats connected to {url.removeprefix('nats://')} over TLS")  # type: ignore[attr-defined]
        client.close()
        # TLS 1.3: the handshake ends before the server checks the client; it then closes
        assert "no NATS server accepted the connection" in refusal({"urls": [url], "tls": tls})


class SilentTlsServer(SilentServer):
    """``SilentServer`` over TLS: after the handshake's ``PONG`` it never answers again."""

    def __init__(self, tls_certificates: Certificates) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(tls_certificates.server_cert, tls_certificates.server_key)
        super().__init__(b'{"server_id":"silent-tls","tls_required":true,"headers":true}')

    def _serve(self, sock: Any, _address: Any) -> None:
        self.received.append(b"")
        sock.sendall(b"INFO " + self.info + b"\r\n")
        tls = self.context.wrap_socket(sock, server_side=True)
        answered = False
        try:
            while data := tls.recv(65536):
                self.received[-1] += data
                if not answered and b"PING\r\n" in self.received[-1]:
                    tls.sendall(b"PONG\r\n")
                    answered = True
        except OSError:
            pass  # the client left


@needs_openssl
def test_a_tls_server_that_stops_answering_pings_is_left_and_connected_again(tls_certificates: Certificates) -> None:
    silent = SilentTlsServer(tls_certificates)
    log = Log()
    options = NatsOptions.from_config({"urls": [silent.url], "tls": {"enabled": True, "root_cas_file": str(tls_certificates.ca)}}, "in")
    client = NatsClient(options, log, ping_interval=0.1, max_pings_out=2)
    try:
        client.connect()
        client.subscribe("orders.>")
        wait_until(lambda: len(silent.received) >= 2, "a second connection")
        wait_until(lambda: b"SUB orders.> 1\r\n" in silent.received[1], "the subscription on it")
        assert any("did not answer 2 pings" in line for line in log.lines), log.lines
        assert b'"tls_required":true' in silent.received[0]
    finally:
        client.close()
        silent.server.stop()


def test_an_nkey_user_is_accepted_with_its_seed_and_refused_with_another(tmp_path: Path) -> None:
    user = new_key()
    with configured_nats(tmp_path, f"authorization {{ users = [ {{ nkey: {user.public_key} }} ] }}\n") as url:
        seed_file = tmp_path / "user.nk"
        seed_file.write_text(user.seed + "\n")
        connect({"urls": [url], "auth": {"nkey_file": str(seed_file)}}).close()
        stranger = tmp_path / "stranger.nk"
        stranger.write_text(new_key().seed)
        where = url.removeprefix("nats://")
        assert refusal({"urls": [url], "auth": {"nkey_file": str(stranger)}}) == (
            f"no NATS server accepted the connection ({where}: the server refused: Authorization Violation)"
        )
        assert "Authorization Violation" in refusal({"urls": [url]})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed_jwt(issuer: KeyPair, subject: str, nats: dict[str, Any]) -> str:
    """A NATS JWT (``ed25519-nkey``) of ``subject``'s claims signed by ``issuer``."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    claims = {"jti": uuid.uuid4().hex.upper(), "iat": int(time.time()), "iss": issuer.public_key, "sub": subject}
    body = _b64(json.dumps({**claims, "name": subject[:8], "nats": {**nats, "version": 2}}).encode())
    signature = base64.urlsafe_b64decode(issuer.sign(f"{header}.{body}".encode()) + "==")
    return f"{header}.{body}.{_b64(signature)}"


def operator_mode(tmp_path: Path) -> tuple[str, str, KeyPair]:
    """A server configuration trusting an operator with one account, and a user JWT of that
    account with its key."""
    operator, account, user = new_key("O"), new_key("A"), new_key("U")
    unlimited = {"subs": -1, "data": -1, "payload": -1}
    account_limits = {**unlimited, "imports": -1, "exports": -1, "wildcards": True, "conn": -1, "leaf": -1}
    operator_jwt = signed_jwt(operator, operator.public_key, {"type": "operator"})
    account_jwt = signed_jwt(operator, account.public_key, {"type": "account", "limits": account_limits})
    user_jwt = signed_jwt(account, user.public_key, {"type": "user", "pub": {}, "sub": {}, **unlimited})
    (tmp_path / "operator.jwt").write_text(operator_jwt)
    conf = (
        f'operator: "{tmp_path / "operator.jwt"}"\nresolver: MEMORY\n'
        f'resolver_preload: {{\n  {account.public_key}: "{account_jwt}"\n}}\n'
    )
    return conf, user_jwt, user


def test_a_user_jwt_is_accepted_from_a_creds_file_and_from_the_auth_fields(tmp_path: Path) -> None:
    conf, user_jwt, user = operator_mode(tmp_path)
    creds = tmp_path / "user.creds"
    creds.write_text(
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user.seed}\n------END USER NKEY SEED------\n"
    )
    with configured_nats(tmp_path, conf) as url:
        connect({"urls": [url], "auth": {"user_credentials_file": str(creds)}}).close()
        connect({"urls": [url], "auth": {"user_jwt": user_jwt, "user_nkey_seed": user.seed}}).close()
        wrong_key = {"user_jwt": user_jwt, "user_nkey_seed": new_key().seed}
        assert "the server refused: Authorization Violation" in refusal({"urls": [url], "auth": wrong_key})


def test_an_nkey_and_a_tls_block_are_accepted_at_load(tmp_path: Path) -> None:
    seed_file = tmp_path / "user.nk"
    seed_file.write_text(new_key().seed)
    block = f"urls: [tls://h:1]\nsubject: a\nauth: {{nkey_file: {seed_file}}}\ntls: {{enabled: true, skip_cert_verify: true}}\n"
    api, problems = load_text(definition("nats", block), "t.yaml")
    assert problems == [] and api is not None


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ("{nkey_file: SEED}", "nats.auth.nkey_file: not an NKey seed (S... with 32 key bytes)"),
        ("{nkey_file: NOTBASE32}", "nats.auth.nkey_file: checksum does not match"),
        ("{user_credentials_file: SEED}", "nats.auth.user_credentials_file: expected a user JWT and an NKey seed"),
        ("{user_nkey_seed: SUAB}", "nats.auth.user_nkey_seed: signs for the JWT in user_jwt, which is empty"),
        ("{user_jwt: a.b.c, user_nkey_seed: SUAB}", "nats.auth.user_nkey_seed: checksum does not match"),
        ("{nkey_file: SEED, user_jwt: a.b.c, user_nkey_seed: S}", "nats.auth.nkey_file: cannot be used with a user JWT"),
    ],
)
def test_a_bad_auth_block_is_refused_at_load_with_the_field_named(tmp_path: Path, auth: str, problem: str) -> None:
    """``SEED`` stands for a file holding a public key, not a seed; ``NOTBASE32`` for garbage."""
    public = tmp_path / "public.nk"
    public.write_text(new_key().public_key)
    garbage = tmp_path / "garbage.nk"
    garbage.write_text("ABCDEFGH")
    block = "urls: [nats://h:1]\nsubject: a\nauth: " + auth.replace("SEED", str(public)).replace("NOTBASE32", str(garbage))
    api, problems = load_text(definition("nats", block + "\n"), "t.yaml")
    assert api is None
    assert len(problems) == 1 and problem in str(problems[0]), problems
