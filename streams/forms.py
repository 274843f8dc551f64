"""The shapes a component config may take, as Bento reads them, reduced to the one the engine reads.

Bento accepts a component written two ways (``internal/docs/format_yaml.go``):

* by its one key: ``input: {kafka: {...}}``;
* with an explicit ``type``: ``input: {type: kafka, kafka: {...}}`` (the ``kafka`` block may then be
  left out: ``output: {type: drop}``). Any other component key beside ``type`` is an error, as
  Bento's linter says (``field http_server is invalid when the component type is kafka``).

Either way ``label`` may sit beside it (on inputs, outputs, processors and resources), and inputs
and outputs take ``processors`` too. :func:`parts` reads both forms, :func:`canonical` writes the
first, so the rest of the engine knows one shape. ``label`` follows Bento's rule
(``^[a-z0-9_]+$``, not starting with ``_``).

A stream without ``output`` writes to ``stdout``, Bento's default output (here: the gateway's log,
``streams.outputs.stdout``). No I/O here; the validator and the builder both call it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Path = tuple[str | int, ...]

LABEL = re.compile(r"^[a-z0-9_]+$")
DEFAULT_OUTPUT: dict[str, Any] = {"stdout": {}}
"""What a stream without ``output`` writes to (Bento's default)."""


class FormError(ValueError):
    """A component config in no shape Bento accepts; ``where`` is the path inside the component."""

    def __init__(self, where: Path, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def meta_keys(kind: str) -> frozenset[str]:
    """Keys beside the component's own: ``label``, ``type``, ``processors`` on inputs/outputs, and
    ``mapping`` on the stream's ``metrics`` block."""
    if kind in ("input", "output"):
        return frozenset({"label", "type", "processors"})
    if kind == "metrics":
        return frozenset({"type", "mapping"})
    return frozenset({"label", "type"})


def parts(kind: str, conf: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """``(name, body, meta)`` of a component config in either form; ``meta`` holds ``label`` and
    ``processors`` (never ``type``). Raises :class:`FormError` when no single name can be read."""
    reserved = meta_keys(kind)
    meta = {k: conf[k] for k in conf if k in reserved and k != "type"}
    names = [k for k in conf if k not in reserved]
    if "type" in conf:
        name = conf["type"]
        if not isinstance(name, str) or not name:
            raise FormError(("type",), f"expected the name of an {kind} type")
        for other in names:
            if other != name:
                raise FormError((other,), f"field {other} is invalid when the component type is {name} ({kind})")
        return name, conf.get(name), meta
    if not names:
        raise FormError((), f"no {kind} given")
    if len(names) > 1:
        raise FormError((), f"exactly one {kind} per block, found {len(names)}: {', '.join(map(str, names))}")
    return names[0], conf[names[0]], meta


def canonical(kind: str, conf: Any) -> Any:
    """``{type: kafka, kafka: {...}, label: x}`` -> ``{kafka: {...}, label: x}`` (``{type: drop}``
    -> ``{drop: {}}``); a config that is no object, or already in that form, is returned as is."""
    if not isinstance(conf, dict) or "type" not in conf:
        return conf
    name, body, meta = parts(kind, conf)
    return {name: {} if body is None else body, **meta}


def canonical_list(kind: str, confs: Any) -> Any:
    """:func:`canonical` of each entry of a ``*_resources`` list (a list that is not one, or an
    entry in no accepted shape, is left for the validator to report)."""
    if not isinstance(confs, list):
        return confs
    out = []
    for conf in confs:
        try:
            out.append(canonical(kind, conf))
        except FormError:
            out.append(conf)
    return out


STREAM_BLOCKS = ("buffer", "metrics", "tracer")
"""Stream-level blocks with one kind key (``metrics: {prometheus: {...}}``), also written with
``type`` (``metrics: {type: prometheus, prometheus: {...}}``)."""


def canonical_blocks(config: dict[str, Any]) -> dict[str, Any]:
    """A stream config whose ``buffer``/``metrics``/``tracer`` blocks are in the keyed form (a
    new dict when one was not; blocks in no accepted shape are left for the validator)."""
    out = config
    for key in STREAM_BLOCKS:
        block = config.get(key)
        if isinstance(block, dict) and "type" in block:
            try:
                out = {**out, key: canonical(key, block)}
            except FormError:
                continue
    return out


def label_problem(label: Any) -> str | None:
    """Why a ``label`` is refused, in Bento's words (``ValidateLabel``), or None; ``""`` is
    Bento's default (no label)."""
    if not isinstance(label, str):
        return "expected a string"
    if label and (not LABEL.match(label) or label.startswith("_")):
        return (
            f"invalid label {label!r}: should match the regular expression /{LABEL.pattern}/ "
            "and must not start with an underscore"
        )
    return None


def stream_output(config: dict[str, Any]) -> Any:
    """The stream's output config, or Bento's default when it has none."""
    out = config.get("output")
    return DEFAULT_OUTPUT if out is None else out


RESOURCE_KINDS = ("input", "output")
"""Kinds whose ``resource`` form (``input: {resource: name}``) names an entry of the stream's
``input_resources``/``output_resources``; the ``resource`` processor is a component of its own."""
MAX_RESOURCE_HOPS = 10


def resources_by_label(entries: Any) -> dict[str, Any]:
    """A ``*_resources`` list as label -> config (entries without a label are left out)."""
    if not isinstance(entries, list):
        return {}
    return {e["label"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("label"), str)}


def dereference(kind: str, conf: Any, resources: Mapping[str, Any]) -> Any:
    """``{resource: name, processors: [...]}`` -> the config of the resource labelled ``name``
    (canonical form, its own ``processors`` first, then the referring block's); any other config
    as is. Raises :class:`FormError` for an unknown label or a loop of references."""
    for _ in range(MAX_RESOURCE_HOPS):
        if not isinstance(conf, dict):
            return conf
        name, body, meta = parts(kind, conf)
        if name != "resource":
            return conf
        target = resources.get(body) if isinstance(body, str) else None
        if target is None:
            raise FormError(("resource",), f"no {kind}_resources entry labelled {body!r}")
        inner_name, inner_body, inner_meta = parts(kind, target)
        procs = list(inner_meta.get("processors") or []) + list(meta.get("processors") or [])
        conf = {inner_name: inner_body, **({"processors": procs} if procs else {})}
        if "label" in inner_meta:
            conf["label"] = inner_meta["label"]
    raise FormError(("resource",), f"{kind} resources refer to each other in a loop")


def http_servers(kind: str, conf: Any, resources: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """The ``http_server`` blocks (``{"http_server": {...}}``) of a stream's input or output: the
    block itself, those inside ``broker`` inputs or outputs at any depth, and those a
    ``resource`` reference stands for; in config order. Malformed configs give nothing (the
    validator reports them)."""
    if depth > MAX_RESOURCE_HOPS * 4:
        return []
    try:
        conf = dereference(kind, conf, resources)
        if not isinstance(conf, dict):
            return []
        name, body, _ = parts(kind, conf)
    except FormError:
        return []
    if name == "http_server":
        return [{"http_server": body}]
    if name != "broker" or not isinstance(body, dict):
        return []
    children = body.get(f"{kind}s")
    found: list[dict[str, Any]] = []
    for child in children if isinstance(children, list) else []:
        found.extend(http_servers(kind, child, resources, depth + 1))
    return found
