"""Bloblang value model: Go encoding/json decoding and encoding, IToString, ICompare, type errors."""

from __future__ import annotations

import pytest

import streams.bloblang.values as values_module
from streams.bloblang.errors import ExecError
from streams.bloblang.values import (
    JsonFloat,
    JsonInt,
    NilList,
    convert_arg,
    equal,
    format_float_g,
    format_float_json,
    parse_json,
    to_json,
    to_payload,
    to_string,
    type_error,
)


def test_decoding_keeps_go_number_kinds() -> None:
    v = parse_json(b'{"i":5,"f":5.0,"e":1e3,"u":18446744073709551615,"n":-7}')
    assert type(v["i"]) is JsonInt and v["i"] == 5
    assert isinstance(v["f"], JsonFloat) and v["f"].text == "5.0"
    assert v["e"].text == "1e3" and v["u"].text == "18446744073709551615"
    assert to_payload(v) == b'{"e":1e3,"f":5.0,"i":5,"n":-7,"u":18446744073709551615}'
    assert type(v["i"] + 1) is int


@pytest.mark.parametrize(
    "data, payload",
    [
        # integer-only documents take the fast path: every int is a JSON integer, nested too
        (b'{"a":[1,{"b":-2}],"c":"2024-01-05","d":true,"e":null}', b'{"a":[1,{"b":-2}],"c":"2024-01-05","d":true,"e":null}'),
        # a zero and a "-0" text elsewhere (a string): still exact
        (b'{"z":0,"s":"x-0"}', b'{"s":"x-0","z":0}'),
        # "-0" is a float in Go and keeps its text
        (b'{"z":-0}', b'{"z":-0}'),
        (b'[0,-0]', b'[0,-0]'),
        # beyond int64, and floats: the number text decides
        (b'{"u":9223372036854775808,"i":1}', b'{"i":1,"u":9223372036854775808}'),
        (b'{"i":1,"f":[2.50]}', b'{"f":[2.50],"i":1}'),
        # a digit before a point sends the document straight to the decoder keeping texts: a
        # float, or only a string that looks like one (a false alarm, same result)
        (b'{"event":"signup","items":[1,2,3],"amount":5.0}', b'{"amount":5.0,"event":"signup","items":[1,2,3]}'),
        (b'{"ip":"10.0.0.1","n":7}', b'{"ip":"10.0.0.1","n":7}'),
        # a float without a point is found after orjson has read the document
        (b'{"e":1e3,"E":2E-1,"n":7}', b'{"E":2E-1,"e":1e3,"n":7}'),
    ],
)
def test_decoding_fast_and_exact_paths_agree(data: bytes, payload: bytes) -> None:
    value = parse_json(data)
    assert to_payload(value) == payload
    ints = [x for x in _leaves(value) if isinstance(x, int) and not isinstance(x, bool)]
    assert all(type(x) is JsonInt for x in ints)


@pytest.mark.parametrize(
    "data", [b'{"a":1.50,"b":[1,-0,2e2]}', '{"a":1.50,"b":"x1.5"}', b" [1.0] ", b'{"a":1.5}{', b'{"a":1.}', b"[1.5, NaN]"]
)
def test_documents_with_floats_decode_as_the_text_keeping_decoder(data: bytes | str) -> None:
    """A document with a decimal point skips orjson: the result, or the error, is the same as
    for the path through it (the whole document decoded with every number's text)."""

    def outcome() -> object:
        try:
            value = parse_json(data)
        except ValueError as exc:
            return str(exc)
        return (to_payload(value), [type(x) for x in _leaves(value)])

    assert values_module._likely_float(data)
    fast = outcome()
    hint = values_module._likely_float
    try:
        # With a hint that never says yes, every document goes through orjson first.
        values_module._likely_float = lambda data: False  # type: ignore[assignment]
        slow = outcome()
    finally:
        values_module._likely_float = hint
    assert fast == slow


