"""Functions and methods that are really part of the language: message access, variables,
errors, control of the mapping itself.

The methods ``catch``, ``or``, ``map``, ``apply``, ``from``, ``from_all`` and ``not`` are
declared here so the parser knows their parameters, but the code generator emits their
behaviour itself (their specs are marked ``syntax``), because they act on the *evaluation* of
their target (its error, its message index), not on its value. So is ``bloblang``, whose
argument is a mapping: only the compiler can build one (the parser checks a literal mapping with
the outer one, and ``codegen`` compiles and runs it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from streams.bloblang import runtime, timefmt
from streams.bloblang.errors import ExecError
from streams.bloblang.paths import dot_path_to_slice, slice_to_dot_path
from streams.bloblang.registry import Library, Param
from streams.bloblang.runtime import Context, get_path
from streams.bloblang.values import (
    DELETE,
    INT64_MAX,
    NOTHING,
    Timestamp,
    get_int,
    to_string,
)

LIBRARY = Library()


def _syntax(name: str) -> Callable[..., Any]:
    def impl(*_args: Any) -> Any:
        raise ExecError(f"method {name} cannot be called directly")

    return impl


LIBRARY.method("catch", Param("fallback", "query"), syntax=True)(_syntax("catch"))
LIBRARY.method("or", Param("fallback", "query"), syntax=True)(_syntax("or"))
LIBRARY.method("map", Param("query", "query"), syntax=True)(_syntax("map"))
LIBRARY.method("apply", Param("mapping", "string"), syntax=True)(_syntax("apply"))
LIBRARY.method("from", Param("index", "int"), syntax=True)(_syntax("from"))
LIBRARY.method("from_all", syntax=True)(_syntax("from_all"))
LIBRARY.method("not", syntax=True)(_syntax("not"))
# Runs a mapping given as data on the target; imports and impure or message-reading functions
# are unavailable there, as in Benthos.
LIBRARY.method("bloblang", Param("mapping", "string"), context=True, syntax=True)(_syntax("bloblang"))


# ------------------------------------------------------------------------------------------
# Constants in disguise (the parser folds these into literals)


@LIBRARY.function("deleted")
def deleted(ctx: Context) -> Any:
    return DELETE


@LIBRARY.function("nothing")
def nothing(ctx: Context) -> Any:
    return NOTHING


@LIBRARY.function("throw", Param("why", "string"))
def throw(ctx: Context, why: str) -> Any:
    """Fails the mapping with exactly this text."""
    raise ExecError(why)


# ------------------------------------------------------------------------------------------
# Message information


@LIBRARY.function("content")
def content(ctx: Context) -> bytes:
    msg = ctx.message
    return msg.content if msg is not None else b""


@LIBRARY.function("json", Param("path", "string", default=""))
def json_(ctx: Context, path: str) -> Any:
    """A field of the message at the context's index (``from`` changes it), parsed as JSON."""
    msg = ctx.message
    if msg is None or (not msg.has_value and not msg.content):
        # NOTE: Benthos treats an empty payload as a missing part, not as bad JSON.
        raise ExecError("target message part does not exist")
    try:
        value = msg.value
    except ValueError as exc:
        raise ExecError(str(exc)) from None
    if path:
        return get_path(value, tuple(dot_path_to_slice(path)))
    return value


@LIBRARY.function("batch_index")
def batch_index(ctx: Context) -> int:
    return ctx.index


@LIBRARY.function("batch_size")
def batch_size(ctx: Context) -> int:
    return len(ctx.batch)


@LIBRARY.function("metadata", Param("key", "string", default=""))
def metadata(ctx: Context, key: str) -> Any:
    """The *input* message's metadata (unchanged by ``meta`` assignments)."""
    msg = ctx.message
    meta = msg.metadata if msg is not None else {}
    if key:
        return meta.get(key)
    return dict(meta)


