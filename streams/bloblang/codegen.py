"""Code generator: the Bloblang tree to Python ``ast``, compiled once per mapping.

Each statement becomes one Python function ``S<k>(ctx, t)`` (``t`` is ``this`` inside maps);
each query becomes an expression over runtime helpers. Generated nodes carry the Bloblang line
and column, and the code object is compiled with a filename like ``<bloblang:NAME>``.

Safety: the generated module's globals are only the constants table ``K`` and the library
callables table ``F``, and its ``__builtins__`` are ``runtime.HELPERS`` (no Python builtin).
Mapping data never becomes a Python name or attribute: field names, keys and strings are ``ast.Constant`` values, and the
only identifiers generated are ``ctx``, ``t``, ``n_<label>`` (lambda labels, ``[A-Za-z0-9_]``)
and the fixed helper names.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from streams.bloblang import nodes as N
from streams.bloblang import parser, runtime
from streams.bloblang.errors import TOO_DEEP, ExecError, ParseError, go_line_col
from streams.bloblang.lib_structured import merge as _merge_impl
from streams.bloblang.values import NOTHING

# Methods that Benthos registers as public plugins: their errors are not annotated with the
# target (``RegisterMethodV2`` returns the plugin's error as is).
PLUGIN_METHODS = frozenset(
    ["abs", "compress", "concat", "cos", "decompress", "float32", "float64", "format_timestamp", "format_timestamp_strftime", "format_timestamp_unix", "format_timestamp_unix_micro", "format_timestamp_unix_milli", "format_timestamp_unix_nano", "infer_schema", "parse_duration", "parse_duration_iso8601", "parse_form_url_encoded", "parse_timestamp", "parse_timestamp_strptime", "pow", "sin", "squash", "tan", "ts_add_iso8601", "ts_format", "ts_parse", "ts_round", "ts_strftime", "ts_strptime", "ts_sub", "ts_sub_iso8601", "ts_tz", "ts_unix", "ts_unix_micro", "ts_unix_milli", "ts_unix_nano", "with", "zip", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
)


_AstT = TypeVar("_AstT", bound=ast.AST)


class _Scope:
    """How ``this`` reads in the code being generated: the top-level document, the nearest
    query-argument parameter ``t``, or the map argument ``t``."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "doc" (top level) or "t"


