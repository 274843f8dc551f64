"""Bloblang parser: source text to the typed tree in ``nodes.py``.

The grammar is written as small parser combinators, because Benthos's error texts (which we
reproduce byte for byte) fall out of how its combinators merge "expected" lists and pick the
furthest failure. A result is a tuple ``(payload, pos, err)``; ``err`` is None on success, else a
``_PErr`` whose ``pos`` is where the failure happened. An error with ``msg`` set is *fatal*: it
stops alternatives from being tried (Go's ``NewFatalError``). Every syntax error leaves this
module through ``fail()``.

Parsing also resolves what Benthos resolves at parse time: function and method names, argument
lists against the registry's ``Param`` declarations, folding of literal arithmetic and of
``static`` methods on literals, map definitions and imports.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from streams.bloblang import nodes as N
from streams.bloblang import runtime
from streams.bloblang.errors import TOO_DEEP, ExecError, ParseError, go_line_col
from streams.bloblang.gofmt import go_type
from streams.bloblang.library import FUNCTIONS, METHODS
from streams.bloblang.paths import dot_path_to_slice
from streams.bloblang.registry import Spec
from streams.bloblang.values import DELETE, NOTHING, NilList, convert_arg

_NodeT = TypeVar("_NodeT", bound=N.Node)

MISSING: Any = object()
"""An optional parameter without default that was not given (Go's IsOptional)."""


class _PErr:
    __slots__ = ("expected", "import_failure", "msg", "pos")

    def __init__(self, pos: int, expected: list[str] | None = None, msg: str | None = None) -> None:
        self.pos = pos
        self.expected = expected or []
        self.msg = msg
        self.import_failure: _ImportFailure | None = None

    @property
    def fatal(self) -> bool:
        return self.msg is not None

    def add(self, other: _PErr) -> None:
        self.expected = self.expected + other.expected
        if self.msg is None:
            self.msg = other.msg

    def message(self, src: str, include_got: bool = False) -> str:
        snippet = src[self.pos : self.pos + 5]
        msg = self.msg or ""
        if not self.expected:
            if not msg:
                msg = "encountered unexpected end of input" if not snippet else "encountered unexpected input"
            if include_got and snippet:
                msg += f": {snippet}"
            return msg
        if msg:
            msg += ": "
        if len(self.expected) == 1:
            msg += f"expected {self.expected[0]}"
        else:
            seen: list[str] = []
            for e in self.expected:
                if e not in seen:
                    seen.append(e)
            buf = "expected "
            for i, e in enumerate(seen):
                if i == len(seen) - 1:
                    if len(seen) > 2:
                        buf += ","
                    buf += " or "
                elif i > 0:
                    buf += ", "
                buf += e
            msg += buf
        if include_got:
            msg += f", got: {snippet}" if snippet else ", but reached end of input"
        return msg


class _ImportFailure:
    """The message of a fatal error raised by a failed import (Go's ``ImportError``)."""

    def __init__(self, path: str, content: str, err: _PErr) -> None:
        self.path = path
        self.content = content
        self.err = err


def line_col(src: str, pos: int) -> tuple[int, int]:
    """1-based line and column of an offset (columns count characters)."""
    line = src.count("\n", 0, pos) + 1
    start = src.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


def fail(src: str, err: _PErr, *, mode: str = "position") -> ParseError:
    """The one place a syntax error becomes a ``ParseError``. ``mode`` picks Benthos's rendering:
    ``position`` (``line L char C: ...``), ``char`` (interpolations: ``char N: ...``) or ``plain``
    (the error text with the snippet, as Go's ``Error()``)."""
    line, col = go_line_col(src, err.pos)
    imp = err.import_failure
    if imp is not None:
        inner = fail(imp.content, imp.err, mode="char" if mode == "char" else "position")
        body = f"failed to parse import '{imp.path}': {inner}"
    else:
        body = err.message(src, include_got=(mode == "plain"))
    # Go's Error() of the same failure (no position, with a snippet of what was found)
    plain = err.message(src, include_got=True) if imp is None else body
    if mode == "char":
        return ParseError(body, 1, err.pos + 1, text=f"char {err.pos + 1}: {body}", plain=plain)
    if mode == "plain":
        return ParseError(body, line, col, text=plain, plain=plain)
    return ParseError(body, line, col, plain=plain)


# ------------------------------------------------------------------------------------------
# Combinators. A parser is ``f(p, i) -> (payload, pos, err)`` where ``p`` is the ``Parser``.

R = tuple


def char(c: str) -> Callable:
    def f(p: Parser, i: int) -> R:
        if i < p.n and p.s[i] == c:
            return (c, i + 1, None)
        return (None, i, _PErr(i, [c]))

    return f


def not_char(c: str) -> Callable:
    exp = "not " + c

    def f(p: Parser, i: int) -> R:
        s = p.s
        if i >= p.n or s[i] == c:
            return (None, i, _PErr(i, [exp]))
        j = s.find(c, i)
        if j < 0:
            j = p.n
        return (s[i:j], j, None)

    return f


def in_set(chars: str, exp: str | None = None) -> Callable:
    cset = frozenset(chars)
    exp = exp or f"chars({chars})"

    def f(p: Parser, i: int) -> R:
        s, n = p.s, p.n
        j = i
        while j < n and s[j] in cset:
            j += 1
        if j == i:
            return (None, i, _PErr(i, [exp]))
        return (s[i:j], j, None)

    return f


def term(t: str) -> Callable:
    def f(p: Parser, i: int) -> R:
        if p.s.startswith(t, i):
            return (t, i + len(t), None)
        return (None, i, _PErr(i, [t]))

    return f


def until_term(t: str) -> Callable:
    def f(p: Parser, i: int) -> R:
        j = p.s.find(t, i)
        if j < 0:
            return (None, i, _PErr(i, [t]))
        return (p.s[i:j], j, None)

    return f


def seq(*parsers: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        out = []
        j = i
        for q in parsers:
            v, j, e = q(p, j)
            if e is not None:
                return (None, i, e)
            out.append(v)
        return (out, j, None)

    return f


def one_of(*parsers: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        err = None
        for q in parsers:
            res = q(p, i)
            e = res[2]
            if e is None or e.msg is not None:
                return res
            if err is None or err.pos < e.pos:
                err = e
            elif err.pos == e.pos:
                err.add(e)
        return (None, i, err)

    return f


def optional(q: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        v, j, e = q(p, i)
        if e is not None and e.msg is None:
            return (None, j, None)
        return (v, j, e)

    return f


def discard(q: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        _, j, _e = q(p, i)
        return (None, j, None)

    return f


def must_be(q: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        res = q(p, i)
        e = res[2]
        if e is not None and e.msg is None:
            e.msg = "required"
        return res

    return f


def expect(q: Callable, *expected: str) -> Callable:
    exp = list(expected)

    def f(p: Parser, i: int) -> R:
        res = q(p, i)
        e = res[2]
        if e is not None and e.msg is None:
            e.expected = list(exp)
        return res

    return f


def join(q: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        v, j, e = q(p, i)
        if e is not None:
            return (None, j, e)
        return ("".join(x or "" for x in v), j, None)

    return f


def take_only(index: int, q: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        v, j, e = q(p, i)
        if e is not None:
            return (None, i, e)
        return (v[index] if len(v) > index else None, j, None)

    return f


def delimited_pattern(start: Callable, primary: Callable, delim: Callable, stop: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        _, j, e = start(p, i)
        if e is not None:
            return (None, j, e)
        out: list[Any] = []
        v, j2, e = primary(p, j)
        if e is not None:
            _, j3, es = stop(p, j2)
            if es is None:
                return (out, j3, None)
            return (None, i, e)
        out.append(v)
        j = j2
        while True:
            _, jd, e = delim(p, j)
            if e is not None:
                _, js, es = stop(p, jd)
                if es is None:
                    return (out, js, None)
                e.add(es)
                return (None, i, e)
            j = jd
            v, j2, e = primary(p, j)
            if e is not None:
                _, js, es = stop(p, j2)
                if es is None:
                    return (out, js, None)
                return (None, i, e)
            out.append(v)
            j = j2

    return f


def delimited(primary: Callable, delim: Callable) -> Callable:
    """Returns ``(primaries, delimiters)``."""

    def f(p: Parser, i: int) -> R:
        v, j, e = primary(p, i)
        if e is not None:
            return (None, j, e)
        prim: list[Any] = [v]
        dels: list[Any] = []
        while True:
            dv, jd, de = delim(p, j)
            if de is not None:
                return ((prim, dels), jd, None)
            dels.append(dv)
            v, j, e = primary(p, jd)
            if e is not None:
                return (None, i, e)
            prim.append(v)

    return f


def best_match(left: R, right: R) -> R:
    rl = left[2].pos if left[2] is not None else left[1]
    rr = right[2].pos if right[2] is not None else right[1]
    if rl == rr:
        if left[2] is None:
            return left
        if right[2] is None:
            return right
    if rr > rl:
        return right
    return left


# --- terminals ------------------------------------------------------------------------------

_IDENT_EXP = ["range(a - z)", "range(A - Z)", "range(0 - 9)", "_"]
_SNAKE_EXP = ["range(a - z)", "range(0 - 9)", "_"]
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SNAKE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _word(chars: frozenset, exp: list[str]) -> Callable:
    def f(p: Parser, i: int) -> R:
        s, n = p.s, p.n
        j = i
        while j < n and s[j] in chars:
            j += 1
        if j == i:
            return (None, i, _PErr(i, list(exp)))
        return (s[i:j], j, None)

    return f


ident = _word(_IDENT_CHARS, _IDENT_EXP)
snake_case = expect(_word(_SNAKE_CHARS, _SNAKE_EXP), "snake-case")
spaces = expect(in_set(" \t"), "whitespace")

char_dot = char(".")
char_comma = char(",")
char_colon = char(":")
char_eq = char("=")
char_minus = char("-")


def _newline(p: Parser, i: int) -> R:
    s = p.s
    if i < p.n and s[i] == "\n":
        return ("\n", i + 1, None)
    if i + 1 < p.n and s[i] == "\r" and s[i + 1] == "\n":
        return ("\r\n", i + 2, None)
    if i < p.n and s[i] == "\r":
        return (None, i, _PErr(i + 1, ["line break"]))
    return (None, i, _PErr(i, ["line break"]))


def _comment(p: Parser, i: int) -> R:
    s = p.s
    if i >= p.n or s[i] != "#":
        return (None, i, _PErr(i, ["#"]))
    j = s.find("\n", i)
    if j < 0:
        return (None, i, _PErr(p.n, ["line break"]))
    # NOTE: Go's Newline accepts an optional \r before \n; the comment body swallows a \r.
    return (s[i:j + 1], j + 1, None)


newline = _newline
newline_allow_comment = expect(one_of(_comment, _newline), "line break")


def _ws_nl_comments(p: Parser, i: int) -> R:
    s, n = p.s, p.n
    while i < n:
        c = s[i]
        if c == " " or c == "\t" or c == "\n":
            i += 1
        elif c == "\r" and i + 1 < n and s[i + 1] == "\n":
            i += 2
        elif c == "#":
            j = s.find("\n", i)
            if j < 0:
                break
            i = j + 1
        else:
            break
    return (None, i, None)


ws_nl = _ws_nl_comments


def _discard_spaces(p: Parser, i: int) -> R:
    s, n = p.s, p.n
    while i < n and (s[i] == " " or s[i] == "\t"):
        i += 1
    return (None, i, None)


discard_spaces = _discard_spaces


def _go_unquote(body: str) -> str:
    """strconv.Unquote of a double-quoted Go string (``body`` includes the quotes)."""
    s = body[1:-1]
    if "\n" in s:
        raise ValueError("invalid syntax")
    if "\\" not in s:
        return s
    out = bytearray()
    i, n = 0, len(s)
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
    while i < n:
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("invalid syntax")
        e = s[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            hexs = s[i + 2 : i + 2 + width]
            if len(hexs) != width or any(h not in "0123456789abcdefABCDEF" for h in hexs):
                raise ValueError("invalid syntax")
            v = int(hexs, 16)
            if e == "x":
                out.append(v)
            else:
                if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
                    raise ValueError("invalid syntax")
                out += chr(v).encode("utf-8")
            i += 2 + width
        elif e in "01234567":
            octs = s[i + 1 : i + 4]
            if len(octs) != 3 or any(o not in "01234567" for o in octs):
                raise ValueError("invalid syntax")
            v = int(octs, 8)
            if v > 255:
                raise ValueError("invalid syntax")
            out.append(v)
            i += 4
        else:
            raise ValueError("invalid syntax")
    return out.decode("utf-8", "surrogateescape")


def quoted_string(p: Parser, i: int) -> R:
    s, n = p.s, p.n
    if i >= n or s[i] != '"':
        return (None, i, _PErr(i, ["quoted string"]))
    escaped = False
    j = i + 1
    while j < n:
        c = s[j]
        if c == '"' and not escaped:
            try:
                return (_go_unquote(s[i : j + 1]), j + 1, None)
            except ValueError as exc:
                return (None, i, _PErr(i, None, f"failed to unescape quoted string contents: {exc}"))
        if c == "\\":
            escaped = not escaped
        elif escaped:
            escaped = False
        j += 1
    return (None, i, _PErr(n, ["end quote"], "required"))


def triple_quote_string(p: Parser, i: int) -> R:
    s, n = p.s, p.n
    if n - i < 6 or not s.startswith('"""', i):
        return (None, i, _PErr(i, ["quoted string"]))
    j = s.find('"""', i + 3)
    if j < 0 or j > n - 3:
        return (None, i, _PErr(n, ["end triple-quote"], "required"))
    return (s[i + 3 : j], j + 3, None)


def number(p: Parser, i: int) -> R:
    s, n = p.s, p.n
    j = i
    neg = False
    if j < n and s[j] == "-":
        neg = True
        j += 1
    k = j
    while k < n and s[k].isdigit() and s[k] in "0123456789":
        k += 1
    if k == j:
        return (None, j, _PErr(j, ["number"]))
    text = s[j:k]
    if k < n and s[k] == ".":
        m = k + 1
        while m < n and s[m] in "0123456789":
            m += 1
        if m > k + 1:
            text = s[j:m]
            k = m
    if "." in text:
        f = float(text)
        return (-f if neg else f, k, None)
    v = int(text)
    if v > (1 << 63) - 1:
        return (
            None,
            i,
            _PErr(i, None, f"failed to parse '{text}' as integer: strconv.ParseInt: parsing \"{text}\": value out of range"),
        )
    return (-v if neg else v, k, None)


def boolean(p: Parser, i: int) -> R:
    s = p.s
    if s.startswith("true", i):
        return (True, i + 4, None)
    if s.startswith("false", i):
        return (False, i + 5, None)
    return (None, i, _PErr(i, ["boolean"]))


def null(p: Parser, i: int) -> R:
    if p.s.startswith("null", i):
        return (None, i + 4, None)
    return (None, i, _PErr(i, ["null"]))


def _quoted_path_segment(p: Parser, i: int) -> R:
    v, j, e = quoted_string(p, i)
    if e is not None:
        return (v, j, e)
    return (v.replace("~", "~0").replace(".", "~1"), j, None)


# ------------------------------------------------------------------------------------------
# The parser


MESSAGE_FUNCTIONS = frozenset(
    ["batch_index", "batch_size", "content", "error", "error_source_label", "error_source_name", "error_source_path", "errored", "json", "metadata", "tracing_id", "tracing_span"]
)
"""Functions that read the message (Benthos's "Message Info" category)."""


class Settings:
    """What a parse may use: impure functions, the import base directory and whether imports
    are allowed at all. ``sandboxed`` is the environment of the ``bloblang`` method: no imports,
    and impure or message-reading functions do not exist there (as in Benthos)."""

    def __init__(
        self,
        allow_impure: bool = False,
        base_dir: str | None = None,
        imports: bool = True,
        sandboxed: bool = False,
        refused_functions: Mapping[str, str] | None = None,
    ) -> None:
        self.allow_impure = allow_impure
        self.base_dir = base_dir
        self.imports = imports and not sandboxed
        self.sandboxed = sandboxed
        self.refused_functions: Mapping[str, str] = refused_functions or {}
        """Function name -> why this environment refuses it (Benthos's ``WithoutFunctions``,
        with the reason in the parse error instead of "unrecognised")."""


class Parser:
    """Holds the source and the named-context stack while parsing one text."""

    def __init__(self, source: str, settings: Settings | None = None, base_dir: str | None = None) -> None:
        self.s = source
        self.n = len(source)
        self.settings = settings or Settings()
        self.base_dir = base_dir if base_dir is not None else (self.settings.base_dir or os.getcwd())
        self.named: list[str] = []
        self._line_starts: list[int] | None = None

    # positions ---------------------------------------------------------------------------
    def at(self, node: _NodeT, i: int) -> _NodeT:
        node.pos = i
        node.line, node.col = line_col(self.s, i)
        return node

    # queries -----------------------------------------------------------------------------
    def query(self, p: Parser, i: int) -> R:
        _, i, _e = spaces(p, i)
        return self.arithmetic(p, i)

    def arithmetic(self, p: Parser, i: int) -> R:
        start = i
        prim: list[Any] = []  # nodes, or ("neg", node, pos) for a unary minus
        ops: list[tuple[str, int]] = []
        # term: optional "-" (followed by whitespace/comments), then a term with tails
        while True:
            j = i
            neg = False
            if j < self.n and self.s[j] == "-":
                neg = True
                _, j, _e = ws_nl(self, j + 1)
            v, j2, e = self.term_with_tails(self, j)
            if e is not None:
                if not prim:
                    return (None, start, e)
                return (None, start, e)
            if neg:
                v = ("neg", v, i)
            prim.append(v)
            # operator
            _, k, _e = _discard_spaces(self, j2)
            op, k2, oe = _arith_op(self, k)
            if oe is not None:
                i = j2
                break
            _, k3, _e = ws_nl(self, k2)
            ops.append((op, k))
            i = k3
        try:
            node = self.build_arithmetic(prim, ops, start)
        except _Fatal as f:
            return (None, start, _PErr(start, None, f.msg))
        return (node, i, None)

    def build_arithmetic(self, prim: list[Any], ops: list[tuple[str, int]], start: int) -> N.Node:
        fns: list[N.Node] = []
        for v in prim:
            if isinstance(v, tuple) and v[0] == "neg":
                zero = self.at(N.Literal(value=0), v[2])
                v = fold_binop(self, "-", zero, v[1], v[2])
            fns.append(v)
        if len(fns) == 1:
            return fns[0]
        ops_only = [o for o, _ in ops]
        positions = [pos for _, pos in ops]
        # four passes, each left to right, as Benthos resolves precedence
        for level in (("*", "/", "%", "|"), ("+", "-"), ("==", "!=", ">", ">=", "<", "<="), ("&&", "||")):
            nf = [fns[0]]
            no: list[str] = []
            npos: list[int] = []
            for k, op in enumerate(ops_only):
                if op in level:
                    nf[-1] = fold_binop(self, op, nf[-1], fns[k + 1], positions[k])
                else:
                    nf.append(fns[k + 1])
                    no.append(op)
                    npos.append(positions[k])
            fns, ops_only, positions = nf, no, npos
            if len(fns) == 1:
                return fns[0]
        raise _Fatal(f"unresolved arithmetic operators ({ops_only})")

    def term_with_tails(self, p: Parser, i: int) -> R:
        start = i
        is_not = False
        if i < self.n and self.s[i] == "!":
            is_not = True
            _, i, _e = _discard_spaces(self, i + 1)
        fn, i, e = self.term(self, i)
        if e is not None:
            return (None, start, e)
        while True:
            _, j, de = char_dot(self, i)
            if de is not None:
                break
            _, j, _e = ws_nl(self, j)
            res = must_be(self.tail_of(fn))(self, j)
            if res[2] is not None:
                return (None, start, res[2])
            fn, i = res[0], res[1]
        if is_not:
            fn = self.at(N.Not(operand=fn), start)
        return (fn, i, None)

    def tail_of(self, fn: N.Node) -> Callable:
        return one_of(
            lambda p, i: self.map_expression(fn, i),
            lambda p, i: self.method(fn, i),
            lambda p, i: self.field_tail(fn, i),
        )

    def term(self, p: Parser, i: int) -> R:
        return expect(
            one_of(
                self.match_expr,
                self.if_expr,
                self.lambda_expr,
                self.brackets,
                self.literal,
                self.function,
                self.meta_ref,
                self.var_ref,
                self.field_root,
            ),
            "query",
        )(p, i)

    # tails ---------------------------------------------------------------------------------
    def map_expression(self, fn: N.Node, i: int) -> R:
        pattern = take_only(
            2,
            seq(expect(char("("), "method"), ws_nl, self.query, ws_nl, char(")")),
        )
        v, j, e = pattern(self, i)
        if e is not None:
            return (v, j, e)
        return (self.at(N.MapExpr(target=fn, query=v), i), j, None)

    def field_tail(self, fn: N.Node, i: int) -> R:
        v, j, e = expect(one_of(ident, _quoted_path_segment), "field path")(self, i)
        if e is not None:
            return (None, i, e)
        path = dot_path_to_slice(v)
        if isinstance(fn, N.FieldRef):
            return (self.at(N.FieldRef(source=fn.source, path=fn.path + path, named=fn.named), fn.pos), j, None)
        if isinstance(fn, N.GetPath):
            return (self.at(N.GetPath(target=fn.target, path=fn.path + path), fn.pos), j, None)
        return (self.at(N.GetPath(target=fn, path=path), i), j, None)

    def args(self, p: Parser, i: int) -> R:
        return delimited_pattern(
            expect(seq(char("("), ws_nl), "function arguments"),
            must_be(expect(one_of(self.named_arg, self.query), "function argument")),
            must_be(expect(seq(discard_spaces, char_comma, ws_nl), "comma")),
            must_be(expect(seq(ws_nl, char(")")), "closing bracket")),
        )(p, i)

    def named_arg(self, p: Parser, i: int) -> R:
        v, j, e = seq(snake_case, char_colon, discard_spaces, must_be(expect(self.query, "argument value")))(p, i)
        if e is not None:
            return (None, i, e)
        return (_NamedArg(v[0], v[3]), j, None)

    def method(self, fn: N.Node, i: int) -> R:
        v, j, e = seq(expect(snake_case, "method"), self.args)(self, i)
        if e is not None:
            return (None, i, e)
        name, args = v
        spec = METHODS.get(name)
        if spec is None or (spec.impure and self.settings.sandboxed):
            return (None, i, _PErr(j, None, f"unrecognised method '{name}'"))
        try:
            node = self.build_call(name, spec, fn, args, i)
        except _Fatal as f:
            return (None, i, _PErr(j, None, f.msg))
        return (node, j, None)

    def function(self, p: Parser, i: int) -> R:
        v, j, e = seq(expect(snake_case, "function"), self.args)(p, i)
        if e is not None:
            return (None, i, e)
        name, args = v
        spec = FUNCTIONS.get(name)
        if spec is None or (self.settings.sandboxed and (spec.impure or name in MESSAGE_FUNCTIONS)):
            return (None, i, _PErr(j, None, f"unrecognised function '{name}'"))
        refused = self.settings.refused_functions.get(name)
        if refused is not None:
            return (None, i, _PErr(i, None, f"function '{name}' is not allowed here: {refused}"))
        try:
            node = self.build_call(name, spec, None, args, i)
        except _Fatal as f:
            return (None, i, _PErr(j, None, f.msg))
        return (node, j, None)

    def build_call(self, name: str, spec: Spec, target: N.Node | None, raw: list, i: int) -> N.Node:
        named = {}
        nameless = []
        for a in raw:
            if isinstance(a, _NamedArg):
                if a.name in named:
                    raise _Fatal(f"duplicate named arg: {a.name}")
                named[a.name] = a.value
            else:
                nameless.append(a)
        if nameless and named:
            raise _Fatal("cannot mix named and nameless arguments")
        params = spec.params
        args: list[Any] = []
        if spec.variadic:
            if named:
                raise _Fatal("named arguments are not supported")
            args = list(nameless)
        elif named:
            missing = []
            for prm in params:
                if prm.name in named:
                    args.append(named.pop(prm.name))
                elif prm.required:
                    missing.append(prm.name)
                    args.append(MISSING)
                else:
                    args.append(self.at(N.Literal(value=prm.default, label="default"), i))
            if named:
                unexpected = sorted(named)
                opts = ""
                if len(missing) == 1:
                    opts = f", did you mean {missing[0]}?"
                elif len(missing) > 1:
                    opts = f", expected {', '.join(missing)}"
                if len(unexpected) == 1:
                    raise _Fatal(f"unknown parameter {unexpected[0]}{opts}")
                raise _Fatal(f"unknown parameters {', '.join(unexpected)}{opts}")
            if len(missing) == 1:
                raise _Fatal(f"missing parameter: {missing[0]}")
            if missing:
                raise _Fatal(f"missing parameters: {', '.join(missing)}")
        else:
            if len(nameless) > len(params):
                raise _Fatal(f"wrong number of arguments, expected {len(params)}, got {len(nameless)}")
            missing = []
            for k, prm in enumerate(params):
                if k < len(nameless):
                    args.append(nameless[k])
                elif not prm.required:
                    args.append(self.at(N.Literal(value=prm.default, label="default"), i))
                else:
                    missing.append(prm.name)
            if len(missing) == 1:
                raise _Fatal(f"missing parameter: {missing[0]}")
            if missing:
                raise _Fatal(f"missing parameters: {', '.join(missing)}")
        # Literal arguments are converted now (Go's parse-time checks); queries stay as nodes.
        if not spec.variadic:
            for k, prm in enumerate(params):
                a = args[k]
                if prm.kind == "query":
                    continue
                if isinstance(a, N.Literal):
                    if a.value is None and prm.nullable and a.label == "default":
                        continue  # an optional parameter that was not given (a given null is checked)
                    try:
                        args[k] = self.at(N.Literal(value=convert_arg(prm.kind, a.value), label=a.label), a.pos)
                    except ExecError as exc:
                        raise _Fatal(f"field {prm.name}: {exc}") from None
        check: Callable[..., None] | None = check_sandboxed if spec.syntax and name == "bloblang" else spec.check
        if check is not None and all(isinstance(a, N.Literal) for a in args if isinstance(a, N.Node)):
            try:
                check(*[a.value if isinstance(a, N.Literal) else None for a in args])
            except ExecError as exc:
                raise _Fatal(str(exc)) from None
        if name == "get" and target is not None and args and isinstance(args[0], N.Literal) and isinstance(args[0].value, str):
            # Benthos folds a literal ``.get("a.b")`` into the field path it reads.
            path = dot_path_to_slice(args[0].value)
            if isinstance(target, N.FieldRef):
                return self.at(N.FieldRef(source=target.source, path=target.path + path, named=target.named), target.pos)
            if isinstance(target, N.GetPath):
                return self.at(N.GetPath(target=target.target, path=target.path + path), target.pos)
            return self.at(N.GetPath(target=target, path=path), target.pos)
        if spec.impure and not self.settings.allow_impure:
            raise _Fatal(f"{'function' if target is None else 'method'} '{name}' is impure and not allowed here")
        node = self.at(N.Call(name=name, spec=spec, target=target, args=args), i if target is None else target.pos)
        return fold_call(self, node)

    # terms ---------------------------------------------------------------------------------
    def brackets(self, p: Parser, i: int) -> R:
        v, j, e = seq(
            expect(char("("), "function"),
            ws_nl,
            self.query,
            ws_nl,
            must_be(expect(char(")"), "closing bracket")),
        )(p, i)
        if e is not None:
            return (None, i, e)
        return (v[2], j, None)

    def literal(self, p: Parser, i: int) -> R:
        v, j, e = one_of(
            lambda p, i: _wrap_lit(self, boolean, p, i),
            lambda p, i: _wrap_lit(self, number, p, i),
            lambda p, i: _wrap_lit(self, triple_quote_string, p, i),
            lambda p, i: _wrap_lit(self, quoted_string, p, i),
            lambda p, i: _wrap_lit(self, null, p, i),
            self.array_lit,
            self.object_lit,
        )(p, i)
        if e is not None:
            return (None, j, e)
        return (v, j, None)

    def array_lit(self, p: Parser, i: int) -> R:
        v, j, e = delimited_pattern(
            expect(seq(char("["), ws_nl), "array"),
            expect(self.query, "object"),
            seq(discard_spaces, char_comma, ws_nl),
            seq(ws_nl, char("]")),
        )(p, i)
        if e is not None:
            return (None, i, e)
        if all(isinstance(x, N.Literal) for x in v):
            items = [x.value for x in v if x.value is not DELETE and x.value is not NOTHING]
            return (self.at(N.Literal(value=items or NilList()), i), j, None)
        return (self.at(N.ArrayExpr(items=v), i), j, None)

    def object_lit(self, p: Parser, i: int) -> R:
        v, j, e = delimited_pattern(
            expect(seq(char("{"), ws_nl), "object"),
            seq(
                one_of(quoted_string, expect(self.query, "object")),
                discard_spaces,
                char_colon,
                ws_nl,
                expect(self.query, "object"),
            ),
            seq(discard_spaces, char_comma, ws_nl),
            seq(ws_nl, char("}")),
        )(p, i)
        if e is not None:
            return (None, i, e)
        pairs = []
        dynamic = False
        for kv in v:
            key, val = kv[0], kv[4]
            if isinstance(key, N.Literal):
                if not isinstance(key.value, str):
                    return (None, i, _PErr(i, None, f"object keys must be strings, received: {go_type(key.value)}"))
                key = key.value
            elif isinstance(key, N.Node):
                dynamic = True
            if not isinstance(val, N.Literal):
                dynamic = True
            pairs.append((key, val))
        if not dynamic:
            obj = {}
            for key, val in pairs:
                if val.value is not DELETE and val.value is not NOTHING:
                    obj[key] = val.value
            return (self.at(N.Literal(value=obj), i), j, None)
        return (self.at(N.ObjectExpr(pairs=pairs), i), j, None)

    def match_expr(self, p: Parser, i: int) -> R:
        v, j, e = seq(
            term("match"),
            spaces,
            optional(self.query),
            ws_nl,
            must_be(
                delimited_pattern(
                    seq(char("{"), ws_nl),
                    self.match_case,
                    seq(discard_spaces, one_of(char_comma, newline_allow_comment), ws_nl),
                    seq(ws_nl, char("}")),
                )
            ),
        )(p, i)
        if e is not None:
            return (None, i, e)
        return (self.at(N.MatchExpr(subject=v[2], cases=v[4]), i), j, None)

    def match_case(self, p: Parser, i: int) -> R:
        v, j, e = seq(
            one_of(
                lambda p, i: _zero(seq(expect(char("_"), "match case"), optional(spaces), term("=>")), p, i),
                take_only(0, seq(expect(self.query, "match case"), optional(spaces), term("=>"))),
            ),
            optional(spaces),
            self.query,
        )(p, i)
        if e is not None:
            return (None, i, e)
        case, result = v[0], v[2]
        if case is None:
            return (N.MatchCase("any", None, result), j, None)
        if isinstance(case, N.Literal):
            return (N.MatchCase("literal", case, result), j, None)
        return (N.MatchCase("query", case, result), j, None)

    def if_expr(self, p: Parser, i: int) -> R:
        q = self.query
        if_p = seq(term("if"), spaces, must_be(q), ws_nl, must_be(char("{")), ws_nl, must_be(q), ws_nl, must_be(char("}")))
        elif_p = optional(
            seq(ws_nl, term("else if"), spaces, must_be(q), ws_nl, must_be(char("{")), ws_nl, must_be(q), ws_nl, must_be(char("}")))
        )
        else_p = optional(seq(ws_nl, term("else"), ws_nl, must_be(char("{")), ws_nl, must_be(q), ws_nl, must_be(char("}"))))
        branches, otherwise, j, e = _if_chain(p, i, if_p, elif_p, else_p, 6)
        if e is not None:
            return (None, i, e)
        return (self.at(N.IfExpr(branches=branches, otherwise=otherwise), i), j, None)

    def lambda_expr(self, p: Parser, i: int) -> R:
        v, j, e = expect(
            take_only(0, seq(expect(ident, "context name"), spaces, term("->"), spaces)), "function"
        )(p, i)
        if e is not None:
            return (None, i, e)
        name = v
        pushed = False
        if name != "_":
            if name in self.named:
                return (None, i, _PErr(i, None, f"context label `{name}` would shadow a parent context"))
            if name in ("root", "this"):
                return (None, i, _PErr(i, None, f"context label `{name}` is not allowed"))
            self.named.append(name)
            pushed = True
        try:
            body, j2, e = must_be(self.query)(p, j)
        finally:
            if pushed:
                self.named.pop()
        if e is not None:
            return (body, j2, e)
        if isinstance(body, N.Lambda):
            return (
                None,
                i,
                _PErr(i, None, f"it would be in poor taste to capture the same context under both '{name}' and '{body.name}'"),
            )
        return (self.at(N.Lambda(name=name, body=body), i), j2, None)

    def meta_ref(self, p: Parser, i: int) -> R:
        v, j, e = expect(seq(char("@"), optional(one_of(ident, quoted_string))), "metadata path")(p, i)
        if e is not None:
            return (None, i, e)
        return (self.at(N.MetaRef(key=v[1] or None), i), j, None)

    def var_ref(self, p: Parser, i: int) -> R:
        v, j, e = expect(seq(char("$"), ident), "variable path")(p, i)
        if e is not None:
            return (None, i, e)
        return (self.at(N.VarRef(name=v[1]), i), j, None)

    def field_root(self, p: Parser, i: int) -> R:
        v, j, e = expect(ident, "field path")(p, i)
        if e is not None:
            return (None, i, e)
        if v == "this":
            node = N.FieldRef(source="this")
        elif v == "root":
            node = N.FieldRef(source="root")
        elif v in self.named:
            node = N.FieldRef(source=v, named=True)
        else:
            node = N.FieldRef(source="this", path=dot_path_to_slice(v))
        return (self.at(node, i), j, None)

    # mappings ------------------------------------------------------------------------------
    def statement(self, enable_meta: bool, maps: dict | None) -> Callable:
        alts = []
        if maps is not None:
            alts += [lambda p, i: self.import_stmt(i, maps), lambda p, i: self.map_stmt(i, maps)]
        else:
            alts += [lambda p, i: self.import_stmt(i, None), lambda p, i: self.map_stmt(i, None)]
        alts += [self.let_stmt, lambda p, i: self.meta_stmt(i, enable_meta), self.plain_stmt, self.root_if_stmt]
        if maps is None:
            # Benthos only offers import/map where maps may be defined; elsewhere they are not
            # alternatives at all, so their errors never show.
            alts = alts[2:]
        return one_of(*alts)

    def executor(self, p: Parser, i: int) -> R:
        maps: dict[str, N.MapDef] = {}
        stmts: list[N.Node] = []
        stmt_p = self.statement(True, maps)
        _, j, _e = ws_nl(p, i)
        v, j, e = stmt_p(p, j)
        if e is not None:
            return (None, i, e)
        if v is not None:
            stmts.append(v)
        while True:
            _, j, _e = _discard_spaces(p, j)
            if j >= self.n:
                break
            _, j2, e = newline_allow_comment(p, j)
            if e is not None:
                return (None, i, e)
            _, j, _e = ws_nl(p, j2)
            if j >= self.n:
                break
            v, j, e = stmt_p(p, j)
            if e is not None:
                return (None, i, e)
            if v is not None:
                stmts.append(v)
        prog = self.at(N.Program(statements=stmts, maps=maps, source=self.s), i)
        return (prog, j, None)

    def single_root_import(self, p: Parser, i: int) -> R:
        v, j, e = take_only(3, seq(ws_nl, term("from"), spaces, quoted_string, ws_nl))(p, i)
        if e is not None:
            return (None, i, e)
        path = v
        prog, err = self.parse_import(path, i)
        if err is not None:
            return (None, i, err)
        if j < self.n:
            return (None, i, _PErr(i, None, f"unexpected content after single root import: {self.s[j:]}"))
        return (prog, j, None)

    def single_root_mapping(self, p: Parser, i: int) -> R:
        _, j0, _e = ws_nl(p, i)
        fn, j, e = self.query(p, j0)
        if e is not None:
            return (None, i, e)
        _, k, _e = ws_nl(p, j)
        if k < self.n:
            _, a0, _e = ws_nl(p, i)
            text = self.s[a0:j]
            if len(text) > 12:
                text = text[:12] + "..."
            exp = (
                f"the mapping to end here as the beginning is shorthand for `root = {text}`, "
                "but this shorthand form cannot be followed with more assignments"
            )
            return (None, i, _PErr(k, [exp]))
        stmt = self.at(N.Assign(kind="root", path=[], query=fn), i)
        prog = self.at(N.Program(statements=[stmt], maps={}, source=self.s), i)
        return (prog, self.n, None)

    def read_import(self, path: str) -> tuple[str, str, str | None]:
        if not self.settings.imports:
            return "", "", "imports are disabled in this context"
        full = os.path.normpath(path if os.path.isabs(path) else os.path.join(self.base_dir, path))
        if not self.settings.allow_impure:
            # Safety: without the impure permission a mapping reads only files in its own
            # directory tree (an import path may come from a template substitution).
            root = os.path.realpath(self.settings.base_dir or os.getcwd())
            real = os.path.realpath(full)
            if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
                return "", "", f"import path {path} is outside the mapping directory {root}"
        try:
            with open(full, "rb") as fh:
                content = fh.read().decode("utf-8", "replace")
        except OSError as exc:
            return "", "", f"open {full}: {_go_os_error(exc)}"
        d = os.path.dirname(path)
        sub_dir = self.base_dir if d in ("", ".") else (d if os.path.isabs(d) else os.path.join(self.base_dir, d))
        return content, sub_dir, None

    def parse_import(self, path: str, i: int) -> tuple[Any, _PErr | None]:
        """The program in an imported file, or the error to report at ``i``."""
        content, sub_dir, err = self.read_import(path)
        if err is not None:
            return None, _PErr(i, None, f"failed to read import: {err}")
        sub = Parser(content, self.settings, base_dir=sub_dir)
        prog, _k, e = sub.executor(sub, 0)
        if e is not None:
            pe = _PErr(i, None, "import")
            pe.import_failure = _ImportFailure(path, content, e)
            return None, pe
        return prog, None

    def import_stmt(self, i: int, maps: dict | None) -> R:
        v, j, e = take_only(2, seq(term("import"), spaces, must_be(expect(quoted_string, "filepath"))))(self, i)
        if e is not None:
            return (v, j, e)
        if maps is None:
            return (None, i, _PErr(i, None, "importing mappings is not allowed within this block"))
        path = v
        prog, err = self.parse_import(path, i)
        if err is not None:
            return (None, i, err)
        if not prog.maps:
            return (None, i, _PErr(i, None, f"no maps to import from '{path}'"))
        collisions = []
        for k, m in prog.maps.items():
            if k in maps:
                collisions.append(k)
            else:
                maps[k] = m
        if collisions:
            return (None, i, _PErr(i, None, f"map name collisions from import '{path}': [{' '.join(collisions)}]"))
        return (None, j, None)

    def map_stmt(self, i: int, maps: dict | None) -> R:
        v, j, e = seq(
            term("map"),
            spaces,
            must_be(expect(one_of(quoted_string, ident), "map name")),
            spaces,
            delimited_pattern(
                seq(char("{"), ws_nl),
                self.statement(False, None),
                seq(discard_spaces, newline_allow_comment, ws_nl),
                seq(ws_nl, char("}")),
            ),
        )(self, i)
        if e is not None:
            return (None, i, e)
        if maps is None:
            return (None, i, _PErr(i, None, "defining maps is not allowed within this block"))
        name = v[2]
        if name in maps:
            return (None, i, _PErr(i, None, f"map name collision: {name}"))
        maps[name] = self.at(N.MapDef(name=name, statements=v[4], source=self.s[i:]), i)
        return (None, j, None)

    def let_stmt(self, p: Parser, i: int) -> R:
        v, j, e = seq(
            expect(term("let"), "assignment"),
            spaces,
            must_be(expect(one_of(quoted_string, ident), "variable name")),
            spaces,
            char_eq,
            spaces,
            self.query,
        )(p, i)
        if e is not None:
            return (None, i, e)
        return (self.at(N.Assign(kind="var", key=v[2], query=v[6]), i), j, None)

    def meta_stmt(self, i: int, enabled: bool) -> R:
        v, j, e = seq(
            expect(term("meta"), "assignment"),
            spaces,
            _optional_ptr(one_of(quoted_string, ident)),
            optional(spaces),
            char_eq,
            spaces,
            self.query,
        )(self, i)
        if e is not None:
            return (None, i, e)
        if not enabled:
            return (None, i, _PErr(i, None, "setting meta fields is not allowed within this block"))
        key = v[2][0] if v[2] is not None else None
        return (self.at(N.Assign(kind="meta", key=key, query=v[6]), i), j, None)

    def path(self, p: Parser, i: int) -> R:
        first = expect(ident, "assignment")
        rest = optional(
            take_only(1, seq(char_dot, delimited(expect(one_of(_quoted_path_segment, ident), "target path"), char_dot)))
        )
        v, j, e = seq(first, rest)(p, i)
        if e is not None:
            return (None, i, e)
        path = [v[0]]
        if v[1] is not None:
            for seg in v[1][0]:
                path.extend(dot_path_to_slice(seg))
        return (path, j, None)

    def plain_stmt(self, p: Parser, i: int) -> R:
        v, j, e = seq(self.path, spaces, char_eq, spaces, self.query)(p, i)
        if e is not None:
            return (None, i, e)
        path = v[0]
        if path and path[0] == "root":
            path = path[1:]
        return (self.at(N.Assign(kind="root", path=path, query=v[4]), i), j, None)

    def root_if_stmt(self, p: Parser, i: int) -> R:
        block = delimited_pattern(
            seq(char("{"), ws_nl),
            self.statement(True, None),
            seq(discard_spaces, newline_allow_comment, ws_nl),
            seq(ws_nl, char("}")),
        )
        q = self.query
        if_p = seq(expect(term("if"), "assignment"), spaces, must_be(q), ws_nl, block)
        elif_p = optional(seq(ws_nl, term("else if"), spaces, must_be(q), ws_nl, block))
        else_p = optional(seq(ws_nl, term("else"), ws_nl, block))
        branches, otherwise, j, e = _if_chain(p, i, if_p, elif_p, else_p, 4)
        if e is not None:
            return (None, i, e)
        if otherwise is not None:
            branches.append((None, otherwise))
        return (self.at(N.IfStmt(branches=branches), i), j, None)


class _NamedArg:
    __slots__ = ("name", "value")

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value


class _Fatal(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def _if_chain(p: Parser, i: int, if_p: Callable, elif_p: Callable, else_p: Callable, body_at: int) -> tuple[list, Any, int, Any]:
    """``if q {..} else if q {..} else {..}``: ``(branches, else body or None, end, error)``.

    The three parsers are sequences shaped alike: ``if_p`` has the condition at 2 and the body at
    ``body_at``; ``elif_p`` has one leading whitespace item more, ``else_p`` no condition."""
    v, j, e = if_p(p, i)
    if e is not None:
        return ([], None, i, e)
    branches = [(v[2], v[body_at])]
    while True:
        v, j2, e = elif_p(p, j)
        if e is not None:
            return ([], None, i, e)
        j = j2
        if v is None:
            break
        branches.append((v[3], v[body_at + 1]))
    v, j, e = else_p(p, j)
    if e is not None:
        return ([], None, i, e)
    return (branches, v[body_at - 1] if v is not None else None, j, None)


def _zero(q: Callable, p: Parser, i: int) -> R:
    v, j, e = q(p, i)
    return (None, j, e)


def _optional_ptr(q: Callable) -> Callable:
    def f(p: Parser, i: int) -> R:
        v, j, e = q(p, i)
        if e is None:
            return ((v,), j, None)
        if e.msg is None:
            return (None, j, None)
        return (None, i, e)

    return f


def _wrap_lit(p: Parser, q: Callable, pp: Parser, i: int) -> R:
    v, j, e = q(pp, i)
    if e is not None:
        return (None, j, e)
    return (p.at(N.Literal(value=v), i), j, None)


_ARITH_OPS = ["+", "-", "/", "*", "%", "&&", "||", "==", "!=", ">=", "<=", ">", "<", "|"]


def _arith_op(p: Parser, i: int) -> R:
    s = p.s
    for op in _ARITH_OPS:
        if s.startswith(op, i):
            return (op, i + len(op), None)
    return (None, i, _PErr(i, list(_ARITH_OPS)))


def _go_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno == errno.EACCES:
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "is a directory"
    return exc.strerror or str(exc)


# ------------------------------------------------------------------------------------------
# Folding (parse-time evaluation of literal operations, as Benthos does)


def fold_binop(p: Parser, op: str, left: N.Node, right: N.Node, pos: int) -> N.Node:
    """Build a binary node; when both sides are literals (and the operator is not a boolean or
    coalesce one) evaluate it now, so ``5 / 0`` is a parse error like in Benthos."""
    node = p.at(N.BinOp(op=op, left=left, right=right), left.pos)
    if op in ("&&", "||", "|"):
        return node
    if isinstance(left, N.Literal) and isinstance(right, N.Literal):
        try:
            value = runtime.binop(op, left.value, right.value, left.annotation, right.annotation)
        except ExecError as exc:
            raise _Fatal(str(exc)) from None
        return p.at(N.Literal(value=value, label=right.annotation), left.pos)
    return node


def fold_call(p: Parser, node: N.Call) -> N.Node:
    """Fold ``static`` methods on literal targets with literal arguments, and the functions
    that are constants in disguise (``deleted()``, ``nothing()``)."""
    if node.target is None:
        if node.name == "deleted":
            return p.at(N.Literal(value=DELETE, label="delete"), node.pos)
        if node.name == "nothing":
            return p.at(N.Literal(value=NOTHING, label="nothing"), node.pos)
        return node
    spec = node.spec
    if spec is None or not spec.static or spec.stateful or spec.context:
        return node
    if not isinstance(node.target, N.Literal):
        return node
    if not all(isinstance(a, N.Literal) for a in node.args):
        return node
    try:
        value = spec.impl(node.target.value, *[a.value for a in node.args])
    except ExecError as exc:
        raise _Fatal(str(exc)) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise _Fatal(str(exc)) from None
    return p.at(N.Literal(value=value, label=f"method {node.name}"), node.pos)


# ------------------------------------------------------------------------------------------
# Entry points


def parse_mapping(source: str, settings: Settings | None = None) -> N.Program:
    """Parse a whole mapping (statements, or the single-query shorthand, or ``from "file"``)."""
    p = Parser(source, settings)
    res = p.single_root_import(p, 0)
    if res[2] is not None and res[2].fatal:
        raise fail(source, res[2])
    if res[2] is None and res[1] >= p.n:
        return res[0]
    exe = p.executor(p, 0)
    if exe[2] is not None and exe[2].fatal:
        raise fail(source, exe[2])
    single = p.single_root_mapping(p, 0)
    best = best_match(exe, single)
    if best[2] is not None:
        raise fail(source, best[2])
    return best[0]


def check_sandboxed(mapping: str) -> None:
    """The ``bloblang`` method's check of a literal mapping, which Benthos parses with the outer
    one: a bad mapping fails the outer parse with the inner failure in Go's ``Error()`` words."""
    try:
        parse_mapping(mapping, Settings(sandboxed=True))
    except ParseError as exc:
        raise ExecError(exc.plain) from None
    except (RecursionError, MemoryError):
        raise ExecError(str(ParseError(TOO_DEEP, 1, 1))) from None


def parse_query(source: str, settings: Settings | None = None) -> tuple[N.Node, int]:
    """Parse one query expression; returns the node and where parsing stopped (the caller decides
    whether trailing text is an error)."""
    p = Parser(source, settings)
    v, j, e = p.query(p, 0)
    if e is not None:
        raise fail(source, e)
    return v, j


def parse_query_error_plain(source: str, settings: Settings | None = None) -> str | None:
    """The Go ``Error()`` text (with the ``got:`` snippet) of a failed query parse, or None."""
    p = Parser(source, settings)
    v, j, e = p.query(p, 0)
    if e is None:
        return None
    return e.message(source, include_got=True)


def parse_interpolation(source: str, settings: Settings | None = None) -> list[Any]:
    """Split an interpolated string into static text (``str``) and query nodes."""
    p = Parser(source, settings)
    out: list[Any] = []
    i = 0
    n = p.n
    q_start = term("${!")

    def a_function(pp: Parser, i: int) -> R:
        v, j, e = take_only(
            2,
            seq(q_start, optional(spaces), must_be(p.query), optional(spaces), must_be(expect(char("}"), "end of expression"))),
        )(pp, i)
        if e is not None:
            return (None, i, e)
        return (v, j, None)

    def escaped(pp: Parser, i: int) -> R:
        v, j, e = take_only(1, seq(term("${{!"), must_be(expect(until_term("}}"), "end of escaped expression")), term("}}")))(pp, i)
        if e is not None:
            return (None, i, e)
        return ("${!" + v + "}", j, None)

    alt = one_of(escaped, a_function, char("$"), not_char("$"))
    while i < n:
        v, j, e = alt(p, i)
        if e is not None:
            raise fail(source, e, mode="char")
        if out and isinstance(v, str) and isinstance(out[-1], str):
            out[-1] += v
        else:
            out.append(v)
        i = j
    return out
