"""Building stream components from their config: ``ComponentBuilder`` looks each one up in
``streams.catalog`` and calls its factory with the defaults-filled config.

Component modules reach the builder through ``Resources`` (``res.build_processors(...)``) for
the components nested in their config (``branch``, ``switch``, ``broker``, ...), so they never
import this module and the catalog can import them without a cycle.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from streams import catalog, forms, registry
from streams.contracts import ConfigError, Input, Output, Processor
from streams.engine.pipeline import ProcessedOutput
from streams.engine.resources import Resources


def split_component(kind: str, conf: Any, path: str) -> tuple[str, Any, dict[str, Any]]:
    """``{"kafka": {...}, "label": "x"}`` (or ``{"type": "kafka", ...}``, ``streams.forms``) ->
    ("kafka", {...}, {"label": "x"})."""
    if not isinstance(conf, dict):
        raise ConfigError(f"{path}: expected an object with one {kind} type")
    try:
        return forms.parts(kind, conf)
    except forms.FormError as exc:
        where = ".".join([path, *map(str, exc.where)])
        raise ConfigError(f"{where}: {exc.message}") from None


def resolve(kind: str, conf: Any, path: str) -> tuple[registry.ComponentSpec, dict[str, Any], dict[str, Any]]:
    """The registered spec and the defaults-filled config of one component config."""
    name, body, meta = split_component(kind, conf, path)
    if name in registry.UNSAFE.get(kind, ()):
        raise ConfigError(f"{path}.{name}: the {kind} {name!r} is refused: {registry.unsafe_reason(kind, name)}")
    spec = catalog.TABLES[kind].get(name)
    if spec is None:
        raise ConfigError(f"{path}.{name}: unknown {kind} type {name!r}")
    if spec.scalar_field and not isinstance(body, dict):
        body = {spec.scalar_field: body}
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ConfigError(f"{path}.{name}: expected an object")
    filled = dict(body)
    for f in spec.fields:
        if f.name not in filled:
            if f.required:
                raise ConfigError(f"{path}.{name}.{f.name}: required field missing")
            filled[f.name] = copy.deepcopy(f.default)
    return spec, filled, meta


def _dereference(kind: str, conf: Any, resources: Mapping[str, Any], path: str) -> tuple[Any, str]:
    """The config a ``resource`` reference stands for (``streams.forms.dereference``), and the
    path its components are named by (``...output.resource``)."""
    try:
        target = forms.dereference(kind, conf, resources)
    except forms.FormError as exc:
        raise ConfigError(f"{path}.{'.'.join(map(str, exc.where))}: {exc.message}") from None
    return target, path if target is conf else f"{path}.resource"


class ComponentBuilder:
    """Builds components from config (the ``Builder`` that ``Resources`` hands to components)."""

    def processor(self, conf: Any, res: Resources, path: str) -> Processor:
        spec, filled, _ = resolve("processor", conf, path)
        processor: Processor = spec.factory(filled, res.child(f"{path}.{spec.name}"))
        return processor

    def processors(self, confs: Any, res: Resources, path: str) -> list[Processor]:
        if confs is None:
            return []
        if not isinstance(confs, list):
            raise ConfigError(f"{path}: expected a list of processors")
        return [self.processor(c, res, f"{path}.{i}") for i, c in enumerate(confs)]

    def output(self, conf: Any, res: Resources, path: str) -> Output:
        conf, path = _dereference("output", conf, res.scope.output_resources, path)
        spec, filled, meta = resolve("output", conf, path)
        out: Output = spec.factory(filled, res.child(f"{path}.{spec.name}"))
        procs = self.processors(meta.get("processors"), res, f"{path}.processors")
        return ProcessedOutput(out, procs) if procs else out

    def input(self, conf: Any, res: Resources, path: str) -> tuple[str, Input, list[Processor]]:
        """The input's type name, the input, and its own ``processors`` (run before the pipeline)."""
        conf, path = _dereference("input", conf, res.scope.input_resources, path)
        spec, filled, meta = resolve("input", conf, path)
        inp: Input = spec.factory(filled, res.child(f"{path}.{spec.name}"))
        return spec.name, inp, self.processors(meta.get("processors"), res, f"{path}.processors")


BUILDER = ComponentBuilder()
