"""Bloblang's String Manipulation methods (Benthos v4 ``query/methods_strings.go`` and friends).

Go strings are byte sequences, so lengths, indexes and slices here count UTF-8 bytes, not code
points (``"é".length()`` is 2), and ``[]byte`` targets give ``bytes`` results where Go gives
``[]byte``. Strings holding invalid UTF-8 travel as surrogate escapes (``values.bytes_to_str``),
so re-encoding them with ``utf8`` restores the original bytes.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from functools import lru_cache
from typing import Any

from .errors import ExecError
from .registry import Param, method
from .values import (
    DELETE,
    NOTHING,
    JsonFloat,
    JsonInt,
    Timestamp,
    bytes_to_str,
    equal,
    format_float_g,
    get_string,
    to_bytes,
    to_string,
    type_error,
)

# --------------------------------------------------------------------------------------------
# helpers


def utf8(s: str) -> bytes:
    """The bytes of a string as Go holds them (surrogate escapes become the original bytes)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return s.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return s.encode("utf-8", "replace")


def _text(value: Any) -> str:
    """Go's ``stringMethod``: IGetString on the target (strings, bytes, timestamps)."""
    return get_string(value)


def _bytes_index(haystack: str, needle: str) -> int:
    if haystack.isascii() and needle.isascii():
        return haystack.find(needle)
    return utf8(haystack).find(utf8(needle))


# --------------------------------------------------------------------------------------------
# case


_MID_WORD = frozenset("'.:\u00b7\u0387\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a")


# Scripts whose letters are not ALetter in Unicode word breaking (ideographs, kana, and the
# South-East Asian scripts segmented by dictionary): each of their characters is a break.
_BREAK_LETTER_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1950, 0x19DF),  # Tai Le, New Tai Lue
    (0x1A20, 0x1AAF),  # Tai Tham
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x20000, 0x3FFFF),  # CJK extensions B onwards
)
_CASE_IGNORABLE_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Lm", "Sk"})


def _is_word_break(ch: str) -> bool:
    """x/text's break test for an uncased character: letters (outside the scripts above),
    decimal and letter numbers, marks, format characters and connectors continue a word;
    everything else ends it."""
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Mc", "Cf", "Pc", "Nd", "Nl"):
        return False
    if category[0] == "L":
        cp = ord(ch)
        return any(lo <= cp <= hi for lo, hi in _BREAK_LETTER_RANGES)
    return True


def _is_cased(ch: str) -> bool:
    return ch.lower() != ch.upper() or ch.istitle()


def _is_case_ignorable(ch: str) -> bool:
    return ch in _MID_WORD or unicodedata.category(ch) in _CASE_IGNORABLE_CATEGORIES


def _final_sigma(s: str, i: int) -> bool:
    """A capital sigma inside a word lowers to the final form unless a cased letter follows
    (case-ignorable characters in between are skipped)."""
    for ch in s[i + 1 :]:
        if _is_case_ignorable(ch):
            continue
        return not _is_cased(ch)
    return True


def _title(s: str) -> str:
    """golang.org/x/text ``cases.Title(language.English)``: the first cased letter of each word
    is title-cased and the rest of the word lower-cased (full mappings: ``ß`` -> ``Ss``, a final
    sigma -> ``ς``). Words follow x/text's approximation of Unicode word breaking: a single
    "mid" mark (the apostrophe of ``they're``, the dot of ``a.b``) does not end a word, two do."""
    out: list[str] = []
    mid_word = False
    prev_mid = False
    for i, ch in enumerate(s):
        is_mid = ch in _MID_WORD
        if prev_mid and is_mid:
            mid_word = False
        if _is_cased(ch):
            if not mid_word:
                out.append(ch.title())
                mid_word = True
            elif ch == "\u03a3":
                out.append("\u03c2" if _final_sigma(s, i) else "\u03c3")
            else:
                out.append(ch.lower())
        else:
            out.append(ch)
            if not is_mid and _is_word_break(ch):
                mid_word = False
        prev_mid = is_mid
    return "".join(out)