class Generator:
    def __init__(self, filename: str, specialised: bool = True) -> None:
        self.filename = filename
        # The specialised forms (``if_assign``, ``runtime.assign_field``); False for tests.
        self.specialised = specialised
        self.consts: list[Any] = []
        self.const_ids: dict[int, int] = {}
        self.funcs: list[Callable] = []
        self.func_ids: dict[int, int] = {}
        self.defs: list[ast.stmt] = []
        self.in_map = False
        # How the top-level ``root = ...`` being generated may store its value (see
        # ``root_store``); "clone" everywhere else.
        self.root_store = "clone"

    # -- helpers ---------------------------------------------------------------------------
    def at(self, a: _AstT, n: N.Node | None) -> _AstT:
        line = n.line if n is not None else 1
        col = (n.col - 1) if n is not None else 0
        # PERF: only ``a`` itself; ``_load`` gives each node left without a place its nearest
        # placed ancestor's (``fix_missing_locations``). Walking each subtree here again for
        # every enclosing node took half of the code generation.
        if isinstance(a, (ast.expr, ast.stmt)) and "lineno" not in vars(a):
            a.lineno = line
            a.col_offset = col
            a.end_lineno = line
            a.end_col_offset = col
        return a

    def const(self, value: Any) -> ast.expr:
        if value is None or isinstance(value, (bool, str)) or (type(value) in (int, float)):
            return ast.Constant(value)
        key = id(value)
        if key not in self.const_ids:
            self.const_ids[key] = len(self.consts)
            self.consts.append(value)
        return ast.Subscript(ast.Name("K", ast.Load()), ast.Constant(self.const_ids[key]), ast.Load())

    def func(self, fn: Callable) -> ast.expr:
        key = id(fn)
        if key not in self.func_ids:
            self.func_ids[key] = len(self.funcs)
            self.funcs.append(fn)
        return ast.Subscript(ast.Name("F", ast.Load()), ast.Constant(self.func_ids[key]), ast.Load())

    @staticmethod
    def name(n: str) -> ast.Name:
        return ast.Name(n, ast.Load())

    def call(self, fn: str | ast.expr, *args: ast.expr) -> ast.Call:
        f = self.name(fn) if isinstance(fn, str) else fn
        return ast.Call(f, list(args), [])

    @staticmethod
    def lam(params: list[str], body: ast.expr) -> ast.Lambda:
        return ast.Lambda(
            ast.arguments(
                posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
            ),
            body,
        )

    def tup(self, items: list[ast.expr]) -> ast.Tuple:
        return ast.Tuple(items, ast.Load())

    # -- queries -----------------------------------------------------------------------------
    def this(self, scope: _Scope, path: list[str], n: N.Node) -> ast.expr:
        p = self.const(tuple(path))
        if scope.kind == "doc":
            return self.call("_this", self.name("ctx"), p)
        if not path:
            return self.name(scope.kind)
        return self.call("_get", self.name(scope.kind), p)

    def this_or_none(self, scope: _Scope) -> ast.expr:
        if scope.kind == "doc":
            return self.call("_doc_or_none", self.name("ctx"))
        return self.name(scope.kind)

    def expr(self, n: N.Node, scope: _Scope) -> ast.expr:
        return self.at(self._expr(n, scope), n)

    def _expr(self, n: N.Node, scope: _Scope) -> ast.expr:
        if isinstance(n, N.Literal):
            return self.const(n.value)
        if isinstance(n, N.FieldRef):
            if n.named:
                base = self.name("n_" + n.source)
                return self.call("_get", base, self.const(tuple(n.path))) if n.path else base
            if n.source == "root":
                return self.call("_root", self.name("ctx"), self.const(tuple(n.path)))
            return self.this(scope, n.path, n)
        if isinstance(n, N.GetPath):
            return self.call("_get", self.expr(n.target, scope), self.const(tuple(n.path)))
        if isinstance(n, N.VarRef):
            return self.call("_var", self.name("ctx"), ast.Constant(n.name))
        if isinstance(n, N.MetaRef):
            return self.call("_meta", self.name("ctx"), ast.Constant(n.key))
        if isinstance(n, N.ArrayExpr):
            return self.call("_array", self.tup([self.expr(x, scope) for x in n.items]))
        if isinstance(n, N.ObjectExpr):
            pairs: list[ast.expr] = []
            for key, val in n.pairs:
                key_expr: ast.expr
                if isinstance(key, N.Node):
                    key_expr = self.lam([], self.expr(key, scope))
                    dyn = True
                else:
                    key_expr = ast.Constant(key)
                    dyn = False
                pairs.append(self.tup([key_expr, ast.Constant(dyn), self.lam([], self.expr(val, scope))]))
            return self.call("_object", self.tup(pairs))
        if isinstance(n, N.Not):
            return self.call("_not", self.expr(n.operand, scope), ast.Constant(n.operand.annotation))
        if isinstance(n, N.BinOp):
            left = self.expr(n.left, scope)
            right = self.expr(n.right, scope)
            if n.op == "&&":
                return ast.BoolOp(ast.And(), [self.call("_bool", left), self.call("_bool", right)])
            if n.op == "||":
                return ast.BoolOp(ast.Or(), [self.call("_bool", left), self.call("_bool", right)])
            if n.op == "|":
                return self.call("_coalesce", self.lam([], left), self.lam([], right))
            if n.op in ("==", "!="):
                # PERF: equality checks get their own helper, which compares two strings
                # directly (see ``runtime.equal_op``).
                helper = "_eq" if n.op == "==" else "_ne"
                return self.call(helper, left, right, ast.Constant(n.left.annotation), ast.Constant(n.right.annotation))
            return self.call(
                "_binop",
                ast.Constant(n.op),
                left,
                right,
                ast.Constant(n.left.annotation),
                ast.Constant(n.right.annotation),
            )
        if isinstance(n, N.IfExpr):
            out: ast.expr = self.expr(n.otherwise, scope) if n.otherwise is not None else self.const(NOTHING)
            for k in range(len(n.branches) - 1, -1, -1):
                cond, then = n.branches[k]
                test = self.call(
                    "_check_if", self.lam([], self.expr(cond, scope)), ast.Constant(cond.annotation), ast.Constant(k)
                )
                out = ast.IfExp(test, self.expr(then, scope), out)
            return out
        if isinstance(n, N.MatchExpr):
            subject = self.expr(n.subject, scope) if n.subject is not None else self.this_or_none(scope)
            cases: list[ast.expr] = []
            for c in n.cases:
                case: ast.expr
                if c.kind == "any":
                    case = ast.Constant(None)
                elif c.kind == "literal":
                    assert isinstance(c.case, N.Literal)
                    case = self.const(c.case.value)
                else:
                    assert c.case is not None
                    case = self.query_fn(c.case, scope)
                cases.append(self.tup([ast.Constant(c.kind), case, self.query_fn(c.result, scope)]))
            return self.call("_match", subject, self.tup(cases))
        if isinstance(n, N.Lambda):
            # A lambda in value position captures the current context value.
            return self.call(self.query_fn(n, scope), self.this_value(scope))
        if isinstance(n, N.MapExpr):
            return self.call(self.query_fn(n.query, scope), self.expr(n.target, scope))
        if isinstance(n, N.Call):
            return self.call_expr(n, scope)
        raise TypeError(f"cannot generate code for {type(n).__name__}")

    def this_value(self, scope: _Scope) -> ast.expr:
        if scope.kind == "doc":
            return self.call("_this", self.name("ctx"), self.const(()))
        return self.name(scope.kind)

    def query_fn(self, n: N.Node, scope: _Scope) -> ast.expr:
        """A query argument: a one-argument callable that runs ``n`` with ``this`` bound to its
        argument (a ``label -> q`` lambda binds the label instead and keeps ``this``)."""
        if isinstance(n, N.Lambda):
            param = "n_" + n.name if n.name != "_" else "_unused"
            fn = self.lam([param], self.expr(n.body, scope))
        elif isinstance(n, N.Literal):
            fn = self.lam(["_unused"], self.const(n.value))
        else:
            fn = self.lam(["t"], self.expr(n, _Scope("t")))
        return self.at(self.call("_q", fn, ast.Constant(n.annotation)), n)

    def call_expr(self, n: N.Call, scope: _Scope) -> ast.expr:
        spec = n.spec
        assert spec is not None
        if n.target is None:
            return self.function_call(n, scope)
        name = n.name
        target = n.target
        if spec.syntax:  # the generator emits the behaviour instead of a library call
            if name == "catch":
                return self.call("_catch", self.lam([], self.expr(target, scope)), self.query_fn(n.args[0], scope))
            if name == "or":
                return self.call("_or", self.lam([], self.expr(target, scope)), self.lam([], self.expr(n.args[0], scope)))
            if name == "map":
                return self.call(self.query_fn(n.args[0], scope), self.expr(target, scope))
            if name == "not":
                return self.call("_not", self.expr(target, scope), ast.Constant(target.annotation))
            if name == "apply":
                return self.call(
                    "_apply", self.name("ctx"), self.expr(target, scope), self.arg(n, 0, spec.params[0], scope, "method")
                )
            if name == "from":
                return self.call(
                    "_from",
                    self.name("ctx"),
                    self.arg(n, 0, spec.params[0], scope, "method"),
                    self.lam(["ctx"], self.expr(target, scope)),
                )
            if name == "from_all":
                return self.call("_from_all", self.name("ctx"), self.lam(["ctx"], self.expr(target, scope)))
            if name == "bloblang":
                # An ordinary method call whose implementation (and check) is the compiler's.
                return self.method_call(n, target, scope, self.func(run_sandboxed), check_sandboxed)
        return self.method_call(n, target, scope, self.impl(n), spec.check)

    def method_call(
        self, n: N.Call, target: N.Node, scope: _Scope, impl: ast.expr, check: Callable[..., None] | None
    ) -> ast.expr:
        spec = n.spec
        assert spec is not None
        name = n.name
        args = self.args(n, scope, "method")
        tgt = self.expr(target, scope)
        plugin = name in PLUGIN_METHODS
        ann = ast.Constant(None if plugin else target.annotation)
        if spec.target_default and not (isinstance(n.args[0], N.Literal) and n.args[0].value is None):
            # The default also stands in for a failing target, so the target runs inside the
            # helper (after the argument, as Benthos resolves a dynamic default first).
            return self.call("_md", impl, ann, args[0], self.lam([], tgt))
        if spec.variadic:
            dynamic = any(not isinstance(a, N.Literal) for a in n.args)
        else:
            dynamic = any(prm.kind != "query" and not isinstance(a, N.Literal) for prm, a in zip(spec.params, n.args, strict=False))
        if dynamic:
            # NOTE: Benthos resolves dynamic arguments before it runs the target, so which error
            # wins when both fail depends on this order.
            lead = [self.name("ctx")] if spec.context else []
            if check is not None:
                # Benthos builds the method from the resolved arguments, so its constructor
                # checks (``spec.check``) fail before the target runs.
                return self.call(
                    "_mck", impl, ann, self.func(check), lead[0] if lead else ast.Constant(None), self.tup(args), self.lam([], tgt)
                )
            helper = "_mcr" if spec.context else "_mr"
            return self.call(helper, impl, ann, *lead, *args, tgt)
        if plugin:
            if spec.context:
                return self.call(impl, self.name("ctx"), tgt, *args)
            return self.call(impl, tgt, *args)
        if spec.context:
            return self.call("_mc", impl, ann, self.name("ctx"), tgt, *args)
        return self.call("_m", impl, ann, tgt, *args)

    def function_call(self, n: N.Call, scope: _Scope) -> ast.expr:
        spec = n.spec
        assert spec is not None
        if n.name == "var" and n.args and isinstance(n.args[0], N.Literal):
            return self.call("_var", self.name("ctx"), ast.Constant(n.args[0].value))
        args = self.args(n, scope, "function")
        return self.call(self.impl(n), self.name("ctx"), *args)

    def impl(self, n: N.Call) -> ast.expr:
        spec = n.spec
        assert spec is not None
        if spec.stateful:
            return self.func(spec.impl())
        return self.func(spec.impl)

    def args(self, n: N.Call, scope: _Scope, what: str) -> list[ast.expr]:
        spec = n.spec
        assert spec is not None
        if spec.variadic:
            out = []
            dyn_index = 0
            for a in n.args:
                if isinstance(a, N.Literal):
                    out.append(self.const(a.value))
                else:
                    out.append(
                        self.call(
                            "_dyn",
                            ast.Constant("any"),
                            ast.Constant(False),
                            ast.Constant(f"{what} '{n.name}': failed to extract input arg '{dyn_index}'"),
                            self.lam([], self.expr(a, scope)),
                        )
                    )
                    dyn_index += 1
            return out
        return [self.arg(n, k, prm, scope, what) for k, prm in enumerate(spec.params)]

    def arg(self, n: N.Call, k: int, prm: Any, scope: _Scope, what: str) -> ast.expr:
        a = n.args[k]
        if prm.kind == "query":
            if prm.nullable and isinstance(a, N.Literal) and a.value is None and a.label == "default":
                return ast.Constant(None)  # an optional query that was not given
            return self.query_fn(a, scope)
        if isinstance(a, N.Literal):
            return self.const(a.value)
        # NOTE: a dynamic argument that resolves to null is an error even for an optional
        # parameter: Benthos's optional parameters have no null value.
        return self.call(
            "_dyn",
            ast.Constant(prm.kind),
            ast.Constant(False),
            ast.Constant(f"{what} '{n.name}': failed to extract input arg '{prm.name}'"),
            self.lam([], self.expr(a, scope)),
        )

    # -- statements ----------------------------------------------------------------------------
    def statement(self, s: N.Node, scope: _Scope, index: int, prefix: str) -> str:
        """Emit ``def <prefix><index>(ctx, t)`` for one statement and return its name."""
        name = f"{prefix}{index}"
        body = self.stmt_body(s, scope)
        fn = ast.FunctionDef(
            name=name,
            args=ast.arguments(
                posonlyargs=[], args=[ast.arg("ctx"), ast.arg("t")], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
            ),
            body=body or [ast.Pass()],
            decorator_list=[],
            returns=None,
        )
        self.defs.append(self.at(fn, s))
        return name

    def stmt_body(self, s: N.Node, scope: _Scope) -> list[ast.stmt]:
        if isinstance(s, N.Assign):
            out: list[ast.stmt]
            if self.specialised and isinstance(s.query, N.IfExpr):
                out = self.if_assign(s.query, scope, 0)
            else:
                out = [self.at(ast.Assign([ast.Name("v", ast.Store())], self.expr(s.query, scope)), s)]
            if s.kind == "root":
                if len(s.path) == 1 and self.specialised:
                    act = self.call("_set_field", self.name("ctx"), ast.Constant(s.path[0]), self.name("v"))
                elif s.path:
                    act = self.call("_set_path", self.name("ctx"), self.const(tuple(s.path)), self.name("v"))
                else:
                    setter = "_set_root"
                    if self.root_store != "clone" and shareable_value(s.query):
                        setter = "_set_root_shared" if self.root_store == "share" else "_set_root_top"
                    act = self.call(setter, self.name("ctx"), self.name("v"))
            elif s.kind == "meta":
                if self.in_map:
                    act = self.call("_no_meta")
                else:
                    act = self.call("_set_meta", self.name("ctx"), ast.Constant(s.key), self.name("v"))
            else:
                act = self.call("_set_var", self.name("ctx"), ast.Constant(s.key), self.name("v"))
            is_set = ast.Compare(self.name("v"), [ast.IsNot()], [self.name("NOTHING")])
            out.append(self.at(ast.If(is_set, [ast.Expr(act)], []), s))
            return out
        if isinstance(s, N.IfStmt):
            # The branches' own later statements are not looked at by ``root_stores``.
            store, self.root_store = self.root_store, "clone"
            try:
                return self.if_stmt(s, scope)
            finally:
                self.root_store = store
        raise TypeError(f"cannot generate a statement for {type(s).__name__}")

    def if_assign(self, n: N.IfExpr, scope: _Scope, k: int) -> list[ast.stmt]:
        """``v = if c { a } else if ... { b } else { d }`` as Python ``if`` statements.

        PERF: an assignment whose whole query is an ``if`` expression (``root = if ... {
        deleted() }``) tests its conditions in the statement itself instead of through a
        lambda and ``_check_if`` per message. Same order, errors and null rule: a failing
        condition is wrapped as ``failed to check if condition[ k]``, null counts as false and
        any other non-boolean fails in ``_if_cond``."""
        if k == len(n.branches):
            value = self.expr(n.otherwise, scope) if n.otherwise is not None else self.const(NOTHING)
            return [self.at(ast.Assign([ast.Name("v", ast.Store())], value), n)]
        cond, then = n.branches[k]
        prefix = "failed to check if condition" if k == 0 else f"failed to check if condition {k}"
        c = self.name("c")
        evaluate = ast.Try(
            body=[ast.Assign([ast.Name("c", ast.Store())], self.expr(cond, scope))],
            handlers=[
                ast.ExceptHandler(
                    type=self.name("ExecError"),
                    name="exc",
                    body=[ast.Raise(exc=self.call("_wrap", ast.Constant(prefix), self.name("exc")), cause=ast.Constant(None))],
                )
            ],
            orelse=[],
            finalbody=[],
        )
        is_true = ast.Compare(c, [ast.Is()], [ast.Constant(True)])
        is_false = ast.BoolOp(
            ast.Or(), [ast.Compare(c, [ast.Is()], [ast.Constant(False)]), ast.Compare(c, [ast.Is()], [ast.Constant(None)])]
        )
        then_body: list[ast.stmt] = [ast.Assign([ast.Name("v", ast.Store())], self.expr(then, scope))]
        fails: list[ast.stmt] = [ast.Expr(self.call("_if_cond", c, ast.Constant(cond.annotation), ast.Constant(k)))]
        choose = ast.If(is_true, then_body, [ast.If(is_false, self.if_assign(n, scope, k + 1), fails)])
        return [self.at(evaluate, cond), self.at(choose, cond)]

    def if_stmt(self, s: N.IfStmt, scope: _Scope) -> list[ast.stmt]:
        """A top-level ``if`` statement: an ``if``/``elif`` chain over its branches."""
        chain: list[ast.stmt] = []
        for k in range(len(s.branches) - 1, -1, -1):
            cond, stmts = s.branches[k]
            body: list[ast.stmt] = []
            for sub in stmts:
                body.extend(self.stmt_body(sub, scope))
            if not body:
                body = [ast.Pass()]
            if cond is None:
                chain = body
                continue
            test = self.call(
                "_check_if_stmt", self.lam([], self.expr(cond, scope)), ast.Constant(cond.annotation), ast.Constant(k)
            )
            chain = [self.at(ast.If(test, body, chain), s)]
        return chain


