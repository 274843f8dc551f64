"""Bloblang's Regular Expression methods, with Go RE2 syntax run on Python's ``re``.

Patterns are translated once and cached (``compile_go``). What the translation covers:
``(?<name>...)`` and ``(?P<name>...)``; ``\\z``; ``$`` meaning end of text outside multi-line
mode; flags set mid-pattern (``a(?i)b``), which Python refuses, become scoped groups; ``(?U)``
swaps greedy and lazy quantifiers; ``\\d \\w \\s`` and ``[[:alpha:]]`` classes are ASCII as in
RE2; ``\\Q...\\E`` quotes. Perl features RE2 lacks (look-around, back-references, atomic
groups) are refused with Go's error text.

Go's ``FindAll``/``ReplaceAll`` skip an empty match that abuts the previous match, where
Python's ``finditer`` keeps it; ``_matches`` applies Go's rule. Replacement templates follow
Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; ``$1x`` names a group
``1x`` (usually missing, so empty), exactly as in Go.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

from .errors import ExecError
from .registry import Param, method
from .values import bytes_to_str, type_error

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}

_PERL_CLASSES = {"d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_"}

# \pX and \p{Name}: the general categories Python can express without the ``regex`` package.
_UNICODE_CLASSES = {
    "L": "[^\\W\\d_]",
    "Letter": "[^\\W\\d_]",
    "N": "\\d",
    "Nd": "\\d",
    "Lu": None,
    "Ll": None,
}

_FLAG_CHARS = frozenset("imsU")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")

# What precedes the current position, for Go's repetition-operator errors.
_EMPTY, _ATOM, _REPEATED = 0, 1, 2


class _GoRegexError(ExecError):
    pass


def _err(code: str, arg: str) -> _GoRegexError:
    return _GoRegexError(f"error parsing regexp: {code}: `{arg}`")


class _Translator:
    """A single left-to-right pass over a Go pattern producing Python ``re`` source."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.out: list[str] = []
        # Per open group: (flags in force when it opened, number of scoped groups we opened
        # inside it for mid-group flag changes).
        self.stack: list[tuple[frozenset[str], int]] = []
        self.flags: frozenset[str] = frozenset()
        self.scoped_here = 0
        self.state = _EMPTY
        self.last_quant = ""

    def translate(self) -> str:
        src = self.src
        n = len(src)
        while self.pos < n:
            ch = src[self.pos]
            if ch in "*+?" or (ch == "{" and _REPEAT.match(src, self.pos)):
                self._quantifier()
                continue
            if ch == "\\":
                self.out.append(self._escape(in_class=False))
                self.state = _ATOM
            elif ch == "[":
                self.out.append(self._class())
                self.state = _ATOM
            elif ch == "(":
                self._open_group()
            elif ch == ")":
                if not self.stack:
                    raise _err("unexpected )", src)
                self.out.append(")" * (self.scoped_here + 1))
                self.flags, self.scoped_here = self.stack.pop()
                self.pos += 1
                self.state = _ATOM
            elif ch == "|":
                self.out.append("|")
                self.pos += 1
                self.state = _EMPTY
            elif ch == "$":
                # NOTE: without (?m) Go's ``$`` is the end of the text; Python's would also
                # match before a final newline.
                self.out.append("$" if "m" in self.flags else "\\Z")
                self.pos += 1
                self.state = _ATOM
            else:
                self.out.append("\\{" if ch == "{" else ch)
                self.pos += 1
                self.state = _ATOM
        if self.stack:
            raise _err("missing closing )", src)
        self.out.append(")" * self.scoped_here)
        return "".join(self.out)

    # -- groups and flags ---------------------------------------------------------------------

    def _open_group(self) -> None:
        src = self.src
        rest = src[self.pos :]
        if rest.startswith("(?P<") or rest.startswith("(?<"):
            start = self.pos + (4 if rest.startswith("(?P<") else 3)
            end = src.find(">", start)
            name = src[start:end] if end >= 0 else ""
            if end < 0 or not name or not all(c.isalnum() or c == "_" for c in name):
                raise _err("invalid named capture", src[self.pos : end + 1 if end >= 0 else len(src)])
            if not name.isidentifier():
                raise _err("invalid named capture", src[self.pos : end + 1])
            self._push()
            self.out.append(f"(?P<{name}>")
            self.pos = end + 1
            return
        if rest.startswith("(?"):
            i = self.pos + 2
            on = True
            added: set[str] = set()
            removed: set[str] = set()
            while i < len(src) and src[i] in _FLAG_CHARS | {"-"}:
                if src[i] == "-":
                    if not on:
                        raise _err("invalid or unsupported Perl syntax", src[self.pos : i + 1])
                    on = False
                else:
                    (added if on else removed).add(src[i])
                i += 1
            if i >= len(src):
                raise _err("missing closing )", src)
            if src[i] not in ":)" or (not on and not removed):
                raise _err("invalid or unsupported Perl syntax", src[self.pos : i + 1])
            new_flags = (self.flags | added) - removed
            if src[i] == ":":
                self._push()
                self.flags = new_flags
                self.out.append("(?" + self._py_flags(new_flags) + ":")
            else:
                # A bare flag group changes the flags until the enclosing group ends: open a
                # scoped group that the enclosing ``)`` (or the end of pattern) closes.
                self.flags = new_flags
                self.out.append("(?" + self._py_flags(new_flags) + ":")
                self.scoped_here += 1
                self.state = _EMPTY
            self.pos = i + 1
            return
        self._push()
        self.out.append("(")
        self.pos += 1

    def _push(self) -> None:
        self.stack.append((self.flags, self.scoped_here))
        self.scoped_here = 0
        self.state = _EMPTY

    @staticmethod
    def _py_flags(flags: frozenset[str]) -> str:
        on = "".join(f for f in "ims" if f in flags)
        off = "".join(f for f in "ims" if f not in flags)
        return on + ("-" + off if off else "")

    # -- quantifiers ----------------------------------------------------------------------

    def _quantifier(self) -> None:
        src = self.src
        m = _REPEAT.match(src, self.pos)
        text = m.group(0) if m else src[self.pos]
        if m:
            low, high = int(m.group(1)), m.group(3)
            if low > 1000 or (high and (int(high) > 1000 or int(high) < low)):
                raise _err("invalid repeat count", text)
        if self.state == _REPEATED:
            raise _err("invalid nested repetition operator", self.last_quant + text)
        if self.state == _EMPTY:
            raise _err("missing argument to repetition operator", text)
        self.pos += len(text)
        lazy = self.pos < len(src) and src[self.pos] == "?"
        if lazy:
            self.pos += 1
            text_all = text + "?"
        else:
            text_all = text
        if "U" in self.flags:
            lazy = not lazy
        self.out.append(text + ("?" if lazy else ""))
        self.state = _REPEATED
        self.last_quant = text_all

    # -- escapes and classes --------------------------------------------------------------

    def _escape(self, in_class: bool) -> str:
        src = self.src
        if self.pos + 1 >= len(src):
            raise _err("trailing backslash at end of expression", "")
        c = src[self.pos + 1]
        self.pos += 2
        if c in "dws":
            body = _PERL_CLASSES[c]
            return body if in_class else f"[{body}]"
        if c in "DWS":
            if in_class:
                raise _GoRegexError("error parsing regexp: negated class escape in class is not supported here")
            return f"[^{_PERL_CLASSES[c.lower()]}]"
        if c == "z":
            if in_class:
                raise _err("invalid escape sequence", "\\z")
            return "\\Z"
        if c in "AbB" and not in_class:
            return "\\" + c
        if c == "Q":
            end = src.find("\\E", self.pos)
            literal = src[self.pos :] if end < 0 else src[self.pos : end]
            self.pos = len(src) if end < 0 else end + 2
            return "".join(re.escape(ch) for ch in literal)
        if c in "pP":
            return self._unicode_class(c == "P", in_class)
        if c in "afnrtv":
            return "\\" + c
        if c == "x":
            m = re.match(r"\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2})", src[self.pos :])
            if not m:
                raise _err("invalid escape sequence", src[self.pos - 2 : self.pos + 2])
            self.pos += len(m.group(0))
            code = int(m.group(1) or m.group(2), 16)
            if code > 0x10FFFF:
                raise _err("invalid escape sequence", "\\x" + m.group(0))
            return "\\U%08x" % code
        if c in "01234567":
            # Go: \0 and 2-3 digit octal escapes are characters; a single \1-\7 would be a
            # back-reference, which RE2 does not support.
            m = re.match(r"[0-7]{0,2}", src[self.pos :])
            digits = c + (m.group(0) if m else "")
            if c != "0" and len(digits) == 1:
                raise _err("invalid escape sequence", "\\" + c)
            self.pos += len(digits) - 1
            return "\\U%08x" % int(digits, 8)
        if c.isalnum():
            raise _err("invalid escape sequence", "\\" + c)
        return re.escape(c)

    def _unicode_class(self, negated: bool, in_class: bool) -> str:
        src = self.src
        if self.pos < len(src) and src[self.pos] == "{":
            end = src.find("}", self.pos)
            if end < 0:
                raise _err("invalid character class range", src[self.pos - 2 :])
            name = src[self.pos + 1 : end]
            self.pos = end + 1
        else:
            name = src[self.pos : self.pos + 1]
            self.pos += 1
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        body = _UNICODE_CLASSES.get(name)
        if name == "Lu":
            body = "[A-Z\u00c0-\u00d6\u00d8-\u00de]"
        elif name == "Ll":
            body = "[a-z\u00df-\u00f6\u00f8-\u00ff]"
        if body is None or in_class:
            raise _err("invalid character class range", f"\\p{{{name}}}")
        if negated:
            if body.startswith("[^"):
                return "[" + body[2:]
            if body.startswith("["):
                return "[^" + body[1:]
            return "\\D" if body == "\\d" else body
        return body

    def _class(self) -> str:
        src = self.src
        start = self.pos
        self.pos += 1
        parts = ["["]
        if self.pos < len(src) and src[self.pos] == "^":
            parts.append("^")
            self.pos += 1
        first = True
        while True:
            if self.pos >= len(src):
                raise _err("missing closing ]", src[start:])
            ch = src[self.pos]
            if ch == "]" and not first:
                self.pos += 1
                break
            first = False
            if src.startswith("[:", self.pos):
                end = src.find(":]", self.pos + 2)
                if end >= 0:
                    name = src[self.pos + 2 : end]
                    negated = name.startswith("^")
                    body = _POSIX.get(name.lstrip("^"))
                    if body is None:
                        raise _err("invalid character class range", src[self.pos : end + 2])
                    if negated:
                        raise _GoRegexError(
                            "error parsing regexp: negated POSIX classes inside a class are not supported"
                        )
                    parts.append(body)
                    self.pos = end + 2
                    continue
            if ch == "\\":
                parts.append(self._escape(in_class=True))
                continue
            if ch in "[&~|-" and ch != "-":
                parts.append("\\" + ch)
            else:
                parts.append(ch)
            self.pos += 1
        parts.append("]")
        return "".join(parts)


