"""Runtime values of Bloblang, mapped onto plain Python objects.

| Bloblang (Go)          | Python                                                            |
|------------------------|-------------------------------------------------------------------|
| null                   | ``None``                                                          |
| bool                   | ``bool`` (NOTE: ``bool`` is an ``int`` subclass: test bool first)  |
| int64 / uint64         | ``int`` (the runtime wraps to 64 bits where Go would)             |
| float64                | ``float``                                                         |
| json.Number (input)    | ``int`` when its text is an int64, else ``JsonFloat`` (keeps text)|
| string                 | ``str``                                                           |
| []byte                 | ``bytes``                                                         |
| time.Time              | ``Timestamp``                                                     |
| array / object         | ``list`` / ``dict`` (str keys)                                    |
| Nothing / Delete       | the sentinels ``NOTHING`` / ``DELETE``                            |

Structured values flow between processors as these objects; they are turned into bytes only at
the edges (``to_payload``), with Go's encoding/json rules (sorted keys, no HTML escaping, Go float
formatting).

An ``int`` above the int64 range is a uint64 (Go keeps both kinds; arithmetic in ``runtime.py``
picks the result kind from the operands the way Benthos does).

Helpers here are shared by the compiler and the library authors:

* ``parse_json`` / ``to_payload`` / ``to_json`` / ``to_string``: Go encoding/json and IToString.
* ``format_float_json`` / ``format_float_g``: Go's float texts.
* ``equal`` (ICompare), ``type_error`` (value.TypeError texts), ``convert_arg`` (parameter kinds).
* ``get_int`` / ``get_number`` / ``get_string`` / ``get_bool`` / ``get_timestamp``: IGet* rules.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

from streams.bloblang import timefmt
from streams.bloblang.errors import ExecError
from streams.bloblang.goquote import go_quote as go_quote
from streams.bloblang.goquote import go_quote_char as go_quote_char
from streams.bloblang.timefmt import Timestamp as Timestamp

_orjson: ModuleType | None
try:  # orjson is byte-compatible with Go for most documents; see _orjson_safe
    import orjson

    _orjson = orjson
except ImportError:  # pragma: no cover - orjson is a dependency, but stay usable without it
    _orjson = None

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


NOTHING: Any = _Sentinel("NOTHING")
"""No value: an assignment of it is skipped (``if`` without ``else``, ``nothing()``)."""

DELETE: Any = _Sentinel("DELETE")
"""``deleted()``: removes the assignment's target (the whole message for ``root``)."""


_float_new = float.__new__


class JsonFloat(float):
    """A float decoded from input JSON that remembers its text, so an untouched ``5.0`` is
    written back as ``5.0`` (Benthos decodes with UseNumber). Arithmetic yields plain floats."""

    # PERF: a slot and a direct call of float's constructor: made for every float of every
    # decoded document.
    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonFloat:
        obj = _float_new(cls, text)
        obj.text = text
        return obj


class NilList(list):
    """An empty array literal. Benthos builds ``[]`` written in a mapping as a nil slice, which
    Go's json.Marshal writes as ``null`` (so ``[].string()`` is ``"null"``); assigning it clones
    it into a real empty array, so it never reaches a payload as null."""

    __slots__ = ()


class JsonInt(int):
    """An integer decoded from input JSON (Go keeps it as a ``json.Number`` until it is used).
    It behaves as an ``int`` in every way; arithmetic yields plain ints. Only Go's type names in
    a few error texts (``... (json.Number)``) and fmt verbs tell the two apart."""

    __slots__ = ()


