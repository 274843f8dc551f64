"""The typed Bloblang syntax tree.

Every node carries ``pos`` (offset into its source), ``line`` and ``col`` (1-based), so the code
generator can give generated Python the Bloblang position and errors can point at the mapping.
Nodes also carry ``annotation``: the text Benthos uses to name a query in error messages
(``field `this.a```, ``string literal``, ``method uppercase``...), computed once by the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.bloblang.paths import dot_path_to_slice, slice_to_dot_path
from streams.bloblang.registry import Spec
from streams.bloblang.values import type_name


@dataclass(eq=False)
class Node:
    pos: int = field(default=0, kw_only=True)
    line: int = field(default=1, kw_only=True)
    col: int = field(default=1, kw_only=True)

    @property
    def annotation(self) -> str:  # pragma: no cover - overridden
        return "query"


# ---------------------------------------------------------------------------------- queries


@dataclass(eq=False)
class Literal(Node):
    """A constant (also the result of folding literal arithmetic and static methods)."""

    value: Any = None
    label: str = ""

    @property
    def annotation(self) -> str:
        if self.label:
            return self.label
        return f"{type_name(self.value)} literal"


@dataclass(eq=False)
class ArrayExpr(Node):
    items: list[Node] = field(default_factory=list)

    @property
    def annotation(self) -> str:
        return "array literal"


@dataclass(eq=False)
class ObjectExpr(Node):
    """Keys are ``str`` (static) or query nodes (dynamic)."""

    pairs: list[tuple[Any, Node]] = field(default_factory=list)

    @property
    def annotation(self) -> str:
        return "object literal"


@dataclass(eq=False)
class FieldRef(Node):
    """``this.a.b`` (source "this"), ``root.a`` (source "root"), or a named context ``x.a``."""

    source: str = "this"
    path: list[str] = field(default_factory=list)
    named: bool = False

    @property
    def annotation(self) -> str:
        text = self.source
        if self.path:
            text += "." + slice_to_dot_path(self.path)
        return f"field `{text}`"


@dataclass(eq=False)
class GetPath(Node):
    """A field tail on anything that is not a plain field reference: ``foo().bar``."""

    target: Node = None  # type: ignore[assignment]
    path: list[str] = field(default_factory=list)

    @property
    def annotation(self) -> str:
        return f"path `{slice_to_dot_path(self.path)}`"


@dataclass(eq=False)
class VarRef(Node):
    name: str = ""

    @property
    def annotation(self) -> str:
        return f"variable {self.name}"


@dataclass(eq=False)
class MetaRef(Node):
    """``@key`` (key set) or ``@`` (all metadata)."""

    key: str | None = None

    @property
    def annotation(self) -> str:
        return f"meta field {self.key}" if self.key else "meta object"


_NAMED_READERS = frozenset({"json", "meta", "metadata", "root_meta", "var"})


@dataclass(eq=False)
class Call(Node):
    """A function call (``target`` None) or a method call. ``args`` are in declaration order;
    each is a node (evaluated at run time) or, for a missing optional parameter, ``MISSING``."""

    name: str = ""
    spec: Spec | None = None
    target: Node | None = None
    args: list[Any] = field(default_factory=list)
    label: str = ""

    @property
    def annotation(self) -> str:
        if self.label:
            return self.label
        if self.target is None:
            # Functions whose literal argument names what they read annotate with it.
            if self.args and isinstance(self.args[0], Literal) and self.name in _NAMED_READERS:
                key = self.args[0].value
                if self.name == "json":
                    return f"json path `{slice_to_dot_path(dot_path_to_slice(key)) if key else ''}`"
                if self.name == "var":
                    return f"variable {key}"
                return f"{self.name} field {key}" if key else f"{self.name} object"
            return f"function {self.name}"
        if self.name == "from" and self.args:
            return f"{self.target.annotation} from {self.args[0].value if isinstance(self.args[0], Literal) else ''}"
        if self.name == "not":
            return f"not {self.target.annotation}"
        if self.name == "map" and self.args:
            return self.args[0].annotation
        if self.name == "apply" and self.args and isinstance(self.args[0], Literal):
            return f"map {self.args[0].value}"
        return f"method {self.name}"


@dataclass(eq=False)
class MapExpr(Node):
    """``target.(query)``: runs ``query`` with ``this`` bound to the target."""

    target: Node = None  # type: ignore[assignment]
    query: Node = None  # type: ignore[assignment]

    @property
    def annotation(self) -> str:
        return self.query.annotation


@dataclass(eq=False)
class Lambda(Node):
    """``name -> body``: binds the context value to ``name`` (``_`` discards it)."""

    name: str = ""
    body: Node = None  # type: ignore[assignment]

    @property
    def annotation(self) -> str:
        return self.body.annotation


@dataclass(eq=False)
class Not(Node):
    operand: Node = None  # type: ignore[assignment]

    @property
    def annotation(self) -> str:
        return f"not {self.operand.annotation}"


@dataclass(eq=False)
class BinOp(Node):
    """Arithmetic, comparison, ``&&``/``||`` and ``|`` (coalesce). The annotation of a binary
    expression is that of its right operand, as in Benthos."""

    op: str = ""
    left: Node = None  # type: ignore[assignment]
    right: Node = None  # type: ignore[assignment]

    @property
    def annotation(self) -> str:
        return self.right.annotation


@dataclass(eq=False)
class IfExpr(Node):
    branches: list[tuple[Node, Node]] = field(default_factory=list)
    otherwise: Node | None = None

    @property
    def annotation(self) -> str:
        return "if expression"


@dataclass(eq=False)
class MatchCase:
    kind: str  # "any" (``_``), "literal" (compare with this) or "query" (must yield true)
    case: Node | None
    result: Node


@dataclass(eq=False)
class MatchExpr(Node):
    subject: Node | None = None
    cases: list[MatchCase] = field(default_factory=list)

    @property
    def annotation(self) -> str:
        return "match expression"


# ---------------------------------------------------------------------------------- statements


@dataclass(eq=False)
class Assign(Node):
    """``kind``: "root" (path relative to root, empty = whole root), "meta" (key None = all
    metadata) or "var"."""

    kind: str = "root"
    path: list[str] = field(default_factory=list)
    key: str | None = None
    query: Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class IfStmt(Node):
    """Root-level ``if``: ``branches`` of (condition or None for else, statements)."""

    branches: list[tuple[Node | None, list[Node]]] = field(default_factory=list)


@dataclass(eq=False)
class MapDef(Node):
    name: str = ""
    statements: list[Node] = field(default_factory=list)
    source: str = ""


@dataclass(eq=False)
class Program(Node):
    """A whole mapping: its statements and every named map (defined or imported)."""

    statements: list[Node] = field(default_factory=list)
    maps: dict[str, MapDef] = field(default_factory=dict)
    source: str = ""


def has_state(node: Any) -> bool:
    """True when a tree calls a stateful (per call site) function or method."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call) and n.spec is not None and n.spec.stateful:
            return True
        if isinstance(n, (Node, MatchCase)):
            stack.extend(vars(n).values())
        elif isinstance(n, (list, tuple)):
            stack.extend(n)
        elif isinstance(n, dict):
            stack.extend(n.values())
    return False
