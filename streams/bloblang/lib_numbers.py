"""Bloblang's Number Manipulation methods (Benthos v4 ``query/methods_numbers.go`` and
``impl/pure/bloblang_numbers.go``), plus the Go number parsing they rely on.

Python's ``int`` stands for both int64 and uint64 (above ``INT64_MAX`` it is a uint64), and
Go's float64 edge cases are kept: ``log(-1)`` is NaN, ``pow`` overflows to +Inf, rounding is
half away from zero.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from typing import Any

from .errors import ExecError
from .goquote import go_quote
from .registry import Library, Param
from .values import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    JsonFloat,
    bytes_to_str,
    get_int,
    get_number,
    type_error,
)

LIBRARY = Library()

# --------------------------------------------------------------------------------------------
# Go strconv parsing


def _q(text: str) -> str:
    """strconv's ``%q`` of the input in its error texts."""
    return go_quote(text)


_INT_BODY = {
    16: re.compile(r"[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"),
    8: re.compile(r"[0-7]+(?:_[0-7]+)*"),
    2: re.compile(r"[01]+(?:_[01]+)*"),
    10: re.compile(r"[0-9]+(?:_[0-9]+)*"),
}


def _parse_base0(text: str) -> int | None:
    """Go's ``ParseUint(s, 0, ...)`` body without sign: ``0x``/``0o``/``0b`` prefixes, a
    leading ``0`` for octal, and ``_`` separators (only allowed with base 0)."""
    s = text
    lower = s[:2].lower()
    if lower == "0x":
        base, digits, prefixed = 16, s[2:], True
    elif lower == "0o":
        base, digits, prefixed = 8, s[2:], True
    elif lower == "0b":
        base, digits, prefixed = 2, s[2:], True
    elif len(s) > 1 and s[0] == "0":
        base, digits, prefixed = 8, s[1:], True
    else:
        base, digits, prefixed = 10, s, False
    if prefixed and digits.startswith("_"):
        digits = digits[1:]
    if not digits or not _INT_BODY[base].fullmatch(digits):
        return None
    if "_" in digits and not prefixed and base == 10:
        # NOTE: Go allows underscores with base 0 even without a prefix ("1_000").
        pass
    return int(digits.replace("_", ""), base)


def parse_int(text: str) -> int:
    """``strconv.ParseInt(text, 0, 64)`` with Go's error texts."""
    body = text[1:] if text[:1] in "+-" else text
    value = _parse_base0(body) if body else None
    if value is None:
        raise ExecError(f'strconv.ParseInt: parsing {_q(text)}: invalid syntax')
    if text.startswith("-"):
        value = -value
    if value > INT64_MAX or value < INT64_MIN:
        raise ExecError(f'strconv.ParseInt: parsing {_q(text)}: value out of range')
    return value


def parse_uint(text: str) -> int:
    """``strconv.ParseUint(text, 0, 64)`` with Go's error texts (no sign allowed)."""
    value = _parse_base0(text) if text else None
    if value is None:
        raise ExecError(f'strconv.ParseUint: parsing {_q(text)}: invalid syntax')
    if value > UINT64_MAX:
        raise ExecError(f'strconv.ParseUint: parsing {_q(text)}: value out of range')
    return value


_FLOAT_DEC = re.compile(r"[+-]?(?:\d+(?:_\d+)*\.?(?:\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?")
_FLOAT_HEX = re.compile(r"([+-]?)0[xX]([0-9a-fA-F_]*\.?[0-9a-fA-F_]*)[pP]([+-]?\d+)")
_FLOAT_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
                  "+infinity": math.inf, "-infinity": -math.inf, "nan": math.nan}


