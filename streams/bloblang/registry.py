"""The two registries of the Bloblang runtime library: functions and methods.

Adding a function or method is adding one decorated Python function in a ``lib_*.py`` module
(imported by ``streams/bloblang/library.py``). The compiler looks names up here when it builds a
call, checks and converts the arguments against ``Param`` declarations, and emits a call to
``impl``. Nothing else in the package knows a function or method by name, except the few that are
syntax in disguise (``catch``, ``or``, ``apply``, ``from``...), which the core registers itself.

Calling conventions (values are the runtime values described in ``values.py``):

* method:   ``impl(target, *args)``; with ``context=True``: ``impl(ctx, target, *args)``
* function: ``impl(ctx, *args)``
* ``stateful=True``: ``impl()`` is called once per call site when the mapping is compiled and
  returns the callable used above (e.g. ``counter()`` keeps its count per call site).

Arguments arrive converted to the declared kind, positional or named (``foo(a: 1)``) alike, with
defaults filled in. A ``query`` argument arrives unevaluated as ``fn(value) -> result``, which runs
the argument with ``this`` bound to ``value`` (a lambda ``x -> ...`` binds ``x`` instead); it has
an ``annotation`` attribute (the query's name in errors, for ``runtime.annotate(err, fn.annotation)``
where Benthos does ``ErrFrom(err, queryFn)``). An optional ``query`` parameter that was not given
arrives as None.

Implementations raise ``ExecError("bare reason")``; the runtime adds Benthos's annotations: for a
method it prefixes ``<target annotation>: `` (or, for a type error from ``values.type_error``,
inserts ``from <target annotation>``), except for the methods Benthos registers as public plugins
(``codegen.PLUGIN_METHODS``: the ``ts_*``/casts/trig/``zip``... family), whose errors pass as is.
``ExecError(..., annotated=True)`` marks an error that must not be annotated again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REQUIRED: Any = object()
"""Marks a parameter without a default."""

PARAM_KINDS = frozenset(
    {"any", "string", "int", "float", "number", "bool", "array", "object", "timestamp", "query"}
)


@dataclass(frozen=True)
class Param:
    """One declared parameter, in Benthos's order (named arguments map onto these names)."""

    name: str
    kind: str = "any"
    default: Any = REQUIRED
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Spec:
    """A registered function or method."""

    name: str
    impl: Callable[..., Any]
    params: tuple[Param, ...] = ()
    variadic: bool = False  # any number of positional ``any`` arguments (e.g. ``without``, ``format``)
    static: bool = False  # pure and cheap: folded at parse time when target and args are literals
    impure: bool = False  # touches the host (env, files, hostname): off unless the settings allow it
    context: bool = False  # methods only: impl receives the execution context first
    stateful: bool = False  # impl is a factory called once per call site
    deprecated: bool = False
    aliases: tuple[str, ...] = field(default=())
    # Parse-time argument check, Benthos's constructor errors: called with the converted
    # arguments when all of them are literals; raising ExecError makes the mapping a parse
    # error (``"x".slice(3, 1)``: ``lower slice bound 3 must be lower than upper (1)``).
    check: Callable[..., None] | None = None
    # The single parameter is a default that is also returned when the TARGET fails (Benthos's
    # ``bool``/``number``/``timestamp`` run their target themselves and swallow its error).
    target_default: bool = False


FUNCTIONS: dict[str, Spec] = {}
METHODS: dict[str, Spec] = {}


def _register(table: dict[str, Spec], kind: str, name: str, params: tuple[Param, ...], **flags: Any):
    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        if name in table:
            raise ValueError(f"{kind} {name!r} registered twice")
        spec = Spec(name=name, impl=impl, params=params, **flags)
        table[name] = spec
        for alias in spec.aliases:
            table[alias] = spec
        return impl

    return decorate


def method(name: str, *params: Param, **flags: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a method: ``@method("uppercase")`` / ``@method("repeat", Param("count", "int"))``."""
    return _register(METHODS, "method", name, params, **flags)


def function(name: str, *params: Param, **flags: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function: ``@function("uuid_v4")``."""
    return _register(FUNCTIONS, "function", name, params, **flags)
