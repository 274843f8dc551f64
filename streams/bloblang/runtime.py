"""What generated mapping code calls at run time.

Generated code (``codegen.py``) sees only the names in ``HELPERS`` plus the constants and
library callables of its own mapping: no builtins. Everything here works on the values of
``values.py`` and raises ``ExecError`` with Benthos's texts; the executor adds
``failed assignment (line N):``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from streams.bloblang.errors import ExecError, NoContextError
from streams.bloblang.gofmt import go_type, go_value_text
from streams.bloblang.paths import slice_to_dot_path
from streams.bloblang.values import (
    DELETE,
    INT64_MAX,
    INT64_MIN,
    NOTHING,
    JsonFloat,
    JsonInt,
    Timestamp,
    ValueTypeError,
    bytes_to_str,
    clone,
    convert_arg,
    equal,
    get_bool,
    get_string,
    join_escapes,
    to_string,
    type_name,
    wrap_int64,
    wrap_uint64,
)

MAX_MAP_STACKS = 5000
"""Benthos's limit on nested ``apply`` calls (unbounded recursion fails cleanly)."""

_UNSET: Any = object()
_NO_MAPS: Mapping[str, Callable] = MappingProxyType({})


class Context:
    """The execution context of one mapping run (Go's ``FunctionContext``).

    Attributes library functions may read: ``batch`` (list of ``streams.message.Message``),
    ``index`` (this message's position), ``message`` (``batch[index]``), ``meta`` (the output
    message's metadata dict, or None where metadata is unavailable), ``vars``, ``root`` (the
    value being built), ``settings``. ``doc()`` is the input document (parsed lazily).
    """

    __slots__ = ("_doc", "_doc_err", "batch", "depth", "doc_source", "index", "maps", "meta", "root", "settings", "vars")

    def __init__(
        self,
        batch: list,
        index: int = 0,
        meta: dict | None = None,
        root: Any = NOTHING,
        doc: Any = _UNSET,
        settings: Any = None,
        maps: Mapping[str, Callable] | None = None,
    ) -> None:
        self.batch = batch
        self.index = index
        self.meta = meta
        self.root = root
        self.vars: dict[str, Any] = {}
        self.maps: Mapping[str, Callable] = _NO_MAPS if maps is None else maps
        self.depth = 0
        self._doc = doc
        self._doc_err: str | None = None
        self.doc_source = index
        self.settings = settings

    @property
    def message(self) -> Any:
        """``batch[index]``; a negative index counts from the end, as Benthos's batches do."""
        i = self.index
        n = len(self.batch)
        if i < 0:
            i += n
        if 0 <= i < n:
            return self.batch[i]
        return None

    def copy(self) -> Context:
        other = Context.__new__(Context)
        for name in Context.__slots__:
            setattr(other, name, getattr(self, name))
        return other

    def doc(self, field: str = "") -> Any:
        """The input document (``this`` at the top level), or ``NoContextError``."""
        d = self._doc
        if d is _UNSET:
            d = self._load_doc()
        if d is _NO_DOC:
            raise NoContextError(field)
        return d

    def _load_doc(self) -> Any:
        """Parse the document once: its value, or ``_NO_DOC`` with the reason kept for errors.
        PERF: the message's emptiness is looked at only when parsing failed."""
        msg = self.batch[self.doc_source] if 0 <= self.doc_source < len(self.batch) else None
        if msg is None:
            self._doc_err = "message is empty"
            d = _NO_DOC
        else:
            try:
                d = msg.value
            except ValueError as exc:
                # NOTE: Benthos treats an empty payload as a missing part, not as bad JSON.
                empty = not msg.has_value and not msg.content
                self._doc_err = "message is empty" if empty else f"parse as json: {exc}"
                d = _NO_DOC
        self._doc = d
        return d

    @property
    def doc_error(self) -> str | None:
        return self._doc_err


_NO_DOC: Any = object()


# ------------------------------------------------------------------------------------------
# Paths


def _atoi(seg: str) -> int | None:
    """Go's ``strconv.Atoi``: optional sign and decimal digits only."""
    body = seg[1:] if seg[:1] in "+-" else seg
    if not body or not body.isascii() or not body.isdigit():
        return None
    return int(seg)


