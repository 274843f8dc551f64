"""What the console lists: every definition file, whether it serves, its problems, its streams
and their endpoints. Built from what the gateway already holds (no I/O beyond the store's
reading of the directory), so it says what this worker serves; the others apply the same
directory within ``STREAMS_WATCH_INTERVAL``.

States: ``active`` (serving), ``invalid`` (problems and nothing serving), ``stale`` (the file
became invalid and its last good version still serves, as a reload keeps it), ``inactive``
(``info.state.active: false``) and ``pending`` (valid on disk, not applied yet by this worker).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from streams import context
from streams.definitions import Problem, display_path
from streams.engine.definition_store import GATEWAY, STREAMING, Entry
from streams.engine.gateway import Api, Route


@dataclass
class Endpoint:
    stream: str
    methods: list[str]
    path: str
    kind: str
    """``push`` (POST in), ``push_ws``, ``pull`` (GET out; SSE with ``Accept: text/event-stream``),
    ``stream`` (``stream_path``) or ``pull_ws``."""


@dataclass
class StreamView:
    name: str
    template: bool
    """Has ``$tyk_context`` placeholders: an instance per distinct value (e.g. per user)."""
    variables: list[str]
    endpoints: list[Endpoint] = field(default_factory=list)


@dataclass
class ApiView:
    id: str
    file: str
    format: str
    name: str
    listen_path: str
    state: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    streams: list[StreamView] = field(default_factory=list)
    editable: bool = True
    """False for a file that does not even parse: the management API cannot read it (no ID), so
    it is fixed on disk."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def overview(entries: list[Entry], apis: list[Api], problems: list[Problem]) -> list[ApiView]:
    """One view per definition file, in the store's (name) order."""
    serving = {os.path.realpath(api.source): api for api in apis if api.source}
    views = []
    listed = set()
    for entry in entries:
        shown = display_path(entry.path)
        listed.add(shown)
        mine = [p for p in problems if p.file == shown]
        api = serving.get(os.path.realpath(entry.path))
        views.append(_view(entry, api, mine))
    unreadable: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.file not in listed:
            unreadable.setdefault(problem.file, []).append(problem)
    views.extend(_unreadable(file, mine) for file, mine in sorted(unreadable.items()))
    return views


def _unreadable(file: str, problems: list[Problem]) -> ApiView:
    """A file the loader reported that does not parse (YAML or JSON errors)."""
    name = os.path.basename(file)
    return ApiView(
        id=os.path.splitext(name)[0], file=name, format="json" if name.endswith(".json") else "yaml", name="",
        listen_path="", state="invalid", problems=[_problem(p) for p in problems], editable=False,
    )


def _problem(p: Problem) -> dict[str, Any]:
    return {"line": p.line, "column": p.column, "path": p.path, "message": p.message}


def _view(entry: Entry, api: Api | None, problems: list[Problem]) -> ApiView:
    doc = entry.document
    gateway = _section(doc, GATEWAY)
    info = _section(gateway, "info")
    listen = _section(_section(gateway, "server"), "listenPath")
    view = ApiView(
        id=entry.api_id,
        file=os.path.basename(entry.path),
        format="json" if entry.path.endswith(".json") else "yaml",
        name=str(api.name if api else info.get("name", "")),
        listen_path=str(api.listen_path if api else listen.get("value", "")),
        state=_state(api, problems, _section(info, "state").get("active", True) is not False),
        problems=[_problem(p) for p in problems],
    )
    if api is not None:
        view.streams = _streams(api)
    else:
        view.streams = [StreamView(str(name), False, []) for name in _section(_section(doc, STREAMING), "streams")]
    return view


def _section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` when it is a mapping, else empty (an invalid file may hold anything)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _state(api: Api | None, problems: list[Problem], active: bool) -> str:
    if api is not None:
        return "stale" if problems else "active"
    if problems:
        return "invalid"
    return "pending" if active else "inactive"


def _streams(api: Api) -> list[StreamView]:
    by_stream: dict[str, list[Route]] = {}
    for route in api.routes():
        by_stream.setdefault(route.stream, []).append(route)
    views = []
    for name in api.streams:
        variables = sorted(context.placeholders(api.streams[name]))
        routes = by_stream.get(name, [])
        endpoints = [Endpoint(name, list(r.methods), r.path, r.kind) for r in routes]
        views.append(StreamView(name, api.is_template(name), variables, endpoints))
    return views
