"""Bloblang core language: execution semantics, the engine-facing API, safety and the CLI."""

from __future__ import annotations

import builtins
import io
import os

import pytest

from streams import bloblang
from streams.bloblang import cli, runtime
from streams.message import Message


def run(source: str, content: bytes = b"{}", metadata: dict | None = None) -> Message | None:
    return bloblang.parse(source).apply(content, metadata)


def out(source: str, content: bytes = b"{}") -> bytes:
    msg = run(source, content)
    assert msg is not None
    return msg.content


def error(source: str, content: bytes = b"{}") -> str:
    with pytest.raises(bloblang.MappingError) as info:
        run(source, content)
    assert isinstance(info.value, bloblang.BloblangError)
    return str(info.value)


# -- the public contract -------------------------------------------------------------------


def test_seed_mappings() -> None:
    m = bloblang.parse('root = this\nroot.user_id = "alice" # c\nroot.n = this.n\n')
    assert m.apply(b'{"n":1.50,"b":"<x>"}').content == b'{"b":"<x>","n":1.50,"user_id":"alice"}'
    m = bloblang.parse('root = if this.user_id != "alice" {\n  deleted()\n}')
    assert m.apply(b'{"user_id":"bob"}') is None
    assert m.apply(b'{"user_id":"alice"}').content == b'{"user_id":"alice"}'


def test_apply_returns_metadata_and_raw_strings() -> None:
    msg = run('meta topic = "t1"\nroot = this.s', b'{"s":"plain text"}', {"k": "v"})
    assert msg.content == b"plain text"
    assert msg.metadata == {"k": "v", "topic": "t1"}


def test_mapping_error_text() -> None:
    assert error("root = this.a + this.b", b'{"a":"x","b":5}') == (
        "failed assignment (line 1): cannot add types string (from field `this.a`) and number (from field `this.b`)"
    )
    assert error('root.a = 1\nroot = throw("boom")') == "failed assignment (line 2): boom"
    assert error("root.x = this.x", b"not json") == (
        "failed assignment (line 1): unable to reference message as structured (with 'this.x'): "
        "parse as json: invalid character 'o' in literal null (expecting 'u')"
    )


def test_apply_message_leaves_payload_when_root_unassigned() -> None:
    m = bloblang.parse('meta a = "b"')
    src = Message(b'{"x":  1}', {"m": 1})
    res = m.apply_message(src)
    assert res is not src and res.content == b'{"x":  1}'
    assert res.metadata == {"m": 1, "a": "b"} and src.metadata == {"m": 1}


def test_apply_message_passes_structured_values() -> None:
    m = bloblang.parse("root.y = this.x + 1")
    first = m.apply_message(Message(b'{"x":1}'))
    assert first.has_value and first.value == {"y": 2}
    second = bloblang.parse("root.z = this.y * 2").apply_message(first)
    assert second.value == {"z": 4}
    assert second.content == b'{"z":4}'


def test_mutate_message_sees_own_writes_and_keeps_input() -> None:
    m = bloblang.parse("root.a = 5\nroot.b = this.a")
    src = Message(b'{"a":1,"c":true}')
    res = m.mutate_message(src)
    assert res.value == {"a": 5, "b": 5, "c": True}
    assert src.value == {"a": 1, "c": True}


def test_batch_functions_and_from() -> None:
    batch = [Message(b'{"v":1}'), Message(b'{"v":2}'), Message(b'{"v":3}')]
    m = bloblang.parse('root.i = batch_index()\nroot.n = batch_size()\nroot.last = json("v").from(-1)\nroot.all = json("v").from_all()')
    res = m.apply_message(batch[1], batch, 1)
    assert res.value == {"i": 1, "n": 3, "last": 3, "all": [1, 2, 3]}


def test_overlay_message_for_branch_results() -> None:
    m = bloblang.parse("root.result = this.v\nmeta got = this.v")
    src = Message(b'{"keep":1}', {"m": "x"})
    res = m.overlay_message(src, {"v": 7})
    assert res.value == {"keep": 1, "result": 7} and res.metadata == {"m": "x", "got": 7}
    assert src.value == {"keep": 1} and src.metadata == {"m": "x"}


