r"""Bloblang's Regular Expression methods, with Go RE2 syntax run on Python's ``re``.

Patterns are translated once and cached (``compile_go``). What the translation covers:
``(?<name>...)`` and ``(?P<name>...)`` (names kept beside the pattern, so Go's duplicate names
work); ``\z``; ``$`` meaning end of text outside multi-line mode; flags set mid-pattern
(``a(?i)b|c``), which Python refuses, become scoped groups; ``(?U)`` swaps greedy and lazy
quantifiers; ``\d \w \s`` and ``[[:alpha:]]`` classes (also negated, also inside classes) are
ASCII as in RE2; ``\Q...\E`` quotes; ``\pL``/``\p{Greek}`` use the ``regex`` package when it is
installed (a few general categories work without it). Perl features RE2 lacks (look-around,
back-references, atomic groups) are refused with Go's error text.

Go's ``FindAll``/``ReplaceAll`` skip an empty match that abuts the previous match, where
Python's ``finditer`` keeps it; ``_matches`` applies Go's rule. Replacement templates follow
Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; ``$1x`` names a group
``1x`` (usually missing, so empty), exactly as in Go.

Errors about the pattern are marked ``annotated``: in Benthos they come from the method's
constructor, so they are not prefixed with the target's annotation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import ExecError
from .registry import Library, Param
from .values import bytes_to_str, type_error, utf8

LIBRARY = Library()

try:  # optional: full Unicode classes (\p{Greek}); plain ``re`` covers everything else
    import regex as _regex_mod
except ImportError:  # pragma: no cover - depends on the installation
    _regex_mod = None

_Ranges = list[tuple[int, int]]
_MAX_RUNE = 0x10FFFF

_POSIX: dict[str, _Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}

_PERL: dict[str, _Ranges] = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}

# Without the ``regex`` package: the general categories plain ``re`` can express.
_UNICODE_FALLBACK = {"L": "[^\\W\\d_]", "N": "\\d", "Nd": "\\d"}

_W = "[0-9A-Za-z_]"
_ASCII_BOUNDARY = f"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))"
_ASCII_NON_BOUNDARY = f"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))"

_FLAG_CHARS = frozenset("imsU")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")

# What precedes the current position, for Go's repetition-operator errors.
_EMPTY, _ATOM, _REPEATED = 0, 1, 2


class _GoRegexError(ExecError):
    def __init__(self, message: str) -> None:
        super().__init__(message, annotated=True)


def _err(code: str, arg: str) -> _GoRegexError:
    return _GoRegexError(f"error parsing regexp: {code}: `{arg}`")


def _char(cp: int) -> str:
    return f"\\x{cp:02x}" if cp < 0x80 else f"\\U{cp:08x}"


def _render(ranges: _Ranges) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


def _negate(ranges: _Ranges) -> _Ranges:
    out: _Ranges = []
    nxt = 0
    for lo, hi in sorted(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= _MAX_RUNE:
        out.append((nxt, _MAX_RUNE))
    return out


@dataclass(frozen=True)
class GoRegex:
    """A compiled Go pattern: the Python pattern plus Go's ``SubexpNames`` (``""`` for
    unnamed groups; index 0 is the whole match)."""

    rx: Any
    names: tuple[str, ...]

    def keys(self) -> list[str]:
        return [name or str(i) for i, name in enumerate(self.names)]


class _Translator:
    """A single left-to-right pass over a Go pattern producing Python ``re`` source."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.out: list[str] = []
        # Per open group: the flags in force when it opened and how many scoped flag groups
        # were open at its level.
        self.stack: list[tuple[frozenset[str], int]] = []
        self.flags: frozenset[str] = frozenset()
        self.scoped_here = 0
        self.state = _EMPTY
        self.last_quant = ""
        self.names: list[str] = [""]
        self.needs_regex = False

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
                if self.scoped_here:
                    # Flags set earlier in this group also rule the next alternative.
                    self.out.append(")" * self.scoped_here + "|(?" + self._py_flags(self.flags) + ":")
                    self.scoped_here = 1
                else:
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
        if rest.startswith(("(?P<", "(?<")):
            start = self.pos + (4 if rest.startswith("(?P<") else 3)
            end = src.find(">", start)
            name = src[start:end] if end >= 0 else ""
            if end < 0 or not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
                raise _err("invalid named capture", src[self.pos : end + 1 if end >= 0 else len(src)])
            self._push()
            self.names.append(name)
            self.out.append("(")
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
            new_flags = frozenset((self.flags | added) - removed)
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
        self.names.append("")
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
            lazy_mark = "?" if src[self.pos + len(text) : self.pos + len(text) + 1] == "?" else ""
            raise _err("invalid nested repetition operator", self.last_quant + text + lazy_mark)
        if self.state == _EMPTY:
            raise _err("missing argument to repetition operator", text)
        self.pos += len(text)
        lazy = self.pos < len(src) and src[self.pos] == "?"
        if lazy:
            self.pos += 1
        self.last_quant = text + ("?" if lazy else "")
        if "U" in self.flags:
            lazy = not lazy
        self.out.append(text + ("?" if lazy else ""))
        self.state = _REPEATED

    # -- escapes and classes --------------------------------------------------------------

    def _escape(self, in_class: bool) -> str:
        src = self.src
        if self.pos + 1 >= len(src):
            raise _err("trailing backslash at end of expression", "")
        c = src[self.pos + 1]
        self.pos += 2
        if c in "dwsDWS":
            ranges = _PERL[c.lower()]
            body = _render(_negate(ranges) if c.isupper() else ranges)
            return body if in_class else f"[{body}]"
        if c == "z":
            if in_class:
                raise _err("invalid escape sequence", "\\z")
            return "\\Z"
        if c == "A" and not in_class:
            return "\\A"
        if c in "bB" and not in_class:
            # RE2's word boundaries are ASCII-only, like its \w.
            return _ASCII_BOUNDARY if c == "b" else _ASCII_NON_BOUNDARY
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
            if code > _MAX_RUNE:
                raise _err("invalid escape sequence", "\\x" + m.group(0))
            return _char(code)
        if c in "01234567":
            # Go: \0 and 2-3 digit octal escapes are characters; a single \1-\7 would be a
            # back-reference, which RE2 does not support.
            m = re.match(r"[0-7]{0,2}", src[self.pos :])
            digits = c + (m.group(0) if m else "")
            if c != "0" and len(digits) == 1:
                raise _err("invalid escape sequence", "\\" + c)
            self.pos += len(digits) - 1
            return _char(int(digits, 8))
        if not c.isascii() or c.isalnum():
            # RE2 lets only ASCII punctuation stand for itself after a backslash.
            raise _err("invalid escape sequence", "\\" + c)
        return re.escape(c)

    def _unicode_class(self, negated: bool, in_class: bool) -> str:
        src = self.src
        start = self.pos - 2
        if self.pos < len(src) and src[self.pos] == "{":
            end = src.find("}", self.pos)
            if end < 0:
                raise _err("invalid character class range", src[start:])
            name = src[self.pos + 1 : end]
            self.pos = end + 1
        else:
            name = src[self.pos : self.pos + 1]
            self.pos += 1
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        if _regex_mod is not None:
            if name != "Any" and not _regex_mod_knows(name):
                raise _err("invalid character class range", src[start : self.pos])
            self.needs_regex = True
            if name == "Any":
                return "\\x00-\\U0010ffff" if in_class else ("[^\\x00-\\U0010ffff]" if negated else "[\\x00-\\U0010ffff]")
            return ("\\P{" if negated else "\\p{") + name + "}"
        body = _UNICODE_FALLBACK.get(name)
        if body is None or in_class:
            raise _err("invalid character class range", src[start : self.pos])
        if negated:
            return "[" + body[2:] if body.startswith("[^") else "\\D"
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
        base = len(parts)
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
                    ranges = _POSIX.get(name.lstrip("^"))
                    if ranges is None:
                        raise _err("invalid character class range", src[self.pos : end + 2])
                    parts.append(_render(_negate(ranges) if name.startswith("^") else ranges))
                    self.pos = end + 2
                    continue
            if ch == "\\":
                parts.append(self._escape(in_class=True))
            elif ch in "[&~|":
                parts.append("\\" + ch)
            else:
                parts.append(ch)
            if ch != "\\":
                self.pos += 1
            self._check_range(parts, base)
        parts.append("]")
        return "".join(parts)

    def _check_range(self, parts: list[str], base: int) -> None:
        """Go reports a reversed range itself: ``invalid character class range: `z-a```."""
        if len(parts) - base >= 3 and parts[-2] == "-" and len(parts[-1]) == 1 and len(parts[-3]) == 1:
            lo, hi = parts[-3], parts[-1]
            if ord(lo) > ord(hi):
                raise _err("invalid character class range", f"{lo}-{hi}")


