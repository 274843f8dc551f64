"""Logs, metrics and Pushgateway pushes for the gateway (DESIGN §8).

* Logs: one JSON object per line on stderr (``ts``, ``level``, ``logger``, ``msg`` plus any bound
  or ``extra`` fields such as ``api``, ``stream``, ``topic``/``partition``/``offset``), or plain
  text. :func:`get_logger` binds fields once so every line of a stream names its stream.
* Metrics: :data:`METRICS` counts into this process's Prometheus registry (served on ``/metrics``
  by :func:`render_prometheus`) and, when ``STREAMS_STATSD_HOST`` is set, into statsd. Every
  engine metric is labelled ``api`` and ``stream`` (statsd: ``<prefix>.api.<api>.stream.<stream>.
  <name>``), so two APIs with a stream of one name stay apart.
* Several gunicorn workers: ``gunicorn.conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at
  ``STREAMS_DATA_DIR/prometheus`` (emptied when the gateway starts) unless the operator set it,
  so every worker writes its counts there and ``/metrics`` sums all of them whichever worker
  answers; :func:`mark_process_dead` (gunicorn's ``child_exit`` hook) retires a dead worker's
  gauges. Run without gunicorn (tests, tools), metrics are this process's.
* A stream's own ``metrics.prometheus`` block (``push_url``...) pushes that stream's series to a
  Pushgateway from a greenlet (:func:`start_prometheus_push`).

Metric names the engine uses: ``input_received``, ``output_sent``, ``output_error``,
``processor_error`` (counters), ``processing_seconds`` (histogram), ``instances_active``,
``connections_active``, ``consumer_lag``, ``hub_read_first``/``hub_read_end`` (gauges; the
last two: the offsets a kafka input feeding an ``http_server`` output read, ``engine.read_tally``).
Prometheus names get the ``streams_`` prefix (counters also Prometheus's ``_total``); statsd
names are ``<prefix>.<label>.<value>...<name>``.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TextIO, cast

import gevent
import gevent.event
import prometheus_client
import statsd
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import default_handler
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from streams.durations import parse_duration
from streams.logformat import (
    HANDLER_MARK,
    FieldsAdapter,
    JsonFormatter,
    RateLimitFilter,
    TextFormatter,
    get_logger,
    stderr_handler,
)
from streams.settings import Settings
from streams.tracing import Tracer, start_tracer

__all__ = [
    "METRICS",
    "FieldsAdapter",
    "JsonFormatter",
    "Metrics",
    "PushHandle",
    "StreamTelemetry",
    "TextFormatter",
    "configure",
    "get_logger",
    "mark_process_dead",
    "render_prometheus",
    "setup_logging",
    "start_prometheus_push",
    "start_stream_telemetry",
    "traffic_log",
]

# --- logging ----------------------------------------------------------------------------------

KAFKA_LOG_INTERVAL_S = 30.0
"""kafka-python logs each failed reconnect; during an outage one line per message kind and
logger every this many seconds is enough."""


def setup_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Route every logger to one stderr handler in the configured format and level.

    Idempotent: a second call replaces the handler it installed (or the one gunicorn's
    ``logconfig_dict`` built from ``logformat.gunicorn_logconfig``), so gunicorn's master and
    each worker may call it without doubling lines. Warnings, exceptions no one caught in a
    thread and "exception ignored" reports go through it too, so nothing reaches stderr as raw
    multi-line text.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, HANDLER_MARK, False):
            root.removeHandler(h)
    handler = stderr_handler(settings.log_format)
    if stream is not None:
        handler.setStream(stream)  # type: ignore[attr-defined]
    handler.addFilter(RateLimitFilter(KAFKA_LOG_INTERVAL_S, prefix="kafka"))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # kafka-python logs every reconnect at INFO/WARNING; keep its noise one level down.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    # pika logs one failed connection as a dozen ERROR lines; the amqp_0_9 components log it
    # as one line with the reason, so only its critical lines stay.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    logging.captureWarnings(True)
    threading.excepthook = _thread_exception
    sys.unraisablehook = _unraisable


def _thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    logging.getLogger("streams").error(
        "uncaught exception in a thread", exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    )


def _unraisable(unraisable: Any) -> None:
    exc = unraisable.exc_value
    logging.getLogger("streams").warning(
        "exception ignored: %s", unraisable.err_msg or "in a finalizer",
        exc_info=(type(exc), exc, unraisable.exc_traceback) if exc is not None else None,
    )


def traffic_log(
    *, api: str, method: str, path: str, status: int, seconds: float, remote_addr: str = "", **fields: Any
) -> None:
    """One line per request, for APIs with ``trafficLogs.enabled``."""
    logging.getLogger("streams.traffic").info(
        "%s %s %d",
        method,
        path,
        status,
        extra={"api": api, "method": method, "path": path, "status": status,
               "duration_ms": round(seconds * 1000, 3), "remote_addr": remote_addr, **fields},
    )


# --- metrics ----------------------------------------------------------------------------------

COUNTERS = ("input_received", "output_sent", "output_error", "processor_error")
HISTOGRAMS = ("processing_seconds",)
GAUGES = ("instances_active", "connections_active", "consumer_lag", "hub_read_first", "hub_read_end", "hub_read_holes")
GaugeMode = Literal["min", "max", "livemax", "livesum"]
GAUGE_MODES: dict[str, GaugeMode] = {
    "consumer_lag": "livemax",
    "hub_read_first": "min",
    "hub_read_end": "max",
    "hub_read_holes": "max",
}
"""How the host folds the workers' readings of a gauge, when not by summing the live ones: a
group's lag is one figure every worker measures alike (the largest of the live workers'); the
offsets the hubs read (``engine.read_tally``) span the host's reading from the lowest start to
the furthest end any worker reached, an exited worker's included (a count since the gateway
started must not drop when a worker is replaced)."""

_LABEL_RE = re.compile(r"[^a-zA-Z0-9_]")
_STATSD_RE = re.compile(r"[^A-Za-z0-9_-]")
_PROM_PREFIX = "streams_"

_log = logging.getLogger("streams.metrics")

PushHandler = Callable[[str, str, float | None, list[tuple[str, str]], bytes], Callable[[], None]]
"""prometheus_client's push handler: (url, method, timeout, headers, data) -> send()."""


