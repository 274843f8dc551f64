"""One running stream: its input, processors and output, and how clients reach it.

How the instance runs follows from its components (DESIGN §4):

* ``http_server`` input: passive; each ``push`` runs the processors and the outputs in a greenlet
  and answers once every output acknowledged (200 + sync response), failed (502) or the
  component's timeout passed (408); a message the processors failed on is refused (400).
* ``http_server`` output fed by a ``kafka`` input: a ``BrokerHub`` serves GETs and stream clients
  from the user's consumer-group offsets, without joining the group.
* ``http_server`` output fed by anything else (``http_server`` or ``generate`` input, say): the
  output writes each message to a topic of the *host bus* (the embedded log every worker of the
  host shares) and a ``BrokerHub`` on that topic serves the clients, so a message pushed on one
  worker reaches a GET or a stream client on any other, with the same promises (DESIGN §4, §10).
* any other active input (``kafka`` with a group, ``generate``, ``broker``): a runner greenlet
  reads, processes, writes, and only then lets the input commit. An input that is not shared by
  nature (anything but a consumer group or an HTTP endpoint: ``generate``, ``http_client``
  polling, a ``kafka`` input without a group) runs once per host: the worker holding the
  instance's host lease runs it, the others wait to take over when that worker dies.

With a ``tracer`` block every message (batch) handled is a trace: a root span named after the
input (``input_kafka``, ``input_http_server``, ...) with a ``processors`` child and an output
child (``output_kafka``, ...); a message a hub serves to GET/stream clients has the root and
``processors`` spans (its clients are the output). The stream's tracer is shared by all its
instances in the worker and carries the block's ``tags``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from streams import forms
from streams.brokers.base import Record
from streams.caches.base import Cache
from streams.contracts import ConfigError, DeletionCheck, Input, Output, OutputError, Processor, Transaction, WriteAbandoned
from streams.engine.delivery import Delivery, Hub, PushResult, Subscription
from streams.engine.hub import BrokerHub
from streams.engine.kept_greenlets import Job, KeptGreenlets
from streams.engine.logs import metric
from streams.engine.pipeline import ProcessedOutput, abandoned_before_write, run_processors
from streams.engine.read_tally import ReadTally
from streams.engine.resources import Resources
from streams.engine.restart import run_restarting
from streams.engine.shutdown import ClientRoster, Draining, Leave
from streams.engine.singleton import run_once_per_host
from streams.engine.stream_resources import with_stream_resources
from streams.logformat import hide_values
from streams.message import Message
from streams.outputs.broker import BrokerOutput
from streams.outputs.http_server import HttpServerOutput
from streams.tracing import Span, Tracer

# The greenlets pushes are processed in, kept between pushes (one process, one hub): every
# stream instance of the worker shares them. As many as the pushes a worker answers at once
# under load (one per connection); a kept greenlet holds about 9 KiB.
PUSH_GREENLETS = KeptGreenlets(keep=256)

# PERF: the worker's hub_read_* gauges as last written, by api, stream, topic and partition:
# a gauge is written only when its value moved (the end moves with each record read; the
# first and the holes seldom do), with its labels made once. Every instance of a stream in
# the worker writes through here, so this is always what the gauge holds.
_READ_GAUGES: dict[tuple[str, str, str, int], tuple[dict[str, str], list[int]]] = {}
_READ_HOOKS: weakref.WeakKeyDictionary[ReadTally, dict[tuple[str, str], Callable[[Record], None]]] = (
    weakref.WeakKeyDictionary()
)
"""Per tally (a worker's broker services) and stream, its hubs' one read counter."""


class _StreamClient:
    """What ties one stream client's subscription to its instance: told to leave on shutdown,
    forgotten and counted out when it closes, counted per message handed.

    PERF: one small object whose bound methods are the callbacks; each idle client held a
    closure per callback instead (four, about 0.8 KiB)."""

    __slots__ = ("instance", "sub", "token")

    def __init__(self, instance: StreamInstance) -> None:
        self.instance = instance
        self.sub: Subscription | None = None
        self.token = 0

    def leave(self, reason: str) -> None:
        if self.sub is not None:
            self.sub.close(reason)

    def left(self, sub: Subscription) -> None:
        instance = self.instance
        instance.forget(self.token)
        metric("gauge_add", "connections_active", -1, api=instance.res.api, stream=instance.name)

    def handed(self) -> None:
        self.instance.res.incr("output_sent")


def _read_counter(tally: ReadTally, stream: tuple[str, str]) -> Callable[[Record], None]:
    """``StreamInstance._counter_of_reads``'s callable; it holds no instance."""
    api, name = stream

    def on_read(record: Record) -> None:
        span = tally.read(stream, record.topic, record.partition, record.offset, record.skipped)
        if span is None:
            return
        known = _READ_GAUGES.get((*stream, record.topic, record.partition))
        if known is None:
            where = {"api": api, "stream": name, "topic": record.topic, "partition": str(record.partition)}
            known = _READ_GAUGES[(*stream, record.topic, record.partition)] = (where, [-1, -1, 0])
        where, last = known
        if span.first != last[0]:
            metric("gauge", "hub_read_first", span.first, **where)
        if span.end != last[1]:
            metric("gauge", "hub_read_end", span.end, **where)
        if span.holes != last[2]:
            metric("gauge", "hub_read_holes", span.holes, **where)
        last[:] = [span.first, span.end, span.holes]

    return on_read


class RejectedMessage(Exception):
    """A pushed message still carried a processing error at the end of the pipeline.

    NOTE: Bento would write such a message to the outputs with its error flag; for a push we
    answer 400 and write nothing, so the client learns its body was unusable (e.g. not JSON for a
    mapping that reads ``this``) and no half-processed record enters a topic. A ``catch``
    processor that handles the error lets the message through as usual.
    """


class StreamInstance:
    """A stream config with every ``$tyk_context`` placeholder substituted, running."""

    def __init__(
        self, name: str, config: dict[str, Any], key: str, res: Resources, tracer: Tracer | None = None
    ) -> None:
        if not isinstance(config, dict):
            raise ConfigError(f"streams.{name}: expected an object")
        res = with_stream_resources(res, config, name, f"{res.api}/{name}/{key}", tracer)
        self.name = name
        self.key = key
        self.res = res
        self.log = res.logger()
        self.input_type, self.input, input_procs = res.build_input(config.get("input"), f"streams.{name}.input")
        pipeline = config.get("pipeline") or {}
        self.processors = input_procs + res.build_processors(
            pipeline.get("processors"), f"streams.{name}.pipeline.processors"
        )
        output = forms.stream_output(config)
        self.output: Output = res.build_output(output, f"streams.{name}.output")
        self.tracer = tracer
        self.output_type = _component_name(output)
        # PERF: made when first needed (the input's runner, the first push): a templated
        # stream has an instance per user, and a user whose clients only read needs neither.
        self._stopping: gevent.event.Event | None = None
        self._runners: list[gevent.Greenlet] = []
        self._inflight: set[Job] | None = None
        self._refs = 0
        self.idle_since: float | None = time.monotonic()
        self.closed = False
        self._roster = ClientRoster()  # stream clients and WS push sessions, told to leave on shutdown
        self._hub_reads_input = False  # a kafka input feeding an http_server output: the hub reads
        self.hub: Hub | None = self._make_hub()
        metric("gauge_add", "instances_active", 1, api=res.api, stream=name)

    def _make_hub(self) -> Hub | None:
        """How clients of an ``http_server`` output are served, decided here only (module doc).
        The output may sit inside a ``broker`` (or carry ``processors``): then the stream writes
        to it like to any output, and its clients read the host bus."""
        http_out = http_server_output(self.output)
        if http_out is None:
            return None
        res = self.res
        source = getattr(self.input, "hub_source", None) if http_out is self.output else None
        self._hub_reads_input = source is not None
        if source is not None:
            broker, group, topics, oldest, commit_period = source(fallback_group=f"streams-{self.key}")
            services = res.services.for_broker(broker)
            hub = BrokerHub(
                services, group, topics, oldest, self._process_one, self.log,
                res.settings.client_queue, commit_period, self._counter_of_reads(services.read_tally),
                self._deletion_check(),
            )
        else:
            bus = res.services.bus()
            topic = bus_topic(res.api, self.name, self.key)
            http_out.attach_bus(bus, topic)
            # The topic's name doubles as the group that keeps the clients' position in it.
            hub = BrokerHub(
                res.services.for_broker(bus), topic, [topic], False, _bus_message, self.log, res.settings.client_queue
            )
        hub.pin_start()
        return hub

    def _deletion_check(self) -> DeletionCheck | None:
        """The processors' ``deletion_check`` when there is exactly one processor and no tracer
        (a traced record gets its spans even when it is deleted)."""
        if self.tracer is not None or len(self.processors) != 1:
            return None
        return self.processors[0].deletion_check()

    def _counter_of_reads(self, tally: ReadTally) -> Callable[[Record], None]:
        """What the hub calls for each record it reads: the span of offsets this worker's hubs
        of the stream read, per partition, in the ``hub_read_first``/``hub_read_end`` gauges
        (the host's figure: lowest first, furthest end; the console's "received" is the records
        between, ``stream_stats``). One callable per stream and tally: a topic's feed calls it
        once per record for all the stream's routed hubs (``streams.engine.listeners``)."""
        hooks = _READ_HOOKS.setdefault(tally, {})
        stream = (self.res.api, self.name)
        hook = hooks.get(stream)
        if hook is None:
            hook = hooks[stream] = _read_counter(tally, stream)
        return hook

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the input's reading loop, unless the input is passive or a hub reads for it."""
        if self.input.passive or self._hub_reads_input:
            return
        stopping = self._stopping
        if stopping is None:
            stopping = self._stopping = gevent.event.Event()
        self._runners.append(gevent.spawn(self._run_input, stopping))

    def _run_input(self, stopping: gevent.event.Event) -> None:
        if self.input.shared_by_nature:
            run_restarting(self.input, self.deliver, stopping, self.log)
            return
        run_once_per_host(
            self.res.host.lease(self.res.scope.instance_key),
            lambda: run_restarting(self.input, self.deliver, stopping, self.log),
            stopping,
            self.log,
        )

    def acquire(self) -> StreamInstance:
        self._refs += 1
        self.idle_since = None
        return self

    def release(self) -> None:
        """The caller's client is done with the instance (pairs with ``Api.open``)."""
        self._refs = max(0, self._refs - 1)
        if self._refs == 0:
            self.idle_since = time.monotonic()

    @property
    def refs(self) -> int:
        return self._refs

    def stop_input(self) -> None:
        """Stop reading new messages; in-flight ones finish (drain)."""
        if self._stopping is None:
            self._stopping = gevent.event.Event()  # a runner started later finds it set
        self._stopping.set()

    @property
    def shutting_down(self) -> bool:
        return self._roster.closing

    def begin_shutdown(self, reason: str) -> int:
        """Refuse new clients, end the attached ones with ``reason`` (see ``streams.engine.
        shutdown``), wake waiting GETs and stop the input. Never waits: in-flight pushes and
        messages finish in ``close``. Returns how many clients were told to leave."""
        leaving = self._roster.begin_shutdown(reason)
        self.stop_input()
        if self.hub is not None:
            # NOTE: the hub first commits what its clients acknowledged, then ends them with
            # ``reason`` and wakes every waiting GET with no message claimed (pull raises
            # Draining: 503, nothing lost or repeated); the broker stays open until the drain.
            self.hub.close(reason)
        for leave in leaving:  # the clients the hub did not end (WebSocket push sessions)
            try:
                leave(reason)
            except Exception:
                self.log.exception("telling a client to leave failed")
        return len(leaving)

    def on_shutdown(self, leave: Leave) -> int:
        """Call ``leave(reason)`` when the worker stops (a WebSocket push session, say); the
        token ends that with ``forget``. Raises ``Draining`` when the instance is stopping."""
        return self._roster.join(leave)

    def forget(self, token: int) -> None:
        self._roster.forget(token)

    def join(self, timeout: float) -> bool:
        gevent.joinall(self._runners, timeout=timeout)
        return all(g.dead for g in self._runners)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the input, let in-flight messages finish, then release every component."""
        if self.closed:
            return
        self.closed = True
        self.stop_input()
        if not self.join(timeout):
            self.log.warning("in-flight messages did not finish in time; stopping anyway")
            gevent.killall(self._runners, timeout=1.0)
        if self._inflight:
            # Pushes already accepted finish their writes before the outputs close.
            deadline = time.monotonic() + timeout
            for job in list(self._inflight):
                job.wait(max(0.0, deadline - time.monotonic()))
        if self.hub is not None:
            self.hub.close()
        metric("gauge_add", "instances_active", -1, api=self.res.api, stream=self.name)
        scope = self.res.scope
        components: list[Input | Processor | Output | Cache] = [self.input, *self.processors, self.output]
        components += [*scope.processor_resources.values(), *scope.caches.values()]
        for component in components:
            try:
                component.close()
            except Exception:
                self.log.exception("closing a component failed")

    # -- processing ------------------------------------------------------------------------

    def _process_one(self, msg: Message) -> list[Message]:
        if self.tracer is None:
            return run_processors(self.processors, [msg], Transaction())
        with self.tracer.span(f"input_{self.input_type}", **_position_tags([msg])) as root:
            with self.tracer.span("processors", parent=root, processors=len(self.processors)):
                out = run_processors(self.processors, [msg], Transaction())
            root.set_tag("messages", len(out))
            failed = next((m.error for m in out if m.error is not None), None)
            if failed is not None:
                root.set_tag("error", True)
                root.set_tag("error.message", str(failed))
            return out

    def deliver(self, batch: list[Message], txn: Transaction | None = None) -> bool:
        """Process a batch and write it to the output; True once every output acknowledged (or
        the processors deleted every message), False when an output failed (logged, and kept in
        ``txn.failure``)."""
        txn = txn or Transaction()
        txn.failure = None
        try:
            self._process_and_write(batch, txn)
            return True
        except OutputError as exc:
            txn.failure = str(exc)
            self._log_failure("output failed", exc, batch)
        except Exception as exc:  # noqa: BLE001 - a processor bug must not kill the input loop
            txn.failure = str(exc)
            self._log_failure("processing failed", exc, batch, with_trace=True)
        return False

    def _log_failure_after_timeout(self, exc: Any, messages: list[Message]) -> None:
        """A push answered 408 whose write then failed: the reason (a broker that cannot be
        reached, a webhook that refused) still reaches the log, as Bento logs a failed send; a
        write that only gave up because nobody waited any more was warned about already."""
        if isinstance(exc, OutputError) and not isinstance(exc, WriteAbandoned):
            self._log_failure("output failed after its push timed out", exc, messages)

    def _log_failure(self, what: str, exc: BaseException, batch: list[Message], with_trace: bool = False) -> None:
        where: dict[str, Any] = {}
        pos = batch[0].position if batch else None
        if pos is not None:
            where = {"topic": pos.topic, "partition": pos.partition, "offset": pos.offset}
        self.res.incr("output_error" if isinstance(exc, OutputError) else "processor_error")
        if with_trace:
            self.log.exception(f"{what}: {hide_values(str(exc))}", **where)
        else:
            self.log.error(f"{what}: {hide_values(str(exc))}", **where)

    def _process_and_write(self, batch: list[Message], txn: Transaction, reject_failed: bool = False) -> None:
        if self.tracer is None:
            self._process_and_write_traced(batch, txn, reject_failed, None)
            return
        with self.tracer.span(f"input_{self.input_type}", messages=len(batch), **_position_tags(batch)) as root:
            self._process_and_write_traced(batch, txn, reject_failed, root)

    def _process_and_write_traced(
        self, batch: list[Message], txn: Transaction, reject_failed: bool, root: Span | None
    ) -> None:
        started = time.monotonic()
        self.res.incr("input_received", len(batch))
        tracer = self.tracer
        if root is None or tracer is None:
            batch = run_processors(self.processors, batch, txn)
        else:
            with tracer.span("processors", parent=root, processors=len(self.processors)) as span:
                batch = run_processors(self.processors, batch, txn)
                span.set_tag("messages", len(batch))
        if not batch:
            return
        if reject_failed:
            failed = next((m.error for m in batch if m.error is not None), None)
            if failed is not None:
                raise RejectedMessage(failed)
        abandoned_before_write(txn)
        if root is None or tracer is None:
            self.output.write(batch, txn)
        else:
            with tracer.span(f"output_{self.output_type}", parent=root, messages=len(batch)):
                self.output.write(batch, txn)
        self.res.incr("output_sent", len(batch))
        self.res.timing("processing_seconds", time.monotonic() - started)

    # -- clients ---------------------------------------------------------------------------

    def push(self, message: Message, timeout: float) -> PushResult:
        """One message from an HTTP/WS client (see module doc for the statuses)."""
        return self.push_batch([message], timeout)

    def _push_job(self, messages: list[Message], txn: Transaction) -> Exception | None:
        """A push's processing in a greenlet of its own (a kept one, ``PUSH_GREENLETS``), so a
        push that times out is answered while its write goes on; the failure is returned, not
        raised: a rejected or undeliverable push is the client's or the broker's (``push_batch``
        answers and logs it)."""
        try:
            push_processors = getattr(self.input, "push_processors", None)
            if push_processors:  # an http_server inside a broker input: its own processors first
                messages = run_processors(push_processors, messages, txn)
            self._process_and_write(messages, txn, True)
        except Exception as exc:  # noqa: BLE001 - push_batch decides what each failure means
            return exc
        return None

    def push_batch(self, messages: list[Message], timeout: float) -> PushResult:
        """A batch (multipart body) from an HTTP client, acknowledged as a whole."""
        limiter = getattr(self.input, "limiter", None)
        if limiter is not None:
            wait = limiter.take()
            if wait > 0:
                return PushResult(429, b"", {"Retry-After": str(max(1, int(wait + 0.999)))}, "rate limited")
        txn = Transaction()
        job = PUSH_GREENLETS.run(self._push_job, messages, txn)
        inflight = self._inflight
        if inflight is None:
            inflight = self._inflight = set()
        inflight.add(job)
        job.on_done(inflight.discard)
        if not job.wait(timeout):
            # NOTE: not killed: an output may be half-way through an acknowledged write. It is
            # abandoned instead: what an output already handed on may still land (once), but
            # nothing new is written for a push whose client was told 408 (at most once).
            txn.abandon()
            self.log.warning("push timed out", timeout=timeout)
            job.on_done(lambda done: self._log_failure_after_timeout(done.value, messages))
            return PushResult(408, b"", {}, f"request timed out after {timeout:g}s")
        exc = job.value if job.exception is None else job.exception
        if isinstance(exc, RejectedMessage):
            self.log.info(f"push rejected: {hide_values(str(exc))}")
            return PushResult(400, b"", {}, f"processing failed: {exc}")
        if isinstance(exc, OutputError):
            self._log_failure("output failed", exc, messages)
            return PushResult(502, b"", {}, str(exc))
        if exc is not None:
            self._log_failure("processing failed", exc, messages)
            return PushResult(500, b"", {}, f"processing failed: {exc}")
        respond: Callable[..., PushResult] | None = getattr(self.input, "respond", None)
        if respond is None:
            return PushResult(200)
        return respond(txn.response)

    def pull(self, timeout: float) -> Delivery | None:
        """The next message for a GET on the ``http_server`` output, or None after ``timeout``."""
        if self.hub is None:
            raise ConfigError(f"stream {self.name!r} has no http_server output")
        if self.shutting_down:
            raise Draining("this worker is shutting down; retry (another worker will serve it)")
        delivery = self.hub.pull(timeout)
        if delivery is None and self.shutting_down:
            # Woken by the shutdown with nothing claimed: "retry elsewhere", not "no message".
            raise Draining("this worker is shutting down; retry (another worker will serve it)")
        if delivery is not None:
            self.res.incr("output_sent")
        return delivery

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """Attach a stream client (SSE, WS, chunked); ``close()`` it when the client leaves."""
        if self.hub is None:
            raise ConfigError(f"stream {self.name!r} has no http_server output")
        client = _StreamClient(self)
        client.token = self._roster.join(client.leave)  # Draining when stopping
        try:
            sub = client.sub = self.hub.subscribe(last_event_id)
        except BaseException:
            self._roster.forget(client.token)
            raise
        if sub.closed:
            self._roster.forget(client.token)
        else:
            sub.on_close(client.left)
            metric("gauge_add", "connections_active", 1, api=self.res.api, stream=self.name)
            sub.on_handed(client.handed)
        return sub

    @property
    def clients(self) -> int:
        return self.hub.clients if self.hub is not None else 0

    def __repr__(self) -> str:
        return f"StreamInstance({self.name!r}, key={self.key[:8]})"


def http_server_output(output: Output) -> HttpServerOutput | None:
    """The stream's ``http_server`` output: the output itself, or the first one inside its
    ``broker`` (at any depth) or behind its ``processors``."""
    if isinstance(output, HttpServerOutput):
        return output
    inner: list[Output] = []
    if isinstance(output, ProcessedOutput):
        inner = [output.output]
    elif isinstance(output, BrokerOutput):
        inner = output.outputs
    for child in inner:
        found = http_server_output(child)
        if found is not None:
            return found
    return None


def bus_topic(api: str, stream: str, key: str) -> str:
    """The host-bus topic of one in-process stream instance."""
    return f"_streams.{api}.{stream}.{key}"


def _bus_message(msg: Message) -> list[Message]:
    """A host-bus record as the message the output was given: its headers are the metadata
    (the processors ran before the write), without the broker's own keys."""
    msg.metadata = {k: v for k, v in msg.metadata.items() if not k.startswith("kafka_")}
    return [msg]


def _component_name(conf: Any) -> str:
    """``{"kafka": {...}}`` (or ``{"type": "kafka"}``) -> ``kafka``."""
    if isinstance(conf, dict):
        try:
            return forms.parts("output", conf)[0]
        except forms.FormError:
            pass
    return "unknown"


def _position_tags(batch: list[Message]) -> dict[str, Any]:
    pos = batch[0].position if batch else None
    if pos is None:
        return {}
    return {"kafka.topic": pos.topic, "kafka.partition": pos.partition, "kafka.offset": pos.offset}