def _regex_mod_knows(name: str) -> bool:
    try:
        _regex_mod.compile("\\p{" + name + "}")
    except Exception:  # noqa: BLE001 - the regex package raises its own error type
        return False
    return True


_UNSUPPORTED = re.compile(r"\(\?(?:=|!|<=|<!|>|#|\d|R|&|\+|\||P=|P>)")


@lru_cache(maxsize=512)
def compile_go(pattern: str) -> GoRegex:
    """Compile a Go RE2 pattern (cached). Errors read like Go's ``regexp.Compile``."""
    bad = _UNSUPPORTED.search(pattern)
    if bad and not _escaped(pattern, bad.start()):
        raise _err("invalid or unsupported Perl syntax", bad.group(0))
    translator = _Translator(pattern)
    source = translator.translate()
    try:
        if translator.needs_regex:
            rx = _regex_mod.compile(source, _regex_mod.VERSION0)
        else:
            rx = re.compile(source)
    except re.error as exc:
        raise _GoRegexError(f"error parsing regexp: {exc.msg}: `{pattern}`") from None
    except Exception as exc:  # noqa: BLE001 - the regex package's error type
        raise _GoRegexError(f"error parsing regexp: {exc}: `{pattern}`") from None
    return GoRegex(rx, tuple(translator.names))


