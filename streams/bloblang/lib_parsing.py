"""Bloblang's Parsing methods (Benthos v4 ``methods_strings.go`` parsing family and the pure
plugins ``parse_form_url_encoded`` and ``infer_schema``).

The formats are Go's: JSON as ``encoding/json`` decodes it (the first document only, numbers as
float64 unless ``use_number``) with its syntax error texts; CSV as ``encoding/csv`` reads it
(its quoting rules and ``parse error on line 1, column 5`` errors); URLs as ``net/url`` splits
them; YAML as ``gopkg.in/yaml.v3`` resolves plain scalars (``yes`` stays a string, ``2020-01-01``
becomes a timestamp) and as it writes documents (four-space indents, ``"true"`` quoted, literal
blocks for multi-line strings). The YAML emitter is written out below because PyYAML's makes
different choices at every one of those points; PyYAML is used only to compose nodes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
from typing import Any

# NOTE: PyYAML ships no types and types-PyYAML is not a requirement (yet); drop this once it is.
import yaml as pyyaml  # type: ignore[import-untyped, unused-ignore]

from . import goxml, timefmt
from .errors import ExecError
from .goquote import go_quote
from .registry import Library, Param
from .values import (
    JsonFloat,
    JsonInt,
    Timestamp,
    bytes_to_str,
    format_float_g,
    get_bytes,
    get_string,
    go_json_scan,
    to_json,
    to_string,
    type_error,
)

LIBRARY = Library()

# =============================================================================================
# JSON


def _float_or_number(text: str) -> Any:
    value = float(text)
    if math.isinf(value):
        # NOTE: Go keeps decoding and reports the first number float64 cannot hold; the syntax
        # is already checked, so stopping at that number gives the same answer.
        raise ValueError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return value


def _use_number_int(text: str) -> Any:
    n = int(text)
    if -(1 << 63) <= n < (1 << 63) and text != "-0":
        return JsonInt(n)  # a json.Number to Go, like an input number
    return JsonFloat(text)


def go_json_decode(data: str, use_number: bool = False) -> Any:
    """``json.NewDecoder(...).Decode``: the first JSON value of ``data`` (trailing text is left
    unread, as Go's decoder does). Numbers are float64, or with ``use_number`` ints that fit
    int64 and otherwise ``JsonFloat`` keeping their text. Raises ``ValueError`` with Go's text."""
    start = len(data) - len(data.lstrip(" \t\r\n"))
    if start >= len(data):
        raise ValueError("EOF")
    error, end = go_json_scan(data)
    if error is not None:
        raise ValueError(error)
    text = data[start:end]
    if use_number:
        decoder = json.JSONDecoder(parse_float=JsonFloat, parse_int=_use_number_int)
    else:
        decoder = json.JSONDecoder(parse_float=_float_or_number, parse_int=_float_or_number)
    return decoder.decode(text)


def _text_of(target: Any) -> str:
    if isinstance(target, str):
        return target
    if isinstance(target, (bytes, bytearray)):
        return bytes_to_str(bytes(target))
    raise type_error(target, "string")


@LIBRARY.method("parse_json", Param("use_number", "bool", default=None, nullable=True))
def parse_json(target: Any, use_number: bool | None = None) -> Any:
    """Parse a JSON document from a string or bytes."""
    text = _text_of(target)
    try:
        return go_json_decode(text, bool(use_number))
    except ValueError as exc:
        raise ExecError(f"failed to parse value as JSON: {exc}") from None


@LIBRARY.method(
    "format_json",
    Param("indent", "string", default="    "),
    Param("no_indent", "bool", default=False),
    Param("escape_html", "bool", default=True),
)
def format_json(target: Any, indent: str = "    ", no_indent: bool = False, escape_html: bool = True) -> bytes:
    """Serialise to JSON (indented by default, HTML characters escaped unless told not to)."""
    try:
        text = to_json(target, escape_html=escape_html, indent=None if no_indent else indent)
    except ValueError as exc:
        raise ExecError(str(exc)) from None
    return text.encode("utf-8", "surrogateescape")


# =============================================================================================
# XML (Bento's ``internal/impl/xml``: Go's non-strict decoder, mxj's map; see ``goxml``)


@LIBRARY.method("parse_xml", Param("cast", "bool", default=False))
def parse_xml(target: Any, cast: bool = False) -> Any:
    """The first XML document of a string or bytes as an object (``-attr`` keys, ``#text``,
    arrays for repeated elements); ``cast`` turns numeric and boolean text into numbers and
    booleans."""
    try:
        return goxml.to_map(get_bytes(target), cast)
    except goxml.XmlError as exc:
        raise ExecError(f"failed to parse value as XML: {exc}") from None


# =============================================================================================
# YAML (gopkg.in/yaml.v3 semantics)

_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_RESOLVE_MAP: dict[str, Any] = {}
for _v, _words in (
    (True, ("true", "True", "TRUE")),
    (False, ("false", "False", "FALSE")),
    (None, ("", "~", "null", "Null", "NULL")),
    (math.nan, (".nan", ".NaN", ".NAN")),
    (math.inf, (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")),
    (-math.inf, ("-.inf", "-.Inf", "-.INF")),
):
    for _w in _words:
        _RESOLVE_MAP[_w] = _v
_TIMESTAMP_LAYOUTS = (
    "2006-1-2T15:4:5.999999999Z07:00",
    "2006-1-2t15:4:5.999999999Z07:00",
    "2006-1-2 15:4:5.999999999",
    "2006-1-2",
)
_STR = object()  # resolve() result: "this plain scalar is a string"


def _go_parse_int(text: str) -> int | None:
    """``strconv.ParseInt(s, 0, 64)`` then ``ParseUint``: base prefixes, leading-zero octal."""
    s = text
    neg = False
    if s[:1] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if not s:
        return None
    base = 10
    low = s.lower()
    if low.startswith("0x"):
        base, s = 16, s[2:]
    elif low.startswith("0b"):
        base, s = 2, s[2:]
    elif low.startswith("0o"):
        base, s = 8, s[2:]
    elif len(s) > 1 and s[0] == "0":
        base, s = 8, s[1:]
    if not s or not re.fullmatch(r"[0-9a-fA-F]+", s):
        return None
    try:
        n = int(s, base)
    except ValueError:
        return None
    n = -n if neg else n
    if -(1 << 63) <= n < (1 << 63) or (not neg and n < (1 << 64)):
        return n
    return None


def _yaml_timestamp(text: str) -> Timestamp | None:
    i = 0
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    if i != 4 or i == len(text) or text[i] != "-":
        return None
    for layout in _TIMESTAMP_LAYOUTS:
        try:
            return timefmt.parse_layout(layout, text)
        except timefmt.GoTimeError:
            continue
    return None


def yaml_resolve(text: str) -> Any:
    """yaml.v3's ``resolve("", s)`` for a plain scalar: the Bloblang value, or ``_STR``."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    hint = text[:1]
    if hint == ".":
        if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text) and not math.isinf(float(text)):
            return float(text)
        return _STR
    if hint and (hint in "+-" or hint.isdigit()):
        ts = _yaml_timestamp(text)
        if ts is not None:
            return ts
        plain = text.replace("_", "")
        n = _go_parse_int(plain)
        if n is not None:
            return n
        if _YAML_STYLE_FLOAT.match(plain):
            f = float(plain)
            if not math.isinf(f):  # Go's ParseFloat fails with ErrRange on overflow
                return f
        return _STR
    return _STR


class _PlainTagLoader(pyyaml.SafeLoader):
    """Composes YAML nodes without PyYAML's YAML 1.1 resolution: untagged plain scalars get the
    marker tag ``!plain`` so yaml.v3's rules can be applied to them."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is pyyaml.ScalarNode and implicit[0]:
            return "!plain"
        return super().resolve(kind, value, implicit)


_BINARY_TAG = "tag:yaml.org,2002:binary"


def _node_kind_value(node: Any) -> tuple[str, str]:
    if isinstance(node, pyyaml.ScalarNode):
        return "scalar", node.value
    return type(node).__name__, ""  # yaml.v3 compares collections by their (empty) Value


def _yaml_value(node: Any, errors: list[str]) -> Any:
    """A composed node as yaml.v3 decodes it into ``interface{}``; duplicate keys are recorded in
    ``errors`` (yaml.v3 keeps decoding and reports them all at the end)."""
    if isinstance(node, pyyaml.ScalarNode):
        if node.tag == "!plain":
            v = yaml_resolve(node.value)
            return node.value if v is _STR else v
        if node.tag == _BINARY_TAG:
            try:
                return base64.b64decode(node.value).decode("utf-8", "surrogateescape")
            except ValueError:
                raise ExecError("!!binary value contains invalid base64 data") from None
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                        "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"):
            v = yaml_resolve(node.value)
            return node.value if v is _STR else v
        return node.value
    if isinstance(node, pyyaml.SequenceNode):
        return [_yaml_value(n, errors) for n in node.value]
    if isinstance(node, pyyaml.MappingNode):
        keys = [k for k, _ in node.value]
        before = len(errors)
        for i, ki in enumerate(keys):
            for kj in keys[i + 1:]:
                if _node_kind_value(ki) == _node_kind_value(kj):
                    errors.append(
                        f"line {kj.start_mark.line + 1}: mapping key {go_quote(_node_kind_value(kj)[1])} "
                        f"already defined at line {ki.start_mark.line + 1}"
                    )
        if len(errors) > before:
            return None  # yaml.v3 stops decoding a mapping with duplicate keys
        out: dict[str, Any] = {}
        merges: list[Any] = []
        for k, v in node.value:
            if isinstance(k, pyyaml.ScalarNode) and k.value == "<<" and k.tag in ("!plain", "tag:yaml.org,2002:merge"):
                merges.append(v)
                continue
            key = _yaml_value(k, errors)
            out[_key_text(key)] = _yaml_value(v, errors)
        for m in merges:
            sources = m.value if isinstance(m, pyyaml.SequenceNode) else [m]
            for src in sources:
                merged = _yaml_value(src, errors)
                if isinstance(merged, dict):
                    for mk, mv in merged.items():
                        out.setdefault(mk, mv)
        return out
    return None


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    return to_string(key)


@LIBRARY.method("parse_yaml")
def parse_yaml(target: Any) -> Any:
    """Parse the first YAML document of a string or bytes into a structured value."""
    text = _text_of(target)
    try:
        loader = _PlainTagLoader(text)
        try:
            node = _first_node(loader)
        finally:
            loader.dispose()
    except pyyaml.YAMLError as exc:
        raise ExecError(f"failed to parse value as YAML: {_yaml_error_text(exc)}") from None
    if node is None:
        return None
    errors: list[str] = []
    value = _yaml_value(node, errors)
    if errors:
        raise ExecError("failed to parse value as YAML: yaml: unmarshal errors:\n  " + "\n  ".join(errors))
    return value


def _first_node(loader: Any) -> Any:
    loader.get_event()  # StreamStart
    if loader.check_event(pyyaml.StreamEndEvent):
        return None
    return loader.compose_document()


_YAML_PROBLEMS = (
    (re.compile(r"mapping values are not allowed here"), "mapping values are not allowed in this context"),
    (re.compile(r"found character .* that cannot start any token"), "found character that cannot start any token"),
    (re.compile(r"expected (',' or '[\]}]'), but got .*"), r"did not find expected \1"),
    (re.compile(r"found undefined alias '(.*)'"), r"unknown anchor '\1' referenced"),
)


def _yaml_error_text(exc: Exception) -> str:
    """PyYAML's error in libyaml's words, with yaml.v3's line rule (the context's line when it is
    past the first line, else the problem's; scanner errors count from one)."""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None) or ""
    if problem.startswith("expected <block end>"):
        if "block mapping" in context:
            problem = "did not find expected key"
        elif "block collection" in context:
            problem = "did not find expected '-' indicator"
    for pattern, text in _YAML_PROBLEMS:
        if pattern.fullmatch(problem):
            problem = pattern.sub(text, problem)
            break
    ctx_mark = getattr(exc, "context_mark", None)
    mark = getattr(exc, "problem_mark", None)
    scanner = isinstance(exc, pyyaml.scanner.ScannerError)
    line = 0
    if ctx_mark is not None and ctx_mark.line != 0:
        line = ctx_mark.line + (1 if scanner else 0)
    elif mark is not None:
        raw = mark.line
        if "<stream end>" in (getattr(exc, "problem", "") or "") and mark.column != 0:
            raw += 1  # libyaml ends the last line before the stream end
        if raw != 0:
            line = raw + (1 if scanner else 0)
    return f"yaml: line {line}: {problem}" if line else f"yaml: {problem}"


# --- emitting --------------------------------------------------------------------------------


def _yaml_key_less(a: str, b: str) -> bool:
    """yaml.v3's map key order: runs of digits compare numerically, letters before others."""
    digits = False
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = ca.isdigit()
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return al if digits else bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _key_cmp(x: str, y: str) -> int:
    if _yaml_key_less(x, y):
        return -1
    return 1 if _yaml_key_less(y, x) else 0


def _sorted_keys(keys: list[str]) -> list[str]:
    return sorted(keys, key=functools.cmp_to_key(_key_cmp))


def _printable(c: str) -> bool:
    """yaml.v3's ``is_printable`` (a byte test: NEL and characters beyond the BMP do not pass)."""
    o = ord(c)
    return o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)