def shareable_value(query: N.Node) -> bool:
    """Whether ``query`` (at the top level) yields a value that ``root = query`` may keep
    without a deep copy: the input document or part of it (``this``, ``this.a.b``), or the
    merge of one with something else (``this.merge(x)``: ``merge`` builds a new object and
    copies its argument). Such values hold no array literal still marked as written in the
    mapping (``NilList``), which only a copy turns into a real array; anything else a mapping
    can compute might."""
    if isinstance(query, N.FieldRef):
        return query.source == "this" and not query.named
    if isinstance(query, N.Call) and query.name == "merge" and query.target is not None:
        spec = query.spec
        return spec is not None and not spec.syntax and spec.impl is _merge_impl and shareable_value(query.target)
    return False


def root_stores(statements: list[N.Node]) -> list[str]:
    """For each top-level statement, how a ``root = ...`` there may store its value.

    PERF: an assignment copies its value deeply so that later path assignments (which change
    the root in place) cannot reach the input document or a constant. When no later statement
    assigns a path of the root, nothing can change the value any more and it is stored as is
    ("share": message values are never changed in place once set); when later statements only
    assign top-level fields (``root.a = ...``), a copy of the top object or array is enough
    ("top"); otherwise the deep copy stays ("clone")."""
    out = []
    depth = 0  # the deepest root path assigned after the statement at hand
    for statement in reversed(statements):
        out.append("share" if depth == 0 else "top" if depth == 1 else "clone")
        depth = max(depth, _root_path_depth(statement))
    return out[::-1]


