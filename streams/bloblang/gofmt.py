"""Go's ``fmt.Sprintf`` and ``strconv.Unquote`` over Bloblang values, as Benthos's ``format``,
``quote`` and ``unquote`` methods print and read them (bad-verb texts such as
``%!d(string=x)``, Go's type names, json.Number texts for numbers read from input JSON).
``strconv.Quote`` and ``quoteChar`` live in ``goquote`` (error texts elsewhere need them too).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from . import timefmt
from .errors import ExecError
from .goquote import go_quote
from .values import (
    DELETE,
    NOTHING,
    JsonFloat,
    JsonInt,
    Timestamp,
    bytes_to_str,
    format_float_g,
    to_string,
    utf8,
)

# --------------------------------------------------------------------------------------------
# Go's strconv.Unquote (strconv.Quote is goquote.go_quote)


_UNQUOTE_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_SYNTAX = "invalid syntax"


def go_unquote(s: str) -> str:
    """``strconv.Unquote``; any malformed literal is ``invalid syntax`` as in Go."""
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"'`":
        raise ExecError(_SYNTAX)
    quote_ch = s[0]
    body = s[1:-1]
    if quote_ch == "`":
        if "`" in body:
            raise ExecError(_SYNTAX)
        return body.replace("\r", "")
    if "\n" in body:
        raise ExecError(_SYNTAX)
    raw = bytearray()
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == quote_ch:
            raise ExecError(_SYNTAX)
        if ch != "\\":
            raw += utf8(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise ExecError(_SYNTAX)
        code = body[i + 1]
        i += 2
        if code in _UNQUOTE_SIMPLE:
            raw += _UNQUOTE_SIMPLE[code].encode()
        elif code in "'\"":
            if code != quote_ch:
                raise ExecError(_SYNTAX)
            raw += code.encode()
        elif code in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[code]
            digits = body[i : i + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ExecError(_SYNTAX)
            value = int(digits, 16)
            i += width
            if code == "x":
                raw.append(value)
            else:
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    raise ExecError(_SYNTAX)
                raw += chr(value).encode()
        elif code in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) != 3 or any(c not in "01234567" for c in digits):
                raise ExecError(_SYNTAX)
            value = int(digits, 8)
            if value > 255:
                raise ExecError(_SYNTAX)
            raw.append(value)
            i += 2
        else:
            raise ExecError(_SYNTAX)
    text = bytes_to_str(bytes(raw))
    if quote_ch == "'" and len(text) != 1:
        raise ExecError(_SYNTAX)
    return text


# --------------------------------------------------------------------------------------------
# Go's fmt.Sprintf over Bloblang values


class _Byte(int):
    """An element of a ``[]byte`` being printed: Go names its type ``uint8``."""

    __slots__ = ()


def go_type(value: Any) -> str:
    """Go's ``%T`` of a Bloblang value (also in error messages that print a type)."""
    if isinstance(value, _Byte):
        return "uint8"
    if isinstance(value, (JsonFloat, JsonInt)):
        return "json.Number"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "uint64" if value > (1 << 63) - 1 else "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "[]uint8"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, Timestamp):
        return "time.Time"
    if value is DELETE:
        return "value.Delete"
    if value is NOTHING:
        return "value.Nothing"
    return "interface {}"


def _go_time_string(ts: Timestamp) -> str:
    """``time.Time.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST``."""
    return timefmt.format_layout(ts, "2006-01-02 15:04:05.999999999 -0700 MST")


class _Spec:
    """One parsed ``%`` directive."""

    __slots__ = ("minus", "plus", "prec", "sharp", "space", "verb", "width", "zero")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None
        self.verb = ""