MAX_REMEMBERED_CHILDREN = 10_000
"""Labelled metric children remembered for the fast path (all forgotten at once past it)."""


class Metrics:
    """Counters, timings and gauges sent to Prometheus (always) and statsd (when configured).

    A metric's label names are fixed by its first use; later calls that omit a label record it
    as "" and labels it never had are dropped (logged once), since Prometheus cannot change a
    metric's labels after creation.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, tuple[MetricWrapperBase, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self._statsd: statsd.StatsClient | None = None
        self._warned: set[tuple[str, str]] = set()
        # PERF: a labelled child is looked up on every message (prometheus_client builds and
        # checks a label tuple under a lock each time); the same call site asks for the same
        # child, so it is remembered by name and labels as given.
        self._children: dict[tuple[str, tuple[tuple[str, Any], ...]], MetricWrapperBase] = {}

    def configure(self, settings: Settings) -> None:
        """(Re)connect statsd from the settings; ``statsd_host`` unset turns statsd off."""
        if settings.statsd_host:
            self._statsd = statsd.StatsClient(settings.statsd_host, settings.statsd_port, prefix=settings.statsd_prefix)
        else:
            self._statsd = None

    def incr(self, name: str, n: float = 1, /, **labels: Any) -> None:
        """Add ``n`` to a counter."""
        self._incr(name, n, labels)

    def timing(self, name: str, seconds: float, /, **labels: Any) -> None:
        """Record a duration (a Prometheus histogram in seconds, a statsd timer in ms)."""
        self._timing(name, seconds, labels)

    def gauge(self, name: str, value: float, /, **labels: Any) -> None:
        """Set a gauge to ``value``."""
        self._gauge(name, value, labels)

    def record(self, kind: str, name: str, value: float, labels: Mapping[str, object]) -> None:
        """``incr``, ``timing`` or ``gauge`` with the labels as a mapping, so any label name
        (``name``, ``kind``, ...) may be used, as a stream's ``metric`` processor allows.
        Raises ``KeyError`` for another kind."""
        if kind == "incr":
            self._incr(name, value, labels)
        elif kind == "timing":
            self._timing(name, value, labels)
        elif kind == "gauge":
            self._gauge(name, value, labels)
        else:
            raise KeyError(kind)

    def bound(self, kind: str, name: str, labels: Mapping[str, object]) -> Callable[[float], None]:
        """``incr``, ``timing`` or ``gauge`` of one metric with its labels fixed, looked up once.

        PERF: a stream records three metrics per message. Looked up per call (the labels as a
        dict, then as a key), ``Resources.incr`` took 1.6 us and ``timing`` 1.9; bound, 0.6 and
        1.0, most of it prometheus_client's own locked update (measured on a process registry;
        the workers' mmap'd values add about 1 us to each either way)."""
        prometheus_kind, apply = {
            "incr": ("counter", self._count),
            "timing": ("histogram", self._observe),
            "gauge": ("gauge", self._set),
        }[kind]
        return functools.partial(apply, self._labelled(name, prometheus_kind, labels), self._statsd_name(name, labels))

    def _incr(self, name: str, n: float, labels: Mapping[str, object]) -> None:
        self._count(self._labelled(name, "counter", labels), self._statsd_name_if_sent(name, labels), n)

    def _timing(self, name: str, seconds: float, labels: Mapping[str, object]) -> None:
        self._observe(self._labelled(name, "histogram", labels), self._statsd_name_if_sent(name, labels), seconds)

    def _gauge(self, name: str, value: float, labels: Mapping[str, object]) -> None:
        self._set(self._labelled(name, "gauge", labels), self._statsd_name_if_sent(name, labels), value)

    def _count(self, counter: MetricWrapperBase, statsd_name: str, n: float) -> None:
        if n >= 0:
            cast(Counter, counter).inc(n)
        if self._statsd is not None:
            self._statsd.incr(statsd_name, n)

    def _observe(self, histogram: MetricWrapperBase, statsd_name: str, seconds: float) -> None:
        cast(Histogram, histogram).observe(seconds)
        if self._statsd is not None:
            self._statsd.timing(statsd_name, seconds * 1000.0)

    def _set(self, gauge: MetricWrapperBase, statsd_name: str, value: float) -> None:
        cast(Gauge, gauge).set(value)
        if self._statsd is not None:
            self._statsd.gauge(statsd_name, value)

    def _statsd_name_if_sent(self, name: str, labels: Mapping[str, object]) -> str:
        """The statsd name, built only while statsd is on (it is not free, and seldom on)."""
        return self._statsd_name(name, labels) if self._statsd is not None else ""

    def gauge_add(self, name: str, delta: float, /, **labels: Any) -> None:
        """Move a gauge by ``delta`` (e.g. +1 when a connection opens, -1 when it closes)."""
        cast(Gauge, self._labelled(name, "gauge", labels)).inc(delta)
        if self._statsd is not None:
            self._statsd.gauge(self._statsd_name(name, labels), delta, delta=True)

    def value(self, name: str, /, **labels: Any) -> float | None:
        """The current Prometheus value of a counter or gauge (sum of a histogram), for tests and
        the management API."""
        kind = self._kind(name)
        sample = _PROM_PREFIX + name + {"counter": "_total", "histogram": "_sum"}.get(kind, "")
        got = self.registry.get_sample_value(sample, {k: str(v) for k, v in labels.items()})
        return got

    def _kind(self, name: str, default: str = "gauge") -> str:
        entry = self._metrics.get(name)
        if entry is not None:
            metric = entry[0]
            if isinstance(metric, Counter):
                return "counter"
            return "histogram" if isinstance(metric, Histogram) else "gauge"
        if name in COUNTERS:
            return "counter"
        if name in HISTOGRAMS:
            return "histogram"
        return default

    def _labelled(self, name: str, kind: str, labels: Mapping[str, Any]) -> MetricWrapperBase:
        key = (name, tuple(labels.items()))
        try:
            return self._children[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable label value: looked up each time
            return self._lookup(name, kind, labels)
        child = self._lookup(name, kind, labels)
        if len(self._children) >= MAX_REMEMBERED_CHILDREN:
            self._children.clear()
        self._children[key] = child
        return child

    def _lookup(self, name: str, kind: str, labels: Mapping[str, Any]) -> MetricWrapperBase:
        entry = self._metrics.get(name)
        if entry is None:
            with self._lock:
                entry = self._metrics.get(name)
                if entry is None:
                    names = tuple(sorted(_LABEL_RE.sub("_", k) for k in labels))
                    entry = self._metrics[name] = (self._create(name, kind, names), names)
        metric, names = entry
        clean = {_LABEL_RE.sub("_", k): str(v) for k, v in labels.items()}
        for label in set(clean) - set(names):
            if (name, label) not in self._warned:
                self._warned.add((name, label))
                _log.debug("metric %s has no label %s; dropped", name, label)
        if not names:
            return metric
        return metric.labels(**{n: clean.get(n, "") for n in names})

    def _create(self, name: str, kind: str, names: tuple[str, ...]) -> MetricWrapperBase:
        documentation = f"streams {name.replace('_', ' ')}"
        if kind == "counter":
            return Counter(_PROM_PREFIX + name, documentation, names, registry=self.registry)
        if kind == "histogram":
            return Histogram(_PROM_PREFIX + name, documentation, names, registry=self.registry)
        mode: GaugeMode = GAUGE_MODES.get(name, "livesum")
        return Gauge(_PROM_PREFIX + name, documentation, names, registry=self.registry, multiprocess_mode=mode)

    @staticmethod
    def _statsd_name(name: str, labels: Mapping[str, object]) -> str:
        parts = [f"{k}.{_STATSD_RE.sub('_', str(v)) or '_'}" for k, v in sorted(labels.items())]
        return ".".join(parts + [name])


METRICS = Metrics()
"""This process's metrics; import it and call ``METRICS.incr(...)``."""


