"""What a mapping reads from and writes to the document, by path: the facts a ``workflow``
orders its branches by (a branch whose ``request_map`` reads ``this.foo.id`` runs after one
whose ``result_map`` assigns ``root.foo``).

Read from the mapping's syntax tree: ``this.a.b`` and ``json("a.b")`` outside the queries that
rebind ``this`` (``x.(...)``, lambdas), and ``root.a = ...`` assignments (metadata and variables
are not the document's).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from streams.bloblang import Mapping, nodes, parser
from streams.bloblang.paths import dot_path_to_slice

Path = tuple[str, ...]


def read_paths(mapping: Mapping) -> list[Path]:
    """The document paths ``mapping`` reads, in order of first appearance."""
    found: list[Path] = []
    _walk(parser.parse_mapping(mapping.source), found)
    return list(dict.fromkeys(found))


def assigned_paths(mapping: Mapping) -> list[Path]:
    """The document paths ``mapping`` assigns (``()`` for the whole root)."""
    found: list[Path] = []
    _assigned(parser.parse_mapping(mapping.source).statements, found)
    return list(dict.fromkeys(found))


def _assigned(statements: list[Any], found: list[Path]) -> None:
    for stmt in statements:
        if isinstance(stmt, nodes.Assign) and stmt.kind == "root":
            found.append(tuple(stmt.path))
        elif isinstance(stmt, nodes.IfStmt):
            for _, body in stmt.branches:
                _assigned(body, found)


def _walk(node: Any, found: list[Path]) -> None:
    if isinstance(node, nodes.FieldRef) and node.source == "this" and not node.named:
        found.append(tuple(node.path))
        return
    if isinstance(node, nodes.Call) and node.target is None and node.name == "json" and node.args:
        arg = node.args[0]
        if isinstance(arg, nodes.Literal) and isinstance(arg.value, str):
            found.append(tuple(dot_path_to_slice(arg.value)) if arg.value else ())
            return
    if isinstance(node, nodes.MapExpr):
        _walk(node.target, found)  # the query inside reads the target, not the document
        return
    if isinstance(node, nodes.Lambda):
        return
    if isinstance(node, list | tuple):
        for item in node:
            _walk(item, found)
        return
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name not in ("spec", "maps"):
                _walk(getattr(node, f.name), found)