def _pad(spec: _Spec, text: str, zero: str = "text") -> str:
    """Pad to the width. ``zero`` says how the ``0`` flag applies: ``num`` puts the zeros
    after a sign or radix prefix, ``text`` before everything (Go zero-pads strings too),
    ``none`` ignores it (infinities, integers with a precision)."""
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero and zero == "num":
        sign = ""
        if text[:1] in "+- ":
            sign, text = text[0], text[1:]
        prefix = ""
        if text[:2] in ("0x", "0X", "0b", "0o", "0B", "0O"):
            prefix, text = text[:2], text[2:]
        return sign + prefix + "0" * fill + text
    if spec.zero and zero == "text":
        return "0" * fill + text
    return " " * fill + text


def _bad(spec: _Spec, value: Any) -> str:
    """Go's ``%!d(string=x)``: the value is printed with ``%v`` and the directive's flags."""
    if value is None:
        return f"%!{spec.verb}(<nil>)"
    again = _Spec()
    for flag in ("minus", "plus", "sharp", "space", "zero", "width", "prec"):
        setattr(again, flag, getattr(spec, flag))
    again.sharp = False
    again.verb = "v"
    return f"%!{spec.verb}({go_type(value)}={_fmt_value(again, 'v', value)})"


def _quote_rune(n: int) -> str:
    """``strconv.QuoteRune``: ``'a'``, ``'\\x01'``, ``'\\''``."""
    if not 0 <= n <= 0x10FFFF or 0xD800 <= n <= 0xDFFF:
        return "'\ufffd'"
    ch = chr(n)
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    body = go_quote(ch)[1:-1]
    return "'" + body + "'"


def _fmt_int(spec: _Spec, verb: str, n: int) -> str:
    neg = n < 0
    mag = -n if neg else n
    prefix = ""
    if verb in ("d", "v"):
        digits = str(mag)
    elif verb == "b":
        digits = format(mag, "b")
    elif verb == "o":
        digits = format(mag, "o")
        if spec.sharp and digits != "0":
            digits = "0" + digits
    elif verb == "O":
        digits = format(mag, "o")
        prefix = "0o"
    elif verb in ("x", "X"):
        digits = format(mag, verb)
        if spec.sharp:
            prefix = "0" + verb
    elif verb == "c":
        return _pad(spec, chr(n) if 0 <= n <= 0x10FFFF else "\ufffd")
    elif verb == "q":
        return _pad(spec, _quote_rune(n))
    elif verb == "U":
        text = "U+%04X" % (n & 0xFFFFFFFFFFFFFFFF)  # Go formats the value as a uint64
        if spec.sharp and 0 <= n <= 0x10FFFF and chr(n).isprintable():
            text += " '" + chr(n) + "'"
        return _pad(spec, text)
    else:
        return _bad(spec, n)
    if spec.prec is not None:
        if spec.prec == 0 and n == 0:
            digits = ""
        else:
            digits = digits.rjust(spec.prec, "0")
    sign = "-" if neg else "+" if spec.plus else " " if spec.space else ""
    return _pad(spec, sign + prefix + digits, zero="num" if spec.prec is None else "none")


_FLOAT_VERBS = frozenset("vbgGxXfFeE")


def _fmt_float(spec: _Spec, verb: str, f: float) -> str:
    if verb not in _FLOAT_VERBS:
        return _bad(spec, f)
    if math.isnan(f) or math.isinf(f):
        # Go keeps the sign of an infinity ("+Inf") and drops NaN's unless asked for.
        if math.isnan(f):
            text = "+NaN" if spec.plus else " NaN" if spec.space else "NaN"
        elif f < 0:
            text = "-Inf"
        else:
            text = " Inf" if spec.space and not spec.plus else "+Inf"
        return _pad(spec, text, zero="none")
    if verb in ("v", "g", "G") and spec.prec is None and not spec.sharp:
        text = format_float_g(f)
        if verb == "G":
            text = text.upper()
    elif verb in ("g", "G", "v"):
        prec = 6 if spec.prec is None else max(spec.prec, 1)
        text = format(f, f"{'#' if spec.sharp else ''}.{prec}{'G' if verb == 'G' else 'g'}")
    elif verb in ("e", "E", "f", "F"):
        prec = 6 if spec.prec is None else spec.prec
        text = format(f, f"{'#' if spec.sharp else ''}.{prec}{verb}")
    elif verb in ("x", "X"):
        text = _hex_float(f, spec.prec)
        if verb == "X":
            text = text.upper()
    elif verb == "b":
        # strconv's 'b' format: the 53-bit mantissa in decimal and a binary exponent.
        if f == 0:
            text = ("-" if math.copysign(1, f) < 0 else "") + "0p-1074"
        else:
            mant, exp = math.frexp(abs(f))
            m, e = int(mant * (1 << 53)), exp - 53
            if e < -1074:
                m, e = m >> (-1074 - e), -1074
            text = ("-" if f < 0 else "") + f"{m}p{'-' if e < 0 else '+'}{abs(e)}"
    else:
        return _bad(spec, f)
    if not text.startswith("-"):
        if spec.plus:
            text = "+" + text
        elif spec.space:
            text = " " + text
    return _pad(spec, text, zero="num")


