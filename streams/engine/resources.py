"""What a component may use from the gateway: settings, the worker's services, Bloblang, logs,
metrics, and the resources its stream declares.

One ``Resources`` per component, carrying its config path (``streams.out.pipeline.processors.0``)
so mapping errors and log lines point at the component that produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from streams import bloblang
from streams.brokers.base import Broker
from streams.brokers.security import KafkaSecurity
from streams.caches.base import Cache
from streams.contracts import ConfigError, Input, Output, Processor
from streams.engine.host import HostState
from streams.engine.logs import StreamLog, metric, metric_failed
from streams.engine.ratelimit import LocalLimit
from streams.engine.services import WorkerServices
from streams.observability import METRICS
from streams.settings import Settings
from streams.tracing import Tracer


@dataclass(frozen=True, slots=True)
class StreamScope:
    """What one stream instance declares for its components: ``rate_limit_resources`` by label,
    ``cache_resources`` (and their TTLs) by label, ``processor_resources``, input and output
    resources by label, the stream's tracer,
    and the instance's key (which names its host-wide leases and progress)."""

    rate_limits: Mapping[str, LocalLimit] = field(default_factory=dict)
    cache_ttls: Mapping[str, float] = field(default_factory=dict)
    tracer: Tracer | None = None  # when the stream has a ``tracer`` block
    instance_key: str = ""
    caches: Mapping[str, Cache] = field(default_factory=dict)
    """``cache_resources`` by label, built for this instance."""
    processor_resources: Mapping[str, Processor] = field(default_factory=dict)
    """``processor_resources`` by label (filled once the scope is in place)."""
    processor_labels: frozenset[str] = frozenset()
    """The labels ``processor_resources`` declares, known before any of them is built."""
    input_resources: Mapping[str, Any] = field(default_factory=dict)
    """``input_resources`` configs by label, for ``input: {resource: label}`` (``streams.forms``)."""
    output_resources: Mapping[str, Any] = field(default_factory=dict)
    """``output_resources`` configs by label, for ``output: {resource: label}``."""


class Builder(Protocol):
    """Builds components from config (``streams.engine.components.ComponentBuilder``)."""

    def processors(self, confs: Any, res: Resources, path: str) -> list[Processor]: ...

    def output(self, conf: Any, res: Resources, path: str) -> Output: ...

    def input(self, conf: Any, res: Resources, path: str) -> tuple[str, Input, list[Processor]]: ...


# The bound recorders of metrics labelled with an api and a stream alone, by kind, name, api and
# stream (``Resources._record``). PERF: one table for the worker, not one per ``Resources``:
# every instance of a stream (one per user of a templated stream) and each of its components
# records the same few metrics under the same labels; a table each was four per idle user's
# instance, empty. Bounded like ``Metrics``' own table of labelled children.
_RECORDERS: dict[tuple[str, str, str, str], Callable[[float], None]] = {}
_MAX_SHARED = 10_000
_LOGGERS: dict[tuple[str, str, str], StreamLog] = {}
"""Components' loggers by api, stream and config path (``Resources.logger``), bounded alike."""

_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(table: dict[_K, _V], key: _K, value: _V) -> _V:
    """Keep ``value`` in one of the shared tables above, which start over at ``_MAX_SHARED``."""
    if len(table) >= _MAX_SHARED:
        table.clear()
    table[key] = value
    return value


@dataclass(frozen=True, slots=True)
class Resources:
    """PERF: slotted: a stream instance holds one per component (and one for the stream), and a
    templated stream has an instance per user."""

    settings: Settings
    api: str
    stream: str
    path: str
    services: WorkerServices
    builder: Builder
    fields: dict[str, Any] = field(default_factory=dict)  # added to every log line
    scope: StreamScope = field(default_factory=StreamScope)

    def child(self, path: str) -> Resources:
        return replace(self, path=path)

    def with_scope(self, scope: StreamScope) -> Resources:
        return replace(self, scope=scope)

    def cache(self, label: str) -> Cache:
        """The stream's cache resource labelled ``label`` (``ConfigError`` when none is)."""
        found = self.scope.caches.get(label)
        if found is None:
            raise ConfigError(f"{self.path}: no cache_resources entry labelled {label!r}")
        return found

    def build_processors(self, confs: Any, path: str) -> list[Processor]:
        """The processors of a nested ``processors`` list (``branch``, ``catch``, ...)."""
        return self.builder.processors(confs, self, path)

    def build_output(self, conf: Any, path: str) -> Output:
        return self.builder.output(conf, self, path)

    def build_input(self, conf: Any, path: str) -> tuple[str, Input, list[Processor]]:
        """The type name, the input and its own ``processors`` of a nested input config."""
        return self.builder.input(conf, self, path)

    def broker(self, addresses: list[str] | None = None, security: KafkaSecurity | None = None) -> Broker:
        """The worker's shared broker; ``STREAMS_KAFKA_BROKERS`` replaces the config's addresses,
        ``security`` (a component's ``tls``/``sasl``) picks the connection (``WorkerServices``)."""
        return self.services.broker(list(addresses or []), security)

    @property
    def host(self) -> HostState:
        """State shared by every worker of this host (leases, caches, rate limits)."""
        return self.services.host

    def mapping(self, source: str, field_name: str = "") -> bloblang.Mapping:
        """Parse a Bloblang mapping, named after this component's config path; it compiles at
        its first run (``bloblang.parse``'s ``deferred``: per-user instances of a stream that
        never get a message keep no code)."""
        where = f"{self.path}.{field_name}" if field_name else self.path
        return bloblang.parse(
            source,
            allow_impure=self.settings.allow_impure_bloblang,
            filename=where,
            base_dir=self.settings.definitions_dir,
            deferred=True,
        )

    def interpolation(self, text: str) -> bloblang.Interpolation:
        """A ``${! ... }`` string; ``.render(msg, batch, index)`` and ``.is_static``."""
        return bloblang.parse_interpolation(text)

    def logger(self) -> StreamLog:
        """This component's logger. PERF: one per api, stream and component path in the
        worker, shared by every instance of the stream (a ``StreamLog`` never changes)."""
        if self.fields:
            return StreamLog(api=self.api, stream=self.stream, component=self.path, **self.fields)
        key = (self.api, self.stream, self.path)
        log = _LOGGERS.get(key)
        if log is None:
            log = _remember(_LOGGERS, key, StreamLog(api=self.api, stream=self.stream, component=self.path))
        return log

    def incr(self, name: str, value: int = 1, /, **tags: str) -> None:
        self._send("incr", name, value, tags)

    def gauge(self, name: str, value: float, /, **tags: str) -> None:
        self._send("gauge", name, value, tags)

    def timing(self, name: str, seconds: float, /, **tags: str) -> None:
        self._send("timing", name, seconds, tags)

    def _send(self, kind: str, name: str, value: float, tags: dict[str, str]) -> None:
        if tags:
            metric(kind, name, value, api=self.api, stream=self.stream, **tags)
        else:
            self._record(kind, name, value)

    def _record(self, kind: str, name: str, value: float) -> None:
        """A metric labelled with this component's api and stream alone, through a recorder
        bound once per worker (``Metrics.bound``, ``_RECORDERS``); like ``metric``, it never
        fails the caller."""
        try:
            key = (kind, name, self.api, self.stream)
            record = _RECORDERS.get(key)
            if record is None:
                record = _remember(_RECORDERS, key, METRICS.bound(kind, name, {"api": self.api, "stream": self.stream}))
            record(value)
        except Exception:
            metric_failed(name)