def test_query_value_and_overlay() -> None:
    m = bloblang.parse("root.b = this.a")
    assert m.query_value({"a": 1}) == {"b": 1}
    onto = {"c": 2}
    assert m.query_value({"a": 1}, overlay=onto) == {"b": 1, "c": 2}
    assert onto == {"c": 2}
    with pytest.raises(bloblang.MappingError, match="root was deleted"):
        bloblang.parse("root = deleted()").query_value(1)
    with pytest.raises(bloblang.MappingError, match="unable to assign metadata in the current context"):
        bloblang.parse('meta a = "x"').query_value(1)


# -- language ------------------------------------------------------------------------------


def test_variables_are_per_message() -> None:
    m = bloblang.parse("root.had = $x.catch(null)\nlet x = this.v")
    assert m.apply(b'{"v":1}').content == b'{"had":null}'
    assert m.apply(b'{"v":2}').content == b'{"had":null}'


def test_match_forms() -> None:
    assert out('root = match this.x { "a" => 1, "b" => 2, _ => 3 }', b'{"x":"b"}') == b"2"
    assert out('root = match { this.x == "a" => 1\n _ => 0 }', b'{"x":"a"}') == b"1"
    assert out('root.r = match this.x { "z" => 1 }', b'{"x":"a"}') == b'{"x":"a"}'
    assert out("root = match this.n { this > 5 => \"big\", _ => \"small\" }", b'{"n":9}') == b"big"


def test_if_expressions_and_statements() -> None:
    src = 'root = if this.a > 1 { "big" } else if this.a > 0 { "small" } else { "none" }'
    assert out(src, b'{"a":1}') == b"small"
    assert out(src, b'{"a":0}') == b"none"
    stmt = 'if this.a == 1 {\n  root.x = "one"\n} else if this.a == 2 {\n  root.x = "two"\n} else {\n  root.x = "other"\n}'
    assert out(stmt, b'{"a":2}') == b'{"x":"two"}'
    assert error("if this.a {\n root = 1\n}", b'{"a":"s"}') == (
        'failed assignment (line 1): field `this.a` resolved to a non-boolean value s (string)'
    )


def test_lambdas_named_args_and_map_expressions() -> None:
    assert out("root = this.items.map_each(i -> i * 2)", b'{"items":[1,2,3]}') == b"[2,4,6]"
    assert out("root = this.a.(x -> x + this.b)", b'{"a":1,"b":10}') == b"11"
    assert out("root = this.a.(b + 1)", b'{"a":{"b":1}}') == b"2"
    assert out("root = range(start: 0, stop: 6, step: 2)") == b"[0,2,4]"


def test_maps_apply_and_recursion_limit() -> None:
    assert out('map foo {\n root.v = this.a\n}\nroot = this.apply("foo")', b'{"a":5}') == b'{"v":5}'
    text = error('map rec {\n root = this.apply("rec")\n}\nroot = this.apply("rec")')
    assert text.startswith("failed assignment (line 4): failed assignment (line 2): entering map rec exceeded maximum")
    assert error('root = this.apply("nope")') == "failed assignment (line 1): map nope was not found"


def test_import_relative_to_base_dir(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "maps.blobl").write_text('import "more.blobl"\nmap upper {\n root = this.uppercase()\n}\n')
    (tmp_path / "sub" / "more.blobl").write_text("map twice {\n root = this + this\n}\n")
    m = bloblang.parse('import "sub/maps.blobl"\nroot.a = this.s.apply("upper")\nroot.b = this.s.apply("twice")', base_dir=str(tmp_path))
    assert m.apply(b'{"s":"ab"}').content == b'{"a":"AB","b":"abab"}'
    (tmp_path / "bad.blobl").write_text("map x {\n root = \n}\n")
    with pytest.raises(bloblang.ParseError) as info:
        bloblang.parse('import "bad.blobl"', base_dir=str(tmp_path))
    assert str(info.value).startswith("line 1 char 1: failed to parse import 'bad.blobl': line 2 char")
    with pytest.raises(bloblang.ParseError, match="outside the mapping directory"):
        bloblang.parse('import "../../../etc/passwd"', base_dir=str(tmp_path / "sub"))