@pytest.mark.parametrize(
    "data, likely",
    [
        (b"1.5", True),
        (b"[.5]", False),
        (b'"a.b"', False),
        (b'{"ip":"10.0.0.1"}', True),
        ("x.1", False),
        ("1.", True),
        (b"a.a.a.a.a.a.a.a.a.a.a.1", True),
        (bytearray(b"[2.5]"), True),
        (b"", False),
        ("", False),
    ],
)
def test_float_hint(data: bytes | str, likely: bool) -> None:
    assert values_module._likely_float(data) is likely


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for x in value.values() for leaf in _leaves(x)]
    if isinstance(value, list):
        return [leaf for x in value for leaf in _leaves(x)]
    return [value]


@pytest.mark.parametrize(
    "data, text",
    [
        (b"", "EOF"),
        (b"   ", "EOF"),
        (b"not json", "invalid character 'o' in literal null (expecting 'u')"),
        (b'{"a":1', "unexpected EOF"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b"[1,2 3]", "invalid character '3' after array element"),
        (b"{a:1}", "invalid character 'a' looking for beginning of object key string"),
        (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
        (b"{} {}", "message contains multiple valid documents"),
        (b"{} x", "invalid character 'x' looking for beginning of value"),
        (b"\\", "invalid character '\\\\' looking for beginning of value"),
    ],
)
def test_decoding_errors_read_like_go(data: bytes, text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_json(data)
    assert str(info.value) == text


@pytest.mark.parametrize(
    "f, json_text, g_text",
    [
        (1.0, "1", "1"),
        (1e6, "1000000", "1e+06"),
        (123456.0, "123456", "123456"),
        (1e-5, "0.00001", "1e-05"),
        (1e-7, "1e-7", "1e-07"),
        (1e21, "1e+21", "1e+21"),
        (1e20, "100000000000000000000", "1e+20"),
        (-0.0, "-0", "-0"),
        (0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"),
    ],
)
def test_float_texts(f: float, json_text: str, g_text: str) -> None:
    assert format_float_json(f) == json_text
    assert format_float_g(f) == g_text


def test_encoding_rules() -> None:
    value = {"b": [1, 2.5, b"hi"], "a": "<&>\u2028", "c": None, "d": NilList()}
    assert to_json(value) == '{"a":"<&>\\u2028","b":[1,2.5,"aGk="],"c":null,"d":null}'
    assert to_json({"a": "<"}, escape_html=True) == '{"a":"\\u003c"}'
    assert to_json({"a": [1, {}]}, indent="  ") == '{\n  "a": [\n    1,\n    {}\n  ]\n}'
    assert to_payload("raw") == b"raw" and to_payload(b"\xff") == b"\xff"
    with pytest.raises(ValueError):
        to_json(float("nan"))


def test_to_string() -> None:
    assert to_string(None) == "null"
    assert to_string(1e6) == "1e+06"
    assert to_string(JsonFloat("1e6")) == "1e6"
    assert to_string({"a": "<"}) == '{"a":"\\u003c"}'
    assert to_string(b"bytes") == "bytes"


def test_equality_is_benthos_icompare() -> None:
    assert equal(2, 2.0) and equal("a", b"a") and equal([1, {"a": None}], [1.0, {"a": None}])
    assert equal({"a": None}, {"b": None})  # Go reads a missing key as nil
    assert not equal("1", 1) and not equal(None, False)


def test_type_errors_and_argument_conversion() -> None:
    assert str(type_error("x", "number")) == 'expected number value, got string ("x")'
    assert str(type_error(5, "string", "bytes", "array")) == "expected string, bytes or array value, got number (5)"
    err = type_error(None, "array").with_source("field `this.a`")
    assert str(err) == "expected array value, got null from field `this.a`"
    assert convert_arg("int", 2.9) == 2
    assert convert_arg("bool", 1) is True
    with pytest.raises(ExecError, match="wrong argument type, expected string, got number"):
        convert_arg("string", 5)


def test_go_quote_matches_strconv() -> None:
    from streams.bloblang.values import go_quote, strconv_error

    assert go_quote("\x01x0_") == '"\\x01x0_"'
    assert go_quote("\u3000 \u00ad\u200b😀\u00a0") == '"\\u3000 \\u00ad\\u200b😀\\u00a0"'
    assert go_quote('a"b\\\n') == '"a\\"b\\\\\\n"'
    assert str(strconv_error("ParseInt", "x\u2028")) == 'strconv.ParseInt: parsing "x\\u2028": invalid syntax'