def _hex_float(f: float, prec: int | None) -> str:
    """Go's ``%x`` of a float: ``0x1.cp+01`` (trailing zero digits dropped, two-digit exponent)."""
    text = f.hex()
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exponent = text.lstrip("-").partition("p")
    whole, _, frac = mantissa.partition(".")
    frac = frac.rstrip("0")
    if prec is not None:
        # NOTE: rounding of hex mantissas is not reproduced; precision only pads or cuts.
        frac = (frac + "0" * prec)[:prec]
    exp = int(exponent)
    body = whole + ("." + frac if frac else "")
    return f"{sign}{body}p{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fmt_str(spec: _Spec, verb: str, s: str) -> str:
    if spec.prec is not None and verb in ("s", "v", "q"):
        s = s[: spec.prec]
    if verb in ("s", "v"):
        return _pad(spec, s)
    if verb == "q":
        return _pad(spec, "`" + s + "`" if spec.sharp and "`" not in s and s.isprintable() else go_quote(s))
    if verb in ("x", "X"):
        raw = utf8(s)
        if spec.prec is not None:
            raw = raw[: spec.prec]
        sep = " " if spec.space else ""
        parts = []
        for b in raw:
            h = f"{b:02x}" if verb == "x" else f"{b:02X}"
            parts.append(("0" + verb if spec.sharp else "") + h)
        text = sep.join(parts) if spec.space else ("0" + verb if spec.sharp and parts else "") + "".join(
            p[2:] if spec.sharp else p for p in parts
        )
        return _pad(spec, text)
    return _bad(spec, s)


def _go_syntax(value: Any) -> str:
    """``%#v``: the value as Go source."""
    if value is None or value is NOTHING or value is DELETE:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JsonFloat):
        return go_quote(value.text)
    if isinstance(value, JsonInt):
        return go_quote(str(int(value)))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_g(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (bytes, bytearray)):
        return "[]byte{" + ", ".join(f"0x{b:x}" for b in value) + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_syntax(v) for v in value) + "}"
    if isinstance(value, dict):
        inner = ", ".join(f"{go_quote(k)}:{_go_syntax(value[k])}" for k in sorted(value))
        return "map[string]interface {}{" + inner + "}"
    return to_string(value)


