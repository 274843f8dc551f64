"""The reload plan alone: which APIs a reload keeps, starts, replaces and stops."""

from __future__ import annotations

from streams.engine.reload_plan import ReloadPlan, fingerprint

STREAMS = {"in": {"input": {"http_server": {"path": "/a"}}, "output": {"drop": {}}}}


def test_fingerprint_sees_every_served_fact_and_nothing_else() -> None:
    base = fingerprint("a", "/a/", STREAMS)
    assert fingerprint("a", "/a/", {k: dict(v) for k, v in STREAMS.items()}) == base  # same content
    changed = {"in": {"input": {"http_server": {"path": "/b"}}, "output": {"drop": {}}}}
    others = [
        fingerprint("b", "/a/", STREAMS),
        fingerprint("a", "/b/", STREAMS),
        fingerprint("a", "/a/", changed),
        fingerprint("a", "/a/", STREAMS, strip=True),
        fingerprint("a", "/a/", STREAMS, traffic_logs=True),
        fingerprint("a", "/a/", STREAMS, context_variables=False),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_plan_sorts_each_source_into_one_outcome() -> None:
    running = {"keep.yaml": "k", "change.yaml": "c1", "gone.yaml": "g", "broken.yaml": "b"}
    wanted = {"keep.yaml": "k", "change.yaml": "c2", "new.yaml": "n"}
    plan = ReloadPlan.between(running, wanted, broken={"broken.yaml"})
    assert plan.keep == ["keep.yaml"]
    assert plan.replace == ["change.yaml"]
    assert plan.start == ["new.yaml"]
    assert plan.stop == ["gone.yaml"]
    assert plan.kept_broken == ["broken.yaml"]
    assert plan.changes
    assert plan.summary() == {"kept": 1, "started": 1, "replaced": 1, "stopped": 1, "kept_broken": 1}


def test_nothing_changed_means_no_changes() -> None:
    plan = ReloadPlan.between({"a": "1", "b": "2"}, {"a": "1", "b": "2"})
    assert (plan.keep, plan.changes) == (["a", "b"], False)
    assert not ReloadPlan.between({}, {}).changes


def test_a_broken_file_that_never_ran_is_not_kept() -> None:
    plan = ReloadPlan.between({}, {}, broken={"bad.yaml"})
    assert plan.kept_broken == [] and not plan.changes


def test_a_changed_rate_limit_changes_the_fingerprint_and_none_leaves_it_as_it_was() -> None:
    plain = fingerprint("api", "/api/", {"s": {}})
    assert fingerprint("api", "/api/", {"s": {}}, rate_limits=[]) == plain
    five = fingerprint("api", "/api/", {"s": {}}, rate_limits=[["api", 5, 1.0]])
    six = fingerprint("api", "/api/", {"s": {}}, rate_limits=[["api", 6, 1.0]])
    assert len({plain, five, six}) == 3