def type_name(value: Any) -> str:
    """The name ``.type()`` reports and error messages use."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Timestamp):
        return "timestamp"
    if value is DELETE:
        return "delete"
    if value is NOTHING:
        return "nothing"
    if callable(value):
        return "query expression"
    return "unknown"


def is_number(value: Any) -> bool:
    """True for int and float values (never for bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# Errors about value types


class ValueTypeError(ExecError):
    """Go's ``value.TypeError``: ``expected string value, got number (5)``.

    ``source`` is filled in by the runtime with the annotation of the query that produced the
    value (``... got number from field `this.a` (5)``), exactly as Benthos's ``ErrFrom`` does."""

    def __init__(self, value: Any, expected: tuple[str, ...], source: str = "") -> None:
        self.actual = type_name(value)
        self.expected = expected
        self.source = source
        if self.actual == "string":
            self.value_text = f'"{value}"'
        elif self.actual == "bool":
            self.value_text = "true" if value else "false"
        elif self.actual == "number":
            self.value_text = to_string(value)
        else:
            self.value_text = ""
        super().__init__(self.render())

    def render(self) -> str:
        parts = []
        if self.expected:
            exp = self.expected
            text = "expected "
            for i, e in enumerate(exp):
                if i > 0:
                    text += ", " if len(exp) > 2 and i < len(exp) - 1 else " or "
                text += e
            parts.append(text + " value")
        else:
            parts.append("unexpected value")
        out = parts[0] + f", got {self.actual}"
        if self.source:
            out += f" from {self.source}"
        if self.value_text:
            out += f" ({self.value_text})"
        return out

    def with_source(self, source: str) -> ValueTypeError:
        if not self.source:
            self.source = source
            self.args = (self.render(),)
        return self

    def __str__(self) -> str:
        return self.render()


def type_error(value: Any, *expected: str) -> ValueTypeError:
    """The error for a value of the wrong type: ``type_error(v, "string")`` reads
    ``expected string value, got number (5)``; several kinds read ``expected number or string``."""
    return ValueTypeError(value, expected)


# --------------------------------------------------------------------------------------------
# JSON decoding (Go encoding/json with UseNumber)


def _has_neg_zero(data: Any) -> bool:
    if isinstance(data, memoryview):
        data = data.tobytes()
    return (b"-0" if isinstance(data, (bytes, bytearray)) else "-0") in data


def _parse_int(text: str) -> Any:
    if len(text) < 19 and text != "-0":
        return JsonInt(text)  # PERF: fewer than 19 digits always fit int64
    n = int(text)
    if INT64_MIN <= n <= INT64_MAX and text != "-0":
        return JsonInt(n)
    return JsonFloat(text)


def _parse_constant(text: str) -> Any:
    raise ValueError(f"invalid character '{text[0]}' looking for beginning of value")


_DECODER = json.JSONDecoder(parse_float=JsonFloat, parse_int=_parse_int, parse_constant=_parse_constant)
# The decoder's scanner (what ``raw_decode`` calls): one value from a position, ``StopIteration``
# when there is none there.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _go_json_error(text: str, err: json.JSONDecodeError) -> str:
    """Go's encoding/json error for the first document of ``text`` (only called on failure)."""
    if not text.strip(" \t\r\n"):
        return "EOF"
    msg = _go_scan_error(text)
    return msg or "unexpected EOF"


_LITERALS = {"t": "true", "f": "false", "n": "null"}


def _go_scan_error(text: str) -> str | None:
    """The syntax error message for the first value in ``text`` (``unexpected EOF`` when it is
    cut short), None when that value is complete."""
    return go_json_scan(text)[0]


def go_json_scan(text: str) -> tuple[str | None, int]:
    """A small port of the state machine of Go's JSON scanner over the first value in ``text``:
    ``(None, end of that value)`` when it is complete, else ``(Go's syntax error message,
    where scanning stopped)`` (``unexpected EOF`` when it is cut short)."""
    i, n = 0, len(text)
    stack: list[str] = []  # "{k" object key, "{v" object value, "[" array

    def ws(j: int) -> int:
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j

    def bad(j: int, context: str) -> str:
        return f"invalid character {go_quote_char(text[j])} {context}"

    i = ws(i)
    while True:
        # begin value
        if i >= n:
            return "unexpected EOF", i
        c = text[i]
        if c == "{":
            i = ws(i + 1)
            if i >= n:
                return "unexpected EOF", i
            if text[i] == "}":
                i += 1
            else:
                if text[i] != '"':
                    return bad(i, "looking for beginning of object key string"), i
                stack.append("{k")
                continue
        elif c == "[":
            i = ws(i + 1)
            if i >= n:
                return "unexpected EOF", i
            if text[i] == "]":
                i += 1
            else:
                stack.append("[")
                continue
        elif c == '"':
            i += 1
            while True:
                if i >= n:
                    return "unexpected EOF", i
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\":
                    i += 1
                    if i >= n:
                        return "unexpected EOF", i
                    e = text[i]
                    if e in 'btnfr"\\/':
                        i += 1
                    elif e == "u":
                        i += 1
                        for _ in range(4):
                            if i >= n:
                                return "unexpected EOF", i
                            if text[i] not in "0123456789abcdefABCDEF":
                                return bad(i, "in \\u hexadecimal character escape"), i
                            i += 1
                    else:
                        return bad(i, "in string escape code"), i
                elif ord(ch) < 0x20:
                    return bad(i, "in string literal"), i
                else:
                    i += 1
        elif c == "-" or c.isdigit() and c in "0123456789":
            if c == "-":
                i += 1
                if i >= n:
                    return "unexpected EOF", i
                if text[i] not in "0123456789":
                    return bad(i, "in numeric literal"), i
            if text[i] == "0":
                i += 1
            else:
                while i < n and text[i] in "0123456789":
                    i += 1
            if i < n and text[i] == ".":
                i += 1
                if i >= n:
                    return "unexpected EOF", i
                if text[i] not in "0123456789":
                    return bad(i, "after decimal point in numeric literal"), i
                while i < n and text[i] in "0123456789":
                    i += 1
            if i < n and text[i] in "eE":
                i += 1
                if i < n and text[i] in "+-":
                    i += 1
                if i >= n:
                    return "unexpected EOF", i
                if text[i] not in "0123456789":
                    return bad(i, "in exponent of numeric literal"), i
                while i < n and text[i] in "0123456789":
                    i += 1
            if not stack and i >= n:
                return None, i  # a complete top-level number: the error is elsewhere
        elif c in _LITERALS:
            word = _LITERALS[c]
            for k in range(1, len(word)):
                if i + k >= n:
                    return "unexpected EOF", i
                if text[i + k] != word[k]:
                    return bad(i + k, f"in literal {word} (expecting {go_quote_char(word[k])})"), i
            i += len(word)
        else:
            return bad(i, "looking for beginning of value"), i
        # end of a value: pop containers as they close
        while True:
            if not stack:
                return None, i  # the first value is complete
            i = ws(i)
            if i >= n:
                return "unexpected EOF", i
            top = stack[-1]
            ch = text[i]
            if top == "{k":
                if ch != ":":
                    return bad(i, "after object key"), i
                stack[-1] = "{v"
                i = ws(i + 1)
                break
            if top == "{v":
                if ch == ",":
                    i = ws(i + 1)
                    if i >= n:
                        return "unexpected EOF", i
                    if text[i] != '"':
                        return bad(i, "looking for beginning of object key string"), i
                    stack[-1] = "{k"
                    break
                if ch == "}":
                    stack.pop()
                    i += 1
                    continue
                return bad(i, "after object key:value pair"), i
            if ch == ",":
                i = ws(i + 1)
                break
            if ch == "]":
                stack.pop()
                i += 1
                continue
            return bad(i, "after array element"), i


def _mark_json_ints(value: Any) -> bool | None:
    """Turn the ints of an orjson document into ``JsonInt`` in place. None when a number
    needs its text (a float, an integer outside int64); else whether a zero was seen (``-0``
    is a float in Go, and orjson reads it as 0)."""
    zero = False
    items = value.items() if type(value) is dict else enumerate(value)
    for key, x in items:
        t = type(x)
        if t is str or t is bool or x is None:
            continue
        if t is int:
            if not INT64_MIN <= x <= INT64_MAX:
                return None
            if x == 0:
                zero = True
            value[key] = JsonInt(x)
        elif t is dict or t is list:
            inner = _mark_json_ints(x)
            if inner is None:
                return None
            zero = zero or inner
        else:
            return None
    return zero


def _likely_float(data: bytes | str) -> bool:
    """Whether ``data`` has a digit followed by a decimal point, as most JSON floats do (one
    inside a string is a false alarm, which only costs the slower decode; a float without a
    point is found after orjson). PERF: a search for the points, which are few in most
    documents, costs a fraction of a regular expression scan; past a few points that are not
    after a digit the answer is yes, so a text full of them stays cheap."""
    if isinstance(data, str):
        i = data.find(".")
        for _ in range(8):
            if i <= 0:
                return False
            if "0" <= data[i - 1] <= "9":
                return True
            i = data.find(".", i + 1)
        return True
    if not isinstance(data, bytes):
        data = bytes(data)
    i = data.find(b".")
    for _ in range(8):
        if i <= 0:
            return False
        if 48 <= data[i - 1] <= 57:
            return True
        i = data.find(b".", i + 1)
    return True


def parse_json(data: bytes | str) -> Any:
    """Decode one JSON document the way Benthos reads message payloads: integers that fit
    int64 become ``int``, every other number a ``JsonFloat`` keeping its text; trailing data
    is an error. Raises ``ValueError`` with a Go-like text."""
    # PERF: orjson's numbers lose the text Go keeps for a float, so a document that likely
    # holds one goes straight to the decoder below, whose hooks see every number's text (the
    # cheap ``in`` test first: the search is dearer than a decimal point is common).
    # (a memoryview never has ``b"." in`` it: it takes the orjson route, exact but slower.)
    if type(data) is bytes:
        # PERF: the payload's usual type: one search, and most floats have a digit before their
        # first point, so the fuller look is seldom needed.
        i = data.find(b".")
        likely = i > 0 and (48 <= data[i - 1] <= 57 or _likely_float(data))
    else:
        likely = ("." in data if isinstance(data, str) else b"." in data) and _likely_float(data)
    if _orjson is not None and not likely:
        try:
            value = _orjson.loads(data)
        except (ValueError, TypeError):
            pass
        else:
            t = type(value)
            if t is dict or t is list:
                # PERF: a document whose numbers are all int64 integers is orjson's own result,
                # its ints marked as JSON integers: no number text is needed to be exact.
                try:
                    zero = _mark_json_ints(value)
                except RecursionError:
                    zero = None
                if zero is False or (zero is True and not _has_neg_zero(data)):
                    return value
                # orjson has validated the document. The stdlib decoder's number hooks get each
                # number's text, which is what Go keeps (json.Number): cheaper than pairing
                # orjson's numbers with the number tokens of the source, and exact by design.
                text = data if isinstance(data, str) else bytes(data).decode("utf-8")
                try:
                    return _DECODER.decode(text)
                except (ValueError, RecursionError):
                    pass  # the slow path below words the error as Go does
            elif t is int:
                if INT64_MIN <= value <= INT64_MAX and (value != 0 or not _has_neg_zero(data)):
                    return JsonInt(value)
            elif t is not float:
                return value
    raw: bytes | None = None
    if isinstance(data, str):
        text = data
    else:
        raw = data if type(data) is bytes else bytes(data)
        text = raw.decode("utf-8", "replace")
    if text[:1] in _VALUE_STARTS:
        # PERF: a document with no whitespace around it, the common case, is one call of the
        # decoder's scanner (what ``raw_decode`` calls after its own checks); any other
        # outcome takes the careful path below, which words errors as Go does.
        try:
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text):
                return value
    try:
        value, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
    except json.JSONDecodeError as exc:
        # NOTE: Go's scanner reports the offending byte, not the U+FFFD a decoder puts there.
        raise ValueError(_go_json_error(text if raw is None else raw.decode("utf-8", "surrogateescape"), exc)) from None
    except RecursionError:
        raise ValueError("exceeded max depth") from None
    end = _skip_ws(text, end)
    if end != len(text):
        if raw is not None:
            # The error names a byte: scan the undecoded text (invalid UTF-8 kept as escapes).
            text = raw.decode("utf-8", "surrogateescape")
            end = _skip_ws(text, _DECODER.raw_decode(text, _skip_ws(text, 0))[1])
        scan = _go_scan_error(text)
        if scan is not None:
            raise ValueError(scan)
        # Benthos decodes up to two more documents: the first syntax error among them is the
        # error, otherwise the message "contains multiple valid documents".
        scan = _go_scan_error(text[end:])
        if scan is None:
            try:
                end = _skip_ws(text, _DECODER.raw_decode(text, end)[1])
            except (json.JSONDecodeError, ValueError):
                end = len(text)
            if end < len(text):
                scan = _go_scan_error(text[end:])
        raise ValueError(scan or "message contains multiple valid documents")
    return value