@LIBRARY.function("meta", Param("key", "string", default=""), deprecated=True)
def meta(ctx: Context, key: str) -> Any:
    """Deprecated: the input message's metadata as strings (empty reads as null)."""
    msg = ctx.message
    m = msg.metadata if msg is not None else {}
    if key:
        v = m.get(key)
        if v is None:
            return None
        s = to_string(v)
        return s or None
    return {k: to_string(v) for k, v in m.items()}


@LIBRARY.function("root_meta", Param("key", "string", default=""), deprecated=True)
def root_meta(ctx: Context, key: str) -> Any:
    """Deprecated: the output metadata as strings."""
    if ctx.meta is None:
        raise ExecError("root metadata cannot be queried in this context")
    if key:
        v = ctx.meta.get(key)
        if v is None:
            return None
        s = to_string(v)
        return s or None
    return {k: to_string(v) for k, v in ctx.meta.items()}


@LIBRARY.function("var", Param("name", "string"))
def var(ctx: Context, name: str) -> Any:
    return runtime.var(ctx, name)


@LIBRARY.function("error")
def error(ctx: Context) -> Any:
    msg = ctx.message
    return getattr(msg, "error", None) if msg is not None else None


@LIBRARY.function("errored")
def errored(ctx: Context) -> bool:
    msg = ctx.message
    return msg is not None and getattr(msg, "error", None) is not None


def _error_source(ctx: Context, attr: str) -> Any:
    msg = ctx.message
    if msg is None or getattr(msg, "error", None) is None:
        return None
    source = getattr(msg, "error_source", None)
    if source is None:
        return None
    value = getattr(source, attr, None)
    if attr == "path" and isinstance(value, (list, tuple)):
        return slice_to_dot_path(list(value))
    return value


@LIBRARY.function("error_source_name")
def error_source_name(ctx: Context) -> Any:
    return _error_source(ctx, "name")


@LIBRARY.function("error_source_label")
def error_source_label(ctx: Context) -> Any:
    return _error_source(ctx, "label")


@LIBRARY.function("error_source_path")
def error_source_path(ctx: Context) -> Any:
    return _error_source(ctx, "path")


@LIBRARY.function("tracing_id")
def tracing_id(ctx: Context) -> str:
    """The trace id of the message's span, or "" (spans are attached by the engine as
    ``message.trace``: an object with ``trace_id`` and ``traceparent``)."""
    trace = getattr(ctx.message, "trace", None)
    return getattr(trace, "trace_id", "") if trace is not None else ""


@LIBRARY.function("tracing_span")
def tracing_span(ctx: Context) -> Any:
    trace = getattr(ctx.message, "trace", None)
    if trace is None:
        return None
    parent = getattr(trace, "traceparent", None)
    return {"traceparent": parent} if parent else None


# ------------------------------------------------------------------------------------------
# Generators and state

_COUNTS: dict[str, int] = {}
_COUNTS_LOCK = threading.Lock()


@LIBRARY.function("count", Param("name", "string"), deprecated=True)
def count(ctx: Context, name: str) -> int:
    """Deprecated global counter per name, starting at 1 (process-wide, like Benthos)."""
    with _COUNTS_LOCK:
        n = _COUNTS.get(name, 0) + 1
        _COUNTS[name] = n
        return n


def _counter_factory() -> Callable[..., Any]:
    state: dict[str, Any] = {"i": None, "min": 0, "max": 0}
    lock = threading.Lock()

    def counter(ctx: Context, min_q: Callable, max_q: Callable, set_q: Callable | None) -> int:
        this = _this_or_none(ctx)
        with lock:
            if state["i"] is None:
                try:
                    lo = get_int(min_q(this))
                except ExecError as exc:
                    raise ExecError(f"failed to resolve min argument: {exc}") from None
                if lo < 0:
                    raise ExecError(f"min argument must be >0, got {lo}")
                try:
                    hi = get_int(max_q(this))
                except ExecError as exc:
                    raise ExecError(f"failed to resolve max argument: {exc}") from None
                if hi < 0 or hi <= lo:
                    raise ExecError(f"max argument must be >0 and >min, got {hi}")
                state.update(i=lo - 1, min=lo, max=hi)
            if set_q is not None:
                try:
                    sv = set_q(this)
                except ExecError as exc:
                    raise ExecError(f"failed to resolve set argument: {exc}") from None
                if sv is None:
                    return state["i"]
                if sv is DELETE:
                    state["i"] = state["min"] - 1
                elif sv is not NOTHING:
                    try:
                        iv = get_int(sv)
                    except ExecError as exc:
                        raise ExecError(f"failed to resolve set argument: {exc}") from None
                    state["i"] = iv
                    return iv
            state["i"] += 1
            v = state["i"]
            if v >= state["max"]:
                state["i"] = state["min"] - 1
            return v

    return counter