class _Analysis:
    """What libyaml's scalar analysis allows for one string (block context)."""

    __slots__ = ("block", "block_plain", "multiline", "single")

    def __init__(self) -> None:
        self.multiline = False
        self.block_plain = self.single = self.block = True


def _analyze(value: str) -> _Analysis:
    """libyaml's ``analyze_scalar`` (as yaml.v3 ships it) for block context."""
    a = _Analysis()
    if not value:
        a.multiline, a.block_plain, a.single, a.block = False, True, True, False
        return a
    block_ind = value.startswith("---") or value.startswith("...")
    special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = line_breaks = False
    prev_space = prev_break = False
    preceded_ws = True
    n = len(value)
    for i, c in enumerate(value):
        followed_ws = i + 1 >= n or value[i + 1] in " \t\r\n\x85\u2028\u2029"
        if i == 0:
            if c in "#,[]{}&*!|>'\"%@`":
                block_ind = True
            elif c in "?:":
                if followed_ws:
                    block_ind = True
            elif c == "-" and followed_ws:
                block_ind = True
        else:
            if c == ":" and followed_ws or c == "#" and preceded_ws:
                block_ind = True
        if c == "\t":
            tabs = True
        elif not _printable(c):
            special = True
        if c == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif c in "\r\n\x85\u2028\u2029":
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_ws = c in " \t\r\n\x85\u2028\u2029"
    a.multiline = line_breaks
    a.block_plain = a.single = a.block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        a.block_plain = False
    if trailing_space:
        a.block = False
    if break_space:
        a.block_plain = a.single = False
    if space_break or tabs or special:
        a.block_plain = a.single = False
    if space_break or special:
        a.block = False
    if line_breaks:
        a.block_plain = False
    if block_ind:
        a.block_plain = False
    return a