_VALUE_STARTS = frozenset('{["')


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\n\r":
        pos += 1
    return pos


# --------------------------------------------------------------------------------------------
# Float texts


def _float_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``abs(f)`` and the decimal point position: value is
    ``0.DIGITS * 10**dp`` (strconv's ``decimal`` form)."""
    sign, digits, exp = Decimal(repr(abs(f))).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    stripped = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if ds == "0":
        return "0", 1
    # value = int(digits) * 10**exp ; with trailing zeros removed: int(ds) * 10**(exp+stripped)
    e = int(exp) + stripped
    return ds, len(ds) + e


def _fmt_f(neg: bool, ds: str, dp: int) -> str:
    if dp <= 0:
        out = "0." + "0" * (-dp) + ds
    elif dp >= len(ds):
        out = ds + "0" * (dp - len(ds))
    else:
        out = ds[:dp] + "." + ds[dp:]
    return ("-" if neg else "") + out


def _fmt_e(neg: bool, ds: str, dp: int) -> str:
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    exp = dp - 1
    es = "-" if exp < 0 else "+"
    ev = abs(exp)
    return ("-" if neg else "") + mant + "e" + es + (f"{ev:02d}")


def format_float_g(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)``: IToString and ``%v`` of a float64."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    if f == 0:
        return "-0" if neg else "0"
    ds, dp = _float_digits(f)
    exp = dp - 1
    # NOTE: for the shortest form strconv decides with a precision of 6, so a million is 1e+06.
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, ds, dp)
    return _fmt_f(neg, ds, dp)