def parse_float(text: str, bits: int = 64) -> float:
    """``strconv.ParseFloat(text, bits)``: decimal and hex forms, ``Inf``/``NaN``; out of
    range is ``value out of range`` as in Go."""
    special = _FLOAT_SPECIAL.get(text.lower())
    if special is not None:
        return special
    value: float | None = None
    if _FLOAT_DEC.fullmatch(text):
        # Go accepts ``_`` between digits (``1_000.5``); the pattern only lets it in there.
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            value = None
    else:
        m = _FLOAT_HEX.fullmatch(text)
        if m and m.group(2).replace("_", "").replace(".", ""):
            mant = m.group(2).replace("_", "")
            whole, _, frac = mant.partition(".")
            number = int((whole + frac) or "0", 16)
            try:
                value = math.ldexp(float(number), int(m.group(3)) - 4 * len(frac))
            except OverflowError:
                value = math.inf
            if m.group(1) == "-":
                value = -value
    if value is None:
        raise ExecError(f'strconv.ParseFloat: parsing {_q(text)}: invalid syntax')
    if bits == 32:
        value = _to_float32(value, text)
    if math.isinf(value):
        raise ExecError(f'strconv.ParseFloat: parsing {_q(text)}: value out of range')
    return value


def _to_float32(value: float, text: str) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        raise ExecError(f'strconv.ParseFloat: parsing {_q(text)}: value out of range') from None


def float32_json(value: float) -> float:
    """A float32 as Go writes it: the shortest text that reads back as the same float32
    (``6.674283e-11``), kept as a ``JsonFloat`` so it serialises with that text."""
    if math.isnan(value) or math.isinf(value):
        # NOTE: plain floats, which (like Go's float32 here) cannot be written as JSON.
        return value
    if value == 0:
        return JsonFloat("-0" if math.copysign(1, value) < 0 else "0")
    target = struct.pack("f", value)
    text = repr(value)
    for precision in range(1, 10):
        text = f"{value:.{precision}e}"
        if struct.pack("f", float(text)) == target:
            break
    mantissa, _, exponent = text.partition("e")
    neg = mantissa.startswith("-")
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exp = int(exponent)
    a = abs(value)
    sign = "-" if neg else ""
    if a < 1e-6 or a >= 1e21:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return JsonFloat(f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}".replace("e-0", "e-"))
    point = exp + 1
    if point <= 0:
        out = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        out = digits + "0" * (point - len(digits))
    else:
        out = digits[:point] + "." + digits[point:]
    return JsonFloat(sign + out)


# --------------------------------------------------------------------------------------------
# Go's value.IToInt / IToUint family


_DECIMALS_SIGNED = (
    "float value contains decimals and therefore cannot be cast as a signed integer, if you "
    "intend to round the value then call `.round()` explicitly before this cast"
)
_DECIMALS_UNSIGNED = (
    "float value contains decimals and therefore cannot be cast as an unsigned integer, if you "
    "intend to round the value then call `.round()` explicitly before this cast"
)


def to_int(value: Any) -> int:
    """``value.IToInt``: numbers that are whole int64s, or strings parsed with base prefixes."""
    if isinstance(value, bool):
        raise type_error(value, "number")
    if isinstance(value, JsonFloat):
        # A number read from the input is a json.Number in Go, parsed as an integer text.
        return parse_int(value.text)
    if isinstance(value, int):
        if value > INT64_MAX:
            raise ExecError("unsigned integer value is too large to be cast as a signed integer")
        return int(value)
    if isinstance(value, float):
        if math.isinf(value):
            raise ExecError("cannot convert +/-INF to an integer")
        if math.isnan(value):
            raise ExecError("cannot convert NAN to an integer")
        if value > 9223372036854775808.0:
            raise ExecError("float value is too large to be cast as a signed integer")
        if value == 9223372036854775808.0:
            # NOTE: Go's int64(2^63) overflows, so its "is it whole" check fails.
            raise ExecError(_DECIMALS_SIGNED)
        if value < -9223372036854775808.0:
            raise ExecError("float value is too small to be cast as a signed integer")
        if value != math.trunc(value):
            raise ExecError(_DECIMALS_SIGNED)
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return parse_int(bytes_to_str(bytes(value)))
    if isinstance(value, str):
        return parse_int(value)
    raise type_error(value, "number")