def get_path(value: Any, path: tuple[str, ...]) -> Any:
    """gabs ``S(path...)``: objects by key, arrays by decimal index (``*`` maps the rest of the
    path over every element); anything that does not resolve is null."""
    for k, seg in enumerate(path):
        if type(value) is dict:
            value = value.get(seg)
        elif type(value) is list:
            if seg == "*":
                if k + 1 >= len(path):
                    return value or None
                rest = path[k + 1 :]
                found = [get_path(v, rest) for v in value]
                found = [v for v in found if v is not None]
                return found or None
            idx = _atoi(seg)
            if idx is None or idx < 0 or idx >= len(value):
                return None
            value = value[idx]
        else:
            return None
    return value


def this_path(ctx: Context, path: tuple[str, ...]) -> Any:
    """``this.a.b`` at the top level: the lazily parsed document."""
    d = ctx._doc
    if d is _UNSET:
        d = ctx._load_doc()
    if d is _NO_DOC:
        # PERF: the dot path is only for the error; a parsed document needs no string work.
        raise NoContextError(slice_to_dot_path(path))
    if not path:
        return d
    if len(path) == 1 and type(d) is dict:
        return d.get(path[0])  # PERF: ``this.field``, the common case, as get_path reads it
    return get_path(d, path)


def root_path(ctx: Context, path: tuple[str, ...]) -> Any:
    return get_path(ctx.root, path) if path else ctx.root


# ------------------------------------------------------------------------------------------
# Errors


_TYPE_ERROR_TEXT = re.compile(r"^((?:expected .+ value|unexpected value), got [a-z]+(?: expression)?)((?: \(.*\))?)$", re.DOTALL)


def annotate(err: ExecError, annotation: str) -> ExecError:
    """Go's ``ErrFrom``: name the query an error came from, unless it already says. A type
    error instead gets ``from <annotation>`` inserted (once), as Go's ``TypeError`` does; a
    plain ``ExecError`` with a type error's text is treated as one."""
    if isinstance(err, ValueTypeError):
        return err.with_source(annotation)
    if err.annotated:
        return err
    if err.cause is None and not getattr(err, "typed_source", False):
        m = _TYPE_ERROR_TEXT.match(str(err))
        if m is not None:
            typed = ExecError(f"{m.group(1)} from {annotation}{m.group(2)}")
            typed.typed_source = True  # type: ignore[attr-defined]
            return typed
    if getattr(err, "typed_source", False):
        return err
    return ExecError(f"{annotation}: {err}", cause=err, annotated=True)


class QueryFn:
    """A query argument handed to a library function: call it with the context value. Its
    ``annotation`` names the query in errors (Go's ``ErrFrom(err, queryFn)``)."""

    __slots__ = ("annotation", "fn")

    def __init__(self, fn: Callable[[Any], Any], annotation: str) -> None:
        self.fn = fn
        self.annotation = annotation

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


def wrap(prefix: str, err: ExecError) -> ExecError:
    """Go's ``fmt.Errorf("prefix: %w", err)``."""
    return ExecError(f"{prefix}: {err}", cause=err)


def find_no_context(err: BaseException | None) -> NoContextError | None:
    while err is not None:
        if isinstance(err, NoContextError):
            return err
        err = getattr(err, "cause", None)
    return None


# ------------------------------------------------------------------------------------------
# Arithmetic and comparison (query/arithmetic.go)

_OP_NAMES = {
    "+": "add",
    "-": "subtract",
    "/": "divide",
    "*": "multiply",
    "%": "modulo",
    "==": "compare",
    "!=": "compare",
    ">": "compare",
    "<": "compare",
    ">=": "compare",
    "<=": "compare",
}


class TypeMismatch(ExecError):
    def __init__(self, op: str, left: Any, right: Any, lann: str, rann: str) -> None:
        super().__init__(
            f"cannot {_OP_NAMES[op]} types {type_name(left)} (from {lann}) and {type_name(right)} (from {rann})",
            annotated=True,
        )