def format_float_json(f: float) -> str:
    """Go encoding/json's float64 text: shortest digits, exponent form below 1e-6 and from 1e21,
    ``e-07`` cleaned to ``e-7``. Raises ``ValueError`` for NaN and infinities (Go refuses them)."""
    if isinstance(f, JsonFloat):
        return f.text
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {format_float_g(f)}")
    neg = math.copysign(1.0, f) < 0
    if f == 0:
        return "-0" if neg else "0"
    ds, dp = _float_digits(f)
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        s = _fmt_e(neg, ds, dp)
        if len(s) >= 4 and s[-4] == "e" and s[-3] == "-" and s[-2] == "0":
            s = s[:-2] + s[-1]
        return s
    return _fmt_f(neg, ds, dp)


# --------------------------------------------------------------------------------------------
# JSON encoding (Go encoding/json) and IToString

_encode_str = json.encoder.encode_basestring
_LS_PS = ("\u2028", "\u2029")


def _quote(s: str) -> str:
    """A Go-encoded JSON string (without HTML escaping): Python's escaper produces the same
    escapes as Go >= 1.22 (``\\b \\f \\n \\r \\t``, ``\\u00XX``) except for U+2028/U+2029,
    which Go always escapes, and lone surrogates, which Go writes as U+FFFD."""
    out = _encode_str(s)
    if "\u2028" in out or "\u2029" in out:
        out = out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if not out.isascii() and _SURROGATE.search(out):
        # Invalid UTF-8 (kept as surrogate escapes) is written as U+FFFD, as Go does; escapes
        # that together spell a valid character (joined slices) are that character.
        if _only_escapes(s):
            joined = bytes_to_str(utf8(s))
            if joined != s:
                return _quote(joined)
        out = _SURROGATE.sub("\\\\ufffd", out)
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def _ts_text(ts: Timestamp) -> str:
    return timefmt.format_rfc3339nano(ts)