def to_uint(value: Any) -> int:
    """``value.IToUint``: non-negative whole numbers up to uint64, or parsed strings."""
    if isinstance(value, bool):
        raise type_error(value, "number")
    if isinstance(value, JsonFloat):
        # Go reads a json.Number with Int64() here, so even a large unsigned text fails.
        n = parse_int(value.text)
        if n < 0:
            raise ExecError("signed integer value is negative and cannot be cast as an unsigned integer")
        return n
    if isinstance(value, int):
        if value < 0:
            raise ExecError("signed integer value is negative and cannot be cast as an unsigned integer")
        return int(value)
    if isinstance(value, float):
        if value < 0:
            raise ExecError("float value is negative and cannot be cast as an unsigned integer")
        if math.isinf(value):
            raise ExecError("cannot convert +/-INF to an unsigned integer")
        if math.isnan(value):
            raise ExecError("cannot convert NAN to an unsigned integer")
        if value > 18446744073709551615.0:
            raise ExecError("float value is too large to be cast as an unsigned integer")
        if value != math.trunc(value):
            raise ExecError(_DECIMALS_UNSIGNED)
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return parse_uint(bytes_to_str(bytes(value)))
    if isinstance(value, str):
        return parse_uint(value)
    raise type_error(value, "number")


def to_float64(value: Any) -> float:
    """``value.IToFloat64``: any number, or a string parsed as a float64."""
    if isinstance(value, bool):
        raise type_error(value, "number")
    if isinstance(value, JsonFloat):
        return parse_float(value.text)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return parse_float(bytes_to_str(bytes(value)))
    if isinstance(value, str):
        return parse_float(value)
    raise type_error(value, "number")


def _sized_signed(bits: int, article: str) -> Callable[[Any], int]:
    limit = 1 << (bits - 1)

    def convert(value: Any) -> int:
        n = to_int(value)
        if n > limit - 1:
            raise ExecError(f"value is too large to be cast as {article} {bits}-bit signed integer")
        if n < -limit:
            raise ExecError(f"value is too small to be cast as {article} {bits}-bit signed integer")
        return n

    return convert


def _sized_unsigned(bits: int, article: str) -> Callable[[Any], int]:
    limit = (1 << bits) - 1

    def convert(value: Any) -> int:
        n = to_uint(value)
        if n > limit:
            raise ExecError(f"value is too large to be cast as {article} {bits}-bit unsigned integer")
        return n

    return convert


def _register_cast(name: str, convert: Callable[[Any], Any], doc: str) -> None:
    # NOTE: Benthos registers the casts as plugin methods (codegen.PLUGIN_METHODS), whose errors
    # are passed on without naming the target (no ``field `this.a`: `` and no ``from ...``).
    def impl(target: Any) -> Any:
        return convert(target)

    impl.__doc__ = doc
    impl.__name__ = name
    LIBRARY.method(name)(impl)


_register_cast("int64", to_int, "Cast to a 64-bit signed integer (strings parse with base prefixes).")
_register_cast("int32", _sized_signed(32, "a"), "Cast to a 32-bit signed integer.")
_register_cast("int16", _sized_signed(16, "a"), "Cast to a 16-bit signed integer.")
_register_cast("int8", _sized_signed(8, "an"), "Cast to an 8-bit signed integer.")
_register_cast("uint64", to_uint, "Cast to a 64-bit unsigned integer.")
_register_cast("uint32", _sized_unsigned(32, "a"), "Cast to a 32-bit unsigned integer.")
_register_cast("uint16", _sized_unsigned(16, "a"), "Cast to a 16-bit unsigned integer.")
_register_cast("uint8", _sized_unsigned(8, "an"), "Cast to an 8-bit unsigned integer.")


@LIBRARY.method("float64")
def float64(target: Any) -> float:
    """Cast to a float64 (strings parse with Go's ParseFloat)."""
    return to_float64(target)


