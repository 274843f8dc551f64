"""How the function and method library is assembled: explicit tables, listed in one place,
and a package that refuses to start without one of them."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from streams.bloblang import library
from streams.bloblang.registry import Library, Param, merge

PACKAGE = ROOT / "streams" / "bloblang"


def _import_with_broken(module: str) -> subprocess.CompletedProcess[str]:
    """Import the package in a fresh interpreter where ``module`` cannot be imported."""
    code = f"import sys; sys.modules[{module!r}] = None; import streams.bloblang"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_library_module_that_fails_to_import_fails_the_package_import() -> None:
    result = _import_with_broken("streams.bloblang.lib_time")
    assert result.returncode != 0
    assert "ModuleNotFoundError: import of streams.bloblang.lib_time halted" in result.stderr  # an ImportError


def test_every_lib_module_is_listed() -> None:
    for path in sorted(PACKAGE.glob("lib_*.py")):
        module = importlib.import_module(f"streams.bloblang.{path.stem}")
        assert any(module.LIBRARY is lib for lib in library.LIBRARIES), f"{path.name} is not in library.LIBRARIES"


def test_the_merged_tables_hold_every_declared_name() -> None:
    for lib in library.LIBRARIES:
        assert all(library.FUNCTIONS[name] is spec for name, spec in lib.functions.items())
        assert all(library.METHODS[name] is spec for name, spec in lib.methods.items())
    assert library.METHODS["uppercase"].name == "uppercase"
    assert library.FUNCTIONS["uuid_v4"].name == "uuid_v4"


def test_a_name_declared_twice_in_one_table_is_refused() -> None:
    lib = Library()
    lib.method("twice")(lambda target: target)
    with pytest.raises(ValueError, match="method 'twice' declared twice"):
        lib.method("twice", Param("x", "int"))(lambda target, x: x)


def test_an_alias_that_collides_is_refused() -> None:
    lib = Library()
    lib.function("first")(lambda ctx: 1)
    with pytest.raises(ValueError, match="function 'first' declared twice"):
        lib.function("second", aliases=("first",))(lambda ctx: 2)


def test_a_name_declared_by_two_tables_is_refused() -> None:
    one, two = Library(), Library()
    one.method("same")(lambda target: 1)
    two.method("same")(lambda target: 2)
    with pytest.raises(ValueError, match="method 'same' declared by two library modules"):
        merge([one, two])


def _module_imports(path: Path) -> set[str]:
    """The package modules a module imports, at its top or inside a function (an import hidden
    in a function body still closes a cycle)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                module = f"streams.bloblang.{module}".rstrip(".")
            if module == "streams.bloblang":
                out.update(alias.name for alias in node.names)  # from . import timefmt
            elif module.startswith("streams.bloblang."):
                out.add(module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names if a.name.startswith("streams.bloblang."))
    return out


def test_the_package_modules_import_each_other_without_cycles() -> None:
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {name: _module_imports(path) & modules.keys() for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycle = stack[stack.index(name):] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, stack + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