def test_catch_or_and_errors() -> None:
    assert out('root = this.a.catch("caught")', b"not json") == b"caught"
    assert out("root.e = this.a.number().catch(e -> e)", b'{"a":"x"}') == (
        b'{"e":"field `this.a`: strconv.ParseFloat: parsing \\"x\\": invalid syntax"}'
    )
    assert out('root = this.a | this.b | "default"', b'{"b":null}') == b"default"
    assert out('root = this.missing.or("x")') == b"x"
    msg = Message(b"{}")
    msg.error = "earlier failure"
    res = bloblang.parse("root.e = error()\nroot.f = errored()").apply_message(msg)
    assert res.value == {"e": "earlier failure", "f": True}


def test_literals_drop_deleted_and_nothing() -> None:
    assert out("root = [1, deleted(), nothing(), 2]") == b"[1,2]"
    assert out('root = {"a": this.x, "b": deleted(), (this.k): 1}', b'{"x":1,"k":"dyn"}') == b'{"a":1,"dyn":1}'


def test_path_assignment_errors_and_deletes() -> None:
    assert error("root = 1\nroot.a = 2") == (
        "failed assignment (line 2): unable to set target path a as the value of the root was a non-object type (number)"
    )
    assert error("root.a.b = 1\nroot.a.b.c = 2") == (
        "failed assignment (line 2): unable to set target path a.b.c as the value of a.b was a non-object type (number)"
    )
    assert out("root = this\nroot.a = deleted()", b'{"a":1,"b":2}') == b'{"b":2}'


def test_metadata_reads_and_writes() -> None:
    msg = run('meta foo = "bar"\nroot.m = @foo\nroot.orig = metadata("k")\nroot.all = @\nmeta k = deleted()', b"{}", {"k": "v"})
    assert msg.value == {"m": "bar", "orig": "v", "all": {"foo": "bar", "k": "v"}}
    assert msg.metadata == {"foo": "bar"}


# -- numbers and serialisation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "source, expected",
    [
        ("root = 9223372036854775807 + 1", b"-9223372036854775808"),
        ("root = 10 / 4", b"2.5"),
        ("root = 4 / 2", b"2"),
        ("root = 7 % -3", b"1"),
        ("root = -7 % 3", b"-1"),
        ("root = 0.1 + 0.2", b"0.30000000000000004"),
        ("root = 1000000.0 * 1000000.0 * 1000000000.0", b"1e+21"),
        ("root = 0.0000001 * 1.0", b"1e-7"),
        ("root = (1000000.0).string()", b"1e+06"),
        ('root = {"h": "<&>"}', b'{"h":"<&>"}'),
        ('root = {"h": "<&>"}.string()', b'{"h":"\\u003c\\u0026\\u003e"}'),
    ],
)
def test_number_and_json_rules(source: str, expected: bytes) -> None:
    assert out(source) == expected


def test_json_numbers_keep_their_text_when_untouched() -> None:
    assert out("root = this", b'{"a":5.0,"b":1e3,"c":18446744073709551615}') == b'{"a":5.0,"b":1e3,"c":18446744073709551615}'
    assert out("root.a = this.a + 0", b'{"a":5.0}') == b'{"a":5}'


# -- safety ----------------------------------------------------------------------------------


def test_python_names_are_plain_data() -> None:
    src = (
        "root.__class__ = this.__class__\nroot.__builtins__ = this.__globals__\n"
        "let ctx = 1\nroot.K = $ctx\nroot.l = this.xs.map_each(t -> t.__dict__)"
    )
    assert out(src, b'{"__class__":1,"xs":[{"__dict__":2}]}') == b'{"K":1,"__builtins__":null,"__class__":1,"l":[2]}'


def test_generated_code_has_no_builtins_and_bloblang_positions() -> None:
    m = bloblang.parse("root.a = 1\nroot.b = this.x", filename="streams.out.processors.0")
    line, fn = m._compiled.statements[1]
    assert line == 2
    assert fn.__code__.co_filename == "<bloblang:streams.out.processors.0>"
    assert fn.__code__.co_firstlineno == 2
    names = fn.__globals__["__builtins__"]
    assert not set(names) & set(vars(builtins))  # no Python builtin: only the runtime's helpers
    assert set(names) >= set(runtime.HELPERS)
    assert set(fn.__globals__) - {"__builtins__", "K", "F"} <= {f"S{k}" for k in range(2)}