def _simple_case(s: str, upper: bool) -> str:
    """Go's ``strings.ToUpper``/``ToLower``: one rune maps to one rune (no ``ß`` -> ``SS``)."""
    if s.isascii():
        return s.upper() if upper else s.lower()
    out = []
    for ch in s:
        mapped = ch.upper() if upper else ch.lower()
        if len(mapped) != 1:
            # Go maps rune to rune: İ lowers to a plain i, ß has no single-rune upper case.
            mapped = _SIMPLE_LOWER.get(ch, ch) if not upper else ch
        out.append(mapped)
    return "".join(out)


_SIMPLE_LOWER = {"\u0130": "i"}


@method("capitalize")
def capitalize(target: Any) -> Any:
    """Title case, as Benthos does it (x/text English title casing)."""
    if isinstance(target, str):
        return _title(target)
    if isinstance(target, (bytes, bytearray)):
        return utf8(_title(bytes_to_str(bytes(target))))
    raise type_error(target, "string")


@method("uppercase")
def uppercase(target: Any) -> Any:
    """Upper-case every letter; bytes stay bytes."""
    if isinstance(target, str):
        return _simple_case(target, True)
    if isinstance(target, (bytes, bytearray)):
        return utf8(_simple_case(bytes_to_str(bytes(target)), True))
    raise type_error(target, "string")


@method("lowercase")
def lowercase(target: Any) -> Any:
    """Lower-case every letter; bytes stay bytes."""
    if isinstance(target, str):
        return _simple_case(target, False)
    if isinstance(target, (bytes, bytearray)):
        return utf8(_simple_case(bytes_to_str(bytes(target)), False))
    raise type_error(target, "string")


# --------------------------------------------------------------------------------------------
# searching and testing


@method("contains", Param("value"))
def contains(target: Any, value: Any) -> bool:
    """Substring test for strings and bytes (the argument is stringified first, so
    ``"a1".contains(1)`` is true); element test with Benthos equality for arrays and objects."""
    if isinstance(target, str):
        return to_string(value) in target
    if isinstance(target, (bytes, bytearray)):
        return to_bytes(value) in target
    if isinstance(target, list):
        return any(equal(value, item) for item in target)
    if isinstance(target, dict):
        return any(equal(value, item) for item in target.values())
    raise type_error(target, "string", "array", "object")


@method("has_prefix", Param("value", "string"))
def has_prefix(target: Any, value: str) -> bool:
    """Whether the string or bytes start with ``value``."""
    if isinstance(target, str):
        return target.startswith(value)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).startswith(utf8(value))
    raise type_error(target, "string")


@method("has_suffix", Param("value", "string"))
def has_suffix(target: Any, value: str) -> bool:
    """Whether the string or bytes end with ``value``."""
    if isinstance(target, str):
        return target.endswith(value)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).endswith(utf8(value))
    raise type_error(target, "string")


@method("index_of", Param("value", "string"))
def index_of(target: Any, value: str) -> int:
    """Byte offset of the first occurrence of ``value``, or -1."""
    if isinstance(target, str):
        return _bytes_index(target, value)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).find(utf8(value))
    raise type_error(target, "string")


@method("length")
def length(target: Any) -> int:
    """Bytes of a string (Go's ``len``), elements of an array, keys of an object."""
    if isinstance(target, str):
        return len(target) if target.isascii() else len(utf8(target))
    if isinstance(target, (bytes, bytearray, list, dict)):
        return len(target)
    raise type_error(target, "string", "array", "object")


# --------------------------------------------------------------------------------------------
# escaping


