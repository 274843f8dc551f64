"""The code generator's faster forms of common mapping shapes give what the general forms give.

Each specialisation is checked against the general path it replaces: the same mapping compiled
with every root assignment deep-copied (``share_root=False``), the full comparison rules, and a
merge into a deep copy. The input document must come out unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from streams.bloblang import Mapping, codegen, runtime, timefmt
from streams.bloblang.lib_structured import _assign_collision, _merge_collision, merge_into, merged
from streams.bloblang.parser import Settings, parse_mapping
from streams.bloblang.values import JsonInt, NilList, clone, parse_json
from streams.message import Message


def _mapping(source: str, share_root: bool) -> Mapping:
    settings = Settings()
    compiled = codegen.compile_program(parse_mapping(source, settings), "<bloblang:test>", share_root=share_root)
    return Mapping(source, compiled, settings)


def _helpers_used(mapping: Mapping) -> set[str]:
    names: set[str] = set()
    for _, fn in mapping._compiled.statements:
        names.update(fn.__code__.co_names)
    return names


EVENT = b'{"event":"signup","user_id":"alice","plan":"pro","items":[1,2,{"x":[3]}],"amount":5.0,"nested":{"a":{"b":1}}}'

ROOT_CASES = [
    # (mapping, helper the specialised form uses)
    ("root = this", "_set_root_shared"),
    ("root = this.nested", "_set_root_shared"),
    ('root = this.merge({ "result": "bar" })', "_set_root_shared"),
    ('root = this.merge({ "nested": { "a": { "c": 2 } }, "items": [4], "new": [] })', "_set_root_shared"),
    ('root = this.nested.merge({ "a": { "b": 7 } })', "_set_root_shared"),
    ('root = this\nroot.user_id = "bob"\nroot.job_id = 5', "_set_root_top"),
    ("root = this\nroot.items = deleted()\nroot.nested = this.nested.a", "_set_root_top"),
    ('root = this\nif this.plan == "pro" { root.tier = 1 }', "_set_root_top"),
    ("root = this\nroot.nested.a.b = 2\nroot.extra = this.nested.a.b", "_set_root"),
    ("root = this\nif true { root.nested.x = 1 }", "_set_root"),
    ('root = this.items\nroot.0 = "zero"\nroot.1 = deleted()', "_set_root_top"),
    ('root = this.merge({"z": 1})\nroot.plan = "free"', "_set_root_top"),
    ('meta kind = "x"\nroot = this\nmeta = {"a": this.plan}', "_set_root_shared"),
]


@pytest.mark.parametrize("source,helper", ROOT_CASES)
@pytest.mark.parametrize("how", ["apply", "mutate"])
def test_root_assignments_match_the_deep_copying_path(source: str, helper: str, how: str) -> None:
    fast = _mapping(source, share_root=True)
    general = _mapping(source, share_root=False)
    assert helper in _helpers_used(fast)
    assert "_set_root_shared" not in _helpers_used(general) and "_set_root_top" not in _helpers_used(general)
    results = []
    for m in (fast, general):
        msg = Message(EVENT, {"user": "alice"})
        before = copy.deepcopy(msg.value)
        out = m.apply_message(msg) if how == "apply" else m.mutate_message(msg)
        assert msg.value == before, "the input document was changed"
        assert out is not None
        results.append((out.content, out.metadata))
    assert results[0] == results[1]


def test_a_later_nested_assignment_cannot_reach_the_input() -> None:
    """``root.nested.a.b = ...`` after ``root = this``: the root must be a deep copy."""
    m = _mapping("root = this\nroot.nested.a.b = 2", share_root=True)
    msg = Message(EVENT)
    out = m.apply_message(msg)
    assert out is not None and parse_json(out.content)["nested"]["a"]["b"] == 2
    assert msg.value["nested"]["a"]["b"] == 1


def test_array_literals_are_still_copied_into_real_arrays() -> None:
    """An empty array literal is only made a real array by a copy: assigning one directly (or
    an object holding one) keeps the deep copy and the payload says ``[]``, not ``null``."""
    for source in ('root = {"a": []}', "root = []", 'root = this.merge({"a": []})'):
        m = _mapping(source, share_root=True)
        out = m.apply(b'{"b":1}')
        assert out is not None and b"null" not in out.content, source
    # The bloblang method runs its mapping against any value (here an array literal), so it is
    # compiled without the shared forms.
    out = _mapping('root = [].bloblang("root = this").string()', share_root=True).apply(b"{}")
    assert out is not None and out.content == b"[]"


@pytest.mark.parametrize(
    "left,right",
    [
        ("a", "a"),
        ("a", "b"),
        ("", ""),
        ("é", "é"),
        ("5", 5),
        (5, "5"),
        (b"a", "a"),
        ("a", b"a"),
        (5, 5.0),
        (True, "true"),
        (None, None),
        (None, "a"),
        ({"a": 1}, {"a": 1}),
        ([1], [1.0]),
    ],
)
def test_equality_helpers_match_the_general_comparison(left: Any, right: Any) -> None:
    for fast, op in ((runtime.equal_op, "=="), (runtime.not_equal_op, "!=")):
        try:
            want: Any = runtime.binop(op, left, right, "left", "right")
        except Exception as exc:  # noqa: BLE001 - the error must be the same too
            want = (type(exc), str(exc))
        try:
            got: Any = fast(left, right, "left", "right")
        except Exception as exc:  # noqa: BLE001
            got = (type(exc), str(exc))
        assert got == want


def test_comparisons_in_mappings_use_the_equality_helpers() -> None:
    m = _mapping('root = if this.user_id != "alice" {\n  deleted()\n}', share_root=True)
    assert "_ne" in {n for _, fn in m._compiled.statements for c in [fn.__code__] for n in _all_names(c)}
    assert m.apply(b'{"user_id":"bob"}') is None
    out = m.apply(b'{"user_id":"alice"}')
    assert out is not None and out.content == b'{"user_id":"alice"}'


def _all_names(code: Any) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _all_names(const)
    return names


@pytest.mark.parametrize("collide", [_merge_collision, _assign_collision])
def test_merged_matches_merging_into_a_deep_copy(collide: Any) -> None:
    dest = {"a": {"b": 1, "c": {"d": [1]}}, "e": [1, 2], "f": "x", "g": {"h": 1}}
    src = {"a": {"b": 2, "c": {"k": 3}}, "e": 3, "f": {"y": 1}, "new": NilList()}
    dest_before = copy.deepcopy(dest)
    src_copy = clone(src)
    want = clone(dest)
    merge_into(want, src_copy, collide)
    got = merged(dest, clone(src), collide)
    assert got == want and list(got) == list(want) and list(got["a"]) == list(want["a"])
    assert dest == dest_before


IF_MAPPINGS = [
    'root = if this.user_id != "alice" {\n  deleted()\n}',
    'root = if this.n > 1 { "big" } else if this.n > 0 { "small" } else { "none" }',
    "root.x = if this.flag { this.n } else { 0 }",
    'meta m = if this.flag { "yes" }\nlet v = if this.flag { 1 } else if this.n { 2 }\nroot.v = $v',
    'root = if this.n.number() > 1 { "a" } else if this.missing.number() > 0 { "b" }',
]
IF_INPUTS = [
    b'{"user_id":"alice","n":2,"flag":true}',
    b'{"user_id":"bob","n":0.5,"flag":false}',
    b'{"user_id":5,"n":-1,"flag":null}',
    b'{"n":"x","flag":"yes"}',
    b'{"n":0,"flag":false}',
    b"not json",
]


def _specialised_and_general(source: str) -> tuple[Mapping, Mapping]:
    """One mapping compiled with the specialised forms and without them."""
    settings = Settings()
    prog = parse_mapping(source, settings)
    fast = Mapping(source, codegen.compile_program(prog, "<bloblang:test>"), settings)
    general = Mapping(source, codegen.compile_program(prog, "<bloblang:test>", specialised=False), settings)
    return fast, general


def _names_used(mapping: Mapping) -> set[str]:
    return {n for _, fn in mapping._compiled.statements for n in _all_names(fn.__code__)}


def _outcome(mapping: Mapping, data: bytes) -> Any:
    """The result of one message, or the error's kind and text (they must match too)."""
    try:
        out = mapping.apply_message(Message(data))
    except Exception as exc:  # noqa: BLE001 - the error text must be the same too
        return (type(exc).__name__, str(exc))
    return None if out is None else (out.content, out.metadata)


