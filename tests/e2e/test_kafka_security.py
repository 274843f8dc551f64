"""Secure Kafka end to end: the seed on ``gunicorn wsgi:app -w 2`` against a PRIVATE broker whose
only client listener is SASL_SSL with mutual TLS (``KAFKA_SECURITY=sasl_ssl
KAFKA_TLS_CLIENT_AUTH=required deploy/kafka/run.sh``: a throwaway CA, a client certificate, SCRAM
and PLAIN users made by the script), so every client presents a certificate and a SASL identity.

* The seed walkthrough (push, then the result through GET) with the gateway-wide
  ``STREAMS_KAFKA_TLS_*``/``_SASL_*`` settings (SCRAM-SHA-512; PLAIN below), once with the
  definition's own ``tls``/``sasl`` blocks (SCRAM-SHA-256, the CA inline as ``root_cas``) and no
  security settings at all, and once with the Worker on ``kafka_franz`` as another user (SCRAM-SHA-512
  as admin) while the other streams use PLAIN settings as alice.
* A wrong password and an untrusted CA: the log names the cause within ``ERROR_BOUND`` seconds and
  a push answers 502 with that cause instead of hanging.
* Every mechanism (OAUTHBEARER with an unsecured static token included) through ``KafkaBroker``
  itself: produce, then read back.

Measured numbers are printed (``-s``)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.e2e.server import ROOT, Gunicorn, port_free, serve_definitions
from tests.private_kafka import PrivateKafka

pytestmark = pytest.mark.kafka

SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
PORTS = (9098, 9096)  # client ports tried (controller on the next one): this test's own range
ERROR_BOUND = 30.0  # seconds until a bad credential is named in the log (the bound)
PUSH_BOUND = 15.0  # seconds a push may take to fail with it
RESULT_BOUND = 45.0  # seconds from a push to its result through GET on a fresh group


class SecureKafka(PrivateKafka):
    """A Kafka of this module alone with a SASL_SSL listener only."""

    def __init__(self, data_dir: Path, port: int) -> None:
        super().__init__(data_dir, port, {"KAFKA_SECURITY": "sasl_ssl", "KAFKA_TLS_CLIENT_AUTH": "required"})
        self.ca_file = data_dir / "tls" / "ca.pem"
        self.cert_file = data_dir / "tls" / "client.pem"
        self.key_file = data_dir / "tls" / "client.key"


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    if shutil.which("java") is None or shutil.which("openssl") is None or shutil.which("keytool") is None:
        pytest.skip("java, openssl and keytool are needed for a SASL_SSL Kafka")
    if not list((ROOT / "deploy" / "kafka" / ".cache").glob("classpath-*.txt")):
        pytest.skip("Kafka jars are not fetched (deploy/kafka/.cache): run `deploy/kafka/run.sh start` once")
    port = next((p for p in PORTS if port_free(p) and port_free(p + 1)), None)
    if port is None:
        pytest.fail(f"none of the ports {PORTS} (and the next one) is free for a private Kafka")
    broker = SecureKafka(tmp_path_factory.mktemp("secure-kafka"), port)
    started = time.monotonic()
    said = broker.run("start")
    print(f"\nSASL_SSL Kafka ready on {broker.bootstrap} in {time.monotonic() - started:.1f} s")
    assert f"CA file: {broker.ca_file}" in said and "alice alice-secret" in said, said
    yield broker
    broker.run("stop")


# -- helpers ---------------------------------------------------------------------------------------


def seed_document(tag: str) -> dict[str, Any]:
    """The seed with this test's own topics and Worker group."""
    doc = yaml.safe_load(SEED.read_text())
    streams = doc["x-tyk-streaming"]["streams"]
    streams["Worker"]["input"]["kafka"]["topics"] = [f"jobs-{tag}"]
    streams["Worker"]["input"]["kafka"]["consumer_group"] = f"worker-{tag}"
    streams["Worker"]["output"]["kafka"]["topic"] = f"completed-{tag}"
    streams["in"]["output"]["broker"]["outputs"][0]["kafka"]["topic"] = f"jobs-{tag}"
    streams["out"]["input"]["kafka"]["topics"] = [f"completed-{tag}"]
    return doc


