"""The gateway of one worker process: its APIs, their streams' routes and instances.

``Gateway.from_settings`` loads the API definitions (a bad one is reported and skipped, never
stopping the others); ``start`` runs after the fork (brokers must never cross a fork) and starts
the template-free streams; ``reload`` reads the definitions again and applies only what changed
(``streams.engine.reload_plan``): an unchanged API keeps its instances and connections, a changed
or removed one ends its clients as a stopping worker does (WebSocket 1001, SSE ``retry:``) while
its new version already serves; ``drain`` stops inputs, lets in-flight messages finish and commit, and
closes everything. Each ``Api`` keeps, per template stream, one instance per distinct substituted
config, shared by every request that substitutes to it and closed once idle.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event
import gevent.lock

from streams import context, forms
from streams.auth.config import AuthConfig
from streams.auth.gate import Gate
from streams.auth.services import AuthServices
from streams.brokers.base import Broker
from streams.contracts import ConfigError
from streams.definitions import ApiDefinition, Problem, display_path, error_summary, load_directory
from streams.durations import parse_duration
from streams.engine.admission import Admission
from streams.engine.components import BUILDER, resolve
from streams.engine.definition_store import api_id_of
from streams.engine.instance import StreamInstance
from streams.engine.kept_greenlets import KeptGreenlets
from streams.engine.logs import StreamLog
from streams.engine.owners import ListenPathOwners
from streams.engine.reload_plan import ReloadPlan, fingerprint
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.shutdown import GOING_AWAY, Draining
from streams.engine.watch import DirectoryWatcher
from streams.listenpaths import ListenPaths, ListenPathTaken, duplicate_routes
from streams.observability import StreamTelemetry, start_stream_telemetry
from streams.ratelimits import ApiRateLimits, read_rate_limits
from streams.settings import Settings
from streams.tracing import Tracer

MAX_CACHED_KEYS = 100_000
"""Remembered (variables -> instance) lookups per API before the cache starts over."""

BUILD_GREENLETS = KeptGreenlets(keep=4)
"""Where stream instances are built (``Api._build_aside``)."""


@dataclass(frozen=True)
class Route:
    """One URL the HTTP layer serves for a stream."""

    api: Api
    stream: str
    path: str
    kind: str  # "push" | "push_ws" | "pull" | "stream" | "pull_ws"
    methods: tuple[str, ...]
    timeout: float
    stream_format: str = ""
    """The output's ``stream_format`` as written; empty when the definition left it open (then
    the request's ``Accept`` chooses, see ``handlers.endpoint``)."""
    heartbeat: float = 0.0
    ws_message_type: str = "text"
    ping_period: float = 0.0
    """Seconds between WebSocket pings (``ping_period``); 0: the gateway's heartbeat setting."""
    pong_wait: float = 0.0
    """Seconds a WebSocket client may stay silent, pongs included, before it is closed; 0: no limit."""