def _encode(value: Any, out: list[str], indent: str | None, level: int) -> None:
    t = type(value)
    if t is str:
        out.append(_quote(value))
    elif t is dict:
        if not value:
            out.append("{}")
            return
        if indent is None:
            out.append("{")
            first = True
            for k in sorted(value):
                if not first:
                    out.append(",")
                first = False
                out.append(_quote(k))
                out.append(":")
                _encode(value[k], out, None, 0)
            out.append("}")
        else:
            inner = "\n" + indent * (level + 1)
            out.append("{")
            first = True
            for k in sorted(value):
                if not first:
                    out.append(",")
                first = False
                out.append(inner)
                out.append(_quote(k))
                out.append(": ")
                _encode(value[k], out, indent, level + 1)
            out.append("\n" + indent * level + "}")
    elif t is list or t is tuple:
        if not value:
            out.append("[]")
            return
        if indent is None:
            out.append("[")
            first = True
            for v in value:
                if not first:
                    out.append(",")
                first = False
                _encode(v, out, None, 0)
            out.append("]")
        else:
            inner = "\n" + indent * (level + 1)
            out.append("[")
            first = True
            for v in value:
                if not first:
                    out.append(",")
                first = False
                out.append(inner)
                _encode(v, out, indent, level + 1)
            out.append("\n" + indent * level + "]")
    elif t is int or t is JsonInt:
        out.append(int.__repr__(value))
    elif t is NilList:
        out.append("null")
    elif t is bool:
        out.append("true" if value else "false")
    elif value is None or value is DELETE or value is NOTHING:
        out.append("null")
    elif isinstance(value, float):
        out.append(format_float_json(value))
    elif isinstance(value, str):
        out.append(_quote(str(value)))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, dict):
        _encode(dict(value), out, indent, level)
    elif isinstance(value, (list, tuple)):
        _encode(list(value), out, indent, level)
    elif isinstance(value, (bytes, bytearray)):
        out.append('"' + base64.b64encode(bytes(value)).decode("ascii") + '"')
    elif isinstance(value, Timestamp):
        text = _ts_text(value)
        if text[0] == "-" or text.index("-") > 4:
            raise ValueError(
                "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"
            )
        out.append(_quote(text))
    else:
        raise ValueError(f"json: unsupported type: {type_name(value)}")


_PLAIN_SCALARS = (str, int, bool, type(None))