def kafka_blocks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    streams = doc["x-tyk-streaming"]["streams"]
    return [
        streams["Worker"]["input"]["kafka"],
        streams["Worker"]["output"]["kafka"],
        streams["in"]["output"]["broker"]["outputs"][0]["kafka"],
        streams["out"]["input"]["kafka"],
    ]


def start(tmp: Path, kafka: SecureKafka, doc: dict[str, Any], env: dict[str, str]) -> Gunicorn:
    return serve_definitions(
        tmp,
        {"streams-demo.yaml": yaml.safe_dump(doc, sort_keys=False)},
        workers=2,
        env={
            "STREAMS_KAFKA_BROKERS": kafka.bootstrap,
            "STREAMS_LOG_LEVEL": "INFO",
            **env,
        },
    )


def settings_env(kafka: SecureKafka, mechanism: str, password: str = "alice-secret", ca: bool = True) -> dict[str, str]:
    env = {
        "STREAMS_KAFKA_TLS": "true",
        "STREAMS_KAFKA_TLS_CERT_FILE": str(kafka.cert_file),
        "STREAMS_KAFKA_TLS_KEY_FILE": str(kafka.key_file),
        "STREAMS_KAFKA_SASL_MECHANISM": mechanism,
        "STREAMS_KAFKA_SASL_USER": "alice",
        "STREAMS_KAFKA_SASL_PASSWORD": password,
    }
    if ca:
        env["STREAMS_KAFKA_TLS_CA_FILE"] = str(kafka.ca_file)
    return env


def push(server: Gunicorn, user: str, payload: dict[str, Any], timeout: float = 30) -> requests.Response:
    return requests.post(
        server.url("/stream-demo/push-event"), params={"user": user}, data=json.dumps(payload),
        headers={"Content-Type": "application/json"}, timeout=timeout,
    )


def walkthrough(server: Gunicorn) -> float:
    """Push for a fresh user, then GET until the Worker's result arrives; returns the seconds."""
    user = f"u{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    sent = push(server, user, {"message": "secured"})
    assert sent.status_code == 200, (sent.status_code, sent.text, server.log()[-3000:])
    job = sent.json()["job_id"]
    while time.monotonic() - started < RESULT_BOUND:
        got = requests.get(server.url("/stream-demo/get-event"), params={"user": user}, timeout=30)
        if got.status_code == 200:
            body = got.json()
            assert body == {"job_id": job, "message": "secured", "result": "bar", "user_id": user}
            return time.monotonic() - started
        assert got.status_code == 408, (got.status_code, got.text)
    raise AssertionError(f"no result within {RESULT_BOUND} s:\n{server.log()[-4000:]}")


