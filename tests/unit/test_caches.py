"""The ``memory`` cache resource (one per host) and the processors that use it: cache, cached and
dedupe."""

from __future__ import annotations

from typing import Any

import pytest

from streams.caches.base import KeyNotFound
from streams.contracts import ConfigError
from streams.processors.cached import deserialise, serialise
from tests.unit.processor_harness import Harness, contents, errors, jmsgs, msgs


def cache_stream(kind: str = "memory", **conf: Any) -> dict[str, Any]:
    return {"cache_resources": [{"label": "c", kind: conf}]}


def test_cache_processor_operators(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream())
    key = '${! json("id") }'
    set_ = h.run([{"cache": {"resource": "c", "operator": "set", "key": key, "value": '${! json("v") }'}}], jmsgs({"id": "a", "v": "1"}))
    assert errors(set_) == [None] and contents(set_) == [b'{"id":"a","v":"1"}']  # payload untouched
    added = h.run([{"cache": {"resource": "c", "operator": "add", "key": key, "value": "2"}}], jmsgs({"id": "a"}, {"id": "b"}))
    assert errors(added) == ["key already exists: a", None]
    got = h.run([{"cache": {"resource": "c", "operator": "get", "key": key}}], jmsgs({"id": "a"}, {"id": "b"}, {"id": "z"}))
    assert contents(got)[:2] == [b"1", b"2"]
    assert errors(got) == [None, None, "operator failed for key 'z': key does not exist"]
    h.run([{"cache": {"resource": "c", "operator": "delete", "key": key}}], jmsgs({"id": "a"}, {"id": "nope"}))
    again = h.run([{"cache": {"resource": "c", "operator": "get", "key": key}}], jmsgs({"id": "a"}))
    assert errors(again) == ["operator failed for key 'a': key does not exist"]


def test_cache_processor_ttl_and_bad_fields(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream())
    out = h.run([{"cache": {"resource": "c", "operator": "set", "key": "k", "value": "v", "ttl": "${! json(\"ttl\") }"}}], jmsgs({"ttl": "soon"}))
    assert errors(out) == ["ttl must be a duration: invalid duration 'soon'"]
    out = h.run([{"cache": {"resource": "c", "operator": "set", "key": '${! json("a").number() }'}}], jmsgs({"a": "x"}))
    assert errors(out)[0] and errors(out)[0].startswith("key interpolation error: ")  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="no cache_resources entry labelled 'other'"):
        h.build([{"cache": {"resource": "other", "operator": "get", "key": "k"}}])


def test_a_memory_cache_is_shared_by_the_workers_of_a_host_and_kept_per_stream_instance(tmp_path: Any) -> None:
    # Two harnesses on one data directory stand for two worker processes of the host.
    first, second = Harness(tmp_path, **cache_stream()), Harness(tmp_path, **cache_stream())
    other_instance = Harness(tmp_path, key="other", **cache_stream())
    other_host = Harness(tmp_path / "other-host", **cache_stream())
    first.run([{"cache": {"resource": "c", "operator": "set", "key": "k", "value": "shared"}}], msgs("x"))
    get = [{"cache": {"resource": "c", "operator": "get", "key": "k"}}]
    assert contents(second.run(get, msgs("x"))) == [b"shared"]
    assert errors(other_instance.run(get, msgs("x"))) == ["operator failed for key 'k': key does not exist"]
    assert errors(other_host.run(get, msgs("x"))) == ["operator failed for key 'k': key does not exist"]


def test_cache_resource_init_values(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream(init_values={"k": "preset"}))
    assert contents(h.run([{"cache": {"resource": "c", "operator": "get", "key": "k"}}], msgs("x"))) == [b"preset"]


def test_cached_runs_the_processors_once_per_key(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream())
    procs = h.build(
        [
            {
                "cached": {
                    "key": '${! json("id") }',
                    "cache": "c",
                    "processors": [{"mutation": "root.runs = (this.runs | 0) + 1"}],
                }
            }
        ]
    )
    first = h.run(procs, jmsgs({"id": 1, "runs": 0}))  # type: ignore[arg-type]
    again = h.run(procs, jmsgs({"id": 1, "runs": 40}))  # type: ignore[arg-type]
    other = h.run(procs, jmsgs({"id": 2, "runs": 10}))  # type: ignore[arg-type]
    assert contents(first) == [b'{"id":1,"runs":1}']
    assert contents(again) == [b'{"id":1,"runs":1}']  # the cached result, processors not run
    assert contents(other) == [b'{"id":2,"runs":11}']


def test_cached_stores_several_messages_and_keeps_metadata(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream())
    procs = h.build([{"cached": {"key": "static", "cache": "c", "processors": [{"unarchive": {"format": "lines"}}]}}])
    h.run(procs, msgs("a\nb"))  # type: ignore[arg-type]
    out = h.run(procs, msgs("ignored", topic="t"))  # type: ignore[arg-type]
    assert contents(out) == [b"a", b"b"] and [m.metadata for m in out] == [{"topic": "t"}] * 2
    assert deserialise(h.res.cache("c").get("static")) == [b"a", b"b"]


def test_cached_skip_on_leaves_a_result_uncached(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream())
    conf = {"key": "k", "cache": "c", "skip_on": "errored()", "processors": [{"mutation": 'root = if this.fail { throw("no") } else { "ok" }'}]}
    procs = h.build([{"cached": conf}])
    failed = h.run(procs, jmsgs({"fail": True}))  # type: ignore[arg-type]
    assert failed[0].error and "no" in failed[0].error
    with pytest.raises(KeyNotFound):
        h.res.cache("c").get("k")
    assert contents(h.run(procs, jmsgs({"fail": False}))) == [b"ok"]  # type: ignore[arg-type]
    assert contents(h.run(procs, jmsgs({"fail": True}))) == [b"ok"]  # type: ignore[arg-type]


def test_cached_flags_a_value_it_did_not_store(tmp_path: Any) -> None:
    h = Harness(tmp_path, **cache_stream(init_values={"k": "rawdata!"}))
    [out] = h.run([{"cached": {"key": "k", "cache": "c", "processors": [{"noop": {}}]}}], msgs("x"))
    assert out.content == b"x"
    assert out.error == (
        "failed to parse cached result, this indicates the data was not set by this processor: "
        "invalid format version: 1918990180"  # b"rawd" read as the version
    )


def test_cached_serialisation_is_bentos_v1_layout() -> None:
    assert serialise([b"ab", b""]) == b"\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02ab\x00\x00\x00\x00"
    assert deserialise(serialise([b"x" * 70000, b"y"])) == [b"x" * 70000, b"y"]
    with pytest.raises(ValueError, match="input data ended unexpectedly"):
        deserialise(serialise([b"abc"])[:-1])


def test_dedupe_uses_a_memory_resource(tmp_path: Any) -> None:
    procs = [{"dedupe": {"cache": "c", "key": '${! json("id") }'}}]
    first, second = Harness(tmp_path, **cache_stream()), Harness(tmp_path, **cache_stream())
    assert contents(first.run(procs, jmsgs({"id": 1}, {"id": 2}, {"id": 1}))) == [b'{"id":1}', b'{"id":2}']
    assert contents(second.run(procs, jmsgs({"id": 2}, {"id": 3}))) == [b'{"id":3}']
    assert first.res.cache("c").get("1") == b"t"  # dedupe's keys live in the resource itself