@LIBRARY.method("float32")
def float32(target: Any) -> float:
    """Cast to a float32; the result keeps float32's shortest text (``6.674283e-11``)."""
    if isinstance(target, bool):
        raise type_error(target, "number")
    if isinstance(target, JsonFloat):
        value = parse_float(target.text, 32)
    elif isinstance(target, (int, float)):
        value = _to_float32_lenient(float(target))
    elif isinstance(target, (str, bytes, bytearray)):
        text = target if isinstance(target, str) else bytes_to_str(bytes(target))
        value = parse_float(text, 32)
    else:
        raise type_error(target, "number")
    return float32_json(value)


def _to_float32_lenient(value: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


# --------------------------------------------------------------------------------------------
# rounding


def _number(target: Any) -> int | float:
    """Go's ``numberMethod`` target check: int64, uint64 or float64."""
    if isinstance(target, bool) or not isinstance(target, (int, float)):
        raise type_error(target, "number")
    return target


def _whole(f: float) -> int | float:
    """An int when the rounded float fits int64 (IToInt succeeds), else the float."""
    if math.isfinite(f) and -9223372036854775808.0 <= f < 9223372036854775808.0:
        return int(f)
    return f


@LIBRARY.method("ceil")
def ceil(target: Any) -> int | float:
    """Round up to a whole number."""
    n = _number(target)
    return _whole(float(math.ceil(n)) if math.isfinite(n) else n) if isinstance(n, float) else int(n)


@LIBRARY.method("floor")
def floor(target: Any) -> int | float:
    """Round down to a whole number."""
    n = _number(target)
    return _whole(float(math.floor(n)) if math.isfinite(n) else n) if isinstance(n, float) else int(n)


def _go_round(f: float) -> float:
    if not math.isfinite(f):
        return f
    whole = float(math.trunc(f))
    # NOTE: f - trunc(f) is exact in binary floating point, so 0.49999999999999994 stays 0.
    if abs(f - whole) >= 0.5:
        whole += math.copysign(1.0, f)
    return math.copysign(whole, f) if whole == 0 else whole


@LIBRARY.method("round")
def round_(target: Any) -> int | float:
    """Round to the nearest whole number, halves away from zero (Go's ``math.Round``)."""
    n = _number(target)
    return _whole(_go_round(n)) if isinstance(n, float) else int(n)


@LIBRARY.method("abs")
def abs_(target: Any) -> int | float:
    """Absolute value; the smallest int64 maps to the largest, as Benthos documents."""
    if isinstance(target, float) and not isinstance(target, bool):
        return abs(float(target))
    if isinstance(target, int) and not isinstance(target, bool) and target <= INT64_MAX:
        if target == INT64_MIN:
            return INT64_MAX
        return abs(target)
    raise type_error(target, "number", "integer")


# --------------------------------------------------------------------------------------------
# float64 maths, bit for bit as Go computes it on amd64
#
# Python's math module calls the C library, whose results can differ from Go's in the last bit
# (Go's log(3) is 1.0986122886681096, glibc's 1.0986122886681098). These follow the algorithms
# of Go's math package (fdlibm's log, Cephes' sin/cos/tan with Payne-Hanek reduction for huge
# arguments, Pow by repeated squaring), so results match Benthos exactly.

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_HALF_SQRT2 = 7.07106781186547524401e-01
_INV_LN10 = 0.4342944819032518  # 1/ln(10) rounded once, as Go's constant expression is


def go_log(x: float) -> float:
    """Go's ``math.Log`` (the amd64 version: its frexp reads the exponent bits directly, so
    subnormal inputs are treated as if their exponent were the smallest normal one)."""
    if math.isnan(x) or x == math.inf:
        return x
    if x == 0:
        return -math.inf
    if x < 0:
        return math.nan
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    f1 = struct.unpack("<d", struct.pack("<Q", (bits & 0x000FFFFFFFFFFFFF) | 0x3FE0000000000000))[0]
    k = float(((bits >> 52) & 0x7FF) - 0x3FE)
    if f1 <= _HALF_SQRT2:
        k -= 1
        f1 *= 2
    f = f1 - 1
    s = f / (2 + f)
    s2 = s * s
    s4 = s2 * s2
    l1, l2, l3, l4, l5, l6, l7 = _LG
    t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)))
    t2 = s4 * (l2 + s4 * (l4 + s4 * l6))
    r = t1 + t2
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)