def _sanitize(v: Any) -> Any:
    if type(v) is JsonFloat and v.text == "-0":
        return 0  # Go's ISanitize reads the json.Number "-0" as the int64 0
    if isinstance(v, Timestamp):
        return to_string(v)
    return v


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    """'f' float64, 'i' int64, 'u' uint64, '' not a number."""
    if isinstance(v, bool):
        return ""
    if isinstance(v, float):
        return "f"
    if isinstance(v, int):
        return "i" if v <= INT64_MAX else "u"
    return ""


def _as_int64(v: Any) -> int | None:
    k = _kind(v)
    if not k:
        return None
    if k == "f":
        if v != v or v in (float("inf"), float("-inf")):
            return INT64_MIN
        n = int(v)
        return n if INT64_MIN <= n <= INT64_MAX else INT64_MIN
    return wrap_int64(v)


def _as_uint64(v: Any) -> int | None:
    k = _kind(v)
    if k == "u":
        return v
    if k == "i":
        return v if v >= 0 else None
    if k == "f":
        if v < 0 or v != v or v > 1.8446744073709552e19 or v != int(v):
            return None
        return int(v)
    return None


def _arith(op: str, a: Any, b: Any, wrap: Any) -> Any:
    """``+ - *`` with the result wrapped to the operands' Go type; anything else compares."""
    if op == "+":
        return wrap(a + b)
    if op == "-":
        return wrap(a - b)
    if op == "*":
        return wrap(a * b)
    return _cmp(op, a, b)


def _float(value: float) -> float:
    return value


def _numeric(op: str, left: Any, right: Any, lann: str, rann: str) -> Any:
    tl, tr = type(left), type(right)
    if (
        (tl is int or tl is JsonInt)
        and (tr is int or tr is JsonInt)
        and INT64_MIN <= left <= INT64_MAX
        and INT64_MIN <= right <= INT64_MAX
    ):
        # PERF: two int64s, the common case, skip the kind dispatch below (same results).
        return _arith(op, left, right, wrap_int64)
    left, right = _sanitize(left), _sanitize(right)
    lk, rk = _kind(left), _kind(right)
    if lk == "f" or rk == "f":
        if not lk or not rk:
            raise TypeMismatch(op, left, right, lann, rann)
        return _arith(op, float(left), float(right), _float)
    if lk == "i" or rk == "i":
        a, b, wrap = _as_int64(left), _as_int64(right), wrap_int64
    else:
        a, b, wrap = _as_uint64(left), _as_uint64(right), wrap_uint64
    if a is None or b is None:
        raise TypeMismatch(op, left, right, lann, rann)
    return _arith(op, a, b, wrap)