def _root_path_depth(s: N.Node) -> int:
    """The longest root path ``s`` assigns (0 when it assigns none)."""
    if isinstance(s, N.Assign):
        return len(s.path) if s.kind == "root" else 0
    if isinstance(s, N.IfStmt):
        return max((_root_path_depth(sub) for _, stmts in s.branches for sub in stmts), default=0)
    return 0


def _doc_or_none(ctx: runtime.Context) -> Any:
    try:
        return ctx.doc("")
    except Exception:
        return None


def _no_meta() -> None:
    raise ExecError("unable to assign metadata in the current context")


class Compiled:
    """The compiled form of a program: top-level statements and named maps as Python callables
    with the Bloblang line of each statement (for ``failed assignment (line N)``)."""

    def __init__(self, statements: list[tuple[int, Callable]], maps: dict[str, CompiledMap]) -> None:
        self.statements = statements
        self.maps = maps

    def exec_value(self, value: Any, settings: parser.Settings) -> Any:
        """Run against a plain value and return the root as is (``NOTHING``/``DELETE`` included),
        as a named map or the ``bloblang`` method does. Raises ``ExecError``."""
        ctx = runtime.Context([], 0, meta=None, root=NOTHING, doc=value, settings=settings, maps=self.maps)
        for line, fn in self.statements:
            try:
                fn(ctx, None)
            except ExecError as exc:
                raise failed_assignment(line, exc, nested=True) from None
            except RecursionError:
                raise ExecError(f"failed assignment (line {line}): the mapping recursed too deeply") from None
        return ctx.root


