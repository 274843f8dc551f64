"""Bloblang parser: positions on nodes and the exact error texts users see (Benthos's wording)."""

from __future__ import annotations

import pytest

from streams import bloblang
from streams.bloblang import nodes as N
from streams.bloblang.parser import parse_mapping


@pytest.mark.parametrize(
    "source, text",
    [
        ("foo = bar bar = baz", "line 1 char 11: expected line break"),
        ("root = foo(", "line 1 char 12: required: expected function argument"),
        ("root = nope()", "line 1 char 14: unrecognised function 'nope'"),
        ("root = this.nope()", "line 1 char 19: unrecognised method 'nope'"),
        ("root = this.uppercase(1)", "line 1 char 25: wrong number of arguments, expected 0, got 1"),
        ("root = range(1, 2, step: 3)", "line 1 char 28: cannot mix named and nameless arguments"),
        ("root = range(start: 1, start: 2)", "line 1 char 33: duplicate named arg: start"),
        ("root = range(start: 1, stopp: 2)", "line 1 char 33: unknown parameter stopp, did you mean stop?"),
        ("root = range(1)", "line 1 char 16: missing parameter: stop"),
        ("root = this.a\nroot.b = 5 5", "line 2 char 12: expected line break"),
        (
            "this.foo + this.bar\nroot.x = 1",
            "line 2 char 1: expected the mapping to end here as the beginning is shorthand for "
            "`root = this.foo + t...`, but this shorthand form cannot be followed with more assignments",
        ),
        ("map foo {\n  meta a = 1\n}", "line 2 char 3: setting meta fields is not allowed within this block"),
        ("map foo {\n  root = 1\n}\nmap foo {\n  root = 2\n}", "line 4 char 1: map name collision: foo"),
        (
            "root = this.a.map_each(x -> x.map_each(x -> x))",
            "line 1 char 40: context label `x` would shadow a parent context",
        ),
        ("root = this.a.map_each(this -> 1)", "line 1 char 24: context label `this` is not allowed"),
        ('root = "unterminated', "line 1 char 21: required: expected end quote"),
        ('root = """unterminated', "line 1 char 23: required: expected end triple-quote"),
        ('root = {"a": 1', "line 1 char 15: expected query"),
        ("root = if this.a { 1 ", "line 1 char 22: required: expected }"),
        ("root = match this { 1 => 2", "line 1 char 27: required: expected ,, line break, or }"),
        ("let = 5", "line 1 char 5: required: expected variable name"),
        ('root = "\\q"', "line 1 char 8: failed to unescape quoted string contents: invalid syntax"),
        (
            "root = 99999999999999999999",
            "line 1 char 8: failed to parse '99999999999999999999' as integer: strconv.ParseInt: parsing "
            '"99999999999999999999": value out of range',
        ),
        ("root = this.a.", "line 1 char 15: required: expected method or field path"),
        ("root = 5 / 0", "line 1 char 8: number literal: attempted to divide by zero"),
        (
            'root = "foo" + 5',
            "line 1 char 8: cannot add types string (from string literal) and number (from number literal)",
        ),
        ("", "line 1 char 1: expected import, map, or assignment"),
        ("root = this # no line break at the end", "line 1 char 39: expected line break"),
    ],
)
def test_parse_error_text(source: str, text: str) -> None:
    with pytest.raises(bloblang.ParseError) as info:
        bloblang.parse(source)
    assert str(info.value) == text


def test_parse_error_carries_line_and_column() -> None:
    with pytest.raises(bloblang.ParseError) as info:
        bloblang.parse("root = this\nroot.b = 5 5")
    err = info.value
    assert (err.line, err.column) == (2, 12)
    assert err.message == "expected line break"
    assert isinstance(err, bloblang.BloblangError)


def test_every_node_has_a_position() -> None:
    prog = parse_mapping('root = this\n  root.user_id = "alice" # c\nroot.job = this.a.uppercase()\n')
    lines = [(s.line, s.col) for s in prog.statements]
    assert lines == [(1, 1), (2, 3), (3, 1)]
    call = prog.statements[2].query
    assert isinstance(call, N.Call) and call.name == "uppercase"
    assert (call.target.line, call.target.col) == (3, 12)


def test_quoted_path_segments_and_shorthand() -> None:
    m = bloblang.parse('root.a."b.c" = 1')
    assert m.apply(b"{}").content == b'{"a":{"b.c":1}}'
    m = bloblang.parse("this.a + this.b")
    assert m.apply(b'{"a":1,"b":2}').content == b"3"


def test_comments_and_blank_lines() -> None:
    m = bloblang.parse("#!blobl\n\n# comment\nroot.a = 1 # trailing\n\n\nroot.b = 2\n")
    assert m.apply(b"{}").content == b'{"a":1,"b":2}'


def test_triple_quoted_strings_are_raw() -> None:
    m = bloblang.parse('root = """a\\n\n"b"""')
    assert m.apply(b"{}").content == b'a\\n\n"b'


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    with pytest.raises(bloblang.ParseError) as info:
        bloblang.parse("root = " + "(" * 5000 + "1" + ")" * 5000)
    assert "nested too deeply" in str(info.value)


def test_interpolation_parse_errors() -> None:
    with pytest.raises(bloblang.ParseError) as info:
        bloblang.parse_interpolation("static string ${!not_a_function()} hello world")
    assert str(info.value) == "char 34: unrecognised function 'not_a_function'"
    with pytest.raises(bloblang.ParseError) as info:
        bloblang.parse_interpolation("foo ${!json(\"foo\") whats this?} bar")
    assert str(info.value) == "char 20: required: expected end of expression"


def test_query_remaining() -> None:
    q = bloblang.parse_query('json("foo") + meta("bar") and the rest')
    assert q.remaining == " and the rest"
