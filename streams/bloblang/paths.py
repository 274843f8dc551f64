"""Dot paths (gabs's ``DotPathToSlice`` and its inverse): ``a.b~1c`` is ``["a", "b.c"]``.

A leaf module: the parser splits paths, the runtime and the tree's annotations join them back.
"""

from __future__ import annotations


def dot_path_to_slice(path: str) -> list[str]:
    """gabs.DotPathToSlice: split on dots, then unescape ``~1`` to ``.`` and ``~0`` to ``~``."""
    return [seg.replace("~1", ".").replace("~0", "~") for seg in path.split(".")]


def slice_to_dot_path(path: list[str] | tuple[str, ...]) -> str:
    return ".".join(s.replace("~", "~0").replace(".", "~1") for s in path)