class CompiledMap:
    """A named map: runs its statements with ``this`` bound to the target, returns its root."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.statements: list[tuple[int, Callable]] = []

    def __call__(self, ctx: runtime.Context, target: Any) -> Any:
        for line, fn in self.statements:
            try:
                fn(ctx, target)
            except ExecError as exc:
                raise failed_assignment(line, exc, nested=True) from None
            except RecursionError:
                raise ExecError(
                    f"entering map {self.name} exceeded maximum allowed stacks of {runtime.MAX_MAP_STACKS}, "
                    "this could be due to unbounded recursion",
                    annotated=True,
                ) from None
        return ctx.root


def failed_assignment(line: int, exc: Any, nested: bool = False) -> Any:
    """Go's ``failedAssignmentErr``: inside maps an inner failed assignment is kept as is."""
    if nested:
        e = exc
        while e is not None:
            if getattr(e, "failed_line", None) is not None:
                return e
            e = getattr(e, "cause", None)
    err = ExecError(f"failed assignment (line {line}): {exc}", cause=exc)
    err.failed_line = line  # type: ignore[attr-defined]
    return err


def _load(gen: Generator, defs: list[ast.stmt]) -> dict[str, Any]:
    """Compile the generated functions and run the module in its restricted globals (only this
    mapping's constants ``K`` and callables ``F``, with the runtime helpers as its builtins and
    no Python builtin at all); returns those globals, where the functions now are.

    PERF: the helpers are one dict shared by every mapping, as the module's ``__builtins__``: a
    copy in each mapping's globals was 1.5 KiB, and a stream whose mapping names the user (the
    seed's ``$tyk_context.request_data_user``) compiles a mapping per user."""
    module = ast.Module(body=defs, type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, gen.filename, "exec")
    env: dict[str, Any] = {"__builtins__": _GENERATED_BUILTINS, "K": tuple(gen.consts), "F": tuple(gen.funcs)}
    exec(code, env)  # noqa: S102 - generated from our own AST, globals restricted above
    return env


