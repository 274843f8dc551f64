"""Settings from STREAMS_* variables: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from streams.settings import Settings, SettingsError


def test_defaults_from_empty_environment() -> None:
    s = Settings.from_env({})
    assert Path(s.definitions_dir) == Path(__file__).resolve().parents[2] / "deploy" / "apis"
    assert (Path(s.definitions_dir) / "streams-demo.yaml").is_file()
    assert s.kafka_brokers == "embedded" and s.embedded_kafka
    assert s.data_dir == "./var"
    assert (s.log_level, s.log_format) == ("INFO", "json")
    assert (s.statsd_host, s.statsd_port, s.statsd_prefix) == (None, 8125, "streams")
    assert s.allow_impure_bloblang is False
    assert (s.instance_idle_timeout, s.sse_heartbeat, s.drain_timeout) == (60.0, 15.0, 10.0)
    assert (s.max_body_bytes, s.client_queue) == (1048576, 1000)
    assert s.metrics_enabled is True
    assert s == Settings()


def test_every_variable_is_read() -> None:
    env = {
        "STREAMS_DEFINITIONS_DIR": "/etc/streams/apis",
        "STREAMS_KAFKA_BROKERS": "k1:9092, k2:9093",
        "STREAMS_DATA_DIR": "/var/lib/streams",
        "STREAMS_LOG_LEVEL": "debug",
        "STREAMS_LOG_FORMAT": "TEXT",
        "STREAMS_STATSD_HOST": "127.0.0.1",
        "STREAMS_STATSD_PORT": "9125",
        "STREAMS_STATSD_PREFIX": "gw",
        "STREAMS_ALLOW_IMPURE_BLOBLANG": "yes",
        "STREAMS_INSTANCE_IDLE_TIMEOUT": "2.5",
        "STREAMS_SSE_HEARTBEAT": "5",
        "STREAMS_MAX_BODY_BYTES": "1024",
        "STREAMS_CLIENT_QUEUE": "10",
        "STREAMS_DRAIN_TIMEOUT": "3",
        "STREAMS_METRICS": "off",
    }
    s = Settings.from_env(env)
    assert s.definitions_dir == "/etc/streams/apis"
    assert s.kafka_brokers == ("k1:9092", "k2:9093") and not s.embedded_kafka
    assert s.data_dir == "/var/lib/streams"
    assert (s.log_level, s.log_format) == ("DEBUG", "text")
    assert (s.statsd_host, s.statsd_port, s.statsd_prefix) == ("127.0.0.1", 9125, "gw")
    assert s.allow_impure_bloblang is True
    assert (s.instance_idle_timeout, s.sse_heartbeat, s.drain_timeout) == (2.5, 5.0, 3.0)
    assert (s.max_body_bytes, s.client_queue) == (1024, 10)
    assert s.metrics_enabled is False


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().log_level = "DEBUG"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name, value",
    [
        ("STREAMS_KAFKA_BROKERS", "localhost"),
        ("STREAMS_KAFKA_BROKERS", "k1:9092,:9093"),
        ("STREAMS_KAFKA_BROKERS", "k1:99999"),
        ("STREAMS_LOG_LEVEL", "LOUD"),
        ("STREAMS_LOG_FORMAT", "xml"),
        ("STREAMS_STATSD_PORT", "http"),
        ("STREAMS_STATSD_PORT", "70000"),
        ("STREAMS_ALLOW_IMPURE_BLOBLANG", "maybe"),
        ("STREAMS_INSTANCE_IDLE_TIMEOUT", "-1"),
        ("STREAMS_SSE_HEARTBEAT", "nan"),
        ("STREAMS_SSE_HEARTBEAT", "1m"),
        ("STREAMS_MAX_BODY_BYTES", "1.5"),
        ("STREAMS_CLIENT_QUEUE", "0"),
        ("STREAMS_DRAIN_TIMEOUT", "inf"),
        ("STREAMS_METRICS", "2"),
    ],
)
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert name in str(err.value)
    assert repr(value) in str(err.value)


def test_empty_value_means_default() -> None:
    assert Settings.from_env({"STREAMS_STATSD_HOST": "", "STREAMS_CLIENT_QUEUE": "  "}) == Settings()


def test_warn_is_an_alias_of_warning() -> None:
    assert Settings.from_env({"STREAMS_LOG_LEVEL": "warn"}).log_level == "WARNING"


def test_jwt_settings(tmp_path: Path) -> None:
    assert (Settings.from_env({}).jwt_secret, Settings.from_env({}).jwt_algorithms) == (None, ("HS256",))
    s = Settings.from_env({"STREAMS_JWT_SECRET": "s3cret", "STREAMS_JWT_ALGORITHMS": "HS256, HS512"})
    assert (s.jwt_secret, s.jwt_algorithms) == ("s3cret", ("HS256", "HS512"))
    pem = tmp_path / "key.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
    s = Settings.from_env({"STREAMS_JWT_SECRET_FILE": str(pem)})
    assert s.jwt_secret.startswith("-----BEGIN PUBLIC KEY-----") and s.jwt_algorithms == ("RS256", "ES256")


@pytest.mark.parametrize("env, name", [
    ({"STREAMS_JWT_ALGORITHMS": "none"}, "STREAMS_JWT_ALGORITHMS"),
    ({"STREAMS_JWT_SECRET_FILE": "/nonexistent/key"}, "STREAMS_JWT_SECRET_FILE"),
    ({"STREAMS_JWT_SECRET": "a", "STREAMS_JWT_SECRET_FILE": "/x"}, "STREAMS_JWT_SECRET_FILE"),
])
def test_bad_jwt_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_server_limits_settings() -> None:
    assert (Settings().header_timeout, Settings().ws_frames_per_second) == (10.0, 200)
    s = Settings.from_env({"STREAMS_HEADER_TIMEOUT": "2.5", "STREAMS_WS_FRAMES_PER_SECOND": "20"})
    assert (s.header_timeout, s.ws_frames_per_second) == (2.5, 20)
    with pytest.raises(SettingsError, match="STREAMS_HEADER_TIMEOUT"):
        Settings.from_env({"STREAMS_HEADER_TIMEOUT": "0"})
    with pytest.raises(SettingsError, match="STREAMS_WS_FRAMES_PER_SECOND"):
        Settings.from_env({"STREAMS_WS_FRAMES_PER_SECOND": "1.5"})


def test_trusted_proxies_and_control_socket(tmp_path: Path) -> None:
    s = Settings.from_env({"STREAMS_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "STREAMS_DATA_DIR": str(tmp_path)})
    assert [str(n) for n in s.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert s.control_socket_path == str(tmp_path / "gunicorn.ctl")
    assert Settings().trusted_proxies == ()
    assert Settings.from_env({"STREAMS_CONTROL_SOCKET": "off"}).control_socket_path is None
    assert Settings.from_env({"STREAMS_CONTROL_SOCKET": "/run/gw.ctl"}).control_socket_path == "/run/gw.ctl"
    with pytest.raises(SettingsError, match="STREAMS_TRUSTED_PROXIES='10.0.0.0/33': '10.0.0.0/33' is not"):
        Settings.from_env({"STREAMS_TRUSTED_PROXIES": "10.0.0.0/33"})


def test_management_secret_and_watch_settings(tmp_path: Path) -> None:
    assert (Settings().secret, Settings().watch_interval) == (None, 1.0)
    s = Settings.from_env({"STREAMS_SECRET": "admin", "STREAMS_WATCH_INTERVAL": "0"})
    assert (s.secret, s.watch_interval) == ("admin", 0.0)
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    assert Settings.from_env({"STREAMS_SECRET_FILE": str(secret), "STREAMS_WATCH_INTERVAL": "2.5"}).secret == "from-file"
    assert Settings.from_env({"STREAMS_WATCH_INTERVAL": "2.5"}).watch_interval == 2.5
    for env, name in [
        ({"STREAMS_SECRET": "a", "STREAMS_SECRET_FILE": str(secret)}, "STREAMS_SECRET_FILE"),
        ({"STREAMS_SECRET_FILE": str(tmp_path / "missing")}, "STREAMS_SECRET_FILE"),
        ({"STREAMS_WATCH_INTERVAL": "-1"}, "STREAMS_WATCH_INTERVAL"),
        ({"STREAMS_WATCH_INTERVAL": "soon"}, "STREAMS_WATCH_INTERVAL"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env(env)