class Api:
    """One API definition: listen path, context-variable policy, and its streams."""

    def __init__(
        self,
        gateway: Gateway,
        name: str,
        listen_path: str,
        strip: bool,
        traffic_logs: bool,
        context_variables: bool,
        streams: dict[str, Any],
        source: str = "",
        document: dict[str, Any] | None = None,
        auth: AuthConfig | None = None,
        api_id: str = "",
    ) -> None:
        self.gateway = gateway
        self.name = name
        self.listen_path = listen_path
        self.strip = strip
        self.traffic_logs = traffic_logs
        self.context_variables = context_variables
        self.streams = streams
        self.source = source
        self.document = document or {}
        self.api_id = api_id or name
        self.rate_limits = api_rate_limits(name, self.document)
        self.fingerprint = fingerprint(
            name,
            listen_path,
            streams,
            strip=strip,
            traffic_logs=traffic_logs,
            context_variables=context_variables,
            auth=auth,
            rate_limits=self.rate_limits.facts(),
        )
        self.gate: Gate | None = None if auth is None else gateway.auth.gate(self.api_id, name, auth)
        """Who may use the API (``streams.auth.gate``); None: anyone (keyless)."""
        self.retired = False
        """Replaced or removed by a reload: its routes are gone and it starts nothing new."""
        self._uses = {s: tuple(sorted(context.placeholders(conf))) for s, conf in streams.items()}
        self.templates = {s for s, names in self._uses.items() if names}
        # (stream, variable values) -> instance key: skips substitution and hashing on the hot path
        self._keys: dict[tuple[str, tuple[str, ...]], str] = {}
        self._instances: dict[str, dict[str, StreamInstance]] = {s: {} for s in streams}
        self._building: dict[str, gevent.event.AsyncResult] = {}  # instance key -> its build
        self._telemetry_lock = gevent.lock.Semaphore()
        self._telemetry: dict[str, StreamTelemetry | None] = {}  # None: it failed to start

    def is_template(self, stream: str) -> bool:
        return stream in self.templates

    def open(self, stream: str, variables: dict[str, str]) -> StreamInstance:
        """The running instance of ``stream`` for these request variables, acquired for the
        caller, who must call ``release()`` on it when its client is done."""
        if stream not in self.streams:
            raise KeyError(f"API {self.name!r} has no stream {stream!r}")
        if self.gateway.draining:
            # NOTE: existing instances too: a request arriving on a kept-alive connection after
            # shutdown began is refused (503, retry elsewhere) rather than started and cut off.
            raise Draining("this worker is shutting down; retry (another worker will serve it)")
        if self.retired:
            # A request routed here just before a reload swapped the routes: the new version
            # serves the retry.
            raise Draining(f"API {self.name!r} is being reloaded; retry")
        table = self._instances[stream]
        values = self._values(stream, variables)
        key = self._keys.get((stream, values))
        instance = table.get(key) if key is not None else None
        if instance is None or instance.closed:
            instance = self._build_aside(stream, variables, values)
        return instance.acquire()

    def _build_aside(self, stream: str, variables: dict[str, Any], values: tuple[str, ...]) -> StreamInstance:
        """``_instance_for`` in a kept greenlet while the caller's waits.

        PERF: a build runs deep (substitution, compiling the user's mappings, the instance's
        components), and a greenlet keeps resident every page of frame stack it ever touched:
        built in the client's own greenlet, each new user's idle SSE connection held 16 KiB of
        frame stack where a known user's holds 4 KiB. A build is seldom, so a few kept greenlets
        take them all. A caller that stops waiting (its client left) leaves the build to finish
        for the next request."""
        job = BUILD_GREENLETS.run(self._instance_for, stream, variables, values)
        job.wait()
        failure = job.exception
        if failure is None:
            instance: StreamInstance = job.value
            return instance
        if isinstance(failure, Exception):
            raise failure
        raise Draining("the stream instance was not started; retry")  # its builder was killed

    def client_identity(self, stream: str, variables: dict[str, Any]) -> str | None:
        """Who a client of ``stream`` is, as the stream tells users apart: the API with the
        ``$tyk_context`` variables the stream uses and their values (``?user=alice``); None when
        it uses none, or all are empty."""
        values = self._values(stream, variables)
        if not any(values):
            return None
        return json.dumps([self.name, dict(zip(self._uses[stream], values, strict=True))], sort_keys=True)

    def _instance_for(self, stream: str, variables: dict[str, Any], values: tuple[str, ...]) -> StreamInstance:
        """Substitute, find or build the instance, and remember the lookup."""
        table = self._instances[stream]
        conf = self.streams[stream]
        if stream in self.templates:
            conf = context.substitute(conf, variables, enabled=self.context_variables)
        key = context.instance_key(conf)
        if len(self._keys) >= MAX_CACHED_KEYS:
            self._keys.clear()
        self._keys[(stream, values)] = key
        instance = table.get(key)
        if instance is not None and not instance.closed:
            return instance
        if self.gateway.draining or self.retired:
            raise Draining("this worker is shutting down; retry (another worker will serve it)")
        # NOTE: one build per instance key at a time, not one per API: a build may wait for the
        # broker (offsets, the consumer group), and one user's slow start must not hold up
        # every other user's first request.
        building = self._building.get(key)
        if building is not None:
            return building.get()
        building = self._building[key] = gevent.event.AsyncResult()
        try:
            with self._telemetry_lock:
                telemetry = self._start_telemetry(stream, conf)
            tracer = telemetry.tracer if telemetry is not None else None
            instance = self.gateway.build_instance(self, stream, conf, key, tracer=tracer)
            table[key] = instance
            instance.start()
        except Exception as exc:
            building.set_exception(exc)
            raise
        except BaseException:
            # The building greenlet was killed; the ones waiting for it must not die with it.
            building.set_exception(Draining("the stream instance was not started; retry"))
            raise
        else:
            building.set(instance)
        finally:
            del self._building[key]
        return instance

    def _values(self, stream: str, variables: dict[str, Any]) -> tuple[str, ...]:
        """The values of the variables ``stream`` uses, as substitution would read them."""
        if not self.context_variables:
            return ()
        out = []
        for name in self._uses[stream]:
            value = variables.get(name, "")
            out.append(value if isinstance(value, str) else context.to_text(value))
        return tuple(out)

    def _start_telemetry(self, stream: str, conf: dict[str, Any]) -> StreamTelemetry | None:
        """A stream's ``metrics.prometheus`` block pushes its series to a Pushgateway and its
        ``tracer.jaeger`` block sends spans: once per stream and worker, however many instances
        the stream has (every instance of the stream shares the tracer)."""
        if stream in self._telemetry:
            return self._telemetry[stream]
        telemetry = None
        if not isinstance(conf, dict) or not (conf.get("metrics") or conf.get("tracer")):
            return None
        conf = forms.canonical_blocks(conf)  # ``tracer: {type: jaeger, jaeger: {...}}`` too
        try:
            telemetry = start_stream_telemetry(stream, conf, api=self.name)
        except Exception as exc:  # noqa: BLE001 - telemetry must never stop a stream
            self.gateway.log.error(f"metrics push or tracer not started: {exc}", api=self.name, stream=stream)
        self._telemetry[stream] = telemetry
        return telemetry

    def stop_telemetry(self) -> None:
        """Stop the pushers and tracers (each sends what it has first)."""
        for telemetry in self._telemetry.values():
            if telemetry is not None:
                try:
                    telemetry.stop()
                except Exception as exc:  # noqa: BLE001 - drain goes on
                    self.gateway.log.error(f"stopping telemetry failed: {exc}", api=self.name)
        self._telemetry.clear()

    def start_static(self) -> None:
        """Start every template-free stream once (this worker's copy)."""
        for stream in self.streams:
            if stream in self.templates:
                continue
            try:
                self.open(stream, {}).release()
            except Exception as exc:  # noqa: BLE001 - one bad stream must not stop the others
                self.gateway.log.error(f"stream could not start: {exc}", api=self.name, stream=stream)

    def instances(self) -> list[StreamInstance]:
        return [i for table in self._instances.values() for i in table.values() if not i.closed]

    def reap(self, idle_timeout: float, now: float) -> int:
        """Close template instances nobody used for ``idle_timeout`` seconds."""
        closed = 0
        for stream in self.templates:
            table = self._instances[stream]
            for key, inst in list(table.items()):
                if inst.refs == 0 and inst.idle_since is not None and now - inst.idle_since >= idle_timeout:
                    del table[key]
                    inst.close(timeout=self.gateway.settings.drain_timeout)
                    self.gateway.log.info("idle instance closed", api=self.name, stream=stream, instance=key[:12])
                    closed += 1
        return closed

    def retire(self, reason: str = GOING_AWAY) -> int:
        """A reload replaced or removed this API: refuse new clients, end the attached ones
        with ``reason`` (as a stopping worker does), then, in the background, let in-flight
        messages finish and close every instance. Returns how many clients were told to leave."""
        if self.retired:
            return 0
        self.retired = True
        instances = self.instances()
        told = sum(inst.begin_shutdown(reason) for inst in instances)
        gevent.spawn(self._close_retired, instances)
        return told

    def _close_retired(self, instances: list[StreamInstance]) -> None:
        timeout = self.gateway.settings.drain_timeout
        deadline = time.monotonic() + timeout
        for inst in instances:
            try:
                inst.close(timeout=max(0.1, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - the other instances close anyway
                self.gateway.log.error(f"closing a replaced instance failed: {exc}", api=self.name)
        self.stop_telemetry()
        self.gateway.log.info("replaced API stopped", api=self.name, instances=len(instances))

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        prefix = "/" + self.listen_path.strip("/")
        prefix = "" if prefix == "/" else prefix
        for stream, conf in self.streams.items():
            routes.extend(_stream_routes(self, stream, conf, prefix))
        return routes

    def __repr__(self) -> str:
        return f"Api({self.name!r}, {self.listen_path!r})"


def _join(prefix: str, path: str) -> str:
    return prefix + "/" + str(path).lstrip("/")


def _stream_routes(api: Api, stream: str, conf: dict[str, Any], prefix: str) -> list[Route]:
    """The URLs of a stream's ``http_server`` input and output, also inside a ``broker`` or
    behind a ``resource`` (``streams.forms.http_servers``); a stream's first ``http_server``
    output is the one its clients read (``instance.http_server_output``)."""
    out: list[Route] = []
    where = f"streams.{stream}"
    conf = conf if isinstance(conf, dict) else {}
    try:
        for block in forms.http_servers("input", conf.get("input"), forms.resources_by_label(conf.get("input_resources"))):
            _, c, _ = resolve("input", block, f"{where}.input")
            timeout = parse_duration(c["timeout"], 5.0)
            verbs = tuple(v.upper() for v in c["allowed_verbs"])
            out.append(Route(api, stream, _join(prefix, c["path"]), "push", verbs, timeout))
            if c.get("ws_path"):
                out.append(Route(api, stream, _join(prefix, c["ws_path"]), "push_ws", ("GET",), timeout))
        outputs = forms.http_servers(
            "output", forms.stream_output(conf), forms.resources_by_label(conf.get("output_resources"))
        )
        for block in outputs[:1]:
            _, c, _ = resolve("output", block, f"{where}.output")
            timeout = parse_duration(c["timeout"], 5.0)
            # Only what the definition wrote: a format or keep-alive left out is the gateway's choice.
            body = block.get("http_server")
            written: dict[str, Any] = body if isinstance(body, dict) else {}
            extra = {
                "stream_format": str(written.get("stream_format") or ""),
                "heartbeat": parse_duration(c.get("heartbeat", ""), 0.0),
                "ws_message_type": c.get("ws_message_type", "text"),
                "ping_period": parse_duration(str(written.get("ping_period") or ""), 0.0),
                "pong_wait": parse_duration(str(written.get("pong_wait") or ""), 0.0),
            }
            # As in Bento, allowed_verbs governs both path and stream_path; ws_path is an upgrade (GET).
            verbs = tuple(v.upper() for v in c["allowed_verbs"])
            out.append(Route(api, stream, _join(prefix, c["path"]), "pull", verbs, timeout, **extra))
            if c.get("stream_path"):
                out.append(Route(api, stream, _join(prefix, c["stream_path"]), "stream", verbs, timeout, **extra))
            if c.get("ws_path"):
                out.append(Route(api, stream, _join(prefix, c["ws_path"]), "pull_ws", ("GET",), timeout, **extra))
    except (ConfigError, ValueError, KeyError) as exc:
        api.gateway.log.error(f"stream has no usable routes: {exc}", api=api.name, stream=stream)
    return out


class Gateway:
    """Every API of this worker process."""

    def __init__(self, settings: Settings, problems: list[Problem] | None = None) -> None:
        self.settings = settings
        self.problems: list[Problem] = list(problems or [])
        self.apis: list[Api] = []
        self.listen_paths = ListenPaths()
        self.log = StreamLog(component="gateway")
        self.services = WorkerServices(settings, self.log)
        self.auth = AuthServices(self.services.broker, lambda: self.services.host, self.services.host_count)
        self.admission = Admission(
            lambda: self.services.host,
            self.services.host_count,
            settings.max_client_streams,
            self.log.bind(component="limits"),
        )
        self._reaper: gevent.Greenlet | None = None
        self._reload_lock = gevent.lock.Semaphore()
        self._reported: set[str] = set()
        self.route_listeners: list[Callable[[list[Route]], None]] = []
        """Called with the new routes after a reload changed them (the HTTP layer's table)."""
        self.watcher = DirectoryWatcher(settings.definitions_dir, settings.watch_interval, self.reload)
        self.started = False
        self.draining = False
        self.shutting_down = False

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings) -> Gateway:
        """Load every API definition of ``settings.definitions_dir``; problems are logged and
        kept in ``.problems``, and the definitions that loaded serve anyway.

        Who owns a listen path is kept (``streams.engine.owners``: beside the definitions and
        in the host's state file), so every worker, a worker restarted later and another host
        sharing the directory let the API that was serving keep its path when a newer file
        claims it too.
        """
        gateway = cls(settings)
        gateway.reload()
        return gateway

    def reload(self) -> ReloadPlan:
        """Read the definitions directory again and apply what changed (``apply``); the
        listen-path owners are read before and stored after, as at start-up."""
        with self._reload_lock:
            if self.draining:
                return ReloadPlan()
            owners = ListenPathOwners(self.settings.definitions_dir, lambda: self.services.host, self.log)
            self.watcher.seen()
            definitions, problems = load_directory(
                self.settings.definitions_dir,
                allow_impure_bloblang=self.settings.allow_impure_bloblang,
                owners=owners.owner,
            )
            plan = self.apply(definitions, problems)
            owners.store({api.listen_path: os.path.basename(api.source) for api in self.apis if api.source})
            return plan

    def apply(self, definitions: list[ApiDefinition], problems: list[Problem]) -> ReloadPlan:
        """Make the running APIs those of ``definitions``, touching only what changed.

        New versions are registered (and their routes published) before the old ones are
        retired, so a client told to leave reconnects straight to the new version. A file that
        failed validation keeps its last good version running; a changed definition that cannot
        claim its listen path any more keeps the old version too.
        """
        # APIs added in code (no file) are not the directory's to remove.
        running = {api.source: api for api in self.apis if api.source}
        wanted = {d.source: d for d in definitions}
        broken_files = {p.file for p in problems}
        broken = {source for source in running if display_path(source) in broken_files}
        plan = ReloadPlan.between(
            {source: api.fingerprint for source, api in running.items()},
            {source: _fingerprint(d) for source, d in wanted.items()},
            broken,
        )
        apis = [api for api in self.apis if api.source not in running or api.source in plan.keep + plan.kept_broken]
        retired: list[Api] = []
        for source in plan.stop + plan.replace:
            self.listen_paths.release(_owner(running[source]))
        for source in plan.stop:
            retired.append(running[source])
        added: list[Api] = []
        refused: list[Problem] = []
        for definition in definitions:
            if definition.source not in plan.start and definition.source not in plan.replace:
                continue
            old = running.get(definition.source)
            try:
                api = self._register(definition)
            except Exception as exc:  # noqa: BLE001 - one API's failure must never stop the others
                line = definition.listen_path_line if isinstance(exc, ListenPathTaken) else None
                refused.append(Problem(display_path(definition.source), line, "", error_summary(exc)))
                if old is not None and self._reclaim(old):
                    apis.append(old)
                    plan.replace.remove(old.source)
                    plan.kept_broken.append(old.source)
                elif old is not None:
                    retired.append(old)
                continue
            added.append(api)
            if old is not None:
                retired.append(old)
        self._report(problems + refused, [running[s] for s in plan.kept_broken])
        self.apis = apis + added
        if plan.changes:
            self.log.info("definitions reloaded", **plan.summary())
            for listener in list(self.route_listeners):
                listener(self.routes())
        for api in retired:
            told = api.retire()
            self.log.info("API stopped by a reload", api=api.name, file=_owner(api), clients=told)
        if self.started and not self.draining:
            self._count_hosts_for_rate_limits(added)
            for api in added:
                # NOTE: not under the reload lock: a stream may wait for its broker (a consumer
                # group join can take seconds) and must not hold up the next reload.
                gevent.spawn(api.start_static)
        return plan

    def refresh(self) -> ReloadPlan | None:
        """Reload when the directory changed since it was last read (another worker or host
        wrote to it): the management API answers from the directory as it is now."""
        if self.watcher.changed():
            return self.reload()
        return None

    def _reclaim(self, old: Api) -> bool:
        """Give a running API its listen path back after its new version was refused."""
        try:
            self.listen_paths.claim(_owner(old), old.listen_path, old.name)
        except ListenPathTaken:
            return False
        return True

    def _report(self, problems: list[Problem], kept: list[Api]) -> None:
        """Log each problem once (a reload repeats the unchanged ones), and say which broken
        files keep their last good version."""
        self.problems = list(problems)
        current = {str(p) for p in problems}
        for problem in problems:
            if str(problem) not in self._reported:
                self.log.error(f"definition problem: {problem}", file=problem.file)
        for api in kept:
            mine = [str(p) for p in problems if p.file == _owner(api)]
            if any(text not in self._reported for text in mine):
                self.log.error(
                    "definition not valid any more: the last good version keeps running",
                    api=api.name,
                    file=_owner(api),
                    problems=mine,
                )
        self._reported = current

    def problem(self, problem: Problem) -> None:
        """Keep and log one definition problem."""
        self.problems.append(problem)
        self.log.error(f"definition problem: {problem}", file=problem.file)

    def add_definition(self, definition: ApiDefinition) -> Api:
        """Register one loaded ``ApiDefinition``; raises ``ListenPathTaken`` (``http_status``
        400) when another API already serves an overlapping listen path or the same name."""
        api = self._register(definition)
        self.apis = [*self.apis, api]
        return api

    def _register(self, definition: ApiDefinition) -> Api:
        """Claim the listen path and build the ``Api`` (not yet among ``apis``)."""
        return self._build_api(
            name=definition.name,
            listen_path=definition.listen_path,
            strip=definition.strip,
            traffic_logs=definition.traffic_logs,
            context_variables=definition.context_variables,
            streams={name: sd.config for name, sd in definition.streams.items()},
            source=definition.source,
            document=definition.document,
            auth=definition.auth,
            api_id=api_id_of(definition.source, definition.document),
        )

    def add_api(
        self,
        name: str,
        listen_path: str,
        streams: dict[str, Any],
        *,
        strip: bool = True,
        traffic_logs: bool = False,
        context_variables: bool = True,
        source: str = "",
    ) -> Api:
        """Register one API (see ``add_definition`` for what is refused)."""
        api = self._build_api(
            name, listen_path, streams,
            strip=strip, traffic_logs=traffic_logs, context_variables=context_variables, source=source,
        )
        self.apis = [*self.apis, api]
        return api

    def _build_api(
        self,
        name: str,
        listen_path: str,
        streams: dict[str, Any],
        *,
        strip: bool = True,
        traffic_logs: bool = False,
        context_variables: bool = True,
        source: str = "",
        document: dict[str, Any] | None = None,
        auth: AuthConfig | None = None,
        api_id: str = "",
    ) -> Api:
        owner = display_path(source) if source else f"API {name!r}"
        self.listen_paths.claim(owner, listen_path, name)
        api = Api(self, name, listen_path, strip, traffic_logs, context_variables, streams, source, document, auth, api_id)
        twice = duplicate_routes(r.path for r in api.routes())
        if twice:
            # Not refused: Bento's default ``ws_path`` (/post/ws) is shared by every
            # http_server input that does not set one, and such APIs serve today.
            self.log.warning(f"more than one stream of the API serves {', '.join(twice)}", api=name, file=owner)
        return api

    def api(self, name: str) -> Api:
        for api in self.apis:
            if api.name == name:
                return api
        raise KeyError(name)

    def routes(self) -> list[Route]:
        return [r for api in self.apis for r in api.routes()]

    # -- shared resources ------------------------------------------------------------------

    def broker(self, addresses: list[str] | None = None) -> Broker:
        """This worker's broker connection (see ``WorkerServices.broker``)."""
        return self.services.broker(addresses)

    def build_instance(
        self, api: Api, stream: str, conf: dict[str, Any], key: str, tracer: Tracer | None = None
    ) -> StreamInstance:
        res = Resources(self.settings, api.name, stream, f"streams.{stream}", self.services, BUILDER)
        instance = StreamInstance(stream, conf, key, res, tracer=tracer)
        self.log.info("instance started", api=api.name, stream=stream, instance=key[:12])
        return instance

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        """After fork: start the template-free streams and the idle-instance reaper."""
        if self.started:
            return
        self.started = True
        for api in self.apis:
            api.start_static()
        self._reaper = gevent.spawn(self._reap_loop)
        self.watcher.start()
        self._count_hosts_for_rate_limits(self.apis)

    def _count_hosts_for_rate_limits(self, apis: list[Api]) -> None:
        """Start counting the cluster's gateway hosts (heartbeats) as soon as an API has a rate
        limit, authentication or a stream with ``rate_limit_resources`` (a key's rate and quota
        and those limits are shared the same way), so its first requests already see the other
        hosts."""
        if any(api.rate_limits or api.gate is not None or _has_rate_limit_resources(api.streams) for api in apis):
            self.services.host_count()

    def _reap_loop(self) -> None:
        idle = self.settings.instance_idle_timeout
        while not self.draining:
            gevent.sleep(min(5.0, max(0.05, idle / 4)))
            self.reap()

    def reap(self) -> int:
        """Close idle template instances now; returns how many were closed."""
        now = time.monotonic()
        return sum(api.reap(self.settings.instance_idle_timeout, now) for api in self.apis)

    def instances(self) -> list[StreamInstance]:
        return [i for api in self.apis for i in api.instances()]

    def begin_shutdown(self, reason: str = GOING_AWAY) -> int:
        """First step of stopping: refuse new clients (503), end every stream client (they
        reconnect elsewhere), wake waiting GETs and stop the inputs, without waiting for
        anything. The server's connections can then finish and ``drain`` runs quickly.
        Returns how many clients were told to leave."""
        if self.shutting_down:
            return 0
        self.shutting_down = True
        self.draining = True
        if self._reaper is not None:
            self._reaper.kill(block=False)
        self.watcher.stop()
        told = sum(inst.begin_shutdown(reason) for inst in self.instances())
        self.log.info("shutdown begun: clients told to leave", clients=told)
        return told

    def drain(self, timeout: float | None = None) -> None:
        """Stop every input, let in-flight messages finish and commit, close instances and
        the broker (and its consumers, so their groups rebalance at once)."""
        timeout = self.settings.drain_timeout if timeout is None else timeout
        self.begin_shutdown()
        started = time.monotonic()
        instances = self.instances()
        for inst in instances:
            inst.stop_input()
        deadline = time.monotonic() + timeout
        for inst in instances:
            inst.close(timeout=max(0.1, deadline - time.monotonic()))
        for api in self.apis:
            api.stop_telemetry()
        self.auth.close()
        self.services.close()
        self.log.info("gateway drained", instances=len(instances), seconds=round(time.monotonic() - started, 3))

    def health(self) -> dict[str, Any]:
        instances = self.instances()
        return {
            "status": "draining" if self.draining else "pass",
            "apis": [api.name for api in self.apis],
            "streams": sum(len(api.streams) for api in self.apis),
            "instances": len(instances),
            "clients": sum(i.clients for i in instances),
            "problems": len(self.problems),
            "broker": "embedded" if self.settings.embedded_kafka else "kafka",
        }


def _owner(api: Api) -> str:
    """How the listen-path table names the API's claim."""
    return display_path(api.source) if api.source else f"API {api.name!r}"


def _fingerprint(definition: ApiDefinition) -> str:
    return fingerprint(
        definition.name,
        definition.listen_path,
        {name: sd.config for name, sd in definition.streams.items()},
        strip=definition.strip,
        traffic_logs=definition.traffic_logs,
        context_variables=definition.context_variables,
        auth=definition.auth,
        rate_limits=definition.rate_limits.facts(),
    )


def api_rate_limits(name: str, document: dict[str, Any]) -> ApiRateLimits:
    """The rate limits of an API document (validated when it was loaded, so nothing is
    reported here)."""
    gateway = document.get("x-tyk-api-gateway")
    return read_rate_limits(name, gateway if isinstance(gateway, dict) else {}, document.get("paths"))


def _has_rate_limit_resources(streams: dict[str, Any]) -> bool:
    return any(isinstance(conf, dict) and conf.get("rate_limit_resources") for conf in streams.values())