def go_log10(x: float) -> float:
    """Go's ``math.Log10``: ``Log(x) * (1/Ln10)``."""
    return go_log(x) * _INV_LN10


_PI4A = 7.85398125648498535156e-1
_PI4B = 3.77489470793079817668e-8
_PI4C = 2.69515142907905952645e-15
_FOUR_OVER_PI = 1.2732395447351628  # 4/Pi rounded once
_SIN = (
    1.58962301576546568060e-10,
    -2.50507477628578072866e-8,
    2.75573136213857245213e-6,
    -1.98412698295895385996e-4,
    8.33333333332211858878e-3,
    -1.66666666666666307295e-1,
)
_COS = (
    -1.13585365213876817300e-11,
    2.08757008419747316778e-9,
    -2.75573141792967388112e-7,
    2.48015872888517045348e-5,
    -1.38888888888730564116e-3,
    4.16666666666665929218e-2,
)
_TAN_P = (-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7)
_TAN_Q = (1.0, 1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7, -5.38695755929454629881e7)
_REDUCE_THRESHOLD = float(1 << 29)
_M64 = (1 << 64) - 1


def _pi_bits(nbits: int) -> int:
    """floor(pi * 2**nbits), from Machin's formula in integer arithmetic."""
    guard = nbits + 32
    one = 1 << guard

    def arctan_inv(n: int) -> int:
        total = term = one // n
        n2 = n * n
        k = 1
        while term:
            term //= n2
            total += -(term // (2 * k + 1)) if k % 2 else term // (2 * k + 1)
            k += 1
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> 32


def _four_over_pi_words() -> tuple[int, ...]:
    """4/pi as 64-bit words: 4/pi = sum(word[i] * 2**(-64*i)), word[0] the integer part."""
    nwords = 20
    nbits = 64 * (nwords - 1)
    value = (4 << (2 * nbits + 64)) // _pi_bits(nbits + 64)  # (4/pi) * 2**nbits
    return tuple((value >> (64 * (nwords - 1 - i))) & _M64 for i in range(nwords))


_MPI4: tuple[int, ...] = ()


def _trig_reduce(x: float) -> tuple[int, float]:
    """Payne-Hanek reduction for huge arguments: (octant, remainder in [0, pi/4))."""
    global _MPI4
    if not _MPI4:
        _MPI4 = _four_over_pi_words()
    pi4 = math.pi / 4
    if x < pi4:
        return 0, x
    ix = struct.unpack("<Q", struct.pack("<d", x))[0]
    exp = ((ix >> 52) & 0x7FF) - 1023 - 52
    ix = (ix & ((1 << 52) - 1)) | (1 << 52)
    digit, bitshift = (exp + 61) // 64, (exp + 61) % 64
    m = _MPI4

    def word(i: int) -> int:
        lo = (m[i + 1] >> (64 - bitshift)) if bitshift else 0
        return ((m[i] << bitshift) & _M64) | lo

    z0, z1, z2 = word(digit), word(digit + 1), word(digit + 2)
    z2hi = (z2 * ix) >> 64
    z1full = z1 * ix
    z1hi, z1lo = z1full >> 64, z1full & _M64
    z0lo = (z0 * ix) & _M64
    lo_sum = z1lo + z2hi
    lo, carry = lo_sum & _M64, lo_sum >> 64
    hi = (z0lo + z1hi + carry) & _M64
    j = hi >> 61
    hi = ((hi << 3) & _M64) | (lo >> 61)
    lz = 64 - hi.bit_length()
    e = 1023 - (lz + 1)
    hi = ((hi << (lz + 1)) & _M64) | (lo >> (64 - (lz + 1)))
    hi >>= 64 - 52
    hi |= e << 52
    z = struct.unpack("<d", struct.pack("<Q", hi))[0]
    if j & 1:
        j = (j + 1) & 7
        z -= 1
    return j, z * pi4


def _octant(x: float) -> tuple[int, float]:
    if x >= _REDUCE_THRESHOLD:
        return _trig_reduce(x)
    j = int(x * _FOUR_OVER_PI)
    y = float(j)
    if j & 1:
        j += 1
        y += 1
    return j & 7, ((x - y * _PI4A) - y * _PI4B) - y * _PI4C


def _sin_poly(z: float, zz: float) -> float:
    c = _SIN
    return z + z * zz * ((((((c[0] * zz) + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5])


def _cos_poly(zz: float) -> float:
    c = _COS
    return 1.0 - 0.5 * zz + zz * zz * ((((((c[0] * zz) + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5])


def go_sin(x: float) -> float:
    """Go's ``math.Sin``."""
    if x == 0 or math.isnan(x):
        return x
    if math.isinf(x):
        return math.nan
    sign = x < 0
    j, z = _octant(abs(x))
    if j > 3:
        sign = not sign
        j -= 4
    zz = z * z
    y = _cos_poly(zz) if j in (1, 2) else _sin_poly(z, zz)
    return -y if sign else y


def go_cos(x: float) -> float:
    """Go's ``math.Cos``."""
    if math.isnan(x) or math.isinf(x):
        return math.nan
    sign = False
    j, z = _octant(abs(x))
    if j > 3:
        j -= 4
        sign = not sign
    if j > 1:
        sign = not sign
    zz = z * z
    y = _sin_poly(z, zz) if j in (1, 2) else _cos_poly(zz)
    return -y if sign else y


def go_tan(x: float) -> float:
    """Go's ``math.Tan``."""
    if x == 0 or math.isnan(x):
        return x
    if math.isinf(x):
        return math.nan
    sign = x < 0
    x = abs(x)
    if x >= _REDUCE_THRESHOLD:
        j, z = _trig_reduce(x)
    else:
        j = int(x * _FOUR_OVER_PI)
        y0 = float(j)
        if j & 1:
            j += 1
            y0 += 1
        z = ((x - y0 * _PI4A) - y0 * _PI4B) - y0 * _PI4C
    zz = z * z
    if zz > 1e-14:
        p, q = _TAN_P, _TAN_Q
        y = z + z * (zz * (((p[0] * zz) + p[1]) * zz + p[2]) / ((((zz + q[1]) * zz + q[2]) * zz + q[3]) * zz + q[4]))
    else:
        y = z
    if j & 2:
        y = -1 / y
    return -y if sign else y


def _is_odd_int(x: float) -> bool:
    if abs(x) >= 1 << 53:
        return False
    xi = math.trunc(x)
    return xi == x and int(xi) % 2 == 1


def go_pow(x: float, y: float) -> float:
    """Go's ``math.Pow``: special cases, then x**frac(y) through Exp/Log and x**int(y) by
    repeated squaring with the exponent kept apart (which fixes the rounding)."""
    if y == 0 or x == 1:
        return 1.0
    if y == 1:
        return x
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0:
        if y < 0:
            return -math.inf if math.copysign(1, x) < 0 and _is_odd_int(y) else math.inf
        return x if math.copysign(1, x) < 0 and _is_odd_int(y) else 0.0
    if math.isinf(y):
        if x == -1:
            return 1.0
        return 0.0 if (abs(x) < 1) == (y > 0) else math.inf
    if math.isinf(x):
        if x < 0:
            return go_pow(1 / x, -y)
        return 0.0 if y < 0 else math.inf
    if y == 0.5:
        return math.sqrt(x) if x >= 0 else math.nan
    if y == -0.5:
        if x < 0:
            return math.nan
        return 1 / math.sqrt(x)
    yf, yi = math.modf(abs(y))
    if yf != 0 and x < 0:
        return math.nan
    if yi >= 1 << 63:
        if x == -1:
            return 1.0
        return 0.0 if (abs(x) < 1) == (y > 0) else math.inf
    a1 = 1.0
    ae = 0
    if yf != 0:
        if yf > 0.5:
            yf -= 1
            yi += 1
        try:
            a1 = math.exp(yf * go_log(x))
        except OverflowError:
            a1 = math.inf
    x1, xe = math.frexp(x)
    i = int(yi)
    while i != 0:
        if xe < -(1 << 12) or (1 << 12) < xe:
            ae += xe
            break
        if i & 1:
            a1 *= x1
            ae += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    if y < 0:
        a1 = 1 / a1
        ae = -ae
    try:
        return math.ldexp(a1, ae)
    except OverflowError:
        return math.copysign(math.inf, a1)


@LIBRARY.method("log")
def log(target: Any) -> float:
    """Natural logarithm (NaN below zero, -Inf at zero)."""
    return go_log(float(_number(target)))


@LIBRARY.method("log10")
def log10(target: Any) -> float:
    """Base-10 logarithm."""
    return go_log10(float(_number(target)))


@LIBRARY.method("sin")
def sin(target: Any) -> float:
    """Sine of an angle in radians."""
    return go_sin(get_number(target))


@LIBRARY.method("cos")
def cos(target: Any) -> float:
    """Cosine of an angle in radians."""
    return go_cos(get_number(target))


@LIBRARY.method("tan")
def tan(target: Any) -> float:
    """Tangent of an angle in radians."""
    return go_tan(get_number(target))


@LIBRARY.method("pow", Param("exponent", "float"))
def pow_(target: Any, exponent: float) -> float:
    """The target raised to ``exponent`` (overflow is +Inf, a negative base with a fractional
    exponent is NaN)."""
    return go_pow(get_number(target), exponent)


# --------------------------------------------------------------------------------------------
# arrays of numbers


def _extreme(target: Any, pick_max: bool) -> float:
    if not isinstance(target, list):
        raise type_error(target, "array")
    if not target:
        raise ExecError("the array was empty")
    best = 0.0
    for i, item in enumerate(target):
        try:
            f = get_number(item)
        except ExecError as err:
            raise ExecError(f"index {i} of array: {err}", cause=err) from err
        if i == 0 or (f > best if pick_max else f < best):
            best = f
    return best


@LIBRARY.method("max")
def max_(target: Any) -> float:
    """The largest number of an array (as a float64)."""
    return _extreme(target, True)


@LIBRARY.method("min")
def min_(target: Any) -> float:
    """The smallest number of an array (as a float64)."""
    return _extreme(target, False)


# --------------------------------------------------------------------------------------------
# bitwise


def _bitwise_target(target: Any) -> int:
    try:
        return get_int(target)
    except ExecError:
        raise type_error(target, "integer") from None


@LIBRARY.method("bitwise_and", Param("value", "int"))
def bitwise_and(target: Any, value: int) -> int:
    """Bitwise AND of two int64s."""
    return _bitwise_target(target) & value


@LIBRARY.method("bitwise_or", Param("value", "int"))
def bitwise_or(target: Any, value: int) -> int:
    """Bitwise OR of two int64s."""
    return _bitwise_target(target) | value


@LIBRARY.method("bitwise_xor", Param("value", "int"))
def bitwise_xor(target: Any, value: int) -> int:
    """Bitwise XOR of two int64s."""
    return _bitwise_target(target) ^ value


@LIBRARY.function("pi", static=True)
def pi(ctx: Any) -> float:
    """The constant pi (Benthos registers it beside the number methods)."""
    return math.pi