_UNSUPPORTED = re.compile(r"\(\?(?:=|!|<=|<!|>|#|\d|R|&|\+|\||P=|P>)")


@lru_cache(maxsize=512)
def compile_go(pattern: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern (cached). Errors read like Go's ``regexp.Compile``."""
    bad = _UNSUPPORTED.search(pattern)
    if bad and not _escaped(pattern, bad.start()):
        raise _err("invalid or unsupported Perl syntax", bad.group(0))
    source = _Translator(pattern).translate()
    try:
        return re.compile(source)
    except re.error as exc:
        raise ExecError(f"error parsing regexp: {exc.msg}: `{pattern}`") from None


def _escaped(pattern: str, index: int) -> bool:
    count = 0
    while index > 0 and pattern[index - 1] == "\\":
        count += 1
        index -= 1
    return count % 2 == 1


def _pattern(pattern: str) -> re.Pattern[str]:
    return compile_go(pattern)


def _subject(target: Any) -> tuple[str, bool]:
    if isinstance(target, str):
        return target, False
    if isinstance(target, (bytes, bytearray)):
        return bytes_to_str(bytes(target)), True
    raise type_error(target, "string")


def _matches(rx: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Go's FindAll: successive non-overlapping matches, dropping an empty match that starts
    where the previous match ended."""
    prev_end = -1
    for m in rx.finditer(text):
        if m.start() == m.end() and m.start() == prev_end:
            continue
        prev_end = m.end()
        yield m


def _group_keys(rx: re.Pattern[str]) -> list[str]:
    names = {index: name for name, index in rx.groupindex.items()}
    return [names.get(i, str(i)) for i in range(rx.groups + 1)]


def _groups(m: re.Match[str]) -> list[str]:
    return [g if g is not None else "" for g in m.groups()]


def _as_bytes(s: str) -> bytes:
    from .lib_strings import utf8

    return utf8(s)


@method("re_match", Param("pattern", "string"))
def re_match(target: Any, pattern: str) -> bool:
    """Whether the pattern matches anywhere in the target."""
    text, _ = _subject(target)
    return _pattern(pattern).search(text) is not None


@method("re_find_all", Param("pattern", "string"))
def re_find_all(target: Any, pattern: str) -> list[str]:
    """Every successive non-overlapping match."""
    rx = _pattern(pattern)
    text, _ = _subject(target)
    return [m.group(0) for m in _matches(rx, text)]


@method("re_find_all_submatch", Param("pattern", "string"))
def re_find_all_submatch(target: Any, pattern: str) -> list[list[str]]:
    """Every match as ``[whole, group1, group2, ...]`` (unmatched groups are empty)."""
    rx = _pattern(pattern)
    text, _ = _subject(target)
    return [[m.group(0), *_groups(m)] for m in _matches(rx, text)]


def _match_object(rx: re.Pattern[str], keys: list[str], m: re.Match[str], as_bytes: bool) -> dict[str, Any]:
    values = [m.group(0), *_groups(m)]
    if as_bytes:
        return {k: _as_bytes(v) for k, v in zip(keys, values)}
    return dict(zip(keys, values))


@method("re_find_object", Param("pattern", "string"))
def re_find_object(target: Any, pattern: str) -> dict[str, Any]:
    """The first match as an object keyed by group name (or index; ``"0"`` is the whole
    match); empty when nothing matches. Bytes targets give bytes values, as in Go."""
    rx = _pattern(pattern)
    text, as_bytes = _subject(target)
    for m in _matches(rx, text):
        return _match_object(rx, _group_keys(rx), m, as_bytes)
    return {}


@method("re_find_all_object", Param("pattern", "string"))
def re_find_all_object(target: Any, pattern: str) -> list[dict[str, Any]]:
    """Every match as an object keyed by group name (or index)."""
    rx = _pattern(pattern)
    text, as_bytes = _subject(target)
    keys = _group_keys(rx)
    return [_match_object(rx, keys, m, as_bytes) for m in _matches(rx, text)]


# --------------------------------------------------------------------------------------------
# replacement templates


_TEMPLATE_PART = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))")


@lru_cache(maxsize=512)
def _template(template: str) -> tuple[tuple[str, str | None], ...]:
    """Split a Go replacement template into (literal, group reference or None) pieces."""
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for m in _TEMPLATE_PART.finditer(template):
        literal = template[pos : m.start()]
        if m.group(0) == "$$":
            parts.append((literal + "$", None))
        else:
            name = m.group(1) if m.group(1) is not None else m.group(2)
            if m.group(1) is not None and name == "":
                # ``${}`` is not a valid reference: Go copies the ``$`` and carries on.
                parts.append((literal + "$", None))
                pos = m.start() + 1
                continue
            parts.append((literal, name))
        pos = m.end()
    parts.append((template[pos:], None))
    return tuple(parts)


def _expand(parts: tuple[tuple[str, str | None], ...], rx: re.Pattern[str], m: re.Match[str]) -> str:
    out = []
    for literal, ref in parts:
        out.append(literal)
        if ref is None:
            continue
        if ref.isdigit():
            index = int(ref)
            if index <= rx.groups:
                out.append(m.group(index) or "")
        elif ref in rx.groupindex:
            out.append(m.group(ref) or "")
    return "".join(out)


def _replace_all(target: Any, pattern: str, value: str) -> str:
    rx = _pattern(pattern)
    text, _ = _subject(target)
    parts = _template(value)
    out = []
    pos = 0
    for m in _matches(rx, text):
        out.append(text[pos : m.start()])
        out.append(_expand(parts, rx, m))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


@method("re_replace_all", Param("pattern", "string"), Param("value", "string"))
def re_replace_all(target: Any, pattern: str, value: str) -> str:
    """Replace every match with ``value``, expanding ``$1``/``${name}`` references."""
    return _replace_all(target, pattern, value)


@method("re_replace", Param("pattern", "string"), Param("value", "string"), deprecated=True)
def re_replace(target: Any, pattern: str, value: str) -> str:
    """The older name of ``re_replace_all``."""
    return _replace_all(target, pattern, value)
