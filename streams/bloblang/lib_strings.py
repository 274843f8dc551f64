"""Bloblang's String Manipulation methods (Benthos v4 ``query/methods_strings.go`` and friends).

Go strings are byte sequences, so lengths, indexes and slices here count UTF-8 bytes, not code
points (``"é".length()`` is 2), and ``[]byte`` targets give ``bytes`` results where Go gives
``[]byte``. Strings holding invalid UTF-8 travel as surrogate escapes (``values.bytes_to_str``),
so re-encoding them with ``utf8`` restores the original bytes.
"""

from __future__ import annotations

import html
import unicodedata
from typing import Any

from .errors import ExecError
from .gofmt import go_sprintf, go_unquote
from .goquote import go_quote
from .registry import Library, Param
from .values import (
    bytes_to_str,
    equal,
    get_string,
    go_runes,
    to_bytes,
    to_string,
    type_error,
    utf8,
)

LIBRARY = Library()

# --------------------------------------------------------------------------------------------
# helpers


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
    for ch in go_runes(s):
        mapped = ch.upper() if upper else ch.lower()
        if len(mapped) != 1:
            # Go maps rune to rune: İ lowers to a plain i, ß has no single-rune upper case.
            mapped = _SIMPLE_LOWER.get(ch, ch) if not upper else ch
        out.append(mapped)
    return "".join(out)


_SIMPLE_LOWER = {"\u0130": "i"}


@LIBRARY.method("capitalize")
def capitalize(target: Any) -> Any:
    """Title case, as Benthos does it (x/text English title casing)."""
    if isinstance(target, str):
        return _title(target)
    if isinstance(target, (bytes, bytearray)):
        return utf8(_title(bytes_to_str(bytes(target))))
    raise type_error(target, "string")


@LIBRARY.method("uppercase")
def uppercase(target: Any) -> Any:
    """Upper-case every letter; bytes stay bytes."""
    if isinstance(target, str):
        return _simple_case(target, True)
    if isinstance(target, (bytes, bytearray)):
        return utf8(_simple_case(bytes_to_str(bytes(target)), True))
    raise type_error(target, "string")


@LIBRARY.method("lowercase")
def lowercase(target: Any) -> Any:
    """Lower-case every letter; bytes stay bytes."""
    if isinstance(target, str):
        return _simple_case(target, False)
    if isinstance(target, (bytes, bytearray)):
        return utf8(_simple_case(bytes_to_str(bytes(target)), False))
    raise type_error(target, "string")


# --------------------------------------------------------------------------------------------
# searching and testing


@LIBRARY.method("contains", Param("value"))
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


@LIBRARY.method("has_prefix", Param("value", "string"))
def has_prefix(target: Any, value: str) -> bool:
    """Whether the string or bytes start with ``value``."""
    if isinstance(target, str):
        return target.startswith(value)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).startswith(utf8(value))
    raise type_error(target, "string")


@LIBRARY.method("has_suffix", Param("value", "string"))
def has_suffix(target: Any, value: str) -> bool:
    """Whether the string or bytes end with ``value``."""
    if isinstance(target, str):
        return target.endswith(value)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).endswith(utf8(value))
    raise type_error(target, "string")


@LIBRARY.method("index_of", Param("value", "string"))
def index_of(target: Any, value: str) -> int:
    """Byte offset of the first occurrence of ``value``, or -1."""
    if isinstance(target, str):
        return _bytes_index(target, value)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).find(utf8(value))
    raise type_error(target, "string")


@LIBRARY.method("length")
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


@LIBRARY.method("escape_html")
def escape_html(target: Any) -> str:
    """Escape ``< > & ' "`` for embedding in HTML."""
    return _escape_html(_text(target))


@LIBRARY.method("unescape_html")
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


@LIBRARY.method("escape_url_query")
def escape_url_query(target: Any) -> str:
    """Go's ``url.QueryEscape``: spaces become ``+``, everything but unreserved is %-encoded."""
    return _percent_encode(_text(target), _UNRESERVED, True)


@LIBRARY.method("unescape_url_query")
def unescape_url_query(target: Any) -> str:
    """Go's ``url.QueryUnescape``."""
    return _percent_decode(_text(target), True)


