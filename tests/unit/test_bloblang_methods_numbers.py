"""Number Manipulation methods: Go rounding, casts with strconv parsing, float64 maths."""

from __future__ import annotations

import math
from typing import Any

import pytest

import streams.bloblang.lib_numbers  # noqa: F401  (registers the methods)
from streams.bloblang.errors import ExecError
from streams.bloblang.library import METHODS
from streams.bloblang.values import JsonFloat, to_json
from tests.unit.bloblang_reference import assert_matches_benthos


def call(name: str, target: Any, *args: Any) -> Any:
    return METHODS[name].impl(target, *args)


def same(a: Any, b: Any) -> bool:
    """Equal value and equal kind (int vs float), NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    "name, target, args, expected",
    [
        ("ceil", 5.3, (), 6),
        ("ceil", -5.9, (), -5),
        ("ceil", 7, (), 7),
        ("ceil", 1e300, (), 1e300),
        ("floor", 5.7, (), 5),
        ("floor", -5.1, (), -6),
        ("round", 5.3, (), 5),
        ("round", 5.5, (), 6),
        ("round", 2.5, (), 3),
        ("round", -2.5, (), -3),
        ("round", 0.49999999999999994, (), 0),
        ("abs", -18, (), 18),
        ("abs", -4.56, (), 4.56),
        ("abs", -(1 << 63), (), (1 << 63) - 1),
        ("log", 1, (), 0.0),
        ("log", -1, (), math.nan),
        ("log", 0, (), -math.inf),
        ("log10", 100, (), 2.0),
        ("max", [0, 3, 2.5, 7, 5], (), 7.0),
        ("min", [0, 3, -2.5, 7, 5], (), -2.5),
        ("pow", 2, (-2.0,), 0.25),
        ("pow", 10, (400.0,), math.inf),
        ("pow", -8, (1 / 3,), math.nan),
        ("sin", 0, (), 0.0),
        ("cos", 0, (), 1.0),
        ("tan", math.inf, (), math.nan),
        ("bitwise_and", 12, (10,), 8),
        ("bitwise_or", 12, (10,), 14),
        ("bitwise_xor", 12, (10,), 6),
        ("bitwise_and", 12.9, (10,), 8),
        ("int64", "0xDEADBEEF", (), 3735928559),
        ("int64", 12.0, (), 12),
        ("int64", "-0b101", (), -5),
        ("int64", "1_000", (), 1000),
        ("int32", "0xDEAD", (), 57005),
        ("int16", "0xDE", (), 222),
        ("int8", "0xD", (), 13),
        ("int8", -128, (), -128),
        ("uint64", "0xDEADBEEF", (), 3735928559),
        ("uint64", (1 << 64) - 1, (), (1 << 64) - 1),
        ("uint8", "255", (), 255),
        ("float64", "6.674282313423543523453425345e-11", (), 6.674282313423544e-11),
        ("float64", "0x1p-2", (), 0.25),
        ("float64", 3, (), 3.0),
        ("float64", "1_000.5", (), 1000.5),
        ("ceil", 9223372036854775807.0, (), 9223372036854775808.0),
    ],
)
def test_number_methods(name: str, target: Any, args: tuple[Any, ...], expected: Any) -> None:
    assert same(call(name, target, *args), expected)


@pytest.mark.parametrize(
    "name, target, expected",
    [
        # Go's own algorithms, which differ from the C library in the last bit.
        ("log", 3.0, 1.0986122886681096),
        ("log10", 0.1, -0.9999999999999999),
        ("log", 1e-320, -709.0895657128236),
        ("tan", 1.0, 1.557407724654902),
        ("sin", 2.5, 0.5984721441039564),
        ("cos", 0.1, 0.9950041652780257),
        # Arguments beyond 2**29 take Payne-Hanek reduction.
        ("sin", 1e300, -0.8178819121159087),
        ("tan", 1e300, 1.4214488238747243),
        ("cos", 9223372036854775807.0, 0.0118000765128003),
    ],
)
def test_go_maths_bit_for_bit(name: str, target: float, expected: float) -> None:
    assert call(name, target) == expected


def test_float32_keeps_its_short_text() -> None:
    value = call("float32", "6.674282313423543523453425345e-11")
    assert isinstance(value, JsonFloat)
    assert to_json({"out": value}) == '{"out":6.674283e-11}'
    assert to_json(call("float32", 0.1)) == "0.1"
    assert to_json(call("float32", 16777217)) == "16777216"


@pytest.mark.parametrize(
    "name, target, error",
    [
        ("ceil", "5", 'expected number value, got string ("5")'),
        ("round", None, "expected number value, got null"),
        ("abs", "x", 'expected number or integer value, got string ("x")'),
        ("max", [], "the array was empty"),
        ("max", 5, "expected array value, got number (5)"),
        ("min", [1, "a"], 'index 1 of array: expected number value, got string ("a")'),
        ("bitwise_and", "x", 'expected integer value, got string ("x")'),
        ("int64", 12.5, "float value contains decimals and therefore cannot be cast as a signed integer, if you intend to round the value then call `.round()` explicitly before this cast"),
        ("int64", "nope", 'strconv.ParseInt: parsing "nope": invalid syntax'),
        ("int64", "99999999999999999999", 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
        ("int64", (1 << 63), "unsigned integer value is too large to be cast as a signed integer"),
        ("int64", True, "expected number value, got bool (true)"),
        ("int32", 1 << 31, "value is too large to be cast as a 32-bit signed integer"),
        ("int8", -129, "value is too small to be cast as an 8-bit signed integer"),
        ("uint64", -12, "signed integer value is negative and cannot be cast as an unsigned integer"),
        ("uint64", "-1", 'strconv.ParseUint: parsing "-1": invalid syntax'),
        ("uint16", 70000, "value is too large to be cast as a 16-bit unsigned integer"),
        ("uint8", 256, "value is too large to be cast as an 8-bit unsigned integer"),
        ("float64", "abc", 'strconv.ParseFloat: parsing "abc": invalid syntax'),
        ("float64", "1e400", 'strconv.ParseFloat: parsing "1e400": value out of range'),
        ("float64", "1__0", 'strconv.ParseFloat: parsing "1__0": invalid syntax'),
        ("int64", '"5"', 'strconv.ParseInt: parsing "\\"5\\"": invalid syntax'),
        # A number read from the input is a json.Number in Go: the casts parse its text.
        ("int64", JsonFloat("12.5"), 'strconv.ParseInt: parsing "12.5": invalid syntax'),
        ("uint64", JsonFloat("18446744073709551615"), 'strconv.ParseInt: parsing "18446744073709551615": value out of range'),
        ("float32", JsonFloat("1e39"), 'strconv.ParseFloat: parsing "1e39": value out of range'),
    ],
)
def test_number_method_errors(name: str, target: Any, error: str) -> None:
    with pytest.raises(ExecError) as err:
        call(name, target, *((10,) if name.startswith("bitwise") else ()))
    assert str(err.value) == error


BENTHOS_CASES = [
    ("root = [this.a.ceil(), this.a.floor(), this.a.round(), this.a.abs()]", "{\"a\":-2.5}"),
    ("root = [this.a.ceil(), this.a.floor(), this.a.round(), this.a.abs()]", "{\"a\":7}"),
    ("root = [this.a.ceil(), this.a.floor(), this.a.round()]", "{\"a\":1e300}"),
    ("root = [this.a.ceil(), this.a.floor(), this.a.round()]", "{\"a\":9223372036854775807.0}"),
    ("root = [this.a.ceil(), this.a.floor(), this.a.round()]", "{\"a\":-9223372036854775808.0}"),
    ("root = [this.a.ceil(), this.a.floor(), this.a.round()]", "{\"a\":18446744073709551615}"),
    ("root = this.a.abs()", "{\"a\":18446744073709551615}"),
    ("root = this.a.abs()", "{\"a\":-9223372036854775808}"),
    ("root = this.a.abs()", "{\"a\":\"5\"}"),
    ("root = this.a.abs()", "{\"a\":-0.0}"),
    ("root = [this.a.log(), this.a.log10()]", "{\"a\":100}"),
    ("root = [this.a.log().string(), this.a.log10().string()]", "{\"a\":-1}"),
    ("root = [this.a.log().string(), this.a.log10().string()]", "{\"a\":0}"),
    ("root = this.a.log()", "{\"a\":-1}"),
    ("root = this.a.log()", "{\"a\":\"x\"}"),
    ("root = [this.a.max(), this.a.min()]", "{\"a\":[1,5.5,-3]}"),
    ("root = this.a.max()", "{\"a\":[]}"),
    ("root = this.a.max()", "{\"a\":[1,\"x\"]}"),
    ("root = this.a.max()", "{\"a\":\"x\"}"),
    ("root = [this.a.pow(2), this.a.pow(0.5), this.a.pow(-1)]", "{\"a\":4}"),
    ("root = [this.a.pow(0.5).string(), this.a.pow(1000).string()]", "{\"a\":-8}"),
    ("root = this.a.pow(this.b)", "{\"a\":2,\"b\":\"x\"}"),
    ("root = [this.a.bitwise_and(6), this.a.bitwise_or(6), this.a.bitwise_xor(6)]", "{\"a\":12}"),
    ("root = [this.a.bitwise_and(6), this.a.bitwise_or(6), this.a.bitwise_xor(6)]", "{\"a\":12.7}"),
    ("root = [this.a.bitwise_and(-1)]", "{\"a\":18446744073709551615}"),
    ("root = this.a.bitwise_and(1)", "{\"a\":\"3\"}"),
    ("root = this.a.bitwise_and(1.5)", "{\"a\":3}"),
    ("root = [this.a.int64(), this.a.int32(), this.a.int16(), this.a.int8(), this.a.uint64(), this.a.uint32(), this.a.uint16(), this.a.uint8()]", "{\"a\":\"12\"}"),
    ("root = [this.a.int64(), this.a.uint64()]", "{\"a\":\"0x1F\"}"),
    ("root = [this.a.int64(), this.a.uint64()]", "{\"a\":\"0o17\"}"),
    ("root = [this.a.int64(), this.a.uint64()]", "{\"a\":\"017\"}"),
    ("root = [this.a.int64(), this.a.uint64()]", "{\"a\":\"0b101\"}"),
    ("root = [this.a.int64(), this.a.uint64()]", "{\"a\":\"1_000\"}"),
    ("root = this.a.int64()", "{\"a\":\"+5\"}"),
    ("root = this.a.uint64()", "{\"a\":\"+5\"}"),
    ("root = this.a.int64()", "{\"a\":\" 5\"}"),
    ("root = this.a.int64()", "{\"a\":\"5.0\"}"),
    ("root = this.a.int64()", "{\"a\":\"0x\"}"),
    ("root = this.a.int64()", "{\"a\":\"_1\"}"),
    ("root = this.a.int64()", "{\"a\":\"0x_1\"}"),
    ("root = this.a.int64()", "{\"a\":\"1__0\"}"),
    ("root = this.a.int64()", "{\"a\":12.5}"),
    ("root = this.a.int64()", "{\"a\":1e19}"),
    ("root = this.a.int64()", "{\"a\":-1e19}"),
    ("root = this.a.int64()", "{\"a\":18446744073709551615}"),
    ("root = this.a.int64()", "{\"a\":true}"),
    ("root = this.a.int64()", "{\"a\":null}"),
    ("root = this.a.int64()", "{\"a\":[1]}"),
    ("root = this.a.int32()", "{\"a\":2147483648}"),
    ("root = this.a.int32()", "{\"a\":-2147483649}"),
    ("root = this.a.int16()", "{\"a\":32768}"),
    ("root = this.a.int8()", "{\"a\":-129}"),
    ("root = this.a.uint64()", "{\"a\":-1}"),
    ("root = this.a.uint64()", "{\"a\":-1.5}"),
    ("root = this.a.uint64()", "{\"a\":1.5}"),
    ("root = this.a.uint64()", "{\"a\":\"-1\"}"),
    ("root = this.a.uint64()", "{\"a\":\"18446744073709551616\"}"),
    ("root = this.a.uint32()", "{\"a\":4294967296}"),
    ("root = this.a.uint16()", "{\"a\":65536}"),
    ("root = this.a.uint8()", "{\"a\":256}"),
    ("root = this.a.int64()", "{\"a\":\"99999999999999999999\"}"),
    ("root = [this.a.float64(), this.a.float32()]", "{\"a\":\"1.5\"}"),
    ("root = [this.a.float64(), this.a.float32()]", "{\"a\":\"6.674282313423543523453425345e-11\"}"),
    ("root = [this.a.float64(), this.a.float32()]", "{\"a\":\"0x1p-2\"}"),
    ("root = [this.a.float64(), this.a.float32()]", "{\"a\":\"1e39\"}"),
    ("root = this.a.float32()", "{\"a\":\"1e39\"}"),
    ("root = this.a.float64()", "{\"a\":\"1e400\"}"),
    ("root = this.a.float64()", "{\"a\":\"1_000.5\"}"),
    ("root = this.a.float64()", "{\"a\":\".5\"}"),
    ("root = this.a.float64()", "{\"a\":\"5.\"}"),
    ("root = this.a.float64()", "{\"a\":\"abc\"}"),
    ("root = this.a.float64()", "{\"a\":true}"),
    ("root = [this.a.float32(), this.a.float32() * 2]", "{\"a\":16777217}"),
    ("root = this.a.float32()", "{\"a\":1e-7}"),
    ("root = this.a.float32()", "{\"a\":3.4e38}"),
    ("root = this.a.float32()", "{\"a\":1e39}"),
    ("root = [this.a.int64(), this.a.float64()]", "{\"a\":5}"),
    ("root = [5.5.round(), 5.5.ceil(), -5.5.floor()]", "{}"),
    ("root = pi()", "{}"),
    ("root = [this.a.sin(), this.a.cos(), this.a.tan()]", "{\"a\":1}"),
    ("root = [this.a.sin().string(), this.a.tan().string()]", "{\"a\":1e300}"),
    ("root = [this.a.log(), this.a.log10(), this.a.pow(3), this.a.pow(0.3), this.a.pow(-2)]", "{\"a\":1.1}"),
]

# --------------------------------------------------------------------------------------------
# Differential checks against Benthos itself (the Go reference built by tests/bloblang_ref): same
# parse errors (with positions), same execution errors, same bytes out.

@pytest.mark.parametrize("mapping, content", BENTHOS_CASES)
def test_matches_benthos(mapping: str, content: str) -> None:
    assert_matches_benthos(mapping, content)

