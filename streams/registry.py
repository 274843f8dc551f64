"""Registries of stream components: inputs, outputs and processors.

A component module declares its config fields and registers a factory with one decorator call,
so adding a component is adding one module (and one import line in its package ``__init__``).
The definitions validator reads the same ``Field`` declarations to report unknown fields, wrong
types and missing required fields with their YAML positions; the engine calls the factory with
the validated config (defaults filled in).

Field types: ``string``, ``int``, ``float``, ``bool``, ``duration`` (Go duration string such as
``5s`` or ``100ms``), ``string_list``, ``object`` (free-form mapping), ``any``, ``input``,
``output``, ``processor`` (a nested component config), ``input_list``, ``output_list``,
``processor_list``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

REQUIRED: Any = object()


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    default: Any = REQUIRED
    doc: str = ""
    options: tuple[Any, ...] = ()  # allowed values, when the field is an enumeration

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class ComponentSpec:
    kind: str  # "input" | "output" | "processor"
    name: str
    factory: Callable[..., Any]
    fields: tuple[Field, ...] = ()
    # A component whose config is not an object (``mapping: "root = ..."``, ``drop: {}``) takes
    # the whole value as this one field.
    scalar_field: str | None = None
    doc: str = ""

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


INPUTS: dict[str, ComponentSpec] = {}
OUTPUTS: dict[str, ComponentSpec] = {}
PROCESSORS: dict[str, ComponentSpec] = {}
TABLES = {"input": INPUTS, "output": OUTPUTS, "processor": PROCESSORS}

UNSAFE = {
    "input": {"file", "socket", "socket_server", "subprocess", "stdin", "inproc", "unix_socket"},
    "output": {"file", "socket", "subprocess", "stdout", "inproc", "unix_socket"},
    "processor": {"command", "subprocess", "wasm"},
}
"""Components refused outright: they reach the host's files, processes or sockets."""


def _register(kind: str, name: str, fields: tuple[Field, ...], **extra: Any):
    table = TABLES[kind]

    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in table:
            raise ValueError(f"{kind} {name!r} registered twice")
        table[name] = ComponentSpec(kind=kind, name=name, factory=factory, fields=fields, **extra)
        return factory

    return decorate


def input(name: str, *fields: Field, **extra: Any):  # noqa: A001 - mirrors the config key
    return _register("input", name, fields, **extra)


def output(name: str, *fields: Field, **extra: Any):
    return _register("output", name, fields, **extra)


def processor(name: str, *fields: Field, **extra: Any):
    return _register("processor", name, fields, **extra)


def load_all() -> None:
    """Import every component module so the tables are complete."""
    import streams.inputs  # noqa: F401
    import streams.outputs  # noqa: F401
    import streams.processors  # noqa: F401
