"""Processors in a pushed stream: mutation, bloblang, log, try, dedupe, sync_response, sleep."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from streams.definitions import load_text
from streams.engine.testing import Gateways
from streams.message import Message
from tests.unit.processor_helpers import build
from tests.unit.processor_helpers import run as run_batch


@pytest.fixture
def gateways() -> Any:
    made = Gateways()
    yield made
    made.drain_all()


def run(tmp_path: Any, gateways: Any, processors: list[Any], body: Any, meta: dict[str, Any] | None = None) -> Any:
    stream = {"input": {"http_server": {}}, "pipeline": {"processors": processors}, "output": {"sync_response": {}}}
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    try:
        return inst.push(Message(json.dumps(body).encode(), meta), 5.0)
    finally:
        inst.release()


def test_mutation_edits_in_place_while_mapping_starts_empty(tmp_path: Any, gateways: Any) -> None:
    mutated = run(tmp_path, gateways, [{"mutation": "root.b = 2"}], {"a": 1})
    mapped = run(tmp_path / "x", gateways, [{"mapping": "root.b = 2"}], {"a": 1})
    aliased = run(tmp_path / "y", gateways, [{"bloblang": "root.b = this.a + 1"}], {"a": 1})
    assert json.loads(mutated.body) == {"a": 1, "b": 2}
    assert json.loads(mapped.body) == {"b": 2}
    assert json.loads(aliased.body) == {"b": 2}


def test_metadata_survives_a_mapping(tmp_path: Any, gateways: Any) -> None:
    result = run(tmp_path, gateways, [{"mapping": "root = this"}, {"mapping": 'root = meta("user")'}], {}, {"user": "al"})
    assert result.body == b"al"


def test_log_writes_the_interpolated_message_with_fields(
    tmp_path: Any, gateways: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streams.engine")
    procs = [{"log": {"level": "WARN", "message": 'got ${! json("a") }', "fields_mapping": "root.doubled = this.a * 2"}}]
    result = run(tmp_path, gateways, procs, {"a": 21})
    assert json.loads(result.body) == {"a": 21}  # untouched
    [record] = [r for r in caplog.records if r.getMessage() == "got 21"]
    assert record.levelno == logging.WARNING
    assert record.fields == {"doubled": 42}
    assert record.stream == "s"


def test_try_skips_the_rest_after_a_failure_and_catch_clears_it(tmp_path: Any, gateways: Any) -> None:
    procs = [
        {"try": [{"mutation": "root.x = this.missing.number()"}, {"mutation": 'root.after = "ran"'}]},
        {"catch": [{"mutation": "root.err = error()"}]},
        {"mutation": "root.errored = errored()"},
    ]
    body = json.loads(run(tmp_path, gateways, procs, {"a": 1}).body)
    assert "after" not in body and "x" not in body
    assert body["err"] and body["errored"] is False


def test_dedupe_drops_repeated_keys(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"dedupe": {"cache": "mem", "key": '${! json("id") }'}}]},
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    bodies = [inst.push(Message(json.dumps({"id": i}).encode()), 5.0).body for i in (1, 2, 1)]
    inst.release()
    assert bodies == [b'{"id": 1}', b'{"id": 2}', b""]  # untouched payloads, third dropped


def test_sync_response_processor_replies_with_the_message_at_that_point(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"mapping": 'root = "early"'}, {"sync_response": {}}, {"mapping": 'root = "late"'}]},
        "output": {"drop": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b"x"), 5.0)
    inst.release()
    assert result.body == b"early"


def test_sleep_with_a_zero_duration_passes_messages_on(tmp_path: Any, gateways: Any) -> None:
    assert run(tmp_path, gateways, [{"sleep": {"duration": "0s"}}], [1]).body == b"[1]"


def test_branch_maps_the_result_back_into_the_original(tmp_path: Any, gateways: Any) -> None:
    procs = [
        {
            "branch": {
                "request_map": "root = this.a",
                "processors": [{"mapping": "root = this * 10"}],
                "result_map": "root.tenfold = this",
            }
        }
    ]
    assert json.loads(run(tmp_path, gateways, procs, {"a": 4}).body) == {"a": 4, "tenfold": 40}


def test_branch_skipped_when_the_request_map_deletes(tmp_path: Any, gateways: Any) -> None:
    procs = [{"branch": {"request_map": "root = deleted()", "processors": [{"mapping": "root = 1"}],
                         "result_map": "root.x = this"}}]
    assert json.loads(run(tmp_path, gateways, procs, {"a": 4}).body) == {"a": 4}


def test_dedupe_forgets_keys_after_the_memory_cache_ttl(tmp_path: Any, gateways: Any) -> None:
    import gevent

    stream = {
        "input": {"http_server": {}},
        "cache_resources": [{"label": "mem", "memory": {"default_ttl": "50ms"}}],
        "pipeline": {"processors": [{"dedupe": {"cache": "mem", "key": '${! json("id") }'}}]},
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    assert inst.push(Message(b'{"id":1}'), 5.0).body == b'{"id":1}'
    assert inst.push(Message(b'{"id":1}'), 5.0).body == b""
    gevent.sleep(0.1)
    assert inst.push(Message(b'{"id":1}'), 5.0).body == b'{"id":1}'
    inst.release()


def test_dedupe_keys_are_shared_by_the_gateways_of_one_host(tmp_path: Any, gateways: Any) -> None:
    # Two gateways on one data directory stand for two worker processes of a host (the
    # cross-process counts are in test_engine_host_state.py).
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"dedupe": {"cache": "mem", "key": '${! json("id") }'}}]},
        "output": {"sync_response": {}},
    }
    instances = [gateways(tmp_path, {"s": stream})[1].open("s", {}) for _ in range(2)]
    bodies = [inst.push(Message(b'{"id":7}'), 5.0).body for inst in instances * 2]
    for inst in instances:
        inst.release()
    assert bodies == [b'{"id":7}', b"", b"", b""]


def test_dedupe_keys_are_kept_per_stream_and_cache(tmp_path: Any, gateways: Any) -> None:
    def stream(cache: str) -> dict[str, Any]:
        return {
            "input": {"http_server": {}},
            "pipeline": {"processors": [{"dedupe": {"cache": cache, "key": '${! json("id") }'}}]},
            "output": {"sync_response": {}},
        }

    _, api = gateways(tmp_path, {"a": stream("mem"), "b": stream("mem"), "c": stream("other")})
    instances = [api.open(name, {}) for name in ("a", "b", "c")]
    bodies = [inst.push(Message(b'{"id":7}'), 5.0).body for inst in instances]
    for inst in instances:
        inst.release()
    assert bodies == [b'{"id":7}'] * 3


def test_dedupe_flags_a_message_whose_key_fails_when_drop_on_err_is_off(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {
            "processors": [{"dedupe": {"cache": "mem", "key": '${! json("id").number() }', "drop_on_err": False}}]
        },
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    result = inst.push(Message(b'{"id":"x"}'), 5.0)
    inst.release()
    assert result.status == 400
    assert "dedupe key failed" in result.error


@pytest.mark.parametrize(
    ("strategy", "kept"),
    [
        ({}, [b'{"id":1,"n":1}', b'{"id":2,"n":2}']),  # FIFO, the default: the first of a key
        ({"strategy": "FIFO"}, [b'{"id":1,"n":1}', b'{"id":2,"n":2}']),
        ({"strategy": "LIFO"}, [b'{"id":2,"n":2}', b'{"id":1,"n":3}']),  # the last of a key, in batch order
    ],
)
def test_dedupe_strategy_decides_which_message_of_a_batch_a_key_keeps(
    tmp_path: Any, strategy: dict[str, str], kept: list[bytes]
) -> None:
    dedupe = build({"dedupe": {"cache": "mem", "key": '${! json("id") }', **strategy}}, tmp_path)
    out = run_batch(dedupe, '{"id":1,"n":1}', '{"id":2,"n":2}', '{"id":1,"n":3}')
    assert [m.content for m in out] == kept


def test_dedupe_strategy_is_fifo_or_lifo() -> None:
    text = (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
        "x-tyk-streaming:\n  streams:\n    s:\n      input: {http_server: {}}\n"
        "      pipeline:\n        processors:\n          - dedupe: {cache: m, key: k, strategy: NEWEST}\n"
        "      output: {drop: {}}\n"
        "x-tyk-api-gateway:\n  info: {name: t, state: {active: true}}\n"
        "  server: {listenPath: {value: /t/, strip: true}}\n"
    )
    api, problems = load_text(text, "t.yaml")
    assert api is None and "dedupe.strategy: invalid value 'NEWEST'" in str(problems[0]), problems
