"""bench/layers.py's layers: each a definition the gateway loads, each one part more of the seed
than the one before, and every run on topics of its own (checked without starting anything)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import layers  # noqa: E402

from streams.definitions import load_text  # noqa: E402

SEED = yaml.safe_load((ROOT / "deploy" / "apis" / "streams-demo.yaml").read_text())


def loaded(document: dict[str, Any]) -> dict[str, Any]:
    """The streams of ``document`` as the gateway loads them (no problems allowed)."""
    api, problems = load_text(yaml.safe_dump(document, sort_keys=False), "streams-demo.yaml")
    assert problems == [] and api is not None, problems
    return {name: stream.config for name, stream in api.streams.items()}


def in_outputs(streams: dict[str, Any]) -> list[str]:
    return [next(iter(out)) for out in streams["in"]["output"]["broker"]["outputs"]]


def test_each_layer_adds_one_part_of_the_seed() -> None:
    plan = layers.layers(SEED)
    assert [layer.name for layer in plan] == ["HTTP", "push endpoint", "in mapping", "Kafka write", "Worker"]
    assert plan[0].document is None  # the hello-world app, not the gateway

    endpoint, mapping, kafka, worker = (loaded(layer.document) for layer in plan[1:] if layer.document)
    assert set(endpoint) == set(mapping) == {"in"}
    assert endpoint["in"]["pipeline"]["processors"] == []
    assert in_outputs(endpoint) == in_outputs(mapping) == ["drop", "sync_response"]
    assert mapping["in"]["pipeline"] == SEED["x-tyk-streaming"]["streams"]["in"]["pipeline"]
    assert set(kafka) == {"in", "out"} and in_outputs(kafka) == ["kafka", "sync_response"]
    assert set(worker) == {"in", "out", "Worker"}
    assert SEED["x-tyk-streaming"]["streams"]["in"]["output"]["broker"]["outputs"][0] == {
        "kafka": {"addresses": ["localhost:9093"], "topic": "jobs"}
    }, "deriving the layers changed the seed itself"


def test_every_run_writes_and_reads_topics_of_its_own() -> None:
    doc, topics = layers.with_own_topics(SEED, "t1")
    assert topics == ["completed-t1", "jobs-t1"]
    streams = loaded(doc)
    assert streams["in"]["output"]["broker"]["outputs"][0]["kafka"]["topic"] == "jobs-t1"
    assert streams["Worker"]["input"]["kafka"]["topics"] == ["jobs-t1"]
    assert streams["Worker"]["input"]["kafka"]["consumer_group"] == "worker-t1"
    assert streams["Worker"]["output"]["kafka"]["topic"] == "completed-t1"
    assert streams["out"]["input"]["kafka"]["topics"] == ["completed-t1"]
    # The per-user group stays the user's: it is a template, not a name to share between runs.
    assert streams["out"]["input"]["kafka"]["consumer_group"] == "$tyk_context.request_data_user"
    assert SEED["x-tyk-streaming"]["streams"]["Worker"]["input"]["kafka"]["topics"] == ["jobs"]


def test_table_gives_what_each_layer_adds() -> None:
    plan = layers.layers(SEED)[:2]
    runs = [
        [{"rps": 10000.0, "cpu_us": 100.0, "errors": 0}, {"rps": 12000.0, "cpu_us": 90.0, "errors": 0}],
        [{"rps": 6000.0, "cpu_us": 200.0, "errors": 0}, {"rps": 5000.0, "cpu_us": 210.0, "errors": 3}],
    ]
    lines = layers.render(list(zip(plan, runs))).splitlines()
    assert lines[1].split()[:4] == ["HTTP", "11000", "95", "µs"]
    assert lines[2].split()[:6] == ["push", "endpoint", "5500", "205", "µs", "+110"]
    assert "(3 non-2xx!)" in lines[2]