def _escaped(pattern: str, index: int) -> bool:
    count = 0
    while index > 0 and pattern[index - 1] == "\\":
        count += 1
        index -= 1
    return count % 2 == 1


def _pattern_check(pattern: str, *_: Any) -> None:
    """Benthos compiles the pattern in the method's constructor: a literal bad pattern is a
    parse error."""
    compile_go(pattern)


def _subject(target: Any) -> tuple[str, bool]:
    if isinstance(target, str):
        return target, False
    if isinstance(target, (bytes, bytearray)):
        return bytes_to_str(bytes(target)), True
    raise type_error(target, "string")


def _matches(go: GoRegex, text: str) -> Iterator[Any]:
    """Go's FindAll: after an empty match the search moves on one character (Python's
    ``finditer`` would retry the same spot for a longer match), and an empty match right
    where the previous match ended is dropped."""
    search = go.rx.search
    pos = 0
    prev_end = -1
    end = len(text)
    while pos <= end:
        m = search(text, pos)
        if m is None:
            return
        accept = True
        if m.end() == pos:
            if m.start() == prev_end:
                accept = False
            pos += 1
        else:
            pos = m.end()
        prev_end = m.end()
        if accept:
            yield m


def _groups(m: Any) -> list[str]:
    return [g if g is not None else "" for g in m.groups()]


def _as_bytes(s: str) -> bytes:
    return utf8(s)


@LIBRARY.method("re_match", Param("pattern", "string"), check=_pattern_check)
def re_match(target: Any, pattern: str) -> bool:
    """Whether the pattern matches anywhere in the target."""
    go = compile_go(pattern)
    text, _ = _subject(target)
    return go.rx.search(text) is not None


@LIBRARY.method("re_find_all", Param("pattern", "string"), check=_pattern_check)
def re_find_all(target: Any, pattern: str) -> list[str]:
    """Every successive non-overlapping match."""
    go = compile_go(pattern)
    text, _ = _subject(target)
    return [m.group(0) for m in _matches(go, text)]


@LIBRARY.method("re_find_all_submatch", Param("pattern", "string"), check=_pattern_check)
def re_find_all_submatch(target: Any, pattern: str) -> list[list[str]]:
    """Every match as ``[whole, group1, group2, ...]`` (unmatched groups are empty)."""
    go = compile_go(pattern)
    text, _ = _subject(target)
    return [[m.group(0), *_groups(m)] for m in _matches(go, text)]


def _match_object(keys: list[str], m: Any, as_bytes: bool) -> dict[str, Any]:
    values = [m.group(0), *_groups(m)]
    # NOTE: with duplicate group names the later group wins, as Go's map assignment does.
    if as_bytes:
        return {k: _as_bytes(v) for k, v in zip(keys, values, strict=False)}
    return dict(zip(keys, values, strict=False))


@LIBRARY.method("re_find_object", Param("pattern", "string"), check=_pattern_check)
def re_find_object(target: Any, pattern: str) -> dict[str, Any]:
    """The first match as an object keyed by group name (or index; ``"0"`` is the whole
    match); empty when nothing matches. Bytes targets give bytes values, as in Go."""
    go = compile_go(pattern)
    text, as_bytes = _subject(target)
    for m in _matches(go, text):
        return _match_object(go.keys(), m, as_bytes)
    return {}


@LIBRARY.method("re_find_all_object", Param("pattern", "string"), check=_pattern_check)
def re_find_all_object(target: Any, pattern: str) -> list[dict[str, Any]]:
    """Every match as an object keyed by group name (or index)."""
    go = compile_go(pattern)
    text, as_bytes = _subject(target)
    keys = go.keys()
    return [_match_object(keys, m, as_bytes) for m in _matches(go, text)]


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


def _expand(parts: tuple[tuple[str, str | None], ...], go: GoRegex, m: Any) -> str:
    out = []
    for literal, ref in parts:
        out.append(literal)
        if ref is None:
            continue
        if ref.isdigit():
            index = int(ref)
            if index < len(go.names):
                out.append(m.group(index) or "")
            continue
        # Go takes the first group of that name that took part in the match.
        for index, name in enumerate(go.names):
            if index and name == ref and m.group(index) is not None:
                out.append(m.group(index))
                break
    return "".join(out)


def _replace_all(target: Any, pattern: str, value: str) -> str:
    go = compile_go(pattern)
    text, _ = _subject(target)
    parts = _template(value)
    out = []
    pos = 0
    for m in _matches(go, text):
        out.append(text[pos : m.start()])
        out.append(_expand(parts, go, m))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


@LIBRARY.method("re_replace_all", Param("pattern", "string"), Param("value", "string"), check=_pattern_check)
def re_replace_all(target: Any, pattern: str, value: str) -> str:
    """Replace every match with ``value``, expanding ``$1``/``${name}`` references."""
    return _replace_all(target, pattern, value)


@LIBRARY.method("re_replace", Param("pattern", "string"), Param("value", "string"), deprecated=True, check=_pattern_check)
def re_replace(target: Any, pattern: str, value: str) -> str:
    """The older name of ``re_replace_all``."""
    return _replace_all(target, pattern, value)