def test_mappings_share_one_table_of_helpers() -> None:
    first = bloblang.parse('root.user = "alice"')._compiled.statements[0][1]
    second = bloblang.parse('root.user = "bob"')._compiled.statements[0][1]
    assert first.__globals__ is not second.__globals__
    assert first.__globals__["__builtins__"] is second.__globals__["__builtins__"]


def test_huge_range_fails_cleanly() -> None:
    assert "exceeds the limit" in error("root = range(0, 100000000000)")


def test_impure_functions_need_permission() -> None:
    with pytest.raises(bloblang.ParseError, match="impure"):
        bloblang.parse('root = env("HOME")')
    os.environ["STREAMS_BLOBL_TEST"] = "yes"
    m = bloblang.parse('root = env("STREAMS_BLOBL_TEST")', allow_impure=True)
    assert m.apply(b"{}").content == b"yes"


def test_bloblang_method_disables_imports_and_impure() -> None:
    m = bloblang.parse("root = this.v.bloblang(this.m)")
    assert m.apply(b'{"v":{"a":1},"m":"root.b = this.a + 1"}').content == b'{"b":2}'
    assert error("root = this.v.bloblang(this.m)", b'{"v":1,"m":"root = env(\\"HOME\\")"}') == (
        "failed assignment (line 1): unrecognised function 'env'"
    )
    assert "unrecognised function 'content'" in error("root = this.v.bloblang(this.m)", b'{"v":1,"m":"root = content()"}')


# -- stateful functions ------------------------------------------------------------------------


def test_counter_is_per_call_site() -> None:
    m = bloblang.parse("root.a = counter()\nroot.b = counter(min: 10)")
    assert [m.apply(b"{}").value for _ in range(2)] == [{"a": 1, "b": 10}, {"a": 2, "b": 11}]
    fresh = bloblang.parse("root.a = counter()\nroot.b = counter(min: 10)")
    assert fresh.apply(b"{}").value == {"a": 1, "b": 10}
    nested = "if true {\n  root.c = [1].map_each(x -> counter())\n}"
    assert bloblang.parse(nested).apply(b"{}").value == {"c": [1]}
    assert bloblang.parse(nested).apply(b"{}").value == {"c": [1]}


# -- interpolation -----------------------------------------------------------------------------


def test_interpolation() -> None:
    it = bloblang.parse_interpolation('user-${! this.user }-${! meta("k") }-${{! not code }}')
    assert not it.is_static
    assert it.render(Message(b'{"user":"alice"}', {"k": 7})) == "user-alice-7-${! not code }"
    static = bloblang.parse_interpolation("plain $ text")
    assert static.is_static and static.render(None) == "plain $ text"
    with pytest.raises(bloblang.MappingError):
        bloblang.parse_interpolation('${! throw("no") }').render(Message(b"{}"))


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_runs_lines_and_reports_errors() -> None:
    stdin = io.BytesIO(b'{"a":"x"}\nnot json\n{"a":"<y>"}\n')
    stdout, stderr = io.StringIO(), io.StringIO()
    rc = cli.main(["root.a = this.a.uppercase()"], stdin=stdin, stdout=stdout, stderr=stderr)
    assert rc == 0
    assert stdout.getvalue() == '{"a":"X"}\n{"a":"\\u003cY\\u003e"}\n'
    assert stderr.getvalue().startswith("failed to execute map: failed assignment (line 1): unable to reference")


def test_cli_parse_error() -> None:
    stderr = io.StringIO()
    rc = cli.main(["root = this.foo +"], stdin=io.BytesIO(b""), stdout=io.StringIO(), stderr=stderr)
    assert rc == 1
    assert stderr.getvalue() == (
        "failed to parse mapping: line 1 char 18: expected query\n  |\n1 | root = this.foo +\n  |                  ^---\n"
    )
