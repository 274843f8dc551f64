"""Type Coercion methods."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import streams.bloblang.lib_coercion  # noqa: F401  (registers the methods)
from streams.bloblang.errors import ExecError
from streams.bloblang.library import METHODS
from streams.bloblang.values import NOTHING, Timestamp
from tests.unit.bloblang_reference import assert_matches_benthos


def call(name: str, target: Any, *args: Any) -> Any:
    return METHODS[name].impl(target, *args)


@pytest.mark.parametrize(
    "name, target, args, expected",
    [
        ("array", "foo", (), ["foo"]),
        ("array", ["a"], (), ["a"]),
        ("array", None, (), [None]),
        ("bool", "true", (None,), True),
        ("bool", "F", (None,), False),
        ("bool", 0, (None,), False),
        ("bool", 2.5, (None,), True),
        ("bool", "nope", (True,), True),
        ("number", "5", (None,), 5.0),
        ("number", 5, (None,), 5.0),
        ("number", "1e3", (None,), 1000.0),
        ("number", "nope", (7.0,), 7.0),
        ("number", [1], (7.0,), 7.0),
        ("bytes", "foobar", (), b"foobar"),
        ("bytes", 5, (), b"5"),
        ("bytes", {"a": "<b>"}, (), b'{"a":"\\u003cb\\u003e"}'),
        ("bytes", None, (), b"null"),
        ("string", 1e6, (), "1e+06"),
        ("string", 10, (), "10"),
        ("string", True, (), "true"),
        ("string", None, (), "null"),
        ("string", ["a", 1], (), '["a",1]'),
        ("string", b"raw", (), "raw"),
        ("not_empty", "x", (), "x"),
        ("not_empty", [1], (), [1]),
        ("not_null", 0, (), 0),
        ("type", "x", (), "string"),
        ("type", b"x", (), "bytes"),
        ("type", 1.5, (), "number"),
        ("type", False, (), "bool"),
        ("type", [], (), "array"),
        ("type", {}, (), "object"),
        ("type", None, (), "null"),
        ("type", NOTHING, (), "nothing"),
        ("type", Timestamp(0, datetime.UTC), (), "timestamp"),
    ],
)
def test_coercion_methods(name: str, target: Any, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, target, *args)
    assert result == expected
    assert type(result) is type(expected)


def test_timestamp_from_numbers_strings_and_default() -> None:
    assert call("timestamp", 1_700_000_000, None).ns == 1_700_000_000 * 10**9
    assert call("timestamp", 1.5, None).ns == 1_500_000_000
    parsed = call("timestamp", "2020-01-02T03:04:05.5Z", None)
    assert parsed.ns == 1_577_934_245_500_000_000
    fallback = Timestamp(42, datetime.UTC)
    assert call("timestamp", "not a time", fallback) is fallback
    with pytest.raises(ExecError, match="parsing time"):
        call("timestamp", "not a time", None)


@pytest.mark.parametrize(
    "name, target, args, error",
    [
        ("bool", "nope", (None,), 'expected bool value, got string ("nope")'),
        ("bool", [1], (None,), "expected bool value, got array"),
        ("number", "nope", (None,), 'strconv.ParseFloat: parsing "nope": invalid syntax'),
        ("number", True, (None,), "expected number value, got bool (true)"),
        ("not_empty", "", (), "string value is empty"),
        ("not_empty", [], (), "array value is empty"),
        ("not_empty", {}, (), "object value is empty"),
        ("not_empty", 5, (), "expected string, array or object value, got number (5)"),
        ("not_null", None, (), "value is null"),
        ("timestamp", True, (None,), "expected number or string value, got bool (true)"),
    ],
)
def test_coercion_errors(name: str, target: Any, args: tuple[Any, ...], error: str) -> None:
    with pytest.raises(ExecError) as err:
        call(name, target, *args)
    assert str(err.value) == error


BENTHOS_CASES = [
    ("root = [this.a.array(), this.a.type()]", "{\"a\":1}"),
    ("root = [this.a.bool(), this.b.bool(), this.c.bool(), this.d.bool()]", "{\"a\":\"t\",\"b\":\"FALSE\",\"c\":1.5,\"d\":0}"),
    ("root = this.a.bool()", "{\"a\":\"yes\"}"),
    ("root = this.a.bool()", "{\"a\":null}"),
    ("root = this.a.bool(true)", "{\"a\":\"yes\"}"),
    ("root = this.a.bool(true)", "{}"),
    ("root = this.a.bool()", "{\"a\":\"True\"}"),
    ("root = this.a.bool()", "{\"a\":0.0}"),
    ("root = [this.a.number(), this.b.number(), this.c.number()]", "{\"a\":\"5\",\"b\":5,\"c\":\"1e3\"}"),
    ("root = this.a.number()", "{\"a\":\"0x10\"}"),
    ("root = this.a.number()", "{\"a\":\"nope\"}"),
    ("root = this.a.number()", "{\"a\":true}"),
    ("root = this.a.number(1)", "{\"a\":true}"),
    ("root = this.a.number(1)", "{}"),
    ("root = this.a.number()", "{\"a\":5.0}"),
    ("root = this.a.number()", "{\"a\":18446744073709551615}"),
    ("root = this.a.number().string()", "{\"a\":\"1e6\"}"),
    ("root = [this.a.string(), this.b.string(), this.c.string(), this.d.string(), this.e.string()]", "{\"a\":1.5,\"b\":5.0,\"c\":null,\"d\":[1,\"<a>\"],\"e\":{\"x\":true}}"),
    ("root = this.a.string()", "{\"a\":1e21}"),
    ("root = this.a.bytes().type()", "{\"a\":1}"),
    ("root = [this.a.bytes().string(), this.b.bytes().string()]", "{\"a\":{\"x\":\"<\"},\"b\":2.50}"),
    ("root = [this.a.not_empty(), this.b.not_empty()]", "{\"a\":\"x\",\"b\":[1]}"),
    ("root = this.a.not_empty()", "{\"a\":\"\"}"),
    ("root = this.a.not_empty()", "{\"a\":{}}"),
    ("root = this.a.not_empty()", "{\"a\":5}"),
    ("root = this.a.not_empty()", "{\"a\":null}"),
    ("root = this.a.bytes().not_empty()", "{\"a\":\"x\"}"),
    ("root = this.a.not_null()", "{\"a\":null}"),
    ("root = this.a.not_null()", "{}"),
    ("root = this.a.not_null()", "{\"a\":false}"),
    ("root = [this.a.type(), this.b.type(), this.c.type(), this.d.type(), this.e.type(), this.f.type(), this.g.type()]", "{\"a\":1,\"b\":\"s\",\"c\":null,\"d\":[],\"e\":{},\"f\":true}"),
    ("root = this.a.timestamp().ts_format(\"2006-01-02T15:04:05.999999999Z07:00\", \"UTC\")", "{\"a\":1.5}"),
    ("root = this.a.timestamp().ts_format(\"2006-01-02T15:04:05.999999999Z07:00\", \"UTC\")", "{\"a\":\"2020-01-02T03:04:05.123+02:00\"}"),
    ("root = this.a.timestamp()", "{\"a\":\"2020-01-02\"}"),
    ("root = this.a.timestamp()", "{\"a\":true}"),
    ("root = this.a.timestamp(\"2021-01-01T00:00:00Z\".ts_parse(\"2006-01-02T15:04:05Z07:00\"))", "{\"a\":\"nope\"}"),
    ("root = this.a.timestamp()", "{\"a\":\"2020-01-02T03:04:05Z\"}"),
    ("root = this.a.timestamp()", "{\"a\":-1.5}"),
    ("root = content().string()", "hello"),
    ("root = content().type()", "hello"),
    ("root = this.type()", "[1]"),
    ("root = deleted().type()", "{}"),
    ("root = this.a.string().type()", "{\"a\":1}"),
    # Go's %T of a uint64 beyond int64, and of deleted()/nothing().
    ("root = if \"18446744073709551615\".uint64() { 1 }", "{}"),
    ("meta = \"18446744073709551615\".uint64()", "{}"),
    ("root = \"%T %T\".format(deleted(), nothing())", "{}"),
    ("root = if deleted() { 1 }", "{}"),
    ("if nothing() { root = 1 }", "{}"),
    ("root = if [0.timestamp(), {\"a\": 1.5}] { 1 }", "{}"),
]

# --------------------------------------------------------------------------------------------
# Differential checks against Benthos itself (the Go reference built by tests/bloblang_ref): same
# parse errors (with positions), same execution errors, same bytes out.

@pytest.mark.parametrize("mapping, content", BENTHOS_CASES)
def test_matches_benthos(mapping: str, content: str) -> None:
    assert_matches_benthos(mapping, content)