def _this_or_none(ctx: Context) -> Any:
    try:
        return ctx.doc("")
    except ExecError:
        return None


LIBRARY.function(
    "counter",
    Param("min", "query", default=1),
    Param("max", "query", default=INT64_MAX),
    Param("set", "query", default=None, nullable=True),
    stateful=True,
)(_counter_factory)


_RANGE_LIMIT = 10_000_000
"""Largest array ``range`` builds: a bigger one fails cleanly instead of exhausting memory."""


def _range_check(start: int, stop: int, step: int) -> None:
    if step == 0:
        raise ExecError("step must be greater than or less than 0")
    if step < 0:
        if stop > start:
            raise ExecError(f"with negative step arg stop ({stop}) must be <= start ({start})")
    elif start >= stop:
        raise ExecError(f"with positive step arg start ({start}) must be < stop ({stop})")


@LIBRARY.function("range", Param("start", "int"), Param("stop", "int"), Param("step", "int", default=1), check=_range_check)
def range_(ctx: Context, start: int, stop: int, step: int) -> list:
    # NOTE: the parse-time check only covers literal arguments; dynamic ones are checked here.
    _range_check(start, stop, step)
    n = (stop - start) // step  # the check makes this Go's truncating division
    if n > _RANGE_LIMIT:
        raise ExecError(f"range of {n} elements exceeds the limit of {_RANGE_LIMIT}")
    return [start + step * i for i in range(n)]


# ------------------------------------------------------------------------------------------
# Environment


@LIBRARY.function("now")
def now(ctx: Context) -> str:
    return timefmt.format_rfc3339nano(Timestamp(time.time_ns(), None))


@LIBRARY.function("timestamp_unix")
def timestamp_unix(ctx: Context) -> int:
    return time.time_ns() // 1_000_000_000


@LIBRARY.function("timestamp_unix_milli")
def timestamp_unix_milli(ctx: Context) -> int:
    return time.time_ns() // 1_000_000


@LIBRARY.function("timestamp_unix_micro")
def timestamp_unix_micro(ctx: Context) -> int:
    return time.time_ns() // 1_000


@LIBRARY.function("timestamp_unix_nano")
def timestamp_unix_nano(ctx: Context) -> int:
    return time.time_ns()


@LIBRARY.function("env", Param("name", "string"), Param("no_cache", "bool", default=False), impure=True)
def env(ctx: Context, name: str, no_cache: bool) -> Any:
    """An environment variable, or null when unset (impure: needs ``allow_impure``)."""
    return os.environ.get(name)


@LIBRARY.function("hostname", impure=True)
def hostname(ctx: Context) -> str:
    return socket.gethostname()


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ExecError(f"open {path}: {exc.strerror or exc}") from None


@LIBRARY.function("file", Param("path", "string"), Param("no_cache", "bool", default=False), impure=True)
def file(ctx: Context, path: str, no_cache: bool) -> bytes:
    """A file's contents (impure: needs ``allow_impure``)."""
    return _read_file(path)


@LIBRARY.function("file_rel", Param("path", "string"), Param("no_cache", "bool", default=False), impure=True)
def file_rel(ctx: Context, path: str, no_cache: bool) -> bytes:
    """A file relative to the mapping's base directory (impure)."""
    base = getattr(ctx.settings, "base_dir", None) or os.getcwd()
    return _read_file(path if os.path.isabs(path) else os.path.join(base, path))
