"""The ``kafka`` input's ``group`` block: Bento's defaults, kafka-python's settings, and bad values
reported with their config path (at load time with file and line where the validator can tell).
That the values reach a real consumer is in tests/integration/test_kafka_group_liveness.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from streams.brokers.group import GroupTimeouts
from streams.contracts import ConfigError
from streams.definitions import load_file

PATH = "streams.Worker.input.kafka.group"


def test_defaults_are_bentos() -> None:
    timeouts = GroupTimeouts.from_config({}, PATH)
    assert timeouts == GroupTimeouts(session_timeout=10.0, heartbeat_interval=3.0, rebalance_timeout=60.0)
    assert timeouts.consumer_configs() == {
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "max_poll_interval_ms": 60_000,
    }


def test_values_become_kafka_python_settings() -> None:
    conf = {"session_timeout": "7s", "heartbeat_interval": "500ms", "rebalance_timeout": "1m30s"}
    assert GroupTimeouts.from_config(conf, PATH).consumer_configs() == {
        "session_timeout_ms": 7_000,
        "heartbeat_interval_ms": 500,
        "max_poll_interval_ms": 90_000,
    }


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"session_timeout": "ten"}, f"{PATH}.session_timeout: invalid duration 'ten'"),
        ({"heartbeat_interval": "0s"}, f"{PATH}.heartbeat_interval: must be a positive duration, got '0s'"),
        ({"rebalance_timeout": "-5s"}, f"{PATH}.rebalance_timeout: must be a positive duration, got '-5s'"),
        ({"session_timeout": "2s"}, f"{PATH}.heartbeat_interval: must be shorter than session_timeout (3s >= 2s)"),
        ({"sesion_timeout": "5s"}, f"{PATH}.sesion_timeout: unknown field"),
        ("10s", f"{PATH}: expected an object"),
    ],
)
def test_bad_values_are_config_errors_with_the_path(conf: Any, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        GroupTimeouts.from_config(conf, PATH)
    assert str(err.value).startswith(message)


def test_the_input_reads_its_group_block(tmp_path: Path, gateways: Any) -> None:
    bad = {
        "input": {"kafka": {"topics": ["t"], "consumer_group": "g", "group": {"session_timeout": "1s"}}},
        "output": {"drop": {}},
    }
    good = {
        "input": {"kafka": {"topics": ["t"], "consumer_group": "g", "group": {"session_timeout": "6s"}}},
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"bad": bad, "good": good}, start=False)
    with pytest.raises(ConfigError, match=r"streams\.bad\.input\.kafka\.group\.heartbeat_interval: must be shorter"):
        api.open("bad", {})
    inst = api.open("good", {})
    try:
        assert inst.input.group_timeouts == GroupTimeouts(6.0, 3.0, 60.0)
    finally:
        inst.release()


def test_load_time_validation_gives_file_line_and_path(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        openapi: 3.0.3
        info: {title: t, version: 1.0.0}
        paths: {}
        x-tyk-streaming:
          streams:
            Worker:
              input:
                kafka:
                  topics: [jobs]
                  consumer_group: worker
                  group:
                    session_timeout: soon
                    heartbeat_intervall: 1s
              output:
                drop: {}
        x-tyk-api-gateway:
          info: {name: t, state: {active: true}}
          server: {listenPath: {value: /t/, strip: true}}
        """
    )
    path = tmp_path / "g.yaml"
    path.write_text(text)
    api, problems = load_file(str(path))
    assert api is None
    shown = [(p.line, p.path, p.message) for p in problems]
    assert shown == [
        (12, f"{PATH}.session_timeout", "invalid duration 'soon' (expected e.g. 5s, 100ms, 1m30s)"),
        (13, f"{PATH}.heartbeat_intervall", "unknown field (did you mean 'heartbeat_interval'?)"),
    ]