@pytest.mark.parametrize("source", IF_MAPPINGS)
def test_if_expression_assignments_match_the_general_form(source: str) -> None:
    fast, general = _specialised_and_general(source)
    assert "_check_if" not in _all_names(fast._compiled.statements[0][1].__code__)
    assert "_check_if" in _names_used(general)
    for data in IF_INPUTS:
        assert _outcome(fast, data) == _outcome(general, data), data


FIELD_MAPPINGS = [
    'root.a = "x"\nroot.b = 5\nroot.c = null\nroot.d = true\nroot.e = this.n',
    "root = this\nroot.n = deleted()\nroot.o = this",
    'root = "text"\nroot.a = 1',
    "root = [1, 2]\nroot.1 = 3",
    "root = this.n\nroot.a = 1",
    'root.a = [1, []]\nroot.b = {"c": []}\nroot.d = this.missing',
    "root = null\nroot.a = 1",
]


@pytest.mark.parametrize("source", FIELD_MAPPINGS)
def test_top_level_field_assignments_match_the_general_form(source: str) -> None:
    fast, general = _specialised_and_general(source)
    assert "_set_field" in _names_used(fast)
    assert "_set_field" not in _names_used(general)
    for data in IF_INPUTS:
        assert _outcome(fast, data) == _outcome(general, data), data