def _escape_html(s: str) -> str:
    # NOTE: Go's html.EscapeString uses &#39; and &#34;, not Python's &#x27; and &quot;.
    return (
        s.replace("&", "&amp;")
        .replace("'", "&#39;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
    )


@method("escape_html")
def escape_html(target: Any) -> str:
    """Escape ``< > & ' "`` for embedding in HTML."""
    return _escape_html(_text(target))


@method("unescape_html")
def unescape_html(target: Any) -> str:
    """Resolve HTML entities (named, decimal and hex)."""
    text = _text(target)
    if "&#x;" in text or "&#X;" in text:
        # NOTE: Go reads an empty hex reference with its semicolon as code point 0 (U+FFFD);
        # Python leaves it as text.
        text = text.replace("&#x;", "\ufffd").replace("&#X;", "\ufffd")
    return html.unescape(text)


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_PATH_SEGMENT_SAFE = _UNRESERVED | frozenset(b"$&+:=@")


def _percent_encode(s: str, safe: frozenset[int], space_plus: bool) -> str:
    out = []
    for b in utf8(s):
        if b in safe:
            out.append(chr(b))
        elif b == 0x20 and space_plus:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


_HEX = frozenset(b"0123456789abcdefABCDEF")


def _percent_decode(s: str, plus_space: bool) -> str:
    """Go's ``url.unescape``: every ``%`` must start two hex digits, else
    ``invalid URL escape "%zz"``; ``+`` is a space only in query components."""
    raw = utf8(s)
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25:  # '%'
            if i + 2 >= n or raw[i + 1] not in _HEX or raw[i + 2] not in _HEX:
                bad = bytes_to_str(raw[i : i + 3])
                raise ExecError(f"invalid URL escape {go_quote(bad)}")
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        elif b == 0x2B and plus_space:  # '+'
            out.append(0x20)
            i += 1
        else:
            out.append(b)
            i += 1
    return bytes_to_str(bytes(out))


@method("escape_url_query")
def escape_url_query(target: Any) -> str:
    """Go's ``url.QueryEscape``: spaces become ``+``, everything but unreserved is %-encoded."""
    return _percent_encode(_text(target), _UNRESERVED, True)


@method("unescape_url_query")
def unescape_url_query(target: Any) -> str:
    """Go's ``url.QueryUnescape``."""
    return _percent_decode(_text(target), True)


@method("escape_url_path")
def escape_url_path(target: Any) -> str:
    """Go's ``url.PathEscape`` (a path segment: ``/``, ``;``, ``,`` and ``?`` are escaped)."""
    return _percent_encode(_text(target), _PATH_SEGMENT_SAFE, False)


@method("unescape_url_path")
def unescape_url_path(target: Any) -> str:
    """Go's ``url.PathUnescape`` (``+`` stays a plus)."""
    return _percent_decode(_text(target), False)


@method("quote")
def quote(target: Any) -> str:
    """Go's ``strconv.Quote``: a double-quoted literal with Go escapes."""
    return go_quote(_text(target))


@method("unquote")
def unquote(target: Any) -> str:
    """Go's ``strconv.Unquote``: a double-quoted, back-quoted or single-character literal."""
    return go_unquote(_text(target))


# --------------------------------------------------------------------------------------------
# file paths (Unix separators, as Benthos runs on Linux)


def _clean_path(path: str) -> str:
    """Go's ``filepath.Clean`` for ``/`` separators."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


@method("filepath_join")
def filepath_join(target: Any) -> str:
    """Join path elements with ``/`` and clean the result (empty elements are skipped)."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    parts = []
    for i, element in enumerate(target):
        try:
            parts.append(get_string(element))
        except ExecError as err:
            raise ExecError(f"path element {i}: {err}", cause=err) from err
    joined = "/".join(p for p in parts if p)
    return _clean_path(joined) if joined else ""


@method("filepath_split")
def filepath_split(target: Any) -> list[str]:
    """``[dir, file]`` split after the last ``/`` (the directory keeps its trailing slash)."""
    s = _text(target)
    i = s.rfind("/")
    return [s[: i + 1], s[i + 1 :]]


# --------------------------------------------------------------------------------------------
# building and replacing


@method("format", variadic=True)
def format_(target: Any, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` with the target as the format string."""
    return go_sprintf(_text(target), args)


def _repeat_check(count: int) -> None:
    if count < 0:
        raise ExecError(f"invalid count, must be greater than or equal to zero: {count}", annotated=True)


@method("repeat", Param("count", "int"), check=_repeat_check)
def repeat(target: Any, count: int) -> Any:
    """The target repeated ``count`` times."""
    if count < 0:
        raise ExecError(f"invalid count, must be greater than or equal to zero: {count}", annotated=True)
    if isinstance(target, str):
        size = len(target) if target.isascii() else len(utf8(target))
    elif isinstance(target, (bytes, bytearray)):
        size = len(target)
    else:
        raise type_error(target, "string")
    if size * count > (1 << 63) - 1:
        raise ExecError(f"invalid count, would overflow: {size}*{count}")
    # PERF: refuse sizes no process could hold instead of letting Python raise MemoryError.
    if size * count > 1 << 31:
        raise ExecError(f"invalid count, would overflow: {size}*{count}")
    return target * count


def _replace_all(target: Any, old: str, new: str) -> Any:
    if isinstance(target, str):
        return target.replace(old, new)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).replace(utf8(old), utf8(new))
    raise type_error(target, "string")


@method("replace_all", Param("old", "string"), Param("new", "string"))
def replace_all(target: Any, old: str, new: str) -> Any:
    """Replace every occurrence of ``old`` with ``new``."""
    return _replace_all(target, old, new)


@method("replace", Param("old", "string"), Param("new", "string"), deprecated=True)
def replace(target: Any, old: str, new: str) -> Any:
    """The older name of ``replace_all``."""
    return _replace_all(target, old, new)


def _replace_pairs(values: list[Any]) -> list[tuple[str, str]]:
    if len(values) % 2 != 0:
        raise ExecError(
            "invalid arg, replacements should be in pairs and must therefore be even: "
            + go_sprintf("%v", (values,)),
            annotated=True,
        )
    pairs = []
    for i in range(0, len(values), 2):
        try:
            old = get_string(values[i])
        except ExecError as err:
            raise ExecError(f"invalid replacement value at index {i}: {err}", cause=err, annotated=True) from err
        try:
            new = get_string(values[i + 1])
        except ExecError as err:
            raise ExecError(f"invalid replacement value at index {i + 1}: {err}", cause=err, annotated=True) from err
        pairs.append((old, new))
    return pairs


def _replace_many(target: Any, values: list[Any]) -> Any:
    pairs = _replace_pairs(values)
    if isinstance(target, str):
        for old, new in pairs:
            target = target.replace(old, new)
        return target
    if isinstance(target, (bytes, bytearray)):
        data = bytes(target)
        for old, new in pairs:
            data = data.replace(utf8(old), utf8(new))
        return data
    raise type_error(target, "string")


def _pairs_check(values: list[Any]) -> None:
    _replace_pairs(values)


@method("replace_all_many", Param("values", "array"), check=_pairs_check)
def replace_all_many(target: Any, values: list[Any]) -> Any:
    """Apply ``[old1, new1, old2, new2, ...]`` replacements in order."""
    return _replace_many(target, values)


@method("replace_many", Param("values", "array"), deprecated=True, check=_pairs_check)
def replace_many(target: Any, values: list[Any]) -> Any:
    """The older name of ``replace_all_many``."""
    return _replace_many(target, values)


@method("reverse")
def reverse(target: Any) -> Any:
    """Characters in reverse order (code points for strings, bytes for bytes)."""
    if isinstance(target, str):
        return target[::-1]
    if isinstance(target, (bytes, bytearray)):
        return bytes(target)[::-1]
    raise type_error(target, "string")


def _slice_bounds(size: int, low: int, high: int | None) -> tuple[int, int]:
    if high is not None and high > 0 and low >= high:
        raise ExecError(f"lower slice bound {low} must be lower than upper ({high})", annotated=True)
    end = size
    if high is not None:
        end = size + high if high < 0 else high
    end = min(max(end, 0), size)
    start = low if low >= 0 else max(size + low, 0)
    if start > end:
        raise ExecError(
            f"lower slice bound {start} must be lower than or equal to upper bound ({end})"
            f" and target length ({size})"
        )
    return start, end


def _slice_check(low: int, high: int | None = None) -> None:
    if high is not None and high > 0 and low >= high:
        raise ExecError(f"lower slice bound {low} must be lower than upper ({high})", annotated=True)


@method("slice", Param("low", "int"), Param("high", "int", default=None, nullable=True), check=_slice_check)
def slice_(target: Any, low: int, high: int | None = None) -> Any:
    """A half-open ``[low, high)`` range of a string (in bytes), bytes or an array; negative
    bounds count from the end."""
    if isinstance(target, str):
        if target.isascii():
            start, end = _slice_bounds(len(target), low, high)
            return target[start:end]
        raw = utf8(target)
        start, end = _slice_bounds(len(raw), low, high)
        return bytes_to_str(raw[start:end])
    if isinstance(target, (bytes, bytearray, list)):
        start, end = _slice_bounds(len(target), low, high)
        return target[start:end]
    raise type_error(target, "array", "string")


@method("split", Param("delimiter", "string"), Param("empty_as_null", "bool", default=False))
def split(target: Any, delimiter: str, empty_as_null: bool = False) -> list[Any]:
    """Split on ``delimiter`` (an empty one splits into characters)."""
    parts: list[Any]
    if isinstance(target, str):
        parts = list(target) if delimiter == "" else target.split(delimiter)
        if delimiter == "" and target == "":
            parts = []
    elif isinstance(target, (bytes, bytearray)):
        data = bytes(target)
        if delimiter == "":
            parts = [utf8(ch) for ch in bytes_to_str(data)]
        else:
            parts = data.split(utf8(delimiter))
    else:
        raise type_error(target, "string")
    if empty_as_null:
        parts = [None if len(p) == 0 else p for p in parts]
    return parts


# Go's unicode.IsSpace (str.strip() would also strip \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@method("trim", Param("cutset", "string", default=None, nullable=True))
def trim(target: Any, cutset: str | None = None) -> Any:
    """Strip white space, or any of the characters of ``cutset``, from both ends."""
    chars = _GO_SPACE if cutset is None else cutset
    if isinstance(target, str):
        return target.strip(chars)
    if isinstance(target, (bytes, bytearray)):
        return utf8(bytes_to_str(bytes(target)).strip(chars))
    raise type_error(target, "string")


@method("trim_prefix", Param("prefix", "string"))
def trim_prefix(target: Any, prefix: str) -> Any:
    """Remove ``prefix`` once if the target starts with it."""
    if isinstance(target, str):
        return target.removeprefix(prefix)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).removeprefix(utf8(prefix))
    raise type_error(target, "string")


@method("trim_suffix", Param("suffix", "string"))
def trim_suffix(target: Any, suffix: str) -> Any:
    """Remove ``suffix`` once if the target ends with it."""
    if isinstance(target, str):
        return target.removesuffix(suffix)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).removesuffix(utf8(suffix))
    raise type_error(target, "string")




# --------------------------------------------------------------------------------------------
# Go's strconv.Quote / strconv.Unquote


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(s: str) -> str:
    """``strconv.Quote``: printable runes kept, Go escapes for the rest (``\\x`` for bytes
    that are not UTF-8)."""
    out = ['"']
    for ch in s:
        esc = _QUOTE_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:  # an invalid byte carried as a surrogate escape
            out.append("\\x%02x" % (cp - 0xDC00))
        elif ch == " " or (ch.isprintable() and cp != 0xAD):
            out.append(ch)
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


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


def _go_type(value: Any) -> str:
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
    return "interface {}"


def _go_time_string(ts: Timestamp) -> str:
    """``time.Time.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST``."""
    from . import timefmt  # the time library's Go layouts; imported lazily

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
    return f"%!{spec.verb}({_go_type(value)}={_fmt_value(again, 'v', value)})"


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


def _fmt_float(spec: _Spec, verb: str, f: float) -> str:
    if math.isnan(f) or math.isinf(f):
        if math.isnan(f):
            text = "+NaN" if spec.plus else " NaN" if spec.space else "NaN"
        elif f < 0:
            text = "-Inf"
        else:
            text = "+Inf" if spec.plus else " Inf" if spec.space else "Inf"
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
        return _pad(spec, _go_type(value))
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


@lru_cache(maxsize=256)
def _simple_plan(fmt: str) -> tuple[tuple[str, tuple[bool, bool, bool, bool, bool, int | None, int | None, str] | None], ...] | None:
    """The directives of a format without ``*`` or ``[n]``, parsed once: (literal text,
    directive or None) pairs. None when the format needs the general path."""
    if "*" in fmt or "[" in fmt:
        return None
    plan = []
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
        out.append(_fmt_value(spec, verb, args[argi]))
        argi += 1
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{_go_type(a)}={_fmt_value(_Spec(), 'v', a)}" for a in args[argi:]
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
        out.append(_fmt_value(spec, verb, value))
    if not reordered and argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{_go_type(a)}={_fmt_value(_Spec(), 'v', a)}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