def wait_for_log(server: Gunicorn, pattern: str, bound: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        if re.search(pattern, server.log()):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not logged within {bound} s:\n{server.log()[-4000:]}")


# -- the seed end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512"])  # PLAIN: the kafka_franz test's settings
def test_seed_end_to_end_with_gateway_settings(kafka: SecureKafka, tmp_path: Path, mechanism: str) -> None:
    server = start(tmp_path, kafka, seed_document(uuid.uuid4().hex[:8]), settings_env(kafka, mechanism))
    try:
        took = walkthrough(server)
        print(f"{mechanism} via settings: push -> result in {took:.2f} s")
        assert "access granted (SASL_SSL (" + mechanism + " as alice))" in server.log()
    finally:
        server.stop()


def test_seed_end_to_end_with_the_definitions_own_blocks(kafka: SecureKafka, tmp_path: Path) -> None:
    doc = seed_document(uuid.uuid4().hex[:8])
    for block in kafka_blocks(doc):
        block["tls"] = {
            "enabled": True,
            "root_cas": kafka.ca_file.read_text(),
            "client_certs": [{"cert": kafka.cert_file.read_text(), "key": kafka.key_file.read_text()}],
        }
        block["sasl"] = {"mechanism": "SCRAM-SHA-256", "user": "alice", "password": "alice-secret"}
    server = start(tmp_path, kafka, doc, {})
    try:
        took = walkthrough(server)
        print(f"SCRAM-SHA-256 via the definition's blocks: push -> result in {took:.2f} s")
        assert "access granted (SASL_SSL (SCRAM-SHA-256 as alice))" in server.log()
    finally:
        server.stop()


def test_seed_end_to_end_with_a_kafka_franz_worker(kafka: SecureKafka, tmp_path: Path) -> None:
    """The Worker on Bento's kafka_franz (a ``sasl`` list), the other streams on the settings."""
    doc = seed_document(uuid.uuid4().hex[:8])
    worker = doc["x-tyk-streaming"]["streams"]["Worker"]
    franz_security = {
        "tls": {
            "enabled": True,
            "root_cas_file": str(kafka.ca_file),
            "client_certs": [{"cert_file": str(kafka.cert_file), "key_file": str(kafka.key_file)}],
        },
        "sasl": [{"mechanism": "SCRAM-SHA-512", "username": "admin", "password": "admin-secret"}],
    }
    source = worker["input"].pop("kafka")
    worker["input"]["kafka_franz"] = {
        "seed_brokers": source["addresses"], "topics": source["topics"],
        "consumer_group": source["consumer_group"], **franz_security,
    }
    sink = worker["output"].pop("kafka")
    worker["output"]["kafka_franz"] = {"seed_brokers": sink["addresses"], "topic": sink["topic"], **franz_security}
    server = start(tmp_path, kafka, doc, settings_env(kafka, "PLAIN"))
    try:
        took = walkthrough(server)
        print(f"kafka_franz Worker (SCRAM-SHA-512 as admin) + PLAIN settings: push -> result in {took:.2f} s")
        log = server.log()
        assert "access granted (SASL_SSL (SCRAM-SHA-512 as admin))" in log
        assert "access granted (SASL_SSL (PLAIN as alice))" in log
    finally:
        server.stop()


# -- refused credentials ---------------------------------------------------------------------------


def _fails_clearly(server: Gunicorn, cause: str) -> None:
    logged = wait_for_log(server, re.escape(cause), ERROR_BOUND)
    started = time.monotonic()
    answer = push(server, "bob", {"message": "refused"}, timeout=PUSH_BOUND + 5)
    took = time.monotonic() - started
    print(f"{cause[:40]}...: logged after {logged:.1f} s, push answered {answer.status_code} in {took:.2f} s")
    assert answer.status_code == 502, (answer.status_code, answer.text)
    assert cause in answer.text
    assert took < PUSH_BOUND
    started = time.monotonic()
    got = requests.get(server.url("/stream-demo/get-event"), params={"user": "bob"}, timeout=PUSH_BOUND + 5)
    took = time.monotonic() - started
    print(f"  GET answered {got.status_code} in {took:.2f} s")
    assert got.status_code == 503 and cause in got.json()["error"], (got.status_code, got.text)
    assert took < PUSH_BOUND
    log = server.log()
    assert "Traceback" not in log
    refused = [line for line in log.splitlines() if "refused or unreachable" in line]
    assert refused and all(cause in line for line in refused), refused
    assert len(refused) <= 2, refused  # one line per worker, not one per retry


def test_wrong_password_is_named_at_start_and_fails_pushes(kafka: SecureKafka, tmp_path: Path) -> None:
    server = start(
        tmp_path, kafka, seed_document(uuid.uuid4().hex[:8]), settings_env(kafka, "SCRAM-SHA-512", password="wrong")
    )
    try:
        _fails_clearly(server, f"SASL authentication failed for user alice on {kafka.bootstrap} (SCRAM-SHA-512)")
        assert "invalid credentials" in server.log()
    finally:
        server.stop()


def test_untrusted_ca_is_named_at_start_and_fails_pushes(kafka: SecureKafka, tmp_path: Path) -> None:
    server = start(tmp_path, kafka, seed_document(uuid.uuid4().hex[:8]), settings_env(kafka, "PLAIN", ca=False))
    try:
        _fails_clearly(server, f"TLS handshake with {kafka.bootstrap} failed: certificate verify failed")
    finally:
        server.stop()


# -- every mechanism, through the broker object ------------------------------------------------------


def _unsecured_jwt(subject: str) -> str:
    """An unsigned token, which the test broker's default OAUTHBEARER validator accepts."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'none'})}.{part({'sub': subject, 'iat': now, 'exp': now + 3600})}."


@pytest.mark.parametrize(
    "sasl",
    [
        {"mechanism": "PLAIN", "user": "admin", "password": "admin-secret"},
        {"mechanism": "SCRAM-SHA-256", "user": "alice", "password": "alice-secret"},
        {"mechanism": "SCRAM-SHA-512", "user": "admin", "password": "admin-secret"},
        {"mechanism": "OAUTHBEARER", "access_token": _unsecured_jwt("alice")},
    ],
    ids=lambda s: s["mechanism"],
)
def test_every_mechanism_produces_and_reads(kafka: SecureKafka, sasl: dict[str, str]) -> None:
    from streams.brokers.kafka import KafkaBroker  # noqa: PLC0415 - only this test needs kafka-python here
    from streams.brokers.security import KafkaSecurity  # noqa: PLC0415

    tls = {
        "enabled": True,
        "root_cas_file": str(kafka.ca_file),
        "client_certs": [{"cert_file": str(kafka.cert_file), "key_file": str(kafka.key_file)}],
    }
    security = KafkaSecurity.from_config(tls, sasl, "test")
    broker = KafkaBroker([kafka.bootstrap], security=security)
    topic = f"sec-{uuid.uuid4().hex[:8]}"
    try:
        value = f"hello {sasl['mechanism']}".encode()
        position = broker.produce(topic, value, timeout=20)
        reader = broker.reader(topic, {position.partition: position.offset})
        try:
            records = reader.fetch(timeout=10)
        finally:
            reader.close()
        assert [r.value for r in records] == [value]
    finally:
        broker.close()


def test_the_client_certificate_is_required_and_checked(kafka: SecureKafka, tmp_path: Path) -> None:
    """Mutual TLS: the certificate the broker's CA signed (PEM text here) works end to end; a
    self-signed one, or none, is refused with a sentence saying so."""
    from streams.brokers.kafka import KafkaBroker  # noqa: PLC0415
    from streams.brokers.kafka_check import AccessDenied, check_access  # noqa: PLC0415
    from streams.brokers.security import KafkaSecurity  # noqa: PLC0415

    tls_dir = kafka.ca_file.parent
    sasl = {"mechanism": "PLAIN", "user": "alice", "password": "alice-secret"}
    signed = {"cert": (tls_dir / "client.pem").read_text(), "key_file": str(tls_dir / "client.key")}
    good = KafkaSecurity.from_config({"enabled": True, "root_cas_file": str(kafka.ca_file), "client_certs": [signed]},
                                     sasl, "test")
    broker = KafkaBroker([kafka.bootstrap], security=good)
    try:
        topic = f"mtls-{uuid.uuid4().hex[:8]}"
        position = broker.produce(topic, b"with a client certificate", timeout=20)
        reader = broker.reader(topic, {position.partition: position.offset})
        try:
            assert [r.value for r in reader.fetch(timeout=10)] == [b"with a client certificate"]
        finally:
            reader.close()
    finally:
        broker.close()

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=stranger",
         "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem")],
        check=True, capture_output=True,
    )
    stranger = {"cert_file": str(tmp_path / "c.pem"), "key_file": str(tmp_path / "k.pem")}
    bad = KafkaSecurity.from_config({"enabled": True, "root_cas_file": str(kafka.ca_file), "client_certs": [stranger]},
                                    sasl, "test")
    started = time.monotonic()
    with pytest.raises(AccessDenied) as err:
        check_access([kafka.bootstrap], bad, 10)
    print(f"self-signed client certificate: {err.value} ({time.monotonic() - started:.2f} s)")
    assert f"TLS with {kafka.bootstrap} failed: the broker refused the client certificate" in str(err.value)
    none = KafkaSecurity.from_config({"enabled": True, "root_cas_file": str(kafka.ca_file)}, sasl, "test")
    with pytest.raises(AccessDenied) as err:
        check_access([kafka.bootstrap], none, 10)
    print(f"no client certificate: {err.value}")
    assert f"TLS with {kafka.bootstrap} failed: the broker requires a client certificate" in str(err.value)