def _fmt_value(spec: _Spec, verb: str, value: Any, nested: bool = False) -> str:
    if verb == "T":
        return _pad(spec, go_type(value))
    if verb == "v" and spec.sharp:
        return _pad(spec, _go_syntax(value))
    if value is None:
        # NOTE: a nil inside a container prints as <nil> whatever the verb.
        return _pad(spec, "<nil>") if verb == "v" or nested else _bad(spec, None)
    if value is NOTHING or value is DELETE:
        if verb == "v" or value is DELETE:
            return _pad(spec, "<nil>")
        return f"%!{verb}(value.Nothing=<nil>)"
    if isinstance(value, bool):
        if verb in ("v", "t"):
            return _pad(spec, "true" if value else "false")
        return _bad(spec, value)
    if isinstance(value, (JsonFloat, JsonInt)):
        # A number read from the input is a json.Number in Go: a string type, so %v and %s
        # print its text and numeric verbs are bad verbs.
        text = value.text if isinstance(value, JsonFloat) else str(int(value))
        if verb in ("v", "s", "q", "x", "X"):
            return _fmt_str(spec, verb, text)
        again = _Spec()
        for flag in ("minus", "plus", "space", "zero", "width", "prec"):
            setattr(again, flag, getattr(spec, flag))
        return f"%!{verb}(json.Number={_fmt_str(again, 'v', text)})"
    if isinstance(value, int):
        return _fmt_int(spec, verb, value)
    if isinstance(value, float):
        return _fmt_float(spec, verb, value)
    if isinstance(value, str):
        return _fmt_str(spec, verb, value)
    if isinstance(value, (bytes, bytearray)):
        if verb in ("s", "q", "x", "X"):
            return _fmt_str(spec, verb, bytes_to_str(bytes(value)))
        return "[" + " ".join(_fmt_value(spec, verb, _Byte(b), True) for b in value) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_fmt_value(spec, verb, v, True) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{_fmt_value(spec, verb, k, True)}:{_fmt_value(spec, verb, value[k], True)}" for k in sorted(value)]
        return "map[" + " ".join(items) + "]"
    if isinstance(value, Timestamp):
        if verb in ("v", "s"):
            return _pad(spec, _go_time_string(value))
        if verb == "q":
            return _pad(spec, go_quote(_go_time_string(value)))
        return _bad(spec, value)
    return _pad(spec, to_string(value))


def _arg_index(fmt: str, i: int, nargs: int) -> tuple[int | None, int, bool]:
    """Go's ``[n]`` explicit argument index at ``fmt[i]``: (new 0-based index or None when
    absent, position after it, whether it was well formed)."""
    if i >= len(fmt) or fmt[i] != "[":
        return None, i, True
    # Any bracket counts as reordering (Go then never reports EXTRA arguments).
    end = fmt.find("]", i)
    if end < 0 or not fmt[i + 1 : end].isdigit():
        return None, (end + 1 if end >= 0 else len(fmt)), False
    number = int(fmt[i + 1 : end])
    if not 1 <= number <= nargs:
        return None, end + 1, False
    return number - 1, end + 1, True


def _int_arg(args: tuple[Any, ...] | list[Any], k: int) -> int | None:
    if k < len(args) and isinstance(args[k], int) and not isinstance(args[k], bool):
        return args[k]
    return None