_DQ_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}


def _double_quoted(s: str) -> str:
    out = ['"']
    for c in s:
        if not _printable(c) or c == "\ufeff" or c in _DQ_ESCAPES and c not in ("\xa0",) or c == "\n":
            if c in _DQ_ESCAPES:
                out.append("\\" + _DQ_ESCAPES[c])
            else:
                o = ord(c)
                if o <= 0xFF:
                    out.append(f"\\x{o:02X}")
                elif o <= 0xFFFF:
                    out.append(f"\\u{o:04X}")
                else:
                    out.append(f"\\U{o:08X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _is_old_bool(s: str) -> bool:
    return s in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF")


_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _scalar_style(s: str, simple_key: bool) -> str:
    """yaml.v3's ``stringv`` choice refined by the emitter: plain, single, double or literal."""
    if "\n" in s:
        want = "literal"
    elif yaml_resolve(s) is _STR and not (_BASE60.match(s) or _is_old_bool(s)):
        want = "plain"
    else:
        want = "double"
    a = _analyze(s)
    if simple_key and a.multiline:
        want = "double"
    if want == "plain":
        if not a.block_plain or (not s and simple_key):
            want = "single"
    if want == "single" and not a.single:
        want = "double"
    if want == "literal" and (not a.block or simple_key):
        want = "double"
    return want


def _literal(s: str, indent: int) -> str:
    """A ``|`` block with yaml.v3's header hints and line layout (the text after the key)."""
    head = "|"
    if s[:1] in (" ", "\n", "\r", "\x85", "\u2028", "\u2029"):
        head += "4"
    if not s.endswith("\n"):
        head += "-"
    elif len(s) == 1 or s[-2] == "\n":
        head += "+"
    out = [head]
    if not s.startswith("\n"):
        out.append("\n")
    pad = " " * indent
    at_line_start = True
    for c in s:
        if c == "\n":
            out.append("\n")
            at_line_start = True
        else:
            if at_line_start:
                out.append(pad)
                at_line_start = False
            out.append(c)
    if not s.endswith("\n"):
        out.append("\n")
    return "".join(out)


def _scalar_text(value: Any, indent: int, simple_key: bool = False) -> str:
    """A scalar as yaml.v3 writes it; block literals end with their newline, others do not."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JsonFloat):
        # NOTE: Benthos holds untouched input numbers as json.Number, a string kind to yaml.v3.
        return _string_text(value.text, indent, simple_key)
    if isinstance(value, JsonInt):
        return _string_text(str(int(value)), indent, simple_key)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        s = format_float_g(value)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(s, s)
    if isinstance(value, Timestamp):
        return timefmt.format_rfc3339nano(value)
    if isinstance(value, str):
        if _has_invalid_utf8(value):
            return "!!binary " + _binary_text(value, indent)
        return _string_text(value, indent, simple_key)
    raise ExecError(f"cannot marshal type: {type(value).__name__}")


def _has_invalid_utf8(s: str) -> bool:
    return any(0xDC80 <= ord(c) <= 0xDCFF for c in s)


def _binary_text(s: str, indent: int) -> str:
    """yaml.v3 writes a string that is not valid UTF-8 as ``!!binary`` base64, in lines of 70
    characters (a literal block) once it is longer than one line."""
    b64 = base64.b64encode(s.encode("utf-8", "surrogateescape")).decode("ascii")
    if len(b64) < 70:
        return b64
    return _literal("".join(b64[i : i + 70] + "\n" for i in range(0, len(b64), 70)), indent)


def _string_text(s: str, indent: int, simple_key: bool) -> str:
    style = _scalar_style(s, simple_key)
    if style == "plain":
        return s
    if style == "single":
        # libyaml writes line breaks other than \n as they are, then indents the next line.
        out = []
        for i, c in enumerate(s):
            out.append("''" if c == "'" else c)
            if c in "\r\x85\u2028\u2029" and i + 1 < len(s) and s[i + 1] not in "\r\n\x85\u2028\u2029":
                out.append(" " * indent)
        return "'" + "".join(out) + "'"
    if style == "literal":
        return _literal(s, indent)
    return _double_quoted(s)


def _child_indent(parent: int, in_seq_item: bool) -> int:
    """yaml.v3's ``increase_indent``: +2 just inside a ``- `` item, else the next multiple of 4."""
    if parent < 0:
        return 0
    if in_seq_item:
        return parent + 2
    return 4 * ((parent + 4) // 4)


def _is_collection(v: Any) -> bool:
    return isinstance(v, (dict, list, bytes, bytearray)) and len(v) > 0


def _as_yaml_value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return list(bytes(v))  # yaml.v3 writes a []byte as a sequence of numbers
    return v


def _emit(value: Any, indent: int, out: list[str], in_seq_item: bool) -> None:
    """Write a non-empty collection at ``indent``; the caller has placed the cursor where the
    first line starts (after ``- `` for an item, at a fresh line otherwise)."""
    first = True
    if isinstance(value, dict):
        for key in _sorted_keys(list(value)):
            if not first or not in_seq_item:
                out.append(" " * indent)
            first = False
            if len(key) <= 128 and not _analyze(key).multiline:
                out.append(_scalar_text(key, indent, simple_key=True) + ":")
                _emit_value(_as_yaml_value(value[key]), indent, out, False)
                continue
            # A key that cannot be a simple key (multi-line or over 128 chars): "? key" / ": value".
            text = _scalar_text(key, _child_indent(indent, False))
            out.append("? " + text + ("" if text.endswith("\n") else "\n"))
            out.append(" " * indent + ":")
            item = _as_yaml_value(value[key])
            if _is_collection(item):
                child = _child_indent(indent, False)
                out.append(" " * (child - indent - 1))
                _emit(item, child, out, True)
            else:
                _emit_value(item, indent, out, False)
    else:
        for item in value:
            if not first or not in_seq_item:
                out.append(" " * indent)
            first = False
            out.append("-")
            _emit_value(_as_yaml_value(item), indent, out, True)


def _emit_value(v: Any, parent: int, out: list[str], seq_item: bool) -> None:
    child = _child_indent(parent, seq_item)
    if _is_collection(v):
        if seq_item:
            out.append(" ")
            _emit(v, child, out, True)
        else:
            out.append("\n")
            _emit(v, child, out, False)
        return
    if isinstance(v, dict):
        out.append(" {}\n")
        return
    if isinstance(v, list):
        out.append(" []\n")
        return
    text = _scalar_text(v, child)
    out.append(" " + text)
    if not text.endswith("\n"):
        out.append("\n")


def format_yaml_text(value: Any) -> str:
    """A value as ``yaml.v3.Marshal`` writes it."""
    value = _as_yaml_value(value)
    out: list[str] = []
    if _is_collection(value):
        _emit(value, 0, out, False)
    elif isinstance(value, dict):
        out.append("{}\n")
    elif isinstance(value, list):
        out.append("[]\n")
    else:
        text = _scalar_text(value, 4)
        out.append(text if text.endswith("\n") else text + "\n")
    return "".join(out)


@LIBRARY.method("format_yaml")
def format_yaml(target: Any) -> bytes:
    """Serialise to YAML bytes (yaml.v3 layout)."""
    return format_yaml_text(target).encode("utf-8", "surrogateescape")


# =============================================================================================
# CSV (encoding/csv)


class _CsvError(Exception):
    pass


def _csv_error(start: int, line: int, col: int, err: str) -> _CsvError:
    if start != line:
        return _CsvError(f"record on line {start}; parse error on line {line}, column {col}: {err}")
    return _CsvError(f"parse error on line {line}, column {col}: {err}")


_BARE_QUOTE = 'bare " in non-quoted-field'
_QUOTE = 'extraneous or missing " in quoted-field'


def go_csv_read_all(data: bytes, comma: str, lazy_quotes: bool) -> list[list[str]]:
    """``csv.Reader.ReadAll`` with ``FieldsPerRecord = 0`` (every record as long as the first)."""
    comma_b = comma.encode("utf-8")
    lines = data.split(b"\n")
    # Rebuild Go's readLine: each line keeps its "\n" except a final unterminated one.
    raw: list[bytes] = [ln + b"\n" for ln in lines[:-1]]
    if lines[-1]:
        last = lines[-1]
        if last.endswith(b"\r"):
            last = last[:-1]
        raw.append(last)
    norm = [ln[:-2] + b"\n" if ln.endswith(b"\r\n") else ln for ln in raw]
    records: list[list[str]] = []
    fields_per_record = 0
    idx = 0
    num_line = 0

    def read_line() -> bytes | None:
        nonlocal idx, num_line
        if idx >= len(norm):
            return None
        ln = norm[idx]
        idx += 1
        num_line += 1
        return ln

    def len_nl(b: bytes) -> int:
        return 1 if b.endswith(b"\n") else 0

    while True:
        line = read_line()
        while line is not None and len(line) == len_nl(line):
            line = read_line()
        if line is None:
            break
        rec_line = num_line
        fields: list[bytes] = []
        col = 1
        buf = b""
        while True:
            if not line.startswith(b'"'):
                i = line.find(comma_b)
                field = line[:i] if i >= 0 else line[: len(line) - len_nl(line)]
                if not lazy_quotes:
                    j = field.find(b'"')
                    if j >= 0:
                        raise _csv_error(rec_line, num_line, col + j, _BARE_QUOTE)
                fields.append(field)
                if i >= 0:
                    line = line[i + len(comma_b):]
                    col += i + len(comma_b)
                    continue
                break
            line = line[1:]
            col += 1
            pos_line = num_line
            buf = b""
            done = False
            while not done:
                i = line.find(b'"')
                if i >= 0:
                    buf += line[:i]
                    line = line[i + 1:]
                    col += i + 1
                    if line.startswith(b'"'):
                        buf += b'"'
                        line = line[1:]
                        col += 1
                    elif line.startswith(comma_b):
                        line = line[len(comma_b):]
                        col += len(comma_b)
                        fields.append(buf)
                        break
                    elif len_nl(line) == len(line):
                        fields.append(buf)
                        done = True
                        break
                    elif lazy_quotes:
                        buf += b'"'
                    else:
                        raise _csv_error(rec_line, num_line, col - 1, _QUOTE)
                elif line:
                    buf += line
                    col += len(line)
                    nxt = read_line()
                    line = nxt or b""
                    if line:
                        pos_line += 1
                        col = 1
                else:
                    if not lazy_quotes:
                        raise _csv_error(rec_line, pos_line, col, _QUOTE)
                    fields.append(buf)
                    done = True
                    break
            if done:
                break
        record = [f.decode("utf-8", "surrogateescape") for f in fields]
        if fields_per_record == 0:
            fields_per_record = len(record)
        elif len(record) != fields_per_record:
            raise _CsvError(f"record on line {rec_line}: wrong number of fields")
        records.append(record)
    return records


@LIBRARY.method(
    "parse_csv",
    Param("parse_header_row", "bool", default=True),
    Param("delimiter", "string", default=","),
    Param("lazy_quotes", "bool", default=False),
)
def parse_csv(target: Any, parse_header_row: bool = True, delimiter: str = ",", lazy_quotes: bool = False) -> list:
    """Parse CSV into objects keyed by the header row (default) or into arrays of strings."""
    if len(delimiter) != 1:
        raise ExecError("delimiter value must be exactly one character")
    if isinstance(target, str):
        data = target.encode("utf-8", "surrogateescape")
    elif isinstance(target, (bytes, bytearray)):
        data = bytes(target)
    else:
        raise type_error(target, "string")
    if delimiter in ('"', "\r", "\n", "\ufffd"):
        raise ExecError("csv: invalid field or comment delimiter")
    try:
        rows = go_csv_read_all(data, delimiter, lazy_quotes)
    except _CsvError as exc:
        raise ExecError(str(exc)) from None
    if not rows:
        raise ExecError("zero records were parsed")
    if not parse_header_row:
        return [list(r) for r in rows]
    headers = rows[0]
    if not headers:
        raise ExecError("no headers found on first row")
    out = []
    for j, row in enumerate(rows[1:]):
        if len(row) != len(headers):
            raise ExecError(f"record on line {j}: record mismatch with headers")
        out.append(dict(zip(headers, row, strict=True)))
    return out


# =============================================================================================
# logfmt


@LIBRARY.method("parse_logfmt")
def parse_logfmt(target: Any) -> dict:
    """Parse ``key=value key2="quoted value" flag`` pairs (a bare key is ``true``)."""
    s = get_string(target)
    result: dict[str, Any] = {}
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and s[i] not in "= \t":
            i += 1
        key = s[start:i]
        if key == "":
            i += 1
            continue
        if i >= n or s[i] != "=":
            result[key] = True
            continue
        i += 1
        if i < n and s[i] == '"':
            i += 1
            val: list[str] = []
            while i < n and s[i] != '"':
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                    c = s[i]
                    val.append({'"': '"', "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t",
                                "b": "\b", "f": "\f"}.get(c, "\\" + c))
                else:
                    val.append(s[i])
                i += 1
            if i >= n:
                raise ExecError(f"logfmt: unterminated quoted value for key {go_quote(key)}")
            i += 1
            result[key] = "".join(val)
        else:
            start = i
            while i < n and s[i] not in " \t":
                i += 1
            result[key] = s[start:i]
    return result


# =============================================================================================
# URLs (net/url)

_PATH, _HOST, _USERPW, _QUERY, _FRAGMENT = "path", "host", "userpw", "query", "fragment"
_HEX = "0123456789abcdefABCDEF"


class _UrlError(Exception):
    pass


def _should_escape(c: str, mode: str) -> bool:
    if c.isascii() and c.isalnum():
        return False
    if mode == _HOST and c in "!$&'()*+,;=:[]<>\"":
        return False
    if c in "-_.~":
        return False
    if c in "$&+,/:;=?@":
        if mode == _PATH:
            return c == "?"
        if mode == _USERPW:
            return c in "@/?:"
        if mode == _QUERY:
            return True
        if mode == _FRAGMENT:
            return False
    if mode == _FRAGMENT and c in "!()*":
        return False
    return True


def _url_unescape(s: str, mode: str) -> str:
    data = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x25:  # %
            if i + 2 >= len(data) or chr(data[i + 1]) not in _HEX or chr(data[i + 2]) not in _HEX:
                bad = data[i:i + 3].decode("utf-8", "surrogateescape")
                raise _UrlError(f"invalid URL escape {go_quote(bad)}")
            if mode == _HOST and int(chr(data[i + 1]), 16) < 8 and data[i:i + 3] != b"%25":
                raise _UrlError(
                    f"invalid URL escape {go_quote(data[i:i + 3].decode('utf-8', 'surrogateescape'))}"
                )
            i += 3
        else:
            if mode == _HOST and c < 0x80 and _should_escape(chr(c), mode):
                raise _UrlError(f"invalid character {go_quote(chr(c))} in host name")
            i += 1
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x25:
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        elif c == 0x2B and mode == _QUERY:
            out.append(0x20)
            i += 1
        else:
            out.append(c)
            i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def _url_escape(s: str, mode: str) -> str:
    out = []
    for b in s.encode("utf-8", "surrogateescape"):
        c = chr(b)
        if b < 0x80 and not _should_escape(c, mode):
            out.append(c)
        elif c == " " and mode == _QUERY:
            out.append("+")
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def _valid_userinfo(s: str) -> bool:
    return all((c.isascii() and c.isalnum()) or c in "-._:~!$&'()*+,;=%@" for c in s)


def _valid_port(p: str) -> bool:
    return p == "" or (p[0] == ":" and all("0" <= c <= "9" for c in p[1:]))


def _parse_host(host: str) -> str:
    if host.startswith("["):
        i = host.rfind("]")
        if i < 0:
            raise _UrlError("missing ']' in host")
        colon_port = host[i + 1:]
        if not _valid_port(colon_port):
            raise _UrlError(f"invalid port {go_quote(colon_port)} after host")
    elif "[" in host:
        raise _UrlError("invalid IP-literal")
    else:
        i = host.rfind(":")
        if i != -1:
            colon_port = host[i:]
            if not _valid_port(colon_port):
                raise _UrlError(f"invalid port {go_quote(colon_port)} after host")
    return _url_unescape(host, _HOST)


def go_url_parse(raw: str) -> dict[str, Any]:
    """``url.Parse`` reduced to the fields ``parse_url`` reports; raises ``ExecError`` with
    Go's text (``parse "x": invalid URL escape "%&"``)."""
    u, sep, frag = raw.partition("#")
    try:
        res = _url_parse(u)
    except _UrlError as exc:
        raise ExecError(f"parse {go_quote(u)}: {exc}") from None
    res["fragment"] = ""
    res["raw_fragment"] = ""
    if sep and frag:
        try:
            f = _url_unescape(frag, _FRAGMENT)
        except _UrlError as exc:
            raise ExecError(f"parse {go_quote(raw)}: {exc}") from None
        res["fragment"] = f
        res["raw_fragment"] = "" if _url_escape(f, _FRAGMENT) == frag else frag
    return res


def _url_parse(raw: str) -> dict[str, Any]:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise _UrlError("net/url: invalid control character in URL")
    res: dict[str, Any] = {"scheme": "", "opaque": "", "host": "", "path": "", "raw_path": "", "raw_query": ""}
    if raw == "*":
        res["path"] = "*"
        return res
    scheme, rest = "", raw
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise _UrlError("missing protocol scheme")
            scheme, rest = raw[:i], raw[i + 1:]
        break
    res["scheme"] = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest, _, res["raw_query"] = rest.partition("?")
    if not rest.startswith("/"):
        if res["scheme"]:
            res["opaque"] = rest
            return res
        if ":" in rest.partition("/")[0]:
            raise _UrlError("first path segment in URL cannot contain colon")
    if (res["scheme"] or not rest.startswith("///")) and rest.startswith("//"):
        authority, rest = rest[2:], ""
        i = authority.find("/")
        if i >= 0:
            authority, rest = authority[:i], authority[i:]
        at = authority.rfind("@")
        res["host"] = _parse_host(authority[at + 1:] if at >= 0 else authority)
        if at >= 0:
            info = authority[:at]
            if not _valid_userinfo(info):
                raise _UrlError("net/url: invalid userinfo")
            if ":" not in info:
                res["user"] = {"name": _url_unescape(info, _USERPW)}
            else:
                name, _, pw = info.partition(":")
                res["user"] = {"name": _url_unescape(name, _USERPW), "password": _url_unescape(pw, _USERPW)}
    path = _url_unescape(rest, _PATH)
    res["path"] = path
    res["raw_path"] = "" if _url_escape(path, _PATH) == rest else rest
    return res


@LIBRARY.method("parse_url")
def parse_url(target: Any) -> dict:
    """Split a URL into scheme, host, path, query, fragment and user (``net/url`` rules)."""
    return go_url_parse(get_string(target))


def go_parse_query(query: str) -> tuple[dict[str, list[str]], str | None]:
    """``url.ParseQuery``: values per key in order, and the first error text (Go keeps going)."""
    values: dict[str, list[str]] = {}
    err: str | None = None
    while query:
        key, _, query = query.partition("&")
        if ";" in key:
            err = "invalid semicolon separator in query"
            continue
        if not key:
            continue
        key, _, value = key.partition("=")
        try:
            key = _url_unescape(key, _QUERY)
            value = _url_unescape(value, _QUERY)
        except _UrlError as exc:
            if err is None:
                err = str(exc)
            continue
        values.setdefault(key, []).append(value)
    return values, err


@LIBRARY.method("parse_form_url_encoded")
def parse_form_url_encoded(target: Any) -> dict:
    """Parse ``a=1&b=2&b=3`` into ``{"a": "1", "b": ["2", "3"]}``."""
    values, err = go_parse_query(get_string(target))
    if err is not None:
        raise ExecError(f"failed to parse value as url-encoded data: {err}")
    return {k: v[0] if len(v) == 1 else list(v) for k, v in values.items()}


# =============================================================================================
# Schema inference (public/schema InferFromAny + ToAny)

_SCHEMA_TYPES = {
    "BOOLEAN": 1, "INT32": 2, "INT64": 3, "FLOAT32": 4, "FLOAT64": 5, "STRING": 6, "BYTE_ARRAY": 7,
    "OBJECT": 8, "MAP": 9, "ARRAY": 10, "NULL": 11, "UNION": 12, "TIMESTAMP": 13,
}


class _Schema:
    __slots__ = ("children", "name", "type")

    def __init__(self, name: str, type_: str, children: list[_Schema] | None = None) -> None:
        self.name, self.type, self.children = name, type_, children or []

    def fingerprint_text(self) -> str:
        parts = [f"T:{_SCHEMA_TYPES[self.type]}|N:{self.name}|O:0|C:{len(self.children)}|"]
        for i, c in enumerate(self.children):
            parts.append(f"[{i}:{c.fingerprint_text()}]")
        return "".join(parts)

    def to_any(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "fingerprint": hashlib.sha256(self.fingerprint_text().encode("utf-8")).hexdigest(),
        }
        if self.name:
            out["name"] = self.name
        if self.children:
            out["children"] = [c.to_any() for c in self.children]
        return out


def _infer(name: str, v: Any) -> _Schema:
    if isinstance(v, bool):
        return _Schema(name, "BOOLEAN")
    if isinstance(v, JsonFloat):
        try:
            int(v.text)
            return _Schema(name, "INT64")
        except ValueError:
            return _Schema(name, "FLOAT64")
    if isinstance(v, int):
        return _Schema(name, "INT64")
    if isinstance(v, float):
        return _Schema(name, "FLOAT64")
    if isinstance(v, (bytes, bytearray)):
        return _Schema(name, "BYTE_ARRAY")
    if isinstance(v, str):
        return _Schema(name, "STRING")
    if isinstance(v, Timestamp):
        return _Schema(name, "TIMESTAMP")
    if v is None:
        return _Schema(name, "NULL")
    if isinstance(v, list):
        s = _Schema(name, "ARRAY")
        for i, e in enumerate(v):
            try:
                ec = _infer("", e)
            except ExecError as exc:
                raise ExecError(f".{i}{exc}") from None
            if i == 0:
                s.children = [ec]
            elif s.children[0].type != ec.type:
                raise ExecError(f".{i} mismatched array types, found {s.children[0].type} and {ec.type}")
        return s
    if isinstance(v, dict):
        s = _Schema(name, "OBJECT")
        for k in sorted(v, key=lambda x: x.encode("utf-8", "surrogatepass")):
            try:
                s.children.append(_infer(k, v[k]))
            except ExecError as exc:
                raise ExecError(f".{k}{exc}") from None
        return s
    raise ExecError(" unsupported data type: " + type(v).__name__)


@LIBRARY.method("infer_schema")
def infer_schema(target: Any) -> dict:
    """Describe a value's shape as a Benthos common schema object (type, name, children)."""
    return _infer("", target).to_any()
