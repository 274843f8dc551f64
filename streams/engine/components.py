"""Building stream components from their config: ``ComponentBuilder`` looks each one up in
``streams.catalog`` and calls its factory with the defaults-filled config.

Component modules reach the builder through ``Resources`` (``res.build_processors(...)``) for
the components nested in their config (``branch``, ``switch``, ``broker``, ...), so they never
import this module and the catalog can import them without a cycle.
"""

from __future__ import annotations

import copy
from typing import Any

from streams import catalog, registry
from streams.contracts import ConfigError, Input, Output, Processor
from streams.engine.pipeline import ProcessedOutput
from streams.engine.resources import Resources

_META_KEYS = {"label", "processors"}


def split_component(kind: str, conf: Any, path: str) -> tuple[str, Any, dict[str, Any]]:
    """``{"kafka": {...}, "label": "x"}`` -> ("kafka", {...}, {"label": "x"})."""
    if not isinstance(conf, dict):
        raise ConfigError(f"{path}: expected an object with one {kind} type")
    names = [k for k in conf if k not in _META_KEYS]
    if len(names) != 1:
        raise ConfigError(f"{path}: expected exactly one {kind} type, found {sorted(names) or 'none'}")
    meta = {k: conf[k] for k in conf if k in _META_KEYS}
    return names[0], conf[names[0]], meta


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
        spec, filled, meta = resolve("output", conf, path)
        out: Output = spec.factory(filled, res.child(f"{path}.{spec.name}"))
        procs = self.processors(meta.get("processors"), res, f"{path}.processors")
        return ProcessedOutput(out, procs) if procs else out

    def input(self, conf: Any, res: Resources, path: str) -> tuple[str, Input, list[Processor]]:
        """The input's type name, the input, and its own ``processors`` (run before the pipeline)."""
        spec, filled, meta = resolve("input", conf, path)
        inp: Input = spec.factory(filled, res.child(f"{path}.{spec.name}"))
        return spec.name, inp, self.processors(meta.get("processors"), res, f"{path}.processors")


BUILDER = ComponentBuilder()