def configure(settings: Settings) -> None:
    """Apply the settings to :data:`METRICS` (statsd on or off)."""
    METRICS.configure(settings)


def render_prometheus(metrics: Metrics | None = None) -> tuple[bytes, str]:
    """The Prometheus text exposition and its content type: every worker's metrics summed when
    ``PROMETHEUS_MULTIPROC_DIR`` is set, else this process's."""
    if metrics is None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = (metrics or METRICS).registry
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Forget a dead worker's live gauges (call from gunicorn's ``child_exit`` hook); a no-op
    unless ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)


# --- Pushgateway ------------------------------------------------------------------------------


class _StreamFilter(Collector):
    """The series of one stream only, so each stream's push job carries its own metrics (of its
    own API when ``api`` is given: two APIs may both have a stream called ``in``)."""

    def __init__(self, source: CollectorRegistry, stream: str, api: str | None = None) -> None:
        self.source = source
        self.stream = stream
        self.api = api

    def _selected(self, labels: Mapping[str, str]) -> bool:
        return labels.get("stream") == self.stream and (self.api is None or labels.get("api") == self.api)

    def collect(self) -> Iterable[Metric]:
        for family in self.source.collect():
            samples = [s for s in family.samples if self._selected(s.labels)]
            if samples:
                family.samples = samples
                yield family