def test_layouts_split_once_format_as_when_split_afresh() -> None:
    """``format_layout`` keeps each layout's split (``layout_chunks``): formatting with a kept
    split gives what splitting the layout again gives."""
    ts = timefmt.Timestamp(1_597_405_526_123_456_789)
    layouts = ["2006-Jan-02 15:04:05", "Monday January _2 3:04:05.000PM -07:00 MST", "02/01/06 .999999999 Z07", "no elements"]
    first = [timefmt.format_layout(ts, layout) for layout in layouts]
    assert all(layout in timefmt._LAYOUT_CHUNKS for layout in layouts)
    timefmt._LAYOUT_CHUNKS.clear()
    assert [timefmt.format_layout(ts, layout) for layout in layouts] == first
    assert first[0] == "2020-Aug-14 11:45:26"
    assert first[3] == "no elements"


@pytest.mark.parametrize("op", ["+", "-", "*", "==", "!=", "<", "<=", ">", ">="])
def test_int64_operations_match_the_general_dispatch(op: str) -> None:
    """``binop`` on two int64s skips to the arithmetic; the general route (``_compare`` for
    comparisons, ``_numeric`` for arithmetic) gives the same, overflow wrapping included."""
    big = 2**63 - 1
    pairs = [(3, 10), (JsonInt(11), 10), (-5, JsonInt(-5)), (big, 1), (-big - 1, -1), (big, big), (0, 0)]
    for left, right in pairs:
        if op in ("+", "-", "*"):
            want = runtime._numeric(op, left, right, "l", "r")
        else:
            want = runtime._compare(op, left, right, "l", "r")
        got = runtime.binop(op, left, right, "l", "r")
        assert got == want and type(got) is type(want), (left, right)


def test_apply_leaves_the_callers_metadata_alone() -> None:
    """``apply`` reads the caller's metadata dict without copying it: metadata assignments
    change the result's copy only, and ``metadata()`` still reads the input's values."""
    meta = {"user": "alice", "keep": "k"}
    m = _mapping('meta x = "y"\nmeta user = deleted()\nroot = metadata("user") + @keep', share_root=True)
    out = m.apply(b"{}", meta)
    assert out is not None and out.content == b"alicek"
    assert out.metadata == {"keep": "k", "x": "y"}
    assert meta == {"user": "alice", "keep": "k"}
