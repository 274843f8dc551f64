"""Who may import whom (DESIGN §1, README layout): ``streams/`` never imports Falcon, ``handlers/``
never imports Kafka, and the modules at the edges of the engine sit in no import cycle.

Imports are read from the source (every ``import``, in function bodies too), so an import hidden
inside a function to dodge a cycle still counts; the runtime checks import in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Cycles that run through code outside these edge modules, kept visible until they are broken:
# streams.bloblang imports streams.message when it loads, and Message needs the Bloblang value
# codec (two marked imports inside message.py's functions).
KNOWN_CYCLE_MEMBERS = {"streams.message"}
EDGE_MODULES = ("handlers", "streams.brokers", "streams.observability", "streams.tracing", "streams.logformat",
                "streams.durations", "streams.settings", "streams.context", "streams.message", "streams.definitions")


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in ("streams", "handlers"):
        for file in (ROOT / package).rglob("*.py"):
            parts = list(file.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = file
    return modules


def imported_names(file: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules loading it runs, parent packages included (except the
    importer's own packages, which are loaded already when the importer runs)."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, file in modules.items():
        deps = set()
        for imported in imported_names(file):
            parts = imported.split(".")
            for i in range(1, len(parts) + 1):
                target = ".".join(parts[:i])
                own_package = name.startswith(target + ".") and target != imported
                if target in modules and target != name and not own_package:
                    deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def is_edge_module(name: str) -> bool:
    return any(name == edge or name.startswith(edge + ".") for edge in EDGE_MODULES)


def test_no_edge_module_sits_in_an_import_cycle():
    offending = [
        sorted(component)
        for component in cycles(import_graph())
        if any(is_edge_module(m) and m not in KNOWN_CYCLE_MEMBERS for m in component)
    ]
    assert offending == []


def test_the_cycle_finder_sees_imports_inside_functions(tmp_path):
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert cycles(graph) == [{"a", "b"}]
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from streams.tracing import start_tracer\n")
    assert "streams.tracing" in imported_names(module)


def test_streams_never_imports_falcon():
    importers = [name for name, file in project_modules().items()
                 if name.startswith("streams") and any(n.split(".")[0] == "falcon" for n in imported_names(file))]
    assert importers == []


def test_handlers_never_import_kafka():
    importers = [
        name
        for name, file in project_modules().items()
        if name.startswith("handlers")
        and any(n.split(".")[0] == "kafka" or n.startswith("streams.brokers.kafka") for n in imported_names(file))
    ]
    assert importers == []


def loaded_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the names of every module it loaded."""
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_loading_the_http_layer_loads_no_kafka_client():
    loaded = loaded_modules(
        "import importlib, pkgutil, handlers\n"
        "for m in pkgutil.iter_modules(handlers.__path__):\n"
        "    importlib.import_module('handlers.' + m.name)\n"
    )
    assert "handlers.app" in loaded
    assert [m for m in loaded if m.split(".")[0] == "kafka" or m.startswith("streams.brokers.kafka")] == []


def test_loading_the_engine_loads_no_falcon():
    loaded = loaded_modules(
        "import streams.engine, streams.definitions, streams.observability, streams.brokers.kafka\n"
        "streams.definitions.load_directory('deploy/apis')\n"
    )
    assert "streams.brokers.kafka" in loaded
    assert [m for m in loaded if m.split(".")[0] == "falcon"] == []