def _orjson_safe(value: Any) -> bool:
    """True when orjson's output for ``value`` is byte-identical to Go's: no floats (orjson
    writes ``1.0``/``1e16``, Go ``1``/``10000000000000000``), bytes, timestamps or sentinels."""
    stack = [value]
    pop = stack.pop
    push = stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is dict:
            push(v.values())
        elif t is list:
            push(v)
        elif t is str or t is bool or v is None:
            continue
        elif t is int or t is JsonInt:
            if v < INT64_MIN or v > UINT64_MAX:
                return False
        else:
            return False
    return True


def _fragments(v: Any) -> Any:
    """``v`` with every value orjson would write differently from Go replaced by an
    ``orjson.Fragment`` of Go's text (floats, bytes, timestamps, nil arrays...). Containers are
    copied only where something changed. Raises ``ValueError`` for NaN/Inf like Go. Only
    called when orjson imported."""
    t = type(v)
    if t is dict or t is list:
        out = None
        for k, x in v.items() if t is dict else enumerate(v):
            tx = type(x)
            if tx is str or tx is JsonInt or tx is bool or x is None:
                continue
            if tx is JsonFloat:
                nx: Any = orjson.Fragment(x.text)  # PERF: a decoded float, inline
            elif tx is int and INT64_MIN <= x <= UINT64_MAX:
                continue
            else:
                nx = _fragments(x)
                if nx is x:
                    continue
            if out is None:
                out = t(v)  # a shallow copy, of the same kind
            out[k] = nx
        return v if out is None else out
    if t is str or t is JsonInt or t is bool or v is None:
        return v
    if t is int:
        return v if INT64_MIN <= v <= UINT64_MAX else orjson.Fragment(str(v))
    if isinstance(v, float):
        return orjson.Fragment(format_float_json(v))
    out_parts: list[str] = []
    _encode(v, out_parts, None, 0)
    return orjson.Fragment("".join(out_parts))


_SORT_KEYS = _orjson.OPT_SORT_KEYS if _orjson is not None else 0


def to_json_bytes(value: Any) -> bytes:
    """Compact Go JSON without HTML escaping, as UTF-8 bytes (the payload encoding)."""
    if _orjson is not None:
        try:
            prepared = _fragments(value)
            out = _orjson.dumps(prepared, option=_orjson.OPT_SORT_KEYS)
        except (TypeError, RecursionError):
            pass
        else:
            if b"\xe2\x80" in out and (b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out):
                out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
            return out
    return _utf8(to_json(value))


