"""How the Bloblang runtime library is declared: ``Param``, ``Spec`` and ``Library`` tables.

Each ``lib_*.py`` module fills its own ``LIBRARY = Library()`` with decorators, and
``library.py`` lists those tables and merges them into the ``FUNCTIONS`` and ``METHODS`` the
parser reads. Adding a function or method is adding one decorated Python function to a
``lib_*.py`` module (a new module also needs its line in ``library.py``). The compiler looks
names up in the merged tables when it builds a call, checks and converts the arguments against
``Param`` declarations, and emits a call to ``impl``. Nothing else in the package knows a
function or method by name, except the few that are syntax in disguise (``catch``, ``or``,
``apply``, ``from``, ``bloblang``...), which the core declares with ``syntax=True``.

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

from collections.abc import Callable, Iterable
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
    """A declared function or method."""

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
    # Syntax in disguise (``catch``, ``apply``, ``bloblang``...): the parser knows the parameters
    # from this spec, but the compiler emits the behaviour; ``impl`` only refuses a direct call.
    syntax: bool = False


Impl = Callable[..., Any]
Check = Callable[..., None]


class Library:
    """The functions and methods of one ``lib_*.py`` module, keyed by name (aliases included).

    Its decorators only fill this table; nothing is registered anywhere else until
    ``library.py`` merges the tables it lists. A name declared twice in one table is an error
    when the module is imported, a name declared by two tables when they are merged.
    """

    def __init__(self) -> None:
        self.functions: dict[str, Spec] = {}
        self.methods: dict[str, Spec] = {}

    def function(
        self,
        name: str,
        *params: Param,
        variadic: bool = False,
        static: bool = False,
        impure: bool = False,
        stateful: bool = False,
        deprecated: bool = False,
        aliases: tuple[str, ...] = (),
        check: Check | None = None,
    ) -> Callable[[Impl], Impl]:
        """Declare a function: ``@LIBRARY.function("uuid_v4")``."""

        def make(impl: Impl) -> Spec:
            return Spec(
                name=name, impl=impl, params=params, variadic=variadic, static=static, impure=impure,
                stateful=stateful, deprecated=deprecated, aliases=aliases, check=check,
            )

        return self._add(self.functions, "function", make)

    def method(
        self,
        name: str,
        *params: Param,
        variadic: bool = False,
        static: bool = False,
        impure: bool = False,
        context: bool = False,
        stateful: bool = False,
        deprecated: bool = False,
        aliases: tuple[str, ...] = (),
        check: Check | None = None,
        target_default: bool = False,
        syntax: bool = False,
    ) -> Callable[[Impl], Impl]:
        """Declare a method: ``@LIBRARY.method("uppercase")`` /
        ``@LIBRARY.method("repeat", Param("count", "int"))``."""

        def make(impl: Impl) -> Spec:
            return Spec(
                name=name, impl=impl, params=params, variadic=variadic, static=static, impure=impure,
                context=context, stateful=stateful, deprecated=deprecated, aliases=aliases, check=check,
                target_default=target_default, syntax=syntax,
            )

        return self._add(self.methods, "method", make)

    @staticmethod
    def _add(table: dict[str, Spec], kind: str, make: Callable[[Impl], Spec]) -> Callable[[Impl], Impl]:
        def decorate(impl: Impl) -> Impl:
            spec = make(impl)
            for name in (spec.name, *spec.aliases):
                if name in table:
                    raise ValueError(f"{kind} {name!r} declared twice")
                table[name] = spec
            return impl

        return decorate


def merge(libraries: Iterable[Library]) -> tuple[dict[str, Spec], dict[str, Spec]]:
    """The functions and the methods of several tables; a name in two of them is an error."""
    functions: dict[str, Spec] = {}
    methods: dict[str, Spec] = {}
    for lib in libraries:
        for kind, into, table in (("function", functions, lib.functions), ("method", methods, lib.methods)):
            for name, spec in table.items():
                if name in into:
                    raise ValueError(f"{kind} {name!r} declared by two library modules")
                into[name] = spec
    return functions, methods
