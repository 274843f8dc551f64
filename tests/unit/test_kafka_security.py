"""Kafka TLS and SASL config: the ``tls``/``sasl`` blocks and the ``STREAMS_KAFKA_*`` settings as one
``KafkaSecurity``, its kafka-python arguments, the problems reported at load, and which broker
object a component gets. No network: certificates are made with ``openssl`` in a temporary dir."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import textwrap
from pathlib import Path

import pytest

from streams import brokers
from streams.brokers.security import ClientCert, KafkaSecurity, Sasl, SecurityError, Tls, ssl_context
from streams.contracts import ConfigError
from streams.definitions import load_file
from streams.engine.logs import StreamLog
from streams.engine.services import WorkerServices
from streams.inputs.kafka import security_of
from streams.settings import Settings, SettingsError

SEED = Path(__file__).resolve().parents[2] / "deploy" / "apis" / "streams-demo.yaml"


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed CA/certificate and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )
    (d / "garbage.pem").write_text("not a certificate\n")
    return {"cert": d / "cert.pem", "key": d / "key.pem", "garbage": d / "garbage.pem"}


# -- from a component's blocks ---------------------------------------------------------------------


def test_no_blocks_is_plaintext_and_defers_to_the_settings() -> None:
    sec = KafkaSecurity.from_config(None, {}, "streams.x.input.kafka")
    assert sec.is_default and sec.protocol == "PLAINTEXT"
    assert sec.client_config() == {"security_protocol": "PLAINTEXT"}
    other = KafkaSecurity(sasl=Sasl("PLAIN", "u", "p"))
    assert sec.or_default(other) is other
    assert other.or_default(KafkaSecurity()) is other


def test_scram_over_tls_maps_to_kafka_python(pem: dict[str, Path]) -> None:
    sec = KafkaSecurity.from_config(
        {"enabled": True, "root_cas_file": str(pem["cert"])},
        {"mechanism": "scram-sha-512", "user": "alice", "password": "s3cret"},
        "streams.Worker.input.kafka",
    )
    config = sec.client_config()
    assert config["security_protocol"] == "SASL_SSL"
    assert (config["sasl_mechanism"], config["sasl_plain_username"], config["sasl_plain_password"]) == (
        "SCRAM-SHA-512", "alice", "s3cret",
    )
    ctx = config["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "test"),),)]
    assert sec.describe() == "SASL_SSL (SCRAM-SHA-512 as alice)"
    assert "s3cret" not in repr(sec)


@pytest.mark.parametrize(
    ("tls", "sasl", "protocol"),
    [
        ({"enabled": True}, None, "SSL"),
        ({"enabled": False, "skip_cert_verify": True}, {"mechanism": "PLAIN", "user": "u"}, "SASL_PLAINTEXT"),
        ({"enabled": True}, {"mechanism": "OAUTHBEARER", "access_token": "tok"}, "SASL_SSL"),
    ],
)
def test_protocol_follows_the_blocks(tls: dict, sasl: dict | None, protocol: str) -> None:
    assert KafkaSecurity.from_config(tls, sasl, "x").protocol == protocol


def test_oauthbearer_carries_the_static_token_not_a_password() -> None:
    sec = KafkaSecurity.from_config({"enabled": True}, {"mechanism": "OAUTHBEARER", "access_token": "tok"}, "x")
    assert sec.sasl.token == "tok"
    config = sec.client_config()
    assert config["sasl_mechanism"] == "OAUTHBEARER" and "sasl_plain_username" not in config


def test_skip_cert_verify_turns_verification_off() -> None:
    ctx = KafkaSecurity.from_config({"enabled": True, "skip_cert_verify": True}, None, "x").client_config()["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


def test_client_cert_from_pem_text_and_from_files(pem: dict[str, Path]) -> None:
    text = {"cert": pem["cert"].read_text(), "key": pem["key"].read_text()}
    files = {"cert_file": str(pem["cert"]), "key_file": str(pem["key"])}
    for cert in (text, files):
        sec = KafkaSecurity.from_config({"enabled": True, "client_certs": [cert]}, None, "x")
        assert isinstance(sec.client_config()["ssl_context"], ssl.SSLContext)


def test_the_same_config_shares_one_context_and_one_key() -> None:
    a = KafkaSecurity.from_config({"enabled": True}, {"mechanism": "PLAIN", "user": "u", "password": "p"}, "a")
    b = KafkaSecurity.from_config({"enabled": True}, {"mechanism": "PLAIN", "user": "u", "password": "p"}, "b")
    c = KafkaSecurity.from_config({"enabled": True}, {"mechanism": "PLAIN", "user": "u", "password": "q"}, "c")
    assert a == b and hash(a) == hash(b) and a != c
    assert a.client_config()["ssl_context"] is b.client_config()["ssl_context"]


@pytest.mark.parametrize(
    ("tls", "sasl", "message"),
    [
        (None, {"mechanism": "GSSAPI"},
         "streams.in.input.kafka.sasl.mechanism: unknown SASL mechanism 'GSSAPI' (expected one of: none, PLAIN, "
         "SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)"),
        (None, {"mechanism": "SCRAM-SHA-256", "password": "p"},
         "streams.in.input.kafka.sasl.user: required with mechanism SCRAM-SHA-256"),
        (None, {"mechanism": "OAUTHBEARER"},
         "streams.in.input.kafka.sasl.access_token: required with mechanism OAUTHBEARER (a static token)"),
        ({"enabled": True, "root_cas_file": "/nonexistent/ca.pem"}, None,
         "streams.in.input.kafka.tls.root_cas_file: file not found: /nonexistent/ca.pem"),
        ({"enabled": True, "client_certs": [{"cert_file": "CERT"}]}, None,
         "streams.in.input.kafka.tls.client_certs.0.key: a client certificate needs a key (or key_file) with its cert"),
        ({"enabled": True, "client_certs": [{"cert": "x", "key": "y", "pasword": "z"}]}, None,
         "streams.in.input.kafka.tls.client_certs.0.pasword: unknown field (expected one of: cert, cert_file, key, "
         "key_file, password)"),
        ({"enabled": True, "root_cas": "A", "root_cas_file": "B"}, None,
         "streams.in.input.kafka.tls: root_cas and root_cas_file are both set; use one"),
        ({"enabled": True, "root_cas": "not a pem"}, None,
         "streams.in.input.kafka.tls: root_cas: not a usable PEM CA bundle"),
    ],
)
def test_bad_blocks_name_the_field(pem: dict[str, Path], tls: dict | None, sasl: dict | None, message: str) -> None:
    if tls and tls.get("client_certs"):
        tls["client_certs"][0] = {k: str(pem["cert"]) if v == "CERT" else v for k, v in tls["client_certs"][0].items()}
    with pytest.raises(SecurityError) as err:
        KafkaSecurity.from_config(tls, sasl, "streams.in.input.kafka")
    assert str(err.value).startswith(message), str(err.value)
    with pytest.raises(ConfigError):  # what the components raise when built
        security_of({"tls": tls, "sasl": sasl}, "streams.in.input.kafka")


def test_a_key_that_does_not_match_is_refused(pem: dict[str, Path]) -> None:
    tls = Tls(enabled=True, client_certs=(ClientCert(cert_file=str(pem["cert"]), key_file=str(pem["garbage"])),))
    with pytest.raises(SecurityError, match=r"^client_certs\.0: certificate and key not usable"):
        ssl_context(tls)


# -- the definitions validator reports them at load, with the line -------------------------------------


def test_a_definition_with_a_bad_sasl_block_is_refused_at_load(tmp_path: Path) -> None:
    text = SEED.read_text().replace(
        "          consumer_group: worker\n",
        "          consumer_group: worker\n"
        + textwrap.indent("sasl:\n  mechanism: SCRAM-SHA-1\n  user: alice\ntls:\n  enabled: true\n  root_cas_fil: x\n", " " * 10),
    )
    path = tmp_path / "api.yaml"
    path.write_text(text)
    api, problems = load_file(str(path))
    assert api is None
    shown = sorted(f"{p.line}: {p.path}: {p.message}" for p in problems)
    line = text.splitlines().index("            mechanism: SCRAM-SHA-1") + 1
    assert shown == sorted([
        f"{line}: streams.Worker.input.kafka.sasl.mechanism: unknown SASL mechanism 'SCRAM-SHA-1' "
        "(expected one of: none, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)",
        f"{line + 4}: streams.Worker.input.kafka.tls.root_cas_fil: unknown field (did you mean 'root_cas_file'?)",
    ]), shown


def test_the_seed_with_good_blocks_loads(pem: dict[str, Path], tmp_path: Path) -> None:
    text = SEED.read_text().replace(
        "          topic: completed\n",
        "          topic: completed\n"
        + textwrap.indent(
            f"tls:\n  enabled: true\n  root_cas_file: {pem['cert']}\nsasl:\n  mechanism: PLAIN\n  user: a\n  password: b\n",
            " " * 10,
        ),
    )
    path = tmp_path / "api.yaml"
    path.write_text(text)
    api, problems = load_file(str(path))
    assert problems == [] and api is not None


# -- settings ----------------------------------------------------------------------------------------


def test_settings_default_to_plaintext() -> None:
    s = Settings.from_env({})
    assert KafkaSecurity.from_settings(s) == KafkaSecurity()


def test_settings_build_the_default_security(pem: dict[str, Path], tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    s = Settings.from_env({
        "STREAMS_KAFKA_TLS_CA_FILE": str(pem["cert"]),
        "STREAMS_KAFKA_TLS_CERT_FILE": str(pem["cert"]),
        "STREAMS_KAFKA_TLS_KEY_FILE": str(pem["key"]),
        "STREAMS_KAFKA_SASL_MECHANISM": "scram-sha-256",
        "STREAMS_KAFKA_SASL_USER": "gw",
        "STREAMS_KAFKA_SASL_PASSWORD_FILE": str(secret),
    })
    assert s.kafka_tls  # a CA file means TLS
    sec = KafkaSecurity.from_settings(s)
    assert sec.protocol == "SASL_SSL" and sec.sasl == Sasl("SCRAM-SHA-256", "gw", "from-a-file")
    assert sec.tls.root_cas_file == str(pem["cert"]) and len(sec.tls.client_certs) == 1
    assert isinstance(sec.client_config()["ssl_context"], ssl.SSLContext)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STREAMS_KAFKA_SASL_MECHANISM": "KERBEROS"}, "STREAMS_KAFKA_SASL_MECHANISM='KERBEROS': unknown SASL mechanism"),
        ({"STREAMS_KAFKA_SASL_MECHANISM": "PLAIN", "STREAMS_KAFKA_SASL_USER": "u"},
         "STREAMS_KAFKA_SASL_MECHANISM=PLAIN needs STREAMS_KAFKA_SASL_USER and STREAMS_KAFKA_SASL_PASSWORD"),
        ({"STREAMS_KAFKA_SASL_MECHANISM": "OAUTHBEARER"}, "STREAMS_KAFKA_SASL_MECHANISM=OAUTHBEARER needs STREAMS_KAFKA_SASL_TOKEN"),
        ({"STREAMS_KAFKA_TLS_CA_FILE": "/nonexistent/ca.pem"}, "STREAMS_KAFKA_TLS_CA_FILE='/nonexistent/ca.pem': file not found"),
        ({"STREAMS_KAFKA_TLS_CERT_FILE": "CERT"}, "STREAMS_KAFKA_TLS_CERT_FILE and STREAMS_KAFKA_TLS_KEY_FILE go together"),
        ({"STREAMS_KAFKA_SASL_PASSWORD": "a", "STREAMS_KAFKA_SASL_PASSWORD_FILE": "CERT"},
         "STREAMS_KAFKA_SASL_PASSWORD and STREAMS_KAFKA_SASL_PASSWORD_FILE are both set"),
        ({"STREAMS_KAFKA_TLS": "maybe"}, "STREAMS_KAFKA_TLS='maybe': expected a boolean"),
    ],
)
def test_bad_settings_name_the_variable(pem: dict[str, Path], env: dict[str, str], message: str) -> None:
    env = {k: str(pem["cert"]) if v == "CERT" else v for k, v in env.items()}
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert str(err.value).startswith(message), str(err.value)


# -- which broker object -------------------------------------------------------------------------------


def test_shared_brokers_are_keyed_by_security(tmp_path: Path) -> None:
    a = KafkaSecurity(sasl=Sasl("PLAIN", "a", "p"))
    b = KafkaSecurity(sasl=Sasl("PLAIN", "b", "p"))
    try:
        first = brokers.shared("127.0.0.1:1", str(tmp_path), security=a)
        assert brokers.shared("127.0.0.1:1", str(tmp_path), security=a) is first
        assert brokers.shared("127.0.0.1:1", str(tmp_path), security=b) is not first
        assert brokers.shared("127.0.0.1:1", str(tmp_path)) is not first
        assert first.security == a  # type: ignore[attr-defined]
    finally:
        brokers.close_shared()


def test_worker_services_give_a_component_without_blocks_the_settings_broker(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path), kafka_brokers=("127.0.0.1:1",), kafka_tls=True,
        kafka_sasl_mechanism="PLAIN", kafka_sasl_user="gw", kafka_sasl_password="p",
    )
    services = WorkerServices(settings, StreamLog())
    try:
        default = services.broker([])
        assert services.broker(["localhost:9093"], KafkaSecurity()) is default
        assert default.security.describe() == "SASL_SSL (PLAIN as gw)"  # type: ignore[attr-defined]
        own = KafkaSecurity(sasl=Sasl("SCRAM-SHA-512", "alice", "x"))
        mine = services.broker([], own)
        assert mine is not default and mine.security == own  # type: ignore[attr-defined]
        assert services.broker([], KafkaSecurity(sasl=Sasl("SCRAM-SHA-512", "alice", "x"))) is mine
    finally:
        services.close()


def test_the_embedded_broker_ignores_security(tmp_path: Path) -> None:
    services = WorkerServices(Settings(data_dir=str(tmp_path)), StreamLog())
    try:
        own = KafkaSecurity(sasl=Sasl("PLAIN", "alice", "x"))
        assert services.broker([], own) is services.broker([])
    finally:
        services.close()


# -- kafka_franz: the same security through Bento's list-shaped sasl ------------------------------------


def _franz_worker(sasl: str) -> str:
    """The seed with its Worker on kafka_franz (``sasl`` is the YAML of the sasl list)."""
    text = SEED.read_text()
    old_in = "      input:\n        kafka:\n          addresses:\n            - localhost:9093\n          consumer_group: worker\n"
    new_in = (
        "      input:\n        kafka_franz:\n          seed_brokers:\n            - localhost:9093\n"
        "          consumer_group: worker\n          tls:\n            enabled: true\n"
        + textwrap.indent(sasl, " " * 10)
    )
    old_out = "      output:\n        kafka:\n          addresses:\n            - localhost:9093\n          topic: completed\n"
    new_out = "      output:\n        kafka_franz:\n          seed_brokers:\n            - localhost:9093\n          topic: completed\n"
    assert old_in in text and old_out in text
    return text.replace(old_in, new_in).replace(old_out, new_out)


def test_kafka_franz_with_a_sasl_list_loads_and_maps(tmp_path: Path) -> None:
    from streams.definitions import fill_defaults  # noqa: PLC0415
    from streams.inputs.kafka_franz import as_kafka_config  # noqa: PLC0415

    path = tmp_path / "api.yaml"
    path.write_text(_franz_worker("sasl:\n  - mechanism: SCRAM-SHA-512\n    username: alice\n    password: pw\n"))
    api, problems = load_file(str(path))
    assert problems == [] and api is not None
    conf = fill_defaults("input", "kafka_franz", {
        "seed_brokers": ["k:9092"], "topics": ["t"], "tls": {"enabled": True},
        "sasl": [{"mechanism": "SCRAM-SHA-512", "username": "alice", "password": "pw"}],
    })
    sec = security_of(as_kafka_config(conf), "streams.Worker.input.kafka_franz")
    assert sec.protocol == "SASL_SSL" and sec.sasl == Sasl("SCRAM-SHA-512", "alice", "pw")


@pytest.mark.parametrize(
    ("sasl", "where", "message"),
    [
        ("sasl:\n  - mechanism: PLAIN\n    password: pw\n", "sasl.0.username", "required with mechanism PLAIN"),
        ("sasl:\n  - mechanism: OAUTHBEARER\n", "sasl.0.token", "required with mechanism OAUTHBEARER (a static token)"),
        ("sasl:\n  - mechanism: PLAIN\n    user: a\n", "sasl.0.user", "unknown field (expected one of: mechanism, "
         "username, password, token, extensions, aws)"),
        ("sasl:\n  - mechanism: PLAIN\n    username: a\n  - mechanism: PLAIN\n    username: b\n", "sasl.1",
         "only one SASL mechanism per component is supported"),
    ],
)
def test_kafka_franz_sasl_problems_are_reported_at_load(tmp_path: Path, sasl: str, where: str, message: str) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(_franz_worker(sasl))
    api, problems = load_file(str(path))
    assert api is None
    assert [(p.path, p.message) for p in problems] == [(f"streams.Worker.input.kafka_franz.{where}", message)]


def test_secrets_stay_out_of_reprs() -> None:
    s = Settings.from_env({
        "STREAMS_KAFKA_SASL_MECHANISM": "PLAIN", "STREAMS_KAFKA_SASL_USER": "gw", "STREAMS_KAFKA_SASL_PASSWORD": "pw-123",
    })
    sec = KafkaSecurity.from_settings(s)
    for text in (repr(s), repr(sec), sec.describe()):
        assert "pw-123" not in text
    assert s.kafka_sasl_password == "pw-123" and sec.sasl.password == "pw-123"


def test_an_encrypted_client_key_needs_its_password(pem: dict[str, Path], tmp_path: Path) -> None:
    encrypted = tmp_path / "key.enc.pem"
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", str(pem["key"]), "-out", str(encrypted),
         "-passout", "pass:key-pw"],
        check=True, capture_output=True,
    )
    cert = {"cert_file": str(pem["cert"]), "key_file": str(encrypted)}
    sec = KafkaSecurity.from_config({"enabled": True, "client_certs": [{**cert, "password": "key-pw"}]}, None, "x")
    assert isinstance(sec.client_config()["ssl_context"], ssl.SSLContext)
    with pytest.raises(SecurityError, match=r"^x\.tls: client_certs\.0: certificate and key not usable"):
        KafkaSecurity.from_config({"enabled": True, "client_certs": [{**cert, "password": "wrong"}]}, None, "x")
