"""A stream's resources, built once per stream instance into its ``StreamScope``: its
``cache_resources`` and ``processor_resources`` (where ``cache``, ``cached``, ``dedupe`` and
``resource`` find them by label), rate limits, and its input and output resources by label (for
``input: {resource: label}``, ``streams.forms``); resources may be written in the ``type:`` form.

Processor resources are built in the order listed, each with the scope already in place, so a
``resource`` processor inside one may name another listed before or after it (it looks its
target up when it first runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from streams import forms
from streams.caches.base import Cache
from streams.contracts import ConfigError, Processor
from streams.engine.components import resolve
from streams.engine.ratelimit import build_limits, cache_ttls
from streams.engine.resources import Resources, StreamScope
from streams.tracing import Tracer


def with_stream_resources(
    res: Resources, config: dict[str, Any], name: str, instance_key: str, tracer: Tracer | None = None
) -> Resources:
    """``res`` with the scope of one instance of stream ``name``: its rate limits, caches and
    processor resources built, keyed by ``instance_key`` on the host."""
    where = f"streams.{name}"
    cache_confs = forms.canonical_list("cache", config.get("cache_resources"))
    processor_confs = config.get("processor_resources")
    caches: dict[str, Cache] = {}
    processors: dict[str, Processor] = {}
    # PERF: what a stream does not declare is one shared empty table, not six of its own per
    # instance (a templated stream has one per user).
    scope = StreamScope(
        rate_limits=build_limits(
            forms.canonical_list("rate_limit", config.get("rate_limit_resources")), f"{where}.rate_limit_resources"
        ) or NOTHING,
        cache_ttls=cache_ttls(cache_confs) or NOTHING,
        tracer=tracer,
        instance_key=instance_key,
        caches=caches if cache_confs else NOTHING,
        processor_resources=processors if processor_confs else NOTHING,
        processor_labels=labels(processor_confs),
        input_resources=forms.resources_by_label(config.get("input_resources")) or NOTHING,
        output_resources=forms.resources_by_label(config.get("output_resources")) or NOTHING,
    )
    res = res.with_scope(scope)
    caches.update(build_caches(cache_confs, res, f"{where}.cache_resources"))
    build_processor_resources(processor_confs, res, f"{where}.processor_resources", processors)
    return res


NOTHING: Mapping[str, Any] = MappingProxyType({})
"""The scope's table of a kind of resource the stream does not declare."""
_NO_LABELS: frozenset[str] = frozenset()


def labels(confs: Any) -> frozenset[str]:
    """The labels a resources list declares (unlabelled entries are the validator's to report)."""
    return frozenset(c["label"] for c in confs or [] if isinstance(c, dict) and isinstance(c.get("label"), str)) or _NO_LABELS


def build_caches(confs: Any, res: Resources, where: str) -> dict[str, Cache]:
    """``cache_resources`` as caches by label."""
    caches: dict[str, Cache] = {}
    for i, conf in enumerate(confs or []):
        path = f"{where}.{i}"
        spec, filled, meta = resolve("cache", conf, path)
        if not isinstance(meta.get("label"), str):
            raise ConfigError(f"{path}: a cache resource needs a label")
        caches[meta["label"]] = spec.factory(filled, res, meta["label"])
    return caches


def build_processor_resources(confs: Any, res: Resources, where: str, into: dict[str, Processor]) -> None:
    """``processor_resources`` built into ``into`` by label."""
    for i, conf in enumerate(confs or []):
        if not isinstance(conf, dict) or not isinstance(conf.get("label"), str):
            raise ConfigError(f"{where}.{i}: a processor resource needs a label")
        into[conf["label"]] = res.builder.processors([conf], res, f"{where}.{i}")[0]