_GENERATED_BUILTINS: dict[str, Any] = {**runtime.HELPERS, "_doc_or_none": _doc_or_none, "_no_meta": _no_meta}
"""The only names generated code finds beyond its own globals (see ``_load``)."""


def compile_program(prog: N.Program, filename: str, share_root: bool = True, specialised: bool = True) -> Compiled:
    """``share_root`` False keeps every root assignment a deep copy: a run against a value
    that did not come from a message (the ``bloblang`` method) may see array literals.
    ``specialised`` False generates assignments of ``if`` expressions and of single root
    fields the general way (tests compare the two)."""
    gen = Generator(filename, specialised)
    top: list[tuple[int, str]] = []
    stores = root_stores(prog.statements)
    for k, s in enumerate(prog.statements):
        gen.root_store = stores[k] if share_root else "clone"
        top.append((go_line_col(prog.source, s.pos)[0], gen.statement(s, _Scope("doc"), k, "S")))
    gen.root_store = "clone"
    map_entries: dict[str, tuple[CompiledMap, list[tuple[int, str]]]] = {}
    gen.in_map = True
    for mi, (mname, mdef) in enumerate(prog.maps.items()):
        names = []
        for k, s in enumerate(mdef.statements):
            names.append((go_line_col(mdef.source, s.pos - mdef.pos)[0], gen.statement(s, _Scope("t"), k, f"M{mi}_")))
        map_entries[mname] = (CompiledMap(mname), names)
    env = _load(gen, gen.defs)
    maps = {}
    for mname, (cm, names) in map_entries.items():
        cm.statements = [(line, env[fn]) for line, fn in names]
        maps[mname] = cm
    return Compiled([(line, env[fn]) for line, fn in top], maps)