class PushHandle:
    """A running Pushgateway pusher; :meth:`stop` ends it after one last push."""

    def __init__(
        self, stream: str, url: str, job: str, interval: float, handler: PushHandler, metrics: Metrics,
        api: str | None = None,
    ) -> None:
        self.stream, self.url, self.job, self.interval = stream, url, job, interval
        self.pushes = 0
        self.errors = 0
        # Each gunicorn worker holds only its own counts: a group per process keeps their pushes
        # from overwriting each other (sum over ``instance`` in queries).
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._handler = handler
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_StreamFilter(metrics.registry, stream, api))
        self._log = get_logger("streams.metrics", stream=stream, push_url=url)
        self._stopped = gevent.event.Event()
        self._greenlet = gevent.spawn(self._run)

    def push(self) -> bool:
        """Push once now; failures are logged and counted, never raised (metrics must not stop a
        stream)."""
        try:
            prometheus_client.push_to_gateway(
                self.url,
                job=self.job,
                registry=self._registry,
                grouping_key={"instance": self.instance},
                timeout=max(1.0, self.interval),
                handler=self._handler,
            )
        except Exception as err:  # noqa: BLE001 - any failure of an optional side channel
            self.errors += 1
            if self.errors == 1 or self.errors % 100 == 0:
                self._log.warning("pushing metrics failed (%d so far): %s", self.errors, err)
            return False
        self.pushes += 1
        return True

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.push()

    def stop(self, final_push: bool = True) -> None:
        """Stop pushing (idempotent); by default push the final values first."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._greenlet.join(timeout=self.interval + 5)
        if final_push:
            self.push()


def start_prometheus_push(
    stream_name: str, block: Mapping[str, Any], metrics: Metrics | None = None, api: str | None = None
) -> PushHandle | None:
    """Start pushing a stream's metrics as configured by its ``metrics.prometheus`` block.

    Returns ``None`` when the block has no ``push_url`` (nothing to push). ``push_interval``
    (Go duration, default ``10s``) and ``push_job_name`` (default: the stream name) follow Bento;
    ``push_basic_auth`` (``username``/``password``) is sent as HTTP basic auth.
    """
    url = block.get("push_url")
    if not url:
        return None
    interval = parse_duration(block.get("push_interval") or "10s")
    if interval <= 0:
        raise ValueError(f"push_interval must be positive, got {block.get('push_interval')!r}")
    job = block.get("push_job_name") or stream_name
    auth = block.get("push_basic_auth") or {}
    handler: PushHandler = default_handler
    if auth.get("username"):
        handler = basic_auth_handler(str(auth["username"]), str(auth.get("password", "")))
    return PushHandle(stream_name, url, job, interval, handler, metrics or METRICS, api)


def basic_auth_handler(username: str, password: str) -> PushHandler:
    """A Pushgateway request handler that adds HTTP basic auth (``push_basic_auth``)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        return default_handler(url, method, timeout, [*headers, ("Authorization", f"Basic {token}")], data)

    return handler


# --- per-stream telemetry ---------------------------------------------------------------------


class StreamTelemetry:
    """What a stream's own ``metrics`` and ``tracer`` blocks started; :meth:`stop` ends both."""

    def __init__(self, pusher: PushHandle | None, tracer: Tracer | None) -> None:
        self.pusher = pusher
        self.tracer = tracer

    def stop(self) -> None:
        if self.pusher is not None:
            self.pusher.stop()
        if self.tracer is not None:
            self.tracer.stop()


def start_stream_telemetry(stream_name: str, config: Mapping[str, Any], api: str | None = None) -> StreamTelemetry:
    """Start the Pushgateway pusher and the tracer a stream config asks for (either may be absent).

    Call it once per stream per worker process (not per template instance): the pushed series are
    selected by the ``stream`` label, so every instance of the stream is in them.
    """
    metrics = config.get("metrics") or {}
    prometheus = metrics.get("prometheus") if isinstance(metrics, dict) else None
    pusher = start_prometheus_push(stream_name, prometheus, api=api) if isinstance(prometheus, dict) else None
    tracer = start_tracer(stream_name, config.get("tracer"))
    return StreamTelemetry(pusher, tracer)