def to_json(value: Any, *, escape_html: bool = False, indent: str | int | None = None) -> str:
    """Go encoding/json text of a value: sorted keys, Go float texts, ``[]byte`` as base64,
    timestamps as RFC 3339 nano. ``escape_html`` is json.Marshal's default (used by IToString);
    payloads are written without it. ``indent`` follows MarshalIndent (a string or a width).
    Raises ``ValueError`` for NaN/Inf (Go refuses them) and for values JSON cannot hold."""
    if isinstance(indent, int):
        indent = " " * indent
    out: list[str] = []
    try:
        _encode(value, out, indent, 0)
    except RecursionError:
        raise ValueError("json: unsupported value: encountered a cycle or too deep a value") from None
    text = "".join(out)
    if escape_html and ("<" in text or ">" in text or "&" in text):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _utf8(s: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape") if _only_escapes(s) else s.encode("utf-8", "replace")


def _only_escapes(s: str) -> bool:
    return all(not ("\ud800" <= c <= "\udbff") for c in s if "\ud800" <= c <= "\udfff")


def to_payload(value: Any) -> bytes:
    """The message bytes for a value: strings and bytes raw, everything else compact Go JSON
    without HTML escaping. A value Go cannot encode (NaN) gives an empty payload, as in Benthos."""
    t = type(value)
    if (t is dict or t is list) and _orjson is not None:
        # PERF: the usual payload, an object or array, without the checks for strings and bytes
        # and the extra call (as to_json_bytes; anything unusual takes the general path).
        try:
            out = _orjson.dumps(_fragments(value), option=_SORT_KEYS)
        except (TypeError, RecursionError, ValueError):
            pass
        else:
            if b"\xe2\x80" in out and (b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out):
                out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
            return out
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return to_json_bytes(value)
    except ValueError:
        return b""


def bytes_to_str(b: bytes) -> str:
    """Go's ``string(b)`` for display purposes; invalid UTF-8 survives as surrogate escapes so
    writing it back with ``to_payload`` restores the original bytes."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("utf-8", "surrogateescape")


def utf8(s: str) -> bytes:
    """The bytes of a string as Go holds them (surrogate escapes become the original bytes);
    the inverse of ``bytes_to_str``."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return s.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return s.encode("utf-8", "replace")


def join_escapes(s: str) -> str:
    """A string built from pieces holding invalid UTF-8 (surrogate escapes) in its canonical
    form: escaped bytes that together spell a valid character become that character."""
    if s.isascii() or not _SURROGATE.search(s) or not _only_escapes(s):
        return s
    return bytes_to_str(utf8(s))


def go_runes(s: str) -> str:
    """The string as Go's ``[]rune(s)`` sees it: every byte that is not part of valid UTF-8
    becomes U+FFFD (escapes that together spell a valid character are joined first)."""
    if s.isascii() or not _SURROGATE.search(s):
        return s
    return _SURROGATE.sub("\ufffd", bytes_to_str(utf8(s)))


def to_string(value: Any) -> str:
    """IToString: strings raw, numbers in Go's texts (``1e+06``), ``null``, timestamps RFC 3339
    nano, and objects/arrays via json.Marshal (which HTML-escapes ``<``, ``>``, ``&``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, JsonFloat):
        return value.text
    if isinstance(value, float):
        return format_float_g(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes_to_str(bytes(value))
    if isinstance(value, Timestamp):
        return _ts_text(value)
    try:
        return to_json(value, escape_html=True)
    except ValueError:
        return "null"


def to_bytes(value: Any) -> bytes:
    """IToBytes: like ``to_string`` but bytes out; objects/arrays use HTML-escaped JSON."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return _utf8(to_string(value))


def clone(value: Any) -> Any:
    """IClone: a deep copy of arrays and objects (scalars are immutable). An empty array
    literal (``NilList``) becomes a real empty array, as Go's clone makes a non-nil slice."""
    t = type(value)
    if t is dict:
        out = {}
        for k, x in value.items():
            tx = type(x)
            out[k] = clone(x) if (tx is dict or tx is list or tx is NilList) else x
        return out
    if t is list or t is NilList:
        return [clone(x) if (type(x) is dict or type(x) is list or type(x) is NilList) else x for x in value]
    return value


# --------------------------------------------------------------------------------------------
# IGet* accessors (the rules function/method arguments and targets are read with)


def get_number(value: Any) -> float:
    """IGetNumber: any number as float64, else ``expected number value``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise type_error(value, "number")
    return float(value)


def get_int(value: Any) -> int:
    """IGetInt: a number as int64 (floats truncate; uint64 wraps like Go's conversion)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise type_error(value, "number")
    if isinstance(value, int):
        return wrap_int64(value)
    if math.isnan(value) or math.isinf(value):
        return INT64_MIN
    n = int(value)
    if n > INT64_MAX or n < INT64_MIN:
        return INT64_MIN  # NOTE: Go's out-of-range float->int64 conversion on amd64
    return n


def get_bool(value: Any) -> bool:
    """IGetBool: a bool, or a number compared with zero."""
    if isinstance(value, bool):
        return value
    if isinstance(value, JsonFloat):
        return value.text != "0"
    if isinstance(value, (int, float)):
        return value != 0
    raise type_error(value, "bool")


def get_string(value: Any) -> str:
    """IGetString: strings, bytes and timestamps (RFC 3339 nano), else ``expected string``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes_to_str(bytes(value))
    if isinstance(value, Timestamp):
        return _ts_text(value)
    raise type_error(value, "string")


def get_bytes(value: Any) -> bytes:
    """IGetBytes: strings, bytes and timestamps as bytes, else ``expected bytes``."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, Timestamp):
        return _ts_text(value).encode()
    raise type_error(value, "bytes")


def get_timestamp(value: Any) -> Timestamp:
    """IGetTimestamp: a timestamp, Unix seconds (fraction allowed; local zone) or an RFC 3339
    nano string."""
    if isinstance(value, Timestamp):
        return value
    if isinstance(value, bool):
        raise type_error(value, "number", "string")
    if isinstance(value, int):
        return Timestamp(wrap_int64(value) * 1_000_000_000, None)
    if isinstance(value, float):
        # time.Unix(int64(trunc(f)), int64(frac*1e9)) with Go's conversions and int64 wrapping
        # (an infinite or huge float lands where Go's arithmetic puts it).
        fint = math.trunc(value) if math.isfinite(value) else value
        sec = go_float_to_int64(fint)
        nsec = go_float_to_int64((value - fint) * 1e9)
        if not 0 <= nsec < 1_000_000_000:
            n = abs(nsec) // 1_000_000_000 * (1 if nsec >= 0 else -1)  # Go's truncating division
            sec = wrap_int64(sec + n)
            nsec -= n * 1_000_000_000
            if nsec < 0:
                nsec += 1_000_000_000
                sec = wrap_int64(sec - 1)
        return Timestamp(sec * 1_000_000_000 + nsec, None)
    if isinstance(value, (str, bytes, bytearray)):
        text = value if isinstance(value, str) else bytes_to_str(bytes(value))
        try:
            return timefmt.parse_rfc3339(text)
        except ValueError as exc:
            raise ExecError(str(exc)) from None
    raise type_error(value, "number", "string")


def go_float_to_int64(f: float) -> int:
    """Go's ``int64(f)`` on amd64: out of range (or NaN) gives the smallest int64."""
    if math.isnan(f) or not -9223372036854775808.0 <= f < 9223372036854775808.0:
        return INT64_MIN
    return int(f)


def wrap_int64(n: int) -> int:
    """Two's complement wrap to int64 (Go's overflow)."""
    if INT64_MIN <= n <= INT64_MAX:
        return n
    return ((n + (1 << 63)) % (1 << 64)) - (1 << 63)


def wrap_uint64(n: int) -> int:
    """Wrap to uint64 (Go's unsigned overflow)."""
    return n % (1 << 64)


# --------------------------------------------------------------------------------------------
# Equality (ICompare)


def _restrict(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes_to_str(bytes(value))
    if isinstance(value, Timestamp):
        return _ts_text(value)
    return value


def equal(left: Any, right: Any) -> bool:
    """ICompare: Benthos's ``==``. Numbers compare as float64, bytes equal a string with the
    same content, arrays and objects compare deeply, different types are simply unequal (the
    quirks of Go's version are kept: a bool on the left equals a number that is non-zero)."""
    if left is None and right is None:
        return True
    lhs = _restrict(left)
    if isinstance(lhs, str):
        try:
            return lhs == get_string(right)
        except ExecError:
            return False
    if isinstance(lhs, bool):
        try:
            return lhs == get_bool(right)
        except ExecError:
            return False
    if isinstance(lhs, float):
        if isinstance(right, bool) or not isinstance(right, (int, float)):
            return False
        return lhs == float(right)
    if isinstance(lhs, list):
        if not isinstance(right, list) or len(lhs) != len(right):
            return False
        return all(equal(a, b) for a, b in zip(lhs, right, strict=True))
    if isinstance(lhs, dict):
        if not isinstance(right, dict) or len(lhs) != len(right):
            return False
        # NOTE: Go reads a missing key as nil, so {"a": null} equals {"b": null}.
        return all(equal(v, right.get(k)) for k, v in lhs.items())
    return False


# --------------------------------------------------------------------------------------------
# Parameter conversion (query/params.go parseArgValue)

_KIND_TEXT = {"int": "integer", "float": "float", "number": "number", "any": "unknown"}


def convert_arg(kind: str, value: Any, nullable: bool = False) -> Any:
    """Convert an argument to a declared ``Param`` kind, raising ``ExecError`` with Benthos's
    text (``wrong argument type, expected string, got number``; numbers/bools/timestamps use
    the IGet* errors). The caller prefixes ``field NAME: `` or
    ``failed to extract input arg 'NAME': ``. ``query`` arguments are converted by the compiler."""
    if nullable and value is None:
        return None
    if kind == "any" or kind == "query":
        return value
    if kind == "int":
        return get_int(value)
    if kind in ("float", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise type_error(value, "number")
        return float(value) if kind == "float" else value
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, (bytes, bytearray)):
            return bytes_to_str(bytes(value))
    elif kind == "timestamp":
        return get_timestamp(value)
    elif kind == "bool":
        return get_bool(value)
    elif kind == "array":
        if isinstance(value, list):
            return value
    elif kind == "object":
        if isinstance(value, dict):
            return value
    raise ExecError(f"wrong argument type, expected {_KIND_TEXT.get(kind, kind)}, got {type_name(value)}")


# --------------------------------------------------------------------------------------------
# Go's strconv texts (for error messages that quote their input; the quoting is ``goquote``)


def strconv_error(func: str, text: str, reason: str = "invalid syntax") -> ExecError:
    """``strconv.ParseFloat: parsing "x": invalid syntax`` with Go's quoting of the input."""
    return ExecError(f"strconv.{func}: parsing {go_quote(text)}: {reason}")
