"""How a stream component describes itself: its config ``Field``s and a ``ComponentSpec``.

A component module declares its fields and a factory in one ``SPEC = registry.input(...)`` (or
``output``/``processor``) at its end, which registers nothing by itself: ``streams.catalog``
lists every spec in explicit tables, so adding a component is adding one module and one line
there.
The definitions validator reads the same ``Field`` declarations to report unknown fields, wrong
types and missing required fields with their YAML positions; the engine calls the factory with
the validated config (defaults filled in).

Field types: ``string``, ``int``, ``float``, ``bool``, ``duration`` (Go duration string such as
``5s`` or ``100ms``), ``string_list``, ``object`` (free-form mapping), ``any``, ``input``,
``output``, ``processor`` (a nested component config), ``input_list``, ``output_list``,
``processor_list``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REQUIRED: Any = object()
Factory = Callable[..., Any]
"""``factory(config: dict, res: Resources) -> component``."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    default: Any = REQUIRED
    doc: str = ""
    options: tuple[Any, ...] = ()  # allowed values, when the field is an enumeration
    fields: tuple[Field, ...] = ()  # an ``object`` field's known sub-fields (empty: free-form)
    check: Callable[[Any], list[tuple[tuple[str | int, ...], str]]] | None = None
    """Meaning checks of an ``object`` field whose sub-fields are well typed: (sub-path, problem)
    pairs the definitions validator reports at load (e.g. a certificate without its key)."""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class ComponentSpec:
    kind: str  # "input" | "output" | "processor" | "cache"
    name: str
    factory: Factory
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


UNSAFE = {
    "input": {"file", "socket", "socket_server", "subprocess", "stdin", "inproc", "unix_socket"},
    "output": {"file", "socket", "subprocess", "inproc", "unix_socket"},
    "processor": {"command", "subprocess", "wasm"},
    "cache": set(),
}
"""Components refused outright: they reach the host's files, processes or sockets."""

UNSAFE_WHY = {
    ("processor", "command"): "it runs programs on the gateway host",
    ("processor", "subprocess"): "it runs programs on the gateway host",
    ("input", "subprocess"): "it runs programs on the gateway host",
    ("output", "subprocess"): "it runs programs on the gateway host",
}
"""Why a refused component is refused, where the general reason (files, processes or sockets of
the host) is not precise enough."""


def unsafe_reason(kind: str, name: str) -> str:
    """The reason the refusal of ``kind`` ``name`` gives its user."""
    return UNSAFE_WHY.get((kind, name), "it reaches the host's files, processes or sockets")


def input(name: str, factory: Factory, *fields: Field, **extra: Any) -> ComponentSpec:  # noqa: A001 - the config key
    """The spec of an input component (listed in ``streams.catalog``)."""
    return ComponentSpec(kind="input", name=name, factory=factory, fields=fields, **extra)


def output(name: str, factory: Factory, *fields: Field, **extra: Any) -> ComponentSpec:
    """The spec of an output component (listed in ``streams.catalog``)."""
    return ComponentSpec(kind="output", name=name, factory=factory, fields=fields, **extra)


def processor(name: str, factory: Factory, *fields: Field, **extra: Any) -> ComponentSpec:
    """The spec of a processor component (listed in ``streams.catalog``)."""
    return ComponentSpec(kind="processor", name=name, factory=factory, fields=fields, **extra)


def cache(name: str, factory: Factory, *fields: Field, **extra: Any) -> ComponentSpec:
    """The spec of a cache resource type (listed in ``streams.catalog``); its factory takes
    ``(config, res, label)``."""
    return ComponentSpec(kind="cache", name=name, factory=factory, fields=fields, **extra)


def table(*specs: ComponentSpec) -> dict[str, ComponentSpec]:
    """Specs by name; a name listed twice is a programming error caught at import."""
    out: dict[str, ComponentSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"{spec.kind} {spec.name!r} listed twice")
        out[spec.name] = spec
    return out