@LIBRARY.method("escape_url_path")
def escape_url_path(target: Any) -> str:
    """Go's ``url.PathEscape`` (a path segment: ``/``, ``;``, ``,`` and ``?`` are escaped)."""
    return _percent_encode(_text(target), _PATH_SEGMENT_SAFE, False)


@LIBRARY.method("unescape_url_path")
def unescape_url_path(target: Any) -> str:
    """Go's ``url.PathUnescape`` (``+`` stays a plus)."""
    return _percent_decode(_text(target), False)


@LIBRARY.method("quote")
def quote(target: Any) -> str:
    """Go's ``strconv.Quote``: a double-quoted literal with Go escapes."""
    return go_quote(_text(target))


@LIBRARY.method("unquote")
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


@LIBRARY.method("filepath_join")
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


@LIBRARY.method("filepath_split")
def filepath_split(target: Any) -> list[str]:
    """``[dir, file]`` split after the last ``/`` (the directory keeps its trailing slash)."""
    s = _text(target)
    i = s.rfind("/")
    return [s[: i + 1], s[i + 1 :]]


# --------------------------------------------------------------------------------------------
# building and replacing


@LIBRARY.method("format", variadic=True)
def format_(target: Any, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` with the target as the format string."""
    return go_sprintf(_text(target), args)


def _repeat_check(count: int) -> None:
    if count < 0:
        raise ExecError(f"invalid count, must be greater than or equal to zero: {count}", annotated=True)


@LIBRARY.method("repeat", Param("count", "int"), check=_repeat_check)
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


@LIBRARY.method("replace_all", Param("old", "string"), Param("new", "string"))
def replace_all(target: Any, old: str, new: str) -> Any:
    """Replace every occurrence of ``old`` with ``new``."""
    return _replace_all(target, old, new)


@LIBRARY.method("replace", Param("old", "string"), Param("new", "string"), deprecated=True)
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


@LIBRARY.method("replace_all_many", Param("values", "array"), check=_pairs_check)
def replace_all_many(target: Any, values: list[Any]) -> Any:
    """Apply ``[old1, new1, old2, new2, ...]`` replacements in order."""
    return _replace_many(target, values)


@LIBRARY.method("replace_many", Param("values", "array"), deprecated=True, check=_pairs_check)
def replace_many(target: Any, values: list[Any]) -> Any:
    """The older name of ``replace_all_many``."""
    return _replace_many(target, values)


@LIBRARY.method("reverse")
def reverse(target: Any) -> Any:
    """Characters in reverse order (code points for strings, bytes for bytes)."""
    if isinstance(target, str):
        return go_runes(target)[::-1]
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


@LIBRARY.method("slice", Param("low", "int"), Param("high", "int", default=None, nullable=True), check=_slice_check)
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


@LIBRARY.method("split", Param("delimiter", "string"), Param("empty_as_null", "bool", default=False))
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


@LIBRARY.method("trim", Param("cutset", "string", default=None, nullable=True))
def trim(target: Any, cutset: str | None = None) -> Any:
    """Strip white space, or any of the characters of ``cutset``, from both ends."""
    chars = _GO_SPACE if cutset is None else cutset
    if isinstance(target, str):
        return target.strip(chars)
    if isinstance(target, (bytes, bytearray)):
        return utf8(bytes_to_str(bytes(target)).strip(chars))
    raise type_error(target, "string")


@LIBRARY.method("trim_prefix", Param("prefix", "string"))
def trim_prefix(target: Any, prefix: str) -> Any:
    """Remove ``prefix`` once if the target starts with it."""
    if isinstance(target, str):
        return target.removeprefix(prefix)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).removeprefix(utf8(prefix))
    raise type_error(target, "string")


@LIBRARY.method("trim_suffix", Param("suffix", "string"))
def trim_suffix(target: Any, suffix: str) -> Any:
    """Remove ``suffix`` once if the target ends with it."""
    if isinstance(target, str):
        return target.removesuffix(suffix)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target).removesuffix(utf8(suffix))
    raise type_error(target, "string")