def _cmp(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    return a <= b


def _restrict(v: Any) -> Any:
    v = _sanitize(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes_to_str(bytes(v))
    return v


def _compare(op: str, left: Any, right: Any, lann: str, rann: str) -> bool:
    lhs = _restrict(left)
    generic = op in ("==", "!=")
    if isinstance(lhs, str):
        try:
            rhs = get_string(right)
        except ExecError:
            if not generic:
                raise TypeMismatch(op, left, right, lann, rann) from None
            res = equal(lhs, _restrict(right))
            return res if op == "==" else not res
        return _cmp(op, lhs, rhs)
    if isinstance(lhs, bool):
        if not generic:
            raise TypeMismatch(op, left, right, lann, rann)
        try:
            rhs_bool = get_bool(right)
        except ExecError:
            res = equal(lhs, _restrict(right))
            return res if op == "==" else not res
        return _cmp(op, lhs, rhs_bool)
    if isinstance(lhs, float):
        try:
            return _numeric(op, left, right, lann, rann)
        except TypeMismatch:
            if not generic:
                raise
            res = equal(lhs, _restrict(right))
            return res if op == "==" else not res
    if not generic:
        raise TypeMismatch(op, left, right, lann, rann)
    res = equal(left, right)
    return res if op == "==" else not res


def _go_mod(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def equal_op(left: Any, right: Any, lann: str, rann: str) -> bool:
    """``==``. PERF: two strings, the common case, compare as they are (which is what
    ``_compare`` ends up doing for them) without the coercions other types need."""
    if type(left) is str and type(right) is str:
        return left == right
    return binop("==", left, right, lann, rann)


def not_equal_op(left: Any, right: Any, lann: str, rann: str) -> bool:
    """``!=``, as ``equal_op``."""
    if type(left) is str and type(right) is str:
        return left != right
    return binop("!=", left, right, lann, rann)


def binop(op: str, left: Any, right: Any, lann: str, rann: str) -> Any:
    """One of Bloblang's arithmetic or comparison operators on two values (not ``&&``, ``||``
    and ``|``, which short-circuit and are generated inline)."""
    tl, tr = type(left), type(right)
    if (
        (tl is int or tl is JsonInt)
        and (tr is int or tr is JsonInt)
        and op != "/"
        and op != "%"
        and INT64_MIN <= left <= INT64_MAX
        and INT64_MIN <= right <= INT64_MAX
    ):
        # PERF: two int64s, as ``_numeric`` treats them, without the dispatch on the operator
        # and on the operands' kinds in between (comparisons of numbers end up there too).
        return _arith(op, left, right, wrap_int64)
    if op == "+":
        if _is_num(left):
            return _numeric(op, left, right, lann, rann)
        if isinstance(left, (str, bytes, bytearray)):
            try:
                joined = get_string(left) + get_string(right)
            except ExecError:
                raise TypeMismatch(op, left, right, lann, rann) from None
            # NOTE: two halves of a split character make a whole one again.
            return join_escapes(joined) if not joined.isascii() else joined
        raise TypeMismatch(op, left, right, lann, rann)
    if op in ("-", "*"):
        return _numeric(op, left, right, lann, rann)
    if op == "/":
        if not _is_num(left) or not _is_num(right):
            raise TypeMismatch(op, left, right, lann, rann)
        b = float(right)
        if b == 0:
            raise ExecError(f"{rann}: attempted to divide by zero", annotated=True)
        return float(left) / b
    if op == "%":
        ia = _as_int64(left)
        ib = _as_int64(right)
        if ia is None or ib is None:
            raise TypeMismatch(op, left, right, lann, rann)
        if ib == 0:
            raise ExecError(f"{rann}: attempted to divide by zero", annotated=True)
        return wrap_int64(_go_mod(ia, ib))
    return _compare(op, left, right, lann, rann)


def to_bool(value: Any) -> bool:
    """Operand of ``&&`` / ``||``: IGetBool (numbers count as their truth)."""
    return get_bool(value)


def coalesce(left: Callable[[], Any], right: Callable[[], Any]) -> Any:
    """``a | b``: ``a`` unless it fails or is null."""
    try:
        v = left()
    except ExecError:
        return right()
    if v is None or v is DELETE or v is NOTHING:
        return right()
    return v


def not_(value: Any, annotation: str) -> bool:
    if not isinstance(value, bool):
        raise ValueTypeError(value, ("bool",), annotation)
    return not value


def if_condition(value: Any, annotation: str, index: int, statement: bool = False) -> bool:
    """An ``if`` condition must be a bool (a null counts as false in expressions only)."""
    if value is True or value is False:
        return value
    if value is None and not statement:
        return False
    raise ExecError(f"{annotation} resolved to a non-boolean value {go_value_text(value)} ({go_type(value)})")


def check_if(thunk: Callable[[], Any], annotation: str, index: int) -> bool:
    """Evaluate an ``if`` expression condition, wrapping its failure like Benthos."""
    try:
        value = thunk()
    except ExecError as exc:
        prefix = "failed to check if condition" if index == 0 else f"failed to check if condition {index}"
        raise wrap(prefix, exc) from None
    return if_condition(value, annotation, index)


def check_if_stmt(thunk: Callable[[], Any], annotation: str, index: int) -> bool:
    """A root-level ``if`` statement condition: errors are numbered from 1, null is an error."""
    try:
        value = thunk()
    except ExecError as exc:
        raise wrap(f"failed to check if condition {index + 1}", exc) from None
    return if_condition(value, annotation, index, statement=True)


def match(subject: Any, cases: tuple) -> Any:
    """``match``: cases are (kind, case_fn, result_fn) with ``this`` bound to the subject."""
    for i, (kind, case_fn, result_fn) in enumerate(cases):
        if kind == "any":
            return result_fn(subject)
        try:
            if kind == "literal":
                matched = equal(subject, case_fn)
            else:
                matched = case_fn(subject) is True
        except ExecError as exc:
            raise wrap(f"failed to check match case {i}", exc) from None
        if matched:
            return result_fn(subject)
    return NOTHING


# ------------------------------------------------------------------------------------------
# Literals with dynamic parts


def make_array(items: tuple) -> list:
    return [v for v in items if v is not DELETE and v is not NOTHING]


def make_object(pairs: tuple) -> dict:
    """Pairs of (key or key thunk flag, value thunk) evaluated in order, as Benthos does."""
    out: dict[str, Any] = {}
    for key, is_dyn, val_fn in pairs:
        if is_dyn:
            try:
                k = key()
            except ExecError as exc:
                raise wrap("failed to resolve key", exc) from None
            if isinstance(k, (bytes, bytearray)):
                k = bytes_to_str(bytes(k))
            elif not isinstance(k, str):
                raise ExecError(f"mapping returned invalid key type: {go_type(k)}")
        else:
            k = key
        try:
            v = val_fn()
        except ExecError as exc:
            raise wrap(f"failed to resolve '{k}' value", exc) from None
        if v is not DELETE and v is not NOTHING:
            out[k] = v
    return out


# ------------------------------------------------------------------------------------------
# Calls


def call_method(impl: Callable, annotation: str, target: Any, *args: Any) -> Any:
    """A registry method whose errors are annotated with the target (Go's simple methods)."""
    try:
        return impl(target, *args)
    except ExecError as exc:
        raise annotate(exc, annotation) from None


def call_method_ctx(impl: Callable, annotation: str, ctx: Context, target: Any, *args: Any) -> Any:
    try:
        return impl(ctx, target, *args)
    except ExecError as exc:
        raise annotate(exc, annotation) from None


def call_method_args_first(impl: Callable, annotation: str | None, *args_then_target: Any) -> Any:
    """A method call whose arguments were evaluated before its target (dynamic arguments)."""
    target = args_then_target[-1]
    try:
        return impl(target, *args_then_target[:-1])
    except ExecError as exc:
        if annotation is None:
            raise
        raise annotate(exc, annotation) from None


def call_method_ctx_args_first(impl: Callable, annotation: str | None, ctx: Context, *args_then_target: Any) -> Any:
    target = args_then_target[-1]
    try:
        return impl(ctx, target, *args_then_target[:-1])
    except ExecError as exc:
        if annotation is None:
            raise
        raise annotate(exc, annotation) from None


def call_method_checked(
    impl: Callable, annotation: str | None, check: Callable, ctx: Context | None, args: tuple, target: Callable[[], Any]
) -> Any:
    """A method with dynamic arguments and a constructor check: the resolved arguments are
    checked (the error as is) before the target runs."""
    check(*args)
    value = target()
    try:
        return impl(value, *args) if ctx is None else impl(ctx, value, *args)
    except ExecError as exc:
        if annotation is None:
            raise
        raise annotate(exc, annotation) from None


def call_method_target_default(impl: Callable, annotation: str, default: Any, target: Callable[[], Any]) -> Any:
    """A method whose non-null ``default`` is also the result when its target fails (Go's
    ``bool``/``number``/``timestamp`` methods)."""
    try:
        value = target()
    except ExecError:
        if default is None:
            raise
        return default
    try:
        return impl(value, default)
    except ExecError as exc:
        raise annotate(exc, annotation) from None


def dyn_arg(kind: str, nullable: bool, prefix: str, thunk: Callable[[], Any]) -> Any:
    """A dynamic argument: evaluated, then converted to its declared kind; failures read
    ``method 'x': failed to extract input arg 'y': ...``."""
    try:
        return convert_arg(kind, thunk(), nullable)
    except ExecError as exc:
        raise wrap(prefix, exc) from None


def catch(thunk: Callable[[], Any], fallback: Callable[[Any], Any]) -> Any:
    try:
        return thunk()
    except ExecError as exc:
        return fallback(str(exc))


def or_(thunk: Callable[[], Any], fallback: Callable[[], Any]) -> Any:
    try:
        v = thunk()
    except ExecError:
        return fallback()
    if v is None or v is DELETE or v is NOTHING:
        return fallback()
    return v


def from_index(ctx: Context, index: Any, fn: Callable[[Context], Any]) -> Any:
    sub = ctx.copy()
    sub.index = index
    return fn(sub)


def from_all(ctx: Context, fn: Callable[[Context], Any]) -> list:
    out = []
    for i in range(len(ctx.batch)):
        sub = ctx.copy()
        sub.index = i
        out.append(fn(sub))
    return out


def apply_map(ctx: Context, target: Any, name: Any) -> Any:
    """``x.apply("name")``: run a named map with ``this`` = x, fresh root and variables."""
    fn = ctx.maps.get(name)
    if fn is None:
        raise ExecError(f"map {name} was not found")
    if ctx.depth >= MAX_MAP_STACKS:
        raise ExecError(
            f"entering map {name} exceeded maximum allowed stacks of {MAX_MAP_STACKS}, "
            "this could be due to unbounded recursion",
            annotated=True,
        )
    sub = ctx.copy()
    sub.vars = {}
    sub.root = NOTHING
    sub.depth = ctx.depth + 1
    return fn(sub, target)


def var(ctx: Context, name: str) -> Any:
    v = ctx.vars
    if v is None:
        raise ExecError("variables were undefined")
    try:
        return v[name]
    except KeyError:
        raise ExecError(f"variable '{name}' undefined") from None


def meta_get(ctx: Context, key: str | None) -> Any:
    m = ctx.meta
    if m is None:
        raise ExecError("metadata cannot be queried in this context")
    if key is None:
        return dict(m)
    return m.get(key)


def named(value: Any) -> Any:
    return value


# ------------------------------------------------------------------------------------------
# Assignments (mapping/assignment.go)


def assign_root(ctx: Context, value: Any) -> None:
    ctx.root = value if value is DELETE else clone(value)


def assign_root_shared(ctx: Context, value: Any) -> None:
    """``root = v`` kept as is: the generator uses it where nothing can change the root in place
    any more and ``v`` needs no copy to be a payload (``codegen.root_stores``)."""
    ctx.root = value


def assign_root_top(ctx: Context, value: Any) -> None:
    """``root = v`` where later statements only assign top-level fields: they change the top
    object or array only, so copying that one is enough (``codegen.root_stores``)."""
    t = type(value)
    if t is dict:
        ctx.root = dict(value)
    elif t is list:
        ctx.root = list(value)
    else:
        assign_root(ctx, value)


def assign_field(ctx: Context, key: str, value: Any) -> None:
    """``root.key = v``. PERF: setting a field of an object root (or of a new one), the
    common case, directly; anything else (deletions, arrays) as ``assign_path`` does."""
    if value is DELETE:
        assign_path(ctx, (key,), value)
        return
    t = type(value)
    if not (t is str or t is JsonInt or t is int or t is bool or value is None):
        value = clone(value)  # an immutable scalar is its own copy
    root = ctx.root
    if type(root) is dict:
        root[key] = value
    elif root is NOTHING or root is None:
        ctx.root = {key: value}
    else:
        assign_path(ctx, (key,), value)


def assign_path(ctx: Context, path: tuple[str, ...], value: Any) -> None:
    """``root.a.b = v`` with gabs's rules (objects created on the way, array indexes allowed)."""
    deleted = value is DELETE
    if not deleted:
        value = clone(value)
    root = ctx.root
    if root is NOTHING or root is None:
        root = {}
        ctx.root = root
    if deleted:
        _delete_path(root, path)
        return
    obj: Any = root
    last = len(path) - 1
    for k, seg in enumerate(path):
        if isinstance(obj, dict):
            if k == last:
                obj[seg] = value
            else:
                nxt = obj.get(seg)
                if nxt is None:
                    nxt = {}
                    obj[seg] = nxt
                obj = nxt
        elif isinstance(obj, list):
            if seg == "-":
                nv = value if k == last else {}
                obj.append(nv)
                if k == last:
                    return
                obj = nv
                continue
            idx = _atoi(seg)
            if idx is None:
                raise ExecError(
                    f"unable to set target path {slice_to_dot_path(path)}: failed to resolve path segment '{k}': "
                    f"found array but segment value '{seg}' could not be parsed into array index: "
                    f'strconv.Atoi: parsing "{seg}": invalid syntax'
                )
            if idx < 0:
                raise ExecError(
                    f"unable to set target path {slice_to_dot_path(path)}: failed to resolve path segment '{k}': "
                    f"found array but index '{seg}' is invalid"
                )
            if idx >= len(obj):
                raise ExecError(
                    f"unable to set target path {slice_to_dot_path(path)}: failed to resolve path segment '{k}': "
                    f"found array but index '{seg}' exceeded target array size of '{len(obj)}'"
                )
            if k == last:
                obj[idx] = value
            else:
                nxt = obj[idx]
                if nxt is None:
                    raise ExecError(
                        f"unable to set target path {slice_to_dot_path(path)}: failed to resolve path segment '{k}': "
                        f"field '{seg}' was not found"
                    )
                obj = nxt
        else:
            _collision(root, path)


def _collision(root: Any, path: tuple[str, ...]) -> None:
    if not isinstance(root, dict):
        raise ExecError(
            f"unable to set target path {slice_to_dot_path(path)} as the value of the root was a non-object type ({type_name(root)})"
        )
    culprit = []
    obj: Any = root
    for seg in path:
        culprit.append(slice_to_dot_path([seg]))
        obj = get_path(obj, (seg,))
        if not isinstance(obj, dict):
            break
    raise ExecError(
        f"unable to set target path {slice_to_dot_path(path)} as the value of {'.'.join(culprit)} "
        f"was a non-object type ({type_name(obj)})"
    )


def _delete_path(root: Any, path: tuple[str, ...]) -> None:
    obj = root
    for seg in path[:-1]:
        obj = get_path(obj, (seg,))
        if obj is None:
            return
    last = path[-1]
    if isinstance(obj, dict):
        obj.pop(last, None)
    elif isinstance(obj, list) and len(path) > 1:
        idx = _atoi(last)
        if idx is not None and 0 <= idx < len(obj):
            del obj[idx]


def assign_meta(ctx: Context, key: str | None, value: Any) -> None:
    m = ctx.meta
    if m is None:
        raise ExecError("unable to assign metadata in the current context")
    if key is None:
        if value is DELETE:
            m.clear()
        elif isinstance(value, dict):
            m.clear()
            for k, v in value.items():
                m[k] = clone(v)
        else:
            raise ExecError(f"setting root meta object requires object value, received: {go_type(value)}")
        return
    if value is DELETE:
        m.pop(key, None)
    else:
        m[key] = clone(value)


def assign_var(ctx: Context, name: str, value: Any) -> None:
    if value is DELETE:
        ctx.vars.pop(name, None)
    else:
        ctx.vars[name] = value  # NOTE: not cloned, as in Benthos


HELPERS: dict[str, Any] = {
    "_get": get_path,
    "_this": this_path,
    "_root": root_path,
    "_binop": binop,
    "_bool": to_bool,
    "_coalesce": coalesce,
    "_not": not_,
    "_check_if": check_if,
    "_if_cond": if_condition,
    "_wrap": wrap,
    "_check_if_stmt": check_if_stmt,
    "_match": match,
    "_array": make_array,
    "_object": make_object,
    "_m": call_method,
    "_q": QueryFn,
    "_mr": call_method_args_first,
    "_mcr": call_method_ctx_args_first,
    "_mc": call_method_ctx,
    "_md": call_method_target_default,
    "_mck": call_method_checked,
    "_dyn": dyn_arg,
    "_catch": catch,
    "_or": or_,
    "_from": from_index,
    "_from_all": from_all,
    "_apply": apply_map,
    "_var": var,
    "_meta": meta_get,
    "_set_root": assign_root,
    "_set_root_shared": assign_root_shared,
    "_set_root_top": assign_root_top,
    "_eq": equal_op,
    "_ne": not_equal_op,
    "_set_path": assign_path,
    "_set_field": assign_field,
    "_set_meta": assign_meta,
    "_set_var": assign_var,
    "NOTHING": NOTHING,
    "DELETE": DELETE,
    "ExecError": ExecError,
}
