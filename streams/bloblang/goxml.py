"""XML documents to JSON-like values, as Bento converts them (``parse_xml``, the ``xml_documents``
scanner, ``unarchive``'s ``xml_documents_to_json``): Go's ``encoding/xml`` decoder in its
non-strict mode (what Bento configures) read into a map by mxj's rules.

The decoder's lenient rules carry over: an unquoted attribute value (``<n id=99>``) reads up to
the first byte that is not a letter, digit, ``_``, ``:`` or ``-``; an attribute without a value
takes its own name; an unknown entity (``&ndash;``) stays as written; an end tag that does not
match closes the open element first. A document may declare another encoding (``<?xml
encoding="ISO-8859-1"?>``; the Latin-1 family reads as windows-1252, as Go's charset package has
it). Syntax errors read as Go's (``XML syntax error on line 1: unexpected EOF``).

Known difference: in a stream of documents, Bento's charset reader reads ahead of a document
that declares another encoding, so what follows it is lost; here the next document is read from
where that one ended (in UTF-8 again, as a fresh Go decoder would).

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
import functools
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


@functools.lru_cache(maxsize=1024)
def _is_name(text: str) -> bool:
    """XML's Name production (approximated by Unicode categories, as Go's tables are)."""
    if not text or not (text[0] in "_:" or unicodedata.category(text[0]) in ("Lu", "Ll", "Lt", "Lo", "Nl", "Lm")):
        return False
    return all(c in "_:.-\u00b7" or unicodedata.category(c) in _NAME_CATEGORIES for c in text[1:])


_NAME_CATEGORIES = frozenset(("Lu", "Ll", "Lt", "Lo", "Nl", "Lm", "Nd", "Mn", "Mc"))


_ILLEGAL_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character outside XML's Char production."""


_UTF16_LABELS = {
    **dict.fromkeys("csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le".split(), "utf-16-le"),
    **dict.fromkeys("unicodefffe utf-16be".split(), "utf-16-be"),
}


def _charset(label: str) -> str:
    """The codec of an encoding label, as the WHATWG table Go's charset package follows reads
    the common ones (the Latin-1 family is windows-1252, UTF-16 without a BOM is little-endian);
    other text codecs Python knows by that name are used as they are."""
    low = label.strip().lower()
    if low in _LATIN1_LABELS:
        return "cp1252"
    if low in _UTF16_LABELS:
        return _UTF16_LABELS[low]
    try:
        info = codecs.lookup(low)
    except LookupError:
        info = None
    # NOTE: bytes-to-bytes codecs (base64, zlib...) are not encodings, and a UTF-32 or UTF-16
    # codec that needs a BOM is not in the WHATWG table either.
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in ("utf-16", "utf-32"):
        raise XmlError(f'xml: opening charset "{label}": unsupported charset: "{label}"')
    return info.name


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
        # Each declared encoding: where it starts in ``data``, its codec and the decoder of what
        # arrives later. NOTE: a second declaration decodes the already decoded text again, as
        # Go's decoder wraps its reader a second time.
        self.switches: list[tuple[int, str, codecs.IncrementalDecoder]] = []

    def extend(self, chunk: bytes, final: bool) -> None:
        """More input (in the declared encoding, once one is)."""
        for _, _, decoder in self.switches:
            chunk = decoder.decode(chunk, final).encode("utf-8")
        self.data += chunk
        self.final = final

    # bytes

    def fail(self, msg: str, at: int | None = None) -> XmlError:
        line = self.data.count(b"\n", self.start, self.pos if at is None else at) + 1
        return XmlError(f"XML syntax error on line {line}: {msg}")

    def eof(self, msg: str = "unexpected EOF") -> Truncated:
        if not self.final:  # PERF: read again once more bytes arrive; nobody sees this text
            return Truncated(msg)
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

    def rest(self) -> bytes:
        """The input after what has been read, as it was given (re-encoded after a switch)."""
        return self._as_given(self.pos, len(self.data), pending=True)

    def source_offset(self, pos: int) -> int:
        """Where ``pos`` (in the possibly re-encoded data) falls in the input as given."""
        if not self.switches or pos <= self.switches[0][0]:
            return pos
        first = self.switches[0][0]
        return first + len(self._as_given(first, pos, pending=False))

    def _as_given(self, lo: int, hi: int, pending: bool) -> bytes:
        """``data[lo:hi]`` turned back into the bytes that were given, undoing each switch from
        the last (with the bytes its decoder still holds, when ``pending``)."""
        piece = self.data[lo:hi]
        for at, codec, decoder in reversed(self.switches):
            if hi <= at:
                continue
            cut = max(at - lo, 0)
            tail = piece[cut:].decode("utf-8", "replace").encode(codec, "replace")
            piece = piece[:cut] + tail + (decoder.getstate()[0] if pending else b"")
        return piece

    # tokens

    def token(self) -> tuple[Any, ...]:
        """The next token; on ``Truncated`` nothing has changed, so the same call can be made
        again once more input has arrived."""
        mark = self.pos
        try:
            return self._token()
        except Truncated:
            self.pos = mark
            raise

    def _token(self) -> tuple[Any, ...]:
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
                decoder = codecs.getincrementaldecoder(codec)("replace")
                rest = decoder.decode(self.data[self.pos :], self.final).encode("utf-8")
                self.data = self.data[: self.pos] + rest
                self.switches.append((self.pos, codec, decoder))
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
        if data.find(b"&", start, end) < 0:  # PERF: most text holds no reference
            self.pos = end + 1 if quote >= 0 else end
            return self._checked(self._literal(data[start:end], quote, start), end)
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
        if (bad := _ILLEGAL_CHAR.search(text)) is not None:
            raise self.fail(f"illegal character code U+{ord(bad.group()):04X}", at)
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


