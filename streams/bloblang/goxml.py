"""XML documents to JSON-like values, as Bento converts them (``parse_xml``, the ``xml_documents``
scanner, ``unarchive``'s ``xml_documents_to_json``): Go's ``encoding/xml`` decoder in its
non-strict mode (what Bento configures) read into a map by mxj's rules.

The decoder's lenient rules carry over: an unquoted attribute value (``<n id=99>``) reads up to
the first byte that is not a letter, digit, ``_``, ``:`` or ``-``; an attribute without a value
takes its own name; an unknown entity (``&ndash;``) stays as written; an end tag that does not
match closes the open element first. A document may declare another encoding (``<?xml
encoding="ISO-8859-1"?>``; the Latin-1 family reads as windows-1252, as Go's charset package has
it). Syntax errors read as Go's (``XML syntax error on line 1: unexpected EOF``).

mxj's rules: an element is ``{name: value}`` keyed by its local name (namespace prefixes
dropped); attributes are ``-name`` keys; text is trimmed of ``\\t\\r\\b\\n`` and spaces, and is the
value of an element with neither attributes nor children, otherwise its ``#text`` key; an empty
element is ``""``; a repeated child becomes an array; comments, directives and processing
instructions are skipped, as is text outside the root. With ``cast``, text and attribute values
that Go's ``ParseFloat`` reads become floats (except ``nan``, ``inf`` and ``-inf``) and
``t``/``true``/``F``/``FALSE``... become booleans.

NOTE: safe on hostile input by construction: no DTD is read (a ``<!DOCTYPE>`` and its entity
declarations are skipped whole), so no entity ever expands and nothing outside the input is
fetched; only the five predefined entities and character references are replaced. Elements
nest on an explicit stack, so depth is bounded by memory, not by Python's recursion limit.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from .errors import ExecError
from .lib_numbers import parse_float


class XmlError(ValueError):
    """The input is not XML this decoder reads; the text is Go's (mxj's prefix included)."""


class Truncated(XmlError):
    """The input ended inside a document: more bytes may still complete it."""


class _NoDocument(Exception):
    """The input holds no further element (Go's ``io.EOF``)."""


# -- the decoder -------------------------------------------------------------------------------

_NAME_BYTES = re.compile(rb"[A-Za-z0-9_:.\-\x80-\xff]*")
_UNQUOTED_VALUE = re.compile(rb"[A-Za-z0-9_:\-]*")
_SPACE = re.compile(rb"[ \r\n\t]*")
_ENTITY = re.compile(rb"&(?:#x([0-9a-fA-F]*)(;?)|#([0-9]*)(;?)|([A-Za-z0-9_:.\-\x80-\xff]*)(;?))")
_PREDEFINED = {b"lt": b"<", b"gt": b">", b"amp": b"&", b"apos": b"'", b"quot": b'"'}
_LATIN1_LABELS = frozenset(
    "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 "
    "iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252".split()
)


def _is_name(text: str) -> bool:
    """XML's Name production (approximated by Unicode categories, as Go's tables are)."""
    if not text or not (text[0] in "_:" or unicodedata.category(text[0]) in ("Lu", "Ll", "Lt", "Lo", "Nl", "Lm")):
        return False
    return all(c in "_:.-\u00b7" or unicodedata.category(c) in _NAME_CATEGORIES for c in text[1:])


_NAME_CATEGORIES = frozenset(("Lu", "Ll", "Lt", "Lo", "Nl", "Lm", "Nd", "Mn", "Mc"))


def _in_char_range(c: str) -> bool:
    o = ord(c)
    return o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o


def _charset(label: str) -> str:
    low = label.strip().lower()
    if low in _LATIN1_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(low).name
    except LookupError:
        raise XmlError(f'xml: opening charset "{label}": unsupported charset: "{label}"') from None


class _Decoder:
    """Go's ``xml.Decoder`` (non-strict) over ``data`` from ``start``: ``token()`` returns
    ``("start", space, local, attrs)``, ``("end", space, local)``, ``("text", str)`` or
    ``("other",)``; raises ``_NoDocument`` at the end of input outside any element."""

    def __init__(self, data: bytes, start: int, final: bool = True) -> None:
        self.data = data
        self.final = final  # False: more bytes may follow, so text running to the end is unfinished
        self.start = self.pos = start
        self.stack: list[tuple[str, str] | None] = []  # open elements (space, local); None: a namespace entry
        self.pending_end: tuple[str, str] | None = None
        self.switched: tuple[int, str] | None = None  # (offset, codec) once an encoding is declared

    # bytes

    def fail(self, msg: str, at: int | None = None) -> XmlError:
        line = self.data.count(b"\n", self.start, self.pos if at is None else at) + 1
        return XmlError(f"XML syntax error on line {line}: {msg}")

    def eof(self, msg: str = "unexpected EOF") -> Truncated:
        line = self.data.count(b"\n", self.start, len(self.data)) + 1
        return Truncated(f"XML syntax error on line {line}: {msg}")

    def byte(self) -> int:
        """The next byte (Go's ``mustgetc``); the end of input is a truncation."""
        if self.pos >= len(self.data):
            raise self.eof()
        b = self.data[self.pos]
        self.pos += 1
        return b

    def space(self) -> None:
        self.pos = _SPACE.match(self.data, self.pos).end()  # type: ignore[union-attr]

    def source_offset(self, pos: int) -> int:
        """Where ``pos`` (in the possibly re-encoded data) falls in the input as given."""
        if self.switched is None or pos <= self.switched[0]:
            return pos
        at, codec = self.switched
        text = self.data[at:pos].decode("utf-8", "replace")
        return at + len(text.encode(codec, "replace"))

    # tokens

    def token(self) -> tuple[Any, ...]:
        if self.pending_end is not None:
            name, self.pending_end = self.pending_end, None
            return self._end(name)
        if self.pos >= len(self.data):
            if self.stack:
                raise self.eof()
            raise _NoDocument
        if self.data[self.pos] != 0x3C:  # "<"
            return ("text", self._text(-1))
        self.pos += 1
        b = self.byte()
        if b == 0x2F:  # "/"
            name = self._nsname("expected element name after </")
            self.space()
            if self.byte() != 0x3E:
                raise self.fail(f"invalid characters between </{name[1]} and >")
            return self._end(name)
        if b == 0x3F:  # "?"
            return self._proc_inst()
        if b == 0x21:  # "!"
            return self._bang()
        self.pos -= 1
        return self._start()

    def _start(self) -> tuple[Any, ...]:
        space, local = self._nsname("expected element name after <")
        attrs: list[tuple[str, str, str]] = []
        empty = False
        while True:
            self.space()
            b = self.byte()
            if b == 0x2F:
                if self.byte() != 0x3E:
                    raise self.fail("expected /> in element")
                empty = True
                break
            if b == 0x3E:
                break
            self.pos -= 1
            a_space, a_local = self._nsname("expected attribute name in element")
            self.space()
            if self.byte() != 0x3D:  # no "=": the attribute's value is its name
                self.pos -= 1
                value = a_local
            else:
                self.space()
                value = self._attr_value()
            attrs.append((a_space, a_local, value))
        for a_space, a_local, _ in attrs:
            if a_space == "xmlns" or (a_space == "" and a_local == "xmlns"):
                self.stack.append(None)
        self.stack.append((space, local))
        if empty:
            self.pending_end = (space, local)
        return ("start", space, local, attrs)

    def _end(self, name: tuple[str, str]) -> tuple[Any, ...]:
        space, local = name
        top = self.stack.pop() if self.stack else None
        if top is None:
            raise self.fail(f"unexpected end element </{local}>")
        if top[1] != local:
            self.pending_end = name  # the open element closes first, then this tag is read again
            return ("end", *top)
        if top[0] != space:
            raise self.fail(f"element <{top[1]}> in space {top[0]} closed by </{local}> in space {space or chr(34) * 2}")
        while self.stack and self.stack[-1] is None:
            self.stack.pop()
        return ("end", space, local)

    def _attr_value(self) -> str:
        b = self.byte()
        if b in (0x22, 0x27):
            return self._text(b)
        self.pos -= 1
        m = _UNQUOTED_VALUE.match(self.data, self.pos)
        assert m is not None
        if m.end() >= len(self.data):
            raise self.eof()
        self.pos = m.end()
        return m.group().decode("ascii")

    def _proc_inst(self) -> tuple[Any, ...]:
        target = self._name("expected target name after <?")
        self.space()
        end = self.data.find(b"?>", self.pos)
        if end < 0:
            raise self.eof()
        content = self.data[self.pos : end].decode("utf-8", "replace")
        self.pos = end + 2
        if target == "xml":
            version = _pi_param("version", content)
            if version and version != "1.0":
                raise XmlError(f'xml: unsupported version "{version}"; only version 1.0 is supported')
            enc = _pi_param("encoding", content)
            if enc and enc.lower() != "utf-8":
                codec = _charset(enc)
                rest = self.data[self.pos :].decode(codec, "replace").encode("utf-8")
                self.data = self.data[: self.pos] + rest
                self.switched = (self.pos, codec)
        return ("other",)

    def _bang(self) -> tuple[Any, ...]:
        b = self.byte()
        if b == 0x2D:  # "<!-"
            if self.byte() != 0x2D:
                raise self.fail("invalid sequence <!- not part of <!--")
            dashes = self.data.find(b"--", self.pos)
            if dashes < 0 or dashes + 2 >= len(self.data):
                raise self.eof()
            if self.data[dashes + 2] != 0x3E:
                raise self.fail('invalid sequence "--" not allowed in comments', dashes + 2)
            self.pos = dashes + 3
            return ("other",)
        if b == 0x5B:  # "<!["
            for expected in b"CDATA[":
                if self.byte() != expected:
                    raise self.fail("invalid <![ sequence")
            end = self.data.find(b"]]>", self.pos)
            if end < 0:
                raise self.eof("unexpected EOF in CDATA section")
            raw, self.pos = self.data[self.pos : end], end + 3
            return ("text", self._checked(_newlines(raw), end + 3))
        self._directive()
        return ("other",)

    def _directive(self) -> None:
        """Skips ``<!DOCTYPE ...>`` and the like (an internal subset in brackets, quoted ``>``,
        comments inside) without reading what it declares."""
        data, i, quote, depth = self.data, self.pos, 0, 0
        while True:
            if i >= len(data):
                self.pos = i
                raise self.eof()
            b = data[i]
            i += 1
            if quote == 0 and b == 0x3E and depth == 0:
                break
            if b == quote:
                quote = 0
            elif quote:
                pass
            elif b in (0x22, 0x27):
                quote = b
            elif b == 0x3E:
                depth -= 1
            elif b == 0x3C:
                if data.startswith(b"!--", i):
                    end = data.find(b"-->", i + 3)
                    if end < 0:
                        self.pos = len(data)
                        raise self.eof()
                    i = end + 3
                elif len(data) - i < 3 and b"!--".startswith(data[i:]):
                    self.pos = len(data)
                    raise self.eof()
                else:
                    depth += 1
        self.pos = i

    def _nsname(self, missing: str) -> tuple[str, str]:
        name = self._name(missing)
        if name.count(":") > 1:
            raise self.fail(missing)
        space, sep, local = name.partition(":")
        if not sep or not space or not local:
            return "", name
        return space, local

    def _name(self, missing: str) -> str:
        m = _NAME_BYTES.match(self.data, self.pos)
        assert m is not None
        if m.end() >= len(self.data):
            raise self.eof()
        raw = m.group()
        if not raw:
            raise self.fail(missing)
        self.pos = m.end()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if not _is_name(text):
            raise self.fail("invalid XML name: " + raw.decode("utf-8", "replace"))
        return text

    def _text(self, quote: int) -> str:
        """Character data up to ``<`` (``quote`` -1) or up to the closing ``quote``, entities
        replaced."""
        data, start = self.data, self.pos
        stop = data.find(b"<" if quote < 0 else bytes((quote,)), start)
        if quote >= 0:
            lt = data.find(b"<", start)
            if lt >= 0 and (stop < 0 or lt < stop):
                self.pos = lt + 1
                raise self.fail("unescaped < inside quoted string")
            if stop < 0:
                raise self.eof()
        if stop < 0 and not self.final:
            raise self.eof()
        end = len(data) if stop < 0 else stop
        parts: list[bytes] = []
        i = start
        for m in _ENTITY.finditer(data, start, end):
            parts.append(self._literal(data[i : m.start()], quote, i))
            i = m.end()
            if i >= len(data) and not (m.group(2) or m.group(4) or m.group(6)):
                raise self.eof()
            parts.append(_entity(m))
        parts.append(self._literal(data[i:end], quote, i))
        self.pos = end + 1 if quote >= 0 else end
        return self._checked(b"".join(parts), end)

    def _literal(self, raw: bytes, quote: int, at: int) -> bytes:
        if quote < 0 and (bad := raw.find(b"]]>")) >= 0:
            raise self.fail("unescaped ]]> not in CDATA section", at + bad + 3)
        return _newlines(raw)

    def _checked(self, raw: bytes, at: int) -> str:
        """The text of character data, refused (where it ends, as Go reports it) when it is not
        UTF-8 or holds a character XML does not allow."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("invalid UTF-8", at) from None
        for c in text:
            if not _in_char_range(c):
                raise self.fail(f"illegal character code U+{ord(c):04X}", at)
        return text


def _entity(m: re.Match[bytes]) -> bytes:
    """A character or predefined entity reference's text; one this decoder does not know stays
    as written."""
    hex_digits, hex_semi, dec_digits, dec_semi, name, name_semi = m.groups()
    if hex_digits is not None or dec_digits is not None:
        digits, semi, base = (hex_digits, hex_semi, 16) if hex_digits is not None else (dec_digits, dec_semi, 10)
        if semi and digits and (n := int(digits, base)) <= 0x10FFFF:
            return ("\ufffd" if 0xD800 <= n <= 0xDFFF else chr(n)).encode("utf-8")
        return m.group()
    if name_semi and name in _PREDEFINED:
        return _PREDEFINED[name]
    return m.group()


def _newlines(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in raw else raw


def _pi_param(param: str, content: str) -> str:
    m = re.search(param + r"=(['\"])(.*?)\1", content)
    return m.group(2) if m else ""


# -- mxj's map ---------------------------------------------------------------------------------

_TRIM = "\t\r\b\n "
_TRUE = frozenset(("t", "T", "TRUE", "true", "True"))
_FALSE = frozenset(("f", "F", "FALSE", "false", "False"))


def cast_value(text: str) -> Any:
    """A number or boolean when the text reads as one (mxj's cast), else the text."""
    if text.lower() in ("nan", "inf", "-inf"):
        return text
    try:
        return parse_float(text)
    except ExecError:
        pass
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return text


class _Element:
    """An open element: ``text`` is its value while it has neither attributes nor children;
    ``fields`` holds attributes, children and (once there are some) ``#text``."""

    __slots__ = ("name", "text", "fields")

    def __init__(self, name: str, fields: dict[str, Any]) -> None:
        self.name = name
        self.text: Any = None
        self.fields = fields

    def value(self) -> Any:
        if self.text is None:
            return self.fields if self.fields else ""
        if self.fields:
            self.fields["#text"] = self.text
            return self.fields
        return self.text


def _read_document(dec: _Decoder, cast: bool) -> dict[str, Any]:
    conv = cast_value if cast else (lambda s: s)
    open_: list[_Element] = []
    while True:
        tok = dec.token()
        kind = tok[0]
        if kind == "start":
            fields = {"-" + local: conv(value) for _, local, value in tok[3]}
            open_.append(_Element(tok[2], fields))
        elif kind == "end":
            if not open_:  # an end tag outside any element already failed in the decoder
                continue
            done = open_.pop()
            value = done.value()
            if not open_:
                return {done.name: value}
            siblings = open_[-1].fields
            if done.name in siblings:
                have = siblings[done.name]
                siblings[done.name] = [*have, value] if isinstance(have, list) else [have, value]
            else:
                siblings[done.name] = value
        elif kind == "text" and open_:
            text = tok[1].strip(_TRIM)
            if text:
                el = open_[-1]
                if el.fields:
                    el.fields["#text"] = conv(text)
                else:
                    el.text = conv(text)


def _wrap(exc: XmlError) -> XmlError:
    return type(exc)(f"xml.Decoder.Token() - {exc}")


def to_map(data: bytes, cast: bool = False) -> dict[str, Any]:
    """The first XML document of ``data`` (Bento's ``mxj.NewMapXml``); raises ``XmlError``, with
    the text ``EOF`` when there is no element at all."""
    try:
        return _read_document(_Decoder(data, 0), cast)
    except _NoDocument:
        raise XmlError("EOF") from None
    except XmlError as exc:
        raise _wrap(exc) from None


def next_document(data: bytes, start: int, cast: bool = False, final: bool = True) -> tuple[dict[str, Any], int] | None:
    """The document at ``start`` (text before its root skipped) and where it ends in ``data``,
    or None when only text and markup outside any element are left. Each document is read by a
    fresh decoder, as Bento reads each with a new one (error lines count from ``start``).
    Raises ``Truncated`` when ``data`` ends inside the document (or, unless ``final``, inside
    text that more bytes may continue), ``XmlError`` when it is bad."""
    dec = _Decoder(data, start, final)
    try:
        doc = _read_document(dec, cast)
    except _NoDocument:
        return None
    except XmlError as exc:
        raise _wrap(exc) from None
    return doc, dec.source_offset(dec.pos)


def documents(data: bytes, cast: bool = False) -> Iterator[dict[str, Any]]:
    """Every document of a stream of concatenated XML documents, in order."""
    start = 0
    while (found := next_document(data, start, cast)) is not None:
        doc, start = found
        yield doc