def compile_query(node: N.Node, filename: str) -> Callable[[runtime.Context], Any]:
    """A lone query (for interpolations and query evaluation): ``fn(ctx) -> value``."""
    gen = Generator(filename)
    body = gen.expr(node, _Scope("doc"))
    fn = ast.FunctionDef(
        name="Q",
        args=ast.arguments(
            posonlyargs=[], args=[ast.arg("ctx")], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
        ),
        body=[gen.at(ast.Return(body), node)],
        decorator_list=[],
        returns=None,
    )
    return _load(gen, [gen.at(fn, node)])["Q"]


# --------------------------------------------------------------------------------------------
# The ``bloblang`` method: a mapping given as data, compiled once per text and run sandboxed

_SANDBOX = parser.Settings(sandboxed=True)
_SANDBOXED: dict[str, Compiled] = {}
_SANDBOXED_LOCK = threading.Lock()
_SANDBOXED_MAX = 1024


def _compile_sandboxed(source: str) -> Compiled:
    """Raises ``ParseError``. Cached by text, except mappings holding per-call-site state
    (``counter()``), which are compiled afresh for every call as Benthos does."""
    compiled = _SANDBOXED.get(source)
    if compiled is not None:
        return compiled
    try:
        prog = parser.parse_mapping(source, _SANDBOX)
        compiled = compile_program(prog, "<bloblang:mapping>", share_root=False)
    except (RecursionError, MemoryError):
        raise ParseError(TOO_DEEP, 1, 1) from None
    if not N.has_state(prog):
        with _SANDBOXED_LOCK:
            if len(_SANDBOXED) >= _SANDBOXED_MAX:
                _SANDBOXED.clear()
            _SANDBOXED[source] = compiled
    return compiled


def check_sandboxed(mapping: str) -> None:
    """The check of a dynamic mapping, before the target runs: its failure in Go's ``Error()``
    words (the parser checks a literal mapping itself, with the outer one)."""
    try:
        _compile_sandboxed(mapping)
    except ParseError as exc:
        raise ExecError(exc.plain) from None


def run_sandboxed(ctx: runtime.Context, target: Any, mapping: str) -> Any:
    """Runs ``mapping`` with ``this`` bound to ``target``; returns its root."""
    try:
        compiled = _compile_sandboxed(mapping)
    except ParseError as exc:
        # NOTE: Benthos reports the parse failure of a dynamic mapping unannotated, in the
        # parser's own words (no position).
        raise ExecError(exc.plain, annotated=True) from None
    try:
        return compiled.exec_value(target, _SANDBOX)
    except ExecError as exc:
        # NOTE: the method passes the inner mapping's failure on unannotated, as Benthos does.
        raise ExecError(str(exc), cause=exc, annotated=True) from None