_SIMPLE_DIRECTIVE = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?([^-+# 0-9.*\[])")


_Directive = tuple[bool, bool, bool, bool, bool, int | None, int | None, str]
"""A parsed ``%`` directive: flags ``-+# 0``, width, precision, verb."""


@lru_cache(maxsize=256)
def _simple_plan(fmt: str) -> tuple[tuple[str, _Directive | None], ...] | None:
    """The directives of a format without ``*`` or ``[n]``, parsed once: (literal text,
    directive or None) pairs. None when the format needs the general path."""
    if "*" in fmt or "[" in fmt:
        return None
    plan: list[tuple[str, _Directive | None]] = []
    pos = 0
    for m in _SIMPLE_DIRECTIVE.finditer(fmt):
        if "%" in fmt[pos : m.start()]:
            return None
        flags, width, prec, verb = m.groups()
        directive = (
            "-" in flags, "+" in flags, "#" in flags, " " in flags, "0" in flags,
            int(width) if width else None,
            (int(prec) if prec else 0) if prec is not None else None,
            verb,
        )
        plan.append((fmt[pos : m.start()], directive))
        pos = m.end()
    if "%" in fmt[pos:]:
        return None
    plan.append((fmt[pos:], None))
    return tuple(plan)


def go_value_text(value: Any) -> str:
    """Go's ``%v`` of a Bloblang value."""
    return _fmt_value(_Spec(), "v", value)


def go_sprintf(fmt: str, args: tuple[Any, ...] | list[Any]) -> str:
    """``fmt.Sprintf(fmt, args...)`` for Bloblang values: verbs ``v s d b o O x X c q U e E f F
    g G t T %``, flags ``+ - # space 0``, width, precision, ``*`` and ``[n]`` indexes; Go's
    error forms (``%!d(string=x)``, ``%!d(MISSING)``, ``%!(EXTRA ...)``) included."""
    plan = _simple_plan(fmt)
    if plan is not None:
        return _run_plan(plan, args)
    return _sprintf_general(fmt, args)


def _run_plan(plan: Any, args: tuple[Any, ...] | list[Any]) -> str:
    out: list[str] = []
    argi = 0
    for literal, directive in plan:
        out.append(literal)
        if directive is None:
            continue
        minus, plus, sharp, space, zero, width, prec, verb = directive
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        spec = _Spec()
        spec.minus, spec.plus, spec.sharp, spec.space = minus, plus, sharp, space
        spec.zero = zero and not minus
        spec.width, spec.prec, spec.verb = width, prec, verb
        if verb == "v":
            spec.plus = False  # Go turns %+v into its plusV mode, which adds no signs
        out.append(_fmt_value(spec, verb, args[argi]))
        argi += 1
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type(a)}={_fmt_value(_Spec(), 'v', a)}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _sprintf_general(fmt: str, args: tuple[Any, ...] | list[Any]) -> str:
    out: list[str] = []
    argi = 0
    reordered = False
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        if i >= n:
            out.append("%!(NOVERB)")
            break
        spec = _Spec()
        good_index = True
        while i < n and fmt[i] in "+-# 0":
            c = fmt[i]
            if c == "+":
                spec.plus = True
            elif c == "-":
                spec.minus = True
            elif c == "#":
                spec.sharp = True
            elif c == " ":
                spec.space = True
            else:
                spec.zero = True
            i += 1
        had_bracket = i < n and fmt[i] == "["
        index, i, ok = _arg_index(fmt, i, len(args))
        good_index &= ok
        reordered = reordered or had_bracket
        if index is not None:
            argi = index
        if i < n and fmt[i] == "*":
            i += 1
            width = _int_arg(args, argi)
            if width is None:
                out.append("%!(BADWIDTH)")
            else:
                spec.width = abs(width)
                spec.minus = spec.minus or width < 0
            argi += 1
        else:
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > start:
                spec.width = int(fmt[start:i])
        if i < n and fmt[i] == ".":
            i += 1
            had_bracket = i < n and fmt[i] == "["
            index, i, ok = _arg_index(fmt, i, len(args))
            good_index &= ok
            reordered = reordered or had_bracket
            if index is not None:
                argi = index
            if i < n and fmt[i] == "*":
                i += 1
                prec = _int_arg(args, argi)
                if prec is None:
                    out.append("%!(BADPREC)")
                else:
                    spec.prec = prec if prec >= 0 else None
                argi += 1
            else:
                start = i
                while i < n and fmt[i].isdigit():
                    i += 1
                spec.prec = int(fmt[start:i]) if i > start else 0
        had_bracket = i < n and fmt[i] == "["
        index, i, ok = _arg_index(fmt, i, len(args))
        good_index &= ok
        reordered = reordered or had_bracket
        if index is not None:
            argi = index
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        spec.verb = verb
        if verb == "%":
            out.append("%")
            continue
        if not good_index:
            out.append(f"%!{verb}(BADINDEX)")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[argi]
        argi += 1
        if spec.minus:
            spec.zero = False
        if verb == "v":
            spec.plus = False  # Go turns %+v into its plusV mode, which adds no signs
        out.append(_fmt_value(spec, verb, value))
    if not reordered and argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type(a)}={_fmt_value(_Spec(), 'v', a)}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