class DocumentReader:
    """One document read as its bytes arrive: ``read`` gives it once its root element has
    closed, raises ``Truncated`` while it has not (``extend`` with more bytes, then ``read``
    again: reading goes on from the last whole token, not from the start), and gives None when
    the input holds only text and markup outside any element."""

    def __init__(self, data: bytes, cast: bool = False, final: bool = True, start: int = 0) -> None:
        self.dec = _Decoder(data, start, final)
        self.conv: Any = cast_value if cast else None
        self.open: list[_Element] = []

    def extend(self, chunk: bytes, final: bool = False) -> None:
        self.dec.extend(chunk, final)

    def rest(self) -> bytes:
        """The input after the document, as given."""
        return self.dec.rest()

    def end(self) -> int:
        """Where the document ended in the input as given."""
        return self.dec.source_offset(self.dec.pos)

    def read(self) -> dict[str, Any] | None:
        try:
            return self._read()
        except _NoDocument:
            return None
        except XmlError as exc:
            raise type(exc)(f"xml.Decoder.Token() - {exc}") from None

    def _read(self) -> dict[str, Any]:
        conv, open_ = self.conv, self.open
        while True:
            tok = self.dec.token()
            kind = tok[0]
            if kind == "start":
                fields = {"-" + local: conv(value) if conv else value for _, local, value in tok[3]}
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
                        el.fields["#text"] = conv(text) if conv else text
                    else:
                        el.text = conv(text) if conv else text


def to_map(data: bytes, cast: bool = False) -> dict[str, Any]:
    """The first XML document of ``data`` (Bento's ``mxj.NewMapXml``); raises ``XmlError``, with
    the text ``EOF`` when there is no element at all."""
    doc = DocumentReader(data, cast).read()
    if doc is None:
        raise XmlError("EOF")
    return doc


def next_document(data: bytes, start: int, cast: bool = False, final: bool = True) -> tuple[dict[str, Any], int] | None:
    """The document at ``start`` (text before its root skipped) and where it ends in ``data``,
    or None when only text and markup outside any element are left. Each document is read by a
    fresh decoder, as Bento reads each with a new one (error lines count from ``start``).
    Raises ``Truncated`` when ``data`` ends inside the document (or, unless ``final``, inside
    text that more bytes may continue), ``XmlError`` when it is bad."""
    reader = DocumentReader(data, cast, final, start)
    doc = reader.read()
    return None if doc is None else (doc, reader.end())


def documents(data: bytes, cast: bool = False) -> Iterator[dict[str, Any]]:
    """Every document of a stream of concatenated XML documents, in order."""
    start = 0
    while (found := next_document(data, start, cast)) is not None:
        doc, start = found
        yield doc
