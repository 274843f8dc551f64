"""``workflow``: branch order resolved from the mappings (or given), per-message records at
``meta_path``, skips from earlier runs, failures; cases from Bento's documentation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.contracts import ConfigError
from streams.processors.workflow_dag import DagError, resolve, verify
from tests.unit.processor_harness import Harness, jmsgs, msgs

AUTOMATIC = {
    "meta_path": "meta.workflow",
    "branches": {
        "foo": {"request_map": 'root = ""', "processors": [{"mapping": 'root.id = "foo-id"'}], "result_map": "root.foo = this"},
        "bar": {"request_map": "root = this.body", "processors": [{"mapping": 'root.content = content().string() + "!"'}], "result_map": "root.bar = this"},
        "baz": {
            "request_map": "root.fooid = this.foo.id\nroot.barstuff = this.bar.content",
            "processors": [{"mapping": 'root.joined = this.fooid + ":" + this.barstuff'}],
            "result_map": "root.baz = this",
        },
    },
}


@pytest.fixture
def h(tmp_path: Any) -> Harness:
    return Harness(tmp_path)


def test_order_is_resolved_from_what_the_mappings_read_and_write(h: Harness) -> None:
    [workflow] = h.build([{"workflow": AUTOMATIC}])
    assert workflow.tiers == [["bar", "foo"], ["baz"]]  # type: ignore[attr-defined]
    [out] = h.run([workflow], jmsgs({"body": "hi"}))  # type: ignore[list-item]
    doc = json.loads(out.content)
    assert doc["baz"] == {"joined": "foo-id:hi!"}
    assert doc["meta"] == {"workflow": {"succeeded": ["bar", "baz", "foo"]}}


def test_conditional_branches_are_skipped_when_the_request_map_deletes(h: Harness) -> None:
    conf = {
        "branches": {
            "A": {"request_map": 'root = if this.document.type != "foo" { deleted() }', "processors": [{"mapping": 'root.by = "A"'}], "result_map": "root.tmp.result = this"},
            "B": {"request_map": 'root = if this.document.type == "foo" { deleted() }', "processors": [{"mapping": 'root.by = "B"'}], "result_map": "root.tmp.result = this"},
            "C": {"request_map": "root = if this.tmp.result != null { deleted() }", "processors": [{"mapping": 'root.by = "C"'}], "result_map": "root.tmp.result = this"},
        }
    }
    out = h.run([{"workflow": conf}], jmsgs({"document": {"type": "foo"}}, {"document": {"type": "bar"}}))
    docs = [json.loads(m.content) for m in out]
    assert [d["tmp"]["result"]["by"] for d in docs] == ["A", "B"]
    assert docs[0]["meta"]["workflow"] == {"succeeded": ["A"], "skipped": ["B", "C"]}
    assert docs[1]["meta"]["workflow"] == {"succeeded": ["B"], "skipped": ["A", "C"]}


def test_a_failed_branch_is_recorded_and_retried_on_the_next_run_while_the_rest_are_skipped(h: Harness) -> None:
    conf = {
        "branches": {
            "ok": {"processors": [{"mapping": "root = 1"}], "result_map": "root.ok = this"},
            "flaky": {"processors": [{"mapping": 'root = if this.attempt == 1 { throw("not yet") } else { 2 }'}], "result_map": "root.flaky = this"},
        }
    }
    [first] = h.run([{"workflow": conf}], jmsgs({"attempt": 1}))
    record = json.loads(first.content)["meta"]["workflow"]
    assert record["succeeded"] == ["ok"] and list(record["failed"]) == ["flaky"] and "not yet" in record["failed"]["flaky"]
    assert first.error is None  # reported in the record, not as a flag
    again = json.loads(first.content) | {"attempt": 2, "ok": "untouched"}
    [second] = h.run([{"workflow": conf}], jmsgs(again))
    doc = json.loads(second.content)
    assert doc["ok"] == "untouched" and doc["flaky"] == 2  # ok skipped: it succeeded before
    assert doc["meta"]["workflow"]["succeeded"] == ["flaky"] and doc["meta"]["workflow"]["skipped"] == ["ok"]
    assert doc["meta"]["workflow"]["previous"] == record


def test_apply_limits_a_run_to_the_listed_branches(h: Harness) -> None:
    conf = {"branches": {n: {"processors": [{"mapping": "root = 1"}], "result_map": f"root.{n} = this"} for n in ("a", "b")}}
    [out] = h.run([{"workflow": conf}], jmsgs({"meta": {"workflow": {"apply": ["b"]}}}))
    doc = json.loads(out.content)
    assert "a" not in doc and doc["b"] == 1
    assert doc["meta"]["workflow"]["skipped"] == ["a"]


def test_without_meta_path_failures_flag_the_message(h: Harness) -> None:
    conf = {"meta_path": "", "branches": {n: {"processors": [{"mapping": 'root = throw("x")'}]} for n in ("b", "a")}}
    [out] = h.run([{"workflow": conf}], msgs("{}"))
    assert out.error == "workflow branches failed: [a b]"
    assert out.content == b"{}"


def test_explicit_order_and_branch_resources(tmp_path: Any) -> None:
    h = Harness(
        tmp_path,
        processor_resources=[
            {"label": "foo", "branch": {"request_map": 'root = ""', "processors": [{"mapping": "root = 5"}], "result_map": "root.foo = this"}},
            {"label": "baz", "branch": {"request_map": "root = this.foo + this.bar", "processors": [], "result_map": "root.baz = this"}},
        ],
    )
    conf = {"order": [["foo", "bar"], ["baz"]], "branches": {"bar": {"request_map": "root = 6", "processors": [], "result_map": "root.bar = this"}}}
    [out] = h.run([{"workflow": conf}], jmsgs({}))
    doc = json.loads(out.content)
    assert (doc["foo"], doc["bar"], doc["baz"]) == (5, 6, 11)
    assert doc["meta"]["workflow"]["succeeded"] == ["bar", "baz", "foo"]


@pytest.mark.parametrize(
    "conf, problem",
    [
        ({"branches": {"a": {"request_map": "root = this.b", "result_map": "root.a = this", "processors": []},
                       "b": {"request_map": "root = this.a", "result_map": "root.b = this", "processors": []}}},
         "circular dependencies detected for branches: [a b]"),
        ({"order": [["a"]], "branches": {"a": {"processors": []}, "b": {"processors": []}}}, "the following branches were missing from order: [b]"),
        ({"order": [["a"], []], "branches": {"a": {"processors": []}}}, "explicit order tier '1' was empty"),
        ({"branches": {"bad name": {"processors": []}}}, "workflow branch name 'bad name' contains invalid characters"),
        ({"order": [["nope"]]}, "processor resource 'nope' was not found"),
    ],
)
def test_orders_that_cannot_run_are_refused(h: Harness, conf: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        h.build([{"workflow": conf}])


def test_dag_alone() -> None:
    provided = {"foo": [("foo",)], "bar": [("bar",)], "baz": [("baz",)], "all": [()]}
    used = {"baz": [("foo", "id"), ("bar", "content")], "foo": [], "bar": [("body",)], "all": [("x",)]}
    assert resolve(used, provided) == [["all", "foo"], ["bar"], ["baz"]]  # bar reads body, under all's root
    # "all" assigns the whole root, so everything that reads anything waits for it.
    assert resolve({"a": [("x",)], "b": []}, {"a": [("a",)], "b": [()]}) == [["b"], ["a"]]
    assert verify([["a"], ["b"]], ["b", "a"]) == [["a"], ["b"]]
    with pytest.raises(DagError, match="listed multiple times: a"):
        verify([["a"], ["a"]], ["a"])


def test_mapping_targets_read_and_assigned() -> None:
    from streams import bloblang
    from streams.bloblang.targets import assigned_paths, read_paths

    mapping = bloblang.parse(
        'root.fooid = this.foo.id\nroot.x = json("a.b")\nroot.q = this.obj.(inner.value)\n'
        "meta kept = this.m\nif this.c { root.d = 1 }\nroot = this"
    )
    assert read_paths(mapping) == [("foo", "id"), ("a", "b"), ("obj",), ("m",), ("c",), ()]
    assert assigned_paths(mapping) == [("fooid",), ("x",), ("q",), ("d",), ()]
