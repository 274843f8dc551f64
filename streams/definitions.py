"""Load and validate API definitions: OpenAPI documents carrying ``x-tyk-streaming`` streams.

Every problem is reported with its file, YAML line and config path
(``deploy/apis/x.yaml:42: streams.in.input.http_server.pathx: unknown field``) so that a user can
fix a definition without reading gateway code. Validation reads the same ``Field`` declarations
the components register (``streams.registry``), so a new component is validated the moment it
exists. A definition with any problem is not served; the others still are (DESIGN §2).

The stream configs handed to the engine are the plain values as written (no defaults filled, no
placeholders substituted): the engine substitutes ``$tyk_context`` per request
(``streams.context``) and then calls :func:`fill_defaults` per component.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from streams import catalog, context, forms, registry
from streams.auth.config import AuthConfig, read_auth
from streams.bloblang import codegen, parser
from streams.bloblang.errors import BloblangError, ExecError
from streams.durations import parse_duration
from streams.jsonpositions import json_positions
from streams.listenpaths import ListenPaths, ListenPathTaken, claim_order
from streams.ratelimits import ApiRateLimits, read_rate_limits

Path = tuple[Any, ...]

EXTENSIONS = (".yaml", ".yml", ".json")

_DURATION = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$|^0$")


STREAM_KEYS = (
    "input",
    "output",
    "pipeline",
    "buffer",
    "metrics",
    "tracer",
    "logger",
    "input_resources",
    "output_resources",
    "processor_resources",
    "cache_resources",
    "rate_limit_resources",
    "shutdown_timeout",
    "shutdown_delay",
)
"""Keys a stream config may have, as in a Bento stream config."""

REFUSED_STREAM_KEYS = {
    "http": "the gateway owns the HTTP server; streams are served under the API listen path",
}

# Stream-level blocks that are not registry components: allowed kinds and their fields
# (field name -> registry field type). ``None`` means "known but free-form".
_PROMETHEUS_FIELDS = {
    "use_histogram_timing": "bool",
    "histogram_buckets": "any",
    "summary_quantiles_objectives": "any",
    "add_process_metrics": "bool",
    "add_go_metrics": "bool",
    "push_url": "string",
    "push_interval": "duration",
    "push_job_name": "string",
    "push_basic_auth": "object",
}
_JAEGER_FIELDS = {
    "agent_address": "string",
    "collector_url": "string",
    "sampler_type": "string",
    "sampler_param": "float",
    "tags": "object",
    "flush_interval": "duration",
}
_LOGGER_FIELDS = {
    "level": "string",
    "format": "string",
    "add_timestamp": "bool",
    "level_name": "string",
    "timestamp_name": "string",
    "message_name": "string",
    "static_fields": "object",
}
_BLOCKS: dict[str, dict[str, dict[str, str] | None]] = {
    "buffer": {"none": {}, "memory": {"limit": "int", "batch_policy": "object"}},
    "metrics": {"prometheus": _PROMETHEUS_FIELDS, "none": {}},
    "tracer": {"jaeger": _JAEGER_FIELDS, "none": {}},
    "rate_limit": {"local": None},
}
_REFUSED_FIELDS = {
    ("metrics", "prometheus", "file_output_path"): "writes files on the gateway host",
    ("logger", None, "file"): "writes files on the gateway host",
}


@dataclass
class Problem:
    """One thing wrong with a definition, positioned for the user."""

    file: str
    line: int | None
    path: str
    message: str
    column: int | None = None
    """1-based column of the key (or value) at fault, when known; ``python -m streams lint``
    prints it (``file:line:column: path: problem``), the gateway's log lines leave it out."""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class StreamDefinition:
    """One stream: its config as written and the ``$tyk_context`` variables it uses.

    A stream with placeholders is a template (one instance per distinct substituted config); one
    without runs once per worker from start-up.
    """

    name: str
    config: dict[str, Any]
    placeholders: frozenset[str] = frozenset()

    @property
    def is_template(self) -> bool:
        return bool(self.placeholders)


@dataclass
class ApiDefinition:
    """The gateway-relevant part of one API definition file."""

    name: str
    listen_path: str
    strip: bool
    """``listenPath.strip``: kept for the management API and has no effect on streams, as in Tyk
    (stream paths are always relative to the listen path; the stream sees the full request path)."""
    active: bool
    context_variables: bool
    traffic_logs: bool
    streams: dict[str, StreamDefinition]
    source: str
    base_dir: str
    document: dict[str, Any] = field(default_factory=dict, repr=False)
    """The whole parsed document, for the management API."""
    listen_path_line: int | None = None
    listen_path_column: int | None = None
    rate_limits: ApiRateLimits = field(default_factory=lambda: ApiRateLimits(""))
    """The API's and its operations' ``rateLimit`` blocks (``streams.ratelimits``)."""
    internal: bool = False
    """Tyk's ``info.state.internal``: reachable only from other APIs, which this gateway does
    not do, so :func:`load_directory` does not serve it."""
    auth: AuthConfig | None = None
    """What requests must present (``streams.auth.config``); None: the API is open (keyless)."""


# --- loading ----------------------------------------------------------------------------------


def load_directory(
    path: str, *, allow_impure_bloblang: bool = False, owners: Callable[[str], str | None] | None = None
) -> tuple[list[ApiDefinition], list[Problem]]:
    """Load every ``*.yaml``/``*.yml``/``*.json`` file of a directory, in name order.

    A broken file is reported and skipped while the others load: whatever goes wrong while
    loading one file (even an error of the loader itself) is that file's problem. Inactive and
    internal APIs are validated (their problems are reported) but not returned.

    Two APIs whose listen paths overlap, or that share a name, cannot both serve
    (``streams.listenpaths``): the one that owned the path before keeps it (``owners``: listen
    path -> name of the file in this directory that owned it, as the gateway persisted it), otherwise the older file
    (mtime, then name); the other is reported, naming both files, and skipped.
    ``allow_impure_bloblang`` is passed on to :func:`load_file`.
    """
    problems: list[Problem] = []
    loaded: list[ApiDefinition] = []
    try:
        names = sorted(os.listdir(path))
    except OSError as err:
        return [], [Problem(display_path(path), None, "", f"cannot read the definitions directory: {err.strerror}")]
    mtimes: dict[str, float] = {}
    for name in names:
        full = os.path.join(path, name)
        if not name.endswith(EXTENSIONS) or name.startswith(".") or not os.path.isfile(full):
            continue
        try:
            api, file_problems = load_file(full, allow_impure_bloblang=allow_impure_bloblang)
        except Exception as err:  # noqa: BLE001 - one file's failure must never stop the others
            api, file_problems = None, [Problem(display_path(full), None, "", f"cannot load the file: {error_summary(err)}")]
        problems.extend(file_problems)
        if api is None or not api.active or api.internal:
            continue
        try:
            mtimes[full] = os.stat(full).st_mtime
        except OSError:
            mtimes[full] = 0.0
        loaded.append(api)
    def previous(listen_path: str) -> str | None:
        file = owners(listen_path) if owners is not None else None
        return os.path.join(path, file) if file else None

    table = ListenPaths()
    refused: set[str] = set()
    for api in claim_order(loaded, previous, mtimes):
        try:
            table.claim(display_path(api.source), api.listen_path, api.name)
        except ListenPathTaken as err:
            refused.add(api.source)
            where = "x-tyk-api-gateway.server.listenPath.value"
            if err.what != "listen path":
                where = "x-tyk-api-gateway.info.name"
            problems.append(
                Problem(display_path(api.source), api.listen_path_line, where, str(err), api.listen_path_column)
            )
    return [api for api in loaded if api.source not in refused], problems


def error_summary(err: BaseException) -> str:
    """One line naming an unexpected error, short enough for a problem report."""
    text = " ".join(str(err).split())
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def load_file(path: str, *, allow_impure_bloblang: bool = False) -> tuple[ApiDefinition | None, list[Problem]]:
    """Parse and validate one definition file; the API is ``None`` when there is any problem.

    Bloblang (mappings, checks, ``${! }`` interpolations) is parsed too, so a syntax error is
    reported at load with its YAML line; ``allow_impure_bloblang`` is the gateway setting of the
    same name (impure functions such as ``env`` are otherwise errors).
    """
    display = display_path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(display, None, "", f"cannot read the file: {err}")]
    return load_text(text, path, allow_impure_bloblang=allow_impure_bloblang, display=display)


def load_text(
    text: str, path: str, *, allow_impure_bloblang: bool = False, display: str | None = None
) -> tuple[ApiDefinition | None, list[Problem]]:
    """Validate a definition that is not (yet) a file: the management API checks a request
    body with the very rules and messages a file gets, before anything is written. ``path``
    is where it would live (JSON when it ends in ``.json``); problems name ``display``."""
    checker = _Checker(display if display is not None else display_path(path))
    checker.text_lines = text.splitlines()
    try:
        doc = _parse(text, path.endswith(".json"), checker)
        if doc is None:
            return None, checker.problems
        checker.allow_impure = allow_impure_bloblang
        api = _api_from_document(doc, path, checker)
    except RecursionError:
        # Every walk is bounded by MAX_NESTING; this is the last guard should one be missed.
        return None, checker.problems + [Problem(checker.file, None, "", "the document is nested too deeply to load")]
    if checker.problems:
        return None, checker.problems
    return api, []


def parse_document(text: str, is_json: bool, display: str = "body") -> tuple[dict[str, Any] | None, list[Problem]]:
    """Only parse (no validation): the document, or None and the parser's positioned problem."""
    checker = _Checker(display)
    try:
        return _parse(text, is_json, checker), checker.problems
    except RecursionError:
        return None, [Problem(display, None, "", "the document is nested too deeply to load")]


def read_document(path: str) -> dict[str, Any] | None:
    """The parsed document of a definition file, valid or not (None when it cannot be read or
    parsed): what the management API lists and merges a PATCH into."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return _parse(text, path.endswith(".json"), _Checker(display_path(path)))
    except RecursionError:
        return None


def fill_defaults(kind: str, name: str, config: Any) -> dict[str, Any]:
    """A component's config with every declared default filled in (a new dict; the input is
    left alone). A scalar config (``mapping: "root = this"``) becomes ``{scalar_field: value}``;
    ``null`` becomes ``{}``. Nested component configs are left for the engine to fill when it
    builds them."""
    spec = catalog.TABLES[kind][name]
    if isinstance(config, dict):
        out = dict(config)
    elif config is None:
        out = {}
    elif spec.scalar_field:
        out = {spec.scalar_field: config}
    else:
        raise ValueError(f"{kind} {name!r} takes an object, not {_type_name(config)}")
    for f in spec.fields:
        if f.name not in out and not f.required:
            out[f.name] = copy.deepcopy(f.default)
    return out


def display_path(path: str) -> str:
    """A path as the user should read it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# --- YAML with positions ----------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false are booleans, as in Bento's YAML parser, so
    ``consumer_group: no`` or ``name: on`` stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Checker:
    """Collects problems and knows the YAML line of every config path."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.lines: dict[Path, int] = {}
        self.columns: dict[Path, int] = {}
        self.text_lines: list[str] = []  # the file's lines, to place errors inside block scalars
        self.value_columns: dict[Path, int] = {}  # where a scalar's text starts (after a quote)
        self.block_scalars: set[Path] = set()  # values written as ``|``/``>`` blocks (text starts a line later)
        self.allow_impure = False
        self.resource_labels: dict[str, set[str]] = {}
        """The stream being checked: labels of its ``input_resources``/``output_resources``."""
        self.stream_labels: dict[str, int | None] = {}
        """The stream being checked: each label met so far, with its line."""

    def line(self, path: Path) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def column(self, path: Path) -> int | None:
        """The column of the nearest recorded path (the one :meth:`line` answers for)."""
        while True:
            if path in self.lines:
                return self.columns.get(path)
            if not path:
                return None
            path = path[:-1]

    def add(self, path: Path, message: str, *, line_of: Path | None = None) -> None:
        shown = ".".join(str(p) for p in path)
        where = line_of if line_of is not None else path
        self.problems.append(Problem(self.file, self.line(where), shown, message, self.column(where)))


def _parse(text: str, is_json: bool, checker: _Checker) -> dict[str, Any] | None:
    """The document as plain Python, with the line of every path recorded in ``checker``.

    JSON files are parsed as JSON (YAML would accept some invalid JSON) and placed by
    ``streams.jsonpositions`` (YAML cannot read a JSON file indented with tabs).
    """
    if is_json:
        data = _parse_json(text, checker)
        if data is not None:
            _record_json_positions(text, checker)
        return data
    try:
        loader = _DepthLimitedLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except _EndlessDocument as err:
        checker.problems.append(Problem(checker.file, err.line, "", err.message))
        return None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark else None
        what = getattr(err, "problem", None) or str(err)
        column = mark.column + 1 if mark else None
        checker.problems.append(Problem(checker.file, line, "", f"invalid YAML: {what}", column))
        return None
    if not isinstance(data, dict):
        checker.problems.append(Problem(checker.file, 1, "", "the document must be a mapping (an OpenAPI object)"))
        return None
    if node is not None:
        try:
            _record_lines(node, (), checker, set())
        except _EndlessDocument as err:
            checker.problems.append(Problem(checker.file, err.line, "", err.message))
            return None
    return data


def _record_json_positions(text: str, checker: _Checker) -> None:
    """Positions of a parsed JSON document, as ``_record_lines`` records a YAML one's."""
    found = json_positions(text)
    checker.lines.update(found.lines)
    checker.columns.update(found.columns)
    checker.value_columns.update(found.value_columns)
    for path, line, column in found.duplicates:
        shown = path[1:] if path[0] == "x-tyk-streaming" else path
        checker.problems.append(Problem(checker.file, line, ".".join(map(str, shown)), "duplicate key", column))


def _parse_json(text: str, checker: _Checker) -> dict[str, Any] | None:
    too_deep = _json_too_deep(text)
    if too_deep is not None:
        checker.problems.append(Problem(checker.file, too_deep, "", _TOO_DEEP))
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        checker.problems.append(Problem(checker.file, err.lineno, "", f"invalid JSON: {err.msg}", err.colno))
        return None
    if not isinstance(data, dict):
        checker.problems.append(Problem(checker.file, 1, "", "the document must be an object (an OpenAPI object)"))
        return None
    return data


MAX_NESTING = 100
"""Deepest nesting of objects and lists a definition may have (a real one has about 15).

Loading, validating, substituting and copying a document all walk it recursively; refusing a
deeper one before any walk starts keeps every walk far from Python's recursion limit, so a
hostile or broken file is reported as that file's problem instead of stopping the gateway."""

_TOO_DEEP = f"nesting deeper than {MAX_NESTING} levels (objects and lists inside each other)"
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|\n')


def _json_too_deep(text: str) -> int | None:
    """The line where JSON text first nests deeper than ``MAX_NESTING``, or None; strings are
    skipped, and this scan is a loop, so it cannot itself run out of stack."""
    depth = 0
    line = 1
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token == "\n":
            line += 1
        elif token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line
        elif token in "]}":
            depth -= 1
        else:
            line += token.count("\n")
    return None


class _DepthLimitedLoader(_Loader):
    """Composes nodes no deeper than ``MAX_NESTING`` (PyYAML's composer recurses per level)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _EndlessDocument(event.start_mark.line + 1 if event.start_mark else 1, _TOO_DEEP)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


MAX_DOCUMENT_PATHS = 100_000
"""Values a definition may hold once YAML aliases are expanded (a real one holds hundreds)."""


class _EndlessDocument(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


def _record_lines(node: yaml.Node, path: Path, checker: _Checker, inside: set[int]) -> None:
    """Raises ``_EndlessDocument`` for aliases every later walk of the document would get lost
    in: one inside its own anchor (``a: &x [*x]``, ``inside`` holds the collections on the way
    here) or nested ones expanding to more than ``MAX_DOCUMENT_PATHS`` values."""
    checker.lines.setdefault(path, node.start_mark.line + 1)
    checker.columns.setdefault(path, node.start_mark.column + 1)
    if len(checker.lines) > MAX_DOCUMENT_PATHS:
        raise _EndlessDocument(node.start_mark.line + 1, f"YAML aliases expand to more than {MAX_DOCUMENT_PATHS} values")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in inside:
            raise _EndlessDocument(node.start_mark.line + 1, "a YAML alias refers to its own anchor")
        inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value
            sub = path + (key,)
            if key in seen:
                shown = sub[1:] if sub[0] == "x-tyk-streaming" else sub
                checker.problems.append(
                    Problem(
                        checker.file, key_node.start_mark.line + 1, ".".join(map(str, shown)), "duplicate key",
                        key_node.start_mark.column + 1,
                    )
                )
            seen.add(key)
            checker.lines[sub] = key_node.start_mark.line + 1
            checker.columns[sub] = key_node.start_mark.column + 1
            if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
                checker.block_scalars.add(sub)
            elif isinstance(value_node, yaml.ScalarNode):
                quoted = 1 if value_node.style in ("'", '"') else 0
                checker.value_columns[sub] = value_node.start_mark.column + 1 + quoted
            _record_lines(value_node, sub, checker, inside)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, path + (i,), checker, inside)


# --- the API document -------------------------------------------------------------------------


_OPENAPI_VERSIONS = {
    "3.0": re.compile(r"^3\.0\.\d(-.+)?$"),
    "3.1": re.compile(r"^3\.1\.\d+(-.+)?$"),
}
"""The OpenAPI versions Tyk validates streams APIs against (its ``apidef/streams/schema/3.0.json``
and ``3.1.json``), with their ``openapi`` patterns."""


def _check_openapi(doc: dict[str, Any], checker: _Checker) -> None:
    """``openapi`` must be 3.0.x or 3.1.x and ``info`` must hold ``title`` and ``version``, as
    in Tyk's OAS schemas (``Schema not found for version "2.0"`` there)."""
    version = doc.get("openapi")
    if "openapi" not in doc:
        checker.add(("openapi",), "missing: the OpenAPI version (openapi: 3.0.3 or 3.1.0)")
    elif not isinstance(version, str):
        checker.add(("openapi",), f"expected a string such as \"3.0.3\" (quoted in YAML), got {_type_name(version)}")
    elif not any(p.match(version) for p in _OPENAPI_VERSIONS.values()):
        checker.add(("openapi",), f"unsupported OpenAPI version {version!r}: only 3.0.x and 3.1.x are accepted")
    info = doc.get("info")
    if "info" not in doc:
        checker.add(("info",), "missing: the OpenAPI info object (title and version)")
        return
    if not isinstance(info, dict):
        checker.add(("info",), f"expected an object with title and version, got {_type_name(info)}")
        return
    for key in ("title", "version"):
        if key not in info:
            checker.add(("info", key), "missing required field", line_of=("info",))
        elif not isinstance(info[key], str):
            checker.add(("info", key), f"expected a string, got {_type_name(info[key])}")


def _api_from_document(doc: dict[str, Any], path: str, checker: _Checker) -> ApiDefinition | None:
    _check_openapi(doc, checker)
    gw = doc.get("x-tyk-api-gateway")
    gw_path: Path = ("x-tyk-api-gateway",)
    if not isinstance(gw, dict):
        checker.add(gw_path, "missing: an API definition needs x-tyk-api-gateway (info.name, server.listenPath)")
        gw = {}
    elif "info" not in gw:
        # As Tyk's schema requires it; only a present info may leave its name to info.title.
        checker.add(gw_path + ("info",), "missing: the API's info (name, state) is required")
    info = _mapping(gw, gw_path, "info", checker)
    name = info.get("name")
    if name is None:
        title = (doc.get("info") or {}).get("title") if isinstance(doc.get("info"), dict) else None
        name = title
    if not isinstance(name, str) or not name:
        checker.add(gw_path + ("info", "name"), "missing: the API needs a name")
        name = ""
    state = _mapping(info, gw_path + ("info",), "state", checker)
    active = _bool(state, gw_path + ("info", "state"), "active", True, checker)
    internal = _bool(state, gw_path + ("info", "state"), "internal", False, checker)
    server = _mapping(gw, gw_path, "server", checker)
    listen = _mapping(server, gw_path + ("server",), "listenPath", checker)
    lp_path = gw_path + ("server", "listenPath")
    value = listen.get("value")
    if not isinstance(value, str) or not value.strip("/ "):
        checker.add(lp_path + ("value",), "missing: a listen path such as /my-api/ is required")
        value = "/"
    strip = _bool(listen, lp_path, "strip", False, checker)
    auth = read_auth(doc, checker.add)
    middleware = _mapping(_mapping(gw, gw_path, "middleware", checker), gw_path + ("middleware",), "global", checker)
    mw_path = gw_path + ("middleware", "global")
    # Absent means off, as in Tyk (the seed turns them on): a stream's placeholders are then "".
    ctx_vars = _bool(_mapping(middleware, mw_path, "contextVariables", checker), mw_path + ("contextVariables",), "enabled", False, checker)
    traffic = _bool(_mapping(middleware, mw_path, "trafficLogs", checker), mw_path + ("trafficLogs",), "enabled", False, checker)
    rate_limits = read_rate_limits(name, gw, doc.get("paths"), lambda where, msg: checker.add(gw_path + where, msg))

    streams: dict[str, StreamDefinition] = {}
    xs = doc.get("x-tyk-streaming")
    if not isinstance(xs, dict) or "streams" not in xs:
        checker.add(("x-tyk-streaming", "streams"), "missing: the API defines no streams (x-tyk-streaming.streams)")
    elif not isinstance(xs["streams"], dict):
        checker.add(("x-tyk-streaming", "streams"), f"expected an object of streams by name, got {_type_name(xs['streams'])}")
    else:
        # ``streams: {}`` is a valid API that serves nothing yet, as in Tyk.
        for key in xs:
            if key != "streams":
                checker.add(("x-tyk-streaming", key), "unknown field")
        for stream_name, config in xs["streams"].items():
            spath: Path = ("streams", str(stream_name))
            checker.lines.setdefault(spath, checker.line(("x-tyk-streaming",) + spath) or 0)
            _shift_lines(checker, ("x-tyk-streaming",) + spath, spath)
            if not isinstance(config, dict):
                checker.add(spath, f"a stream config must be an object, not {_type_name(config)}")
                continue
            before = len(checker.problems)
            _check_stream(config, spath, checker)
            if len(checker.problems) == before:
                _check_bloblang(config, spath, checker, os.path.dirname(os.path.abspath(path)))
            streams[str(stream_name)] = StreamDefinition(str(stream_name), config, context.placeholders(config))

    return ApiDefinition(
        name=name,
        listen_path=normalise_listen_path(value),
        strip=strip,
        active=active,
        context_variables=ctx_vars,
        traffic_logs=traffic,
        streams=streams,
        source=path,
        base_dir=os.path.dirname(os.path.abspath(path)),
        document=doc,
        listen_path_line=checker.line(lp_path + ("value",)),
        listen_path_column=checker.column(lp_path + ("value",)),
        internal=internal,
        auth=auth,
        rate_limits=rate_limits,
    )


def normalise_listen_path(value: str) -> str:
    """``stream-demo`` / ``/stream-demo`` / ``//stream-demo//`` -> ``/stream-demo/``."""
    parts = [p for p in value.strip().split("/") if p]
    return "/" + "/".join(parts) + "/" if parts else "/"


def _shift_lines(checker: _Checker, src: Path, dst: Path) -> None:
    """Stream problems are reported as ``streams.<name>....`` (relative to x-tyk-streaming):
    alias the recorded lines under that shorter path."""
    n = len(src)
    for p, line in list(checker.lines.items()):
        if p[:n] == src:
            checker.lines[dst + p[n:]] = line
            if p in checker.columns:
                checker.columns[dst + p[n:]] = checker.columns[p]
    for p in list(checker.block_scalars):
        if p[:n] == src:
            checker.block_scalars.add(dst + p[n:])
    for p, column in list(checker.value_columns.items()):
        if p[:n] == src:
            checker.value_columns[dst + p[n:]] = column


def _mapping(parent: dict[str, Any], path: Path, key: str, checker: _Checker) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        checker.add(path + (key,), f"expected an object, got {_type_name(value)}")
        return {}
    return value


def _bool(parent: dict[str, Any], path: Path, key: str, default: bool, checker: _Checker) -> bool:
    value = parent.get(key, default)
    if not isinstance(value, bool):
        checker.add(path + (key,), f"expected a boolean, got {_type_name(value)}")
        return default
    return value


# --- stream configs ---------------------------------------------------------------------------


def _check_stream(config: dict[str, Any], path: Path, checker: _Checker) -> None:
    """A Bento stream config. ``output`` may be left out (Bento's default, ``stdout``);
    ``resource`` inputs and outputs must name an entry of the stream's resources."""
    checker.resource_labels = {kind: _labels(config.get(f"{kind}_resources")) for kind in ("input", "output")}
    checker.stream_labels = {}
    for key, value in config.items():
        sub = path + (key,)
        if key in REFUSED_STREAM_KEYS:
            checker.add(sub, f"not allowed: {REFUSED_STREAM_KEYS[key]}")
        elif key not in STREAM_KEYS:
            checker.add(sub, "unknown field" + _suggest(key, STREAM_KEYS))
        elif key in ("input", "output"):
            _check_component(key, value, sub, checker)
        elif key == "pipeline":
            _check_pipeline(value, sub, checker)
        elif key in ("buffer", "metrics", "tracer"):
            _check_block(key, value, sub, checker)
        elif key == "logger":
            _check_fields("logger", None, value, _LOGGER_FIELDS, sub, checker)
        elif key in ("input_resources", "output_resources", "processor_resources"):
            _check_resources(key.split("_")[0], value, sub, checker)
        elif key in ("cache_resources", "rate_limit_resources"):
            _check_resources(key.rsplit("_", 1)[0], value, sub, checker)
        elif key in ("shutdown_timeout", "shutdown_delay"):
            _check_type("duration", value, sub, checker)
    if "input" not in config:
        checker.add(path + ("input",), "missing required field")
    outputs = forms.http_servers("output", forms.stream_output(config), forms.resources_by_label(config.get("output_resources")))
    if len(outputs) > 1:
        checker.add(path + ("output",), f"{len(outputs)} http_server outputs: a stream serves its clients from one")


def _check_label(label: Any, path: Path, checker: _Checker) -> None:
    """Bento's rule for a ``label`` (``streams.forms.label_problem``), and one label once per
    stream, whatever it labels (Bento's linter: ``label 'x' collides with a previously defined
    label at line 12``)."""
    why = forms.label_problem(label)
    if why is not None:
        checker.add(path, why)
        return
    if not label:
        return
    if label in checker.stream_labels:
        before = checker.stream_labels[label]
        at = f" at line {before}" if before is not None else ""
        checker.add(path, f"label {label!r} collides with a previously defined label{at}")
        return
    checker.stream_labels[label] = checker.line(path)


def _labels(resources: Any) -> set[str]:
    if not isinstance(resources, list):
        return set()
    return {item["label"] for item in resources if isinstance(item, dict) and isinstance(item.get("label"), str)}


def _check_resource_reference(kind: str, config: Any, path: Path, checker: _Checker) -> None:
    """``input: {resource: name}``: ``name`` must label an entry of ``<kind>_resources``."""
    if not isinstance(config, str) or not config:
        checker.add(path, f"expected the label of an {kind}_resources entry, got {_type_name(config)}")
        return
    labels = checker.resource_labels.get(kind, set())
    if config not in labels:
        checker.add(path, f"no {kind}_resources entry labelled {config!r}{_suggest(config, labels)}")


def _check_pipeline(value: Any, path: Path, checker: _Checker) -> None:
    if not isinstance(value, dict):
        if value is not None:
            checker.add(path, f"expected an object, got {_type_name(value)}")
        return
    for key, sub_value in value.items():
        if key == "processors":
            _check_type("processor_list", sub_value, path + (key,), checker)
        elif key == "threads":
            _check_type("int", sub_value, path + (key,), checker)
        else:
            checker.add(path + (key,), "unknown field" + _suggest(key, ("processors", "threads")))


def _check_block(kind: str, value: Any, path: Path, checker: _Checker) -> None:
    """A stream-level block with one kind key (``metrics: {prometheus: {...}}``)."""
    kinds = _BLOCKS[kind]
    if not isinstance(value, dict):
        if value is not None:
            checker.add(path, f"expected an object, got {_type_name(value)}")
        return
    if "type" in value:  # ``metrics: {type: prometheus, prometheus: {...}}`` (``streams.forms``)
        try:
            name, body, meta = forms.parts(kind, value)
        except forms.FormError as exc:
            checker.add(path + exc.where, exc.message)
            return
        if name not in kinds:
            checker.add(path + ("type",), f"unsupported {kind} type {name!r}{_suggest(name, kinds)} (supported: {', '.join(kinds)})")
            return
        value = {name: {} if body is None else body, **meta}
    extra = {"mapping"} if kind == "metrics" else set()
    chosen = [k for k in value if k not in extra]
    if kind == "metrics" and "mapping" in value:
        _check_type("string", value["mapping"], path + ("mapping",), checker)
    if len(chosen) != 1:
        if not chosen:
            checker.add(path, f"no {kind} type given (expected one of: {', '.join(kinds)})")
        else:
            checker.add(path, f"more than one {kind} type given: {', '.join(map(str, chosen))}")
        return
    name = chosen[0]
    if name not in kinds:
        checker.add(path + (name,), f"unsupported {kind} type{_suggest(name, kinds)} (supported: {', '.join(kinds)})")
        return
    fields = kinds[name]
    if fields is None:
        _check_type("object", value[name], path + (name,), checker)
    else:
        _check_fields(kind, name, value[name], fields, path + (name,), checker)


def _check_fields(
    block: str, name: str | None, value: Any, fields: dict[str, str], path: Path, checker: _Checker
) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        checker.add(path, f"expected an object, got {_type_name(value)}")
        return
    for key, sub_value in value.items():
        refused = _REFUSED_FIELDS.get((block, name, key))
        if refused:
            checker.add(path + (key,), f"not allowed: {refused}")
        elif key not in fields:
            checker.add(path + (key,), "unknown field" + _suggest(key, fields))
        else:
            _check_type(fields[key], sub_value, path + (key,), checker)


def _check_resources(kind: str, value: Any, path: Path, checker: _Checker) -> None:
    if not isinstance(value, list):
        checker.add(path, f"expected a list, got {_type_name(value)}")
        return
    for i, item in enumerate(value):
        sub = path + (i,)
        if not isinstance(item, dict):
            checker.add(sub, f"expected an object, got {_type_name(item)}")
            continue
        label = item.get("label")
        if not isinstance(label, str) or not label:
            checker.add(sub + ("label",), "missing: a resource needs a label")
        elif kind not in catalog.TABLES:  # a component's label is checked with the component
            _check_label(label, sub + ("label",), checker)
        if kind in catalog.TABLES:
            _check_component(kind, item, sub, checker)
            continue
        try:  # a cache or rate limit in either form (``type: memory``, ``streams.forms``)
            name, body, _ = forms.parts(kind, item)
        except forms.FormError as exc:
            checker.add(sub + exc.where, exc.message)
            continue
        kinds = _BLOCKS[kind]
        if "type" in item and name not in kinds:
            checker.add(sub + ("type",), f"unsupported {kind} type {name!r}{_suggest(name, kinds)} (supported: {', '.join(kinds)})")
            continue
        _check_block(kind, {name: body}, sub, checker)


def _check_component(kind: str, value: Any, path: Path, checker: _Checker) -> None:
    """A component block in either of Bento's forms (``streams.forms``): ``{<name>: <config>}``
    or ``{type: <name>, <name>: <config>}``, plus ``label`` (and ``processors`` on inputs and
    outputs)."""
    if not isinstance(value, dict):
        checker.add(path, f"expected an {kind} object such as {{{_example(kind)}: {{...}}}}, got {_type_name(value)}")
        return
    if "label" in value:
        _check_label(value["label"], path + ("label",), checker)
    if "processors" in value and kind in ("input", "output"):
        _check_type("processor_list", value["processors"], path + ("processors",), checker)
    table = catalog.TABLES[kind]
    try:
        name, config, _ = forms.parts(kind, value)
    except forms.FormError as exc:
        if not exc.where:
            expected = ", ".join(sorted(table)) or "none registered"
            message = f"{exc.message} (expected one of: {expected})" if exc.message.startswith("no ") else exc.message
            checker.add(path, message)
        else:
            checker.add(path + exc.where, exc.message)
        return
    # With ``type:`` the block may be absent; problems inside it are still placed on its key.
    sub = path + (name,)
    type_path = path + ("type",) if "type" in value else sub
    if name == "resource" and kind in forms.RESOURCE_KINDS:
        _check_resource_reference(kind, config, sub, checker)
        return
    if name in registry.UNSAFE.get(kind, ()):
        checker.add(type_path, f"{kind} {name!r} is not allowed: {registry.unsafe_reason(kind, name)}")
        return
    spec = table.get(name)
    if spec is None:
        checker.add(type_path, f"unknown {kind} {name!r}{_suggest(name, table)}")
        return
    if config is None:
        config = {}
    if kind == "processor" and name in _CASE_LISTS:
        key, fields = _CASE_LISTS[name]
        cases = config.get(key) if isinstance(config, dict) else config
        _check_cases(name, cases, fields, sub + (key,) if isinstance(config, dict) else sub, checker)
    if kind == "processor" and name == "workflow" and isinstance(config, dict) and isinstance(config.get("branches"), dict):
        for branch, body in config["branches"].items():
            _check_fields("workflow", "branch", body, _WORKFLOW_BRANCH_FIELDS, sub + ("branches", branch), checker)
    if not isinstance(config, dict):
        if spec.scalar_field:
            f = spec.field(spec.scalar_field)
            _check_type(f.type if f else "any", config, sub, checker, f)
        else:
            checker.add(sub, f"expected an object, got {_type_name(config)}")
        return
    if name == "http_server" and kind == "output":
        _check_keepalive(config, sub, checker)
    if name == "http_server" and "address" in config:
        checker.add(
            sub + ("address",),
            "not allowed: a second listener would bypass the gateway; the stream is served under "
            "the API listen path",
        )
    for key, field_value in config.items():
        if name == "http_server" and key == "address":
            continue
        f = spec.field(key)
        if f is None:
            checker.add(sub + (key,), "unknown field" + _suggest(key, [x.name for x in spec.fields]))
        else:
            _check_type(f.type, field_value, sub + (key,), checker, f)
    for f in spec.fields:
        if f.required and f.name not in config:
            checker.add(sub + (f.name,), "missing required field", line_of=sub)


def _check_keepalive(config: dict[str, Any], path: Path, checker: _Checker) -> None:
    """Bento's rule for WebSocket keep-alive: pings more often than ``pong_wait``."""
    try:
        ping = parse_duration(config.get("ping_period") or "", 0.0)
        pong = parse_duration(config.get("pong_wait") or "", 0.0)
    except ValueError:
        return  # the field check reports the bad duration
    if "ping_period" in config and "pong_wait" in config and pong > 0 and ping >= pong:
        checker.add(path + ("ping_period",), f"must be less than pong_wait ({config['pong_wait']})")


def _check_bloblang(config: Any, path: Path, checker: _Checker, base_dir: str) -> None:
    """Parse every Bloblang text of a valid stream, with placeholders substituted as empty
    values (substitution never adds lines, so positions hold)."""
    settings = parser.Settings(allow_impure=checker.allow_impure, base_dir=base_dir)

    def check(key: str, text: str, sub: Path) -> None:
        text = context.substitute({key: text}, {}, enabled=False)[key]
        try:
            if key in context.BLOBLANG_FIELDS:
                if key in ("check", "skip_on"):
                    if not text.strip():
                        return  # no condition (a batching policy's default); components that need one say so
                    parser.parse_query(text, settings)
                else:
                    # Compiled too: a long method chain parses fine yet can be too deep for
                    # Python's compiler, and that must be found here, not on a request.
                    codegen.compile_program(parser.parse_mapping(text, settings), "<bloblang:check>")
            elif "${!" in text:
                parser.parse_interpolation(text, settings)
            else:
                return
        except (RecursionError, MemoryError):
            checker.problems.append(
                Problem(checker.file, checker.line(sub), ".".join(map(str, sub)), "invalid Bloblang: nested too deeply")
            )
        except (BloblangError, ExecError) as err:
            line = checker.line(sub)
            err_line = getattr(err, "line", 0) or 1
            if line is not None:
                line += err_line - 1 + (1 if sub in checker.block_scalars else 0)
            checker.problems.append(
                Problem(
                    checker.file, line, ".".join(map(str, sub)), f"invalid Bloblang: {err}",
                    _bloblang_column(checker, sub, line, err_line, getattr(err, "column", 0) or 1),
                )
            )

    def walk(value: Any, sub: Path, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, sub + (k,), str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, sub + (i,), key)
        elif isinstance(value, str):
            check(key, value, sub)

    walk(config, path, "")


def _bloblang_column(checker: _Checker, sub: Path, line: int | None, err_line: int, err_column: int) -> int | None:
    """The file column of a Bloblang error: inside a ``|`` block the text starts at the block's
    indentation; on the first line of a plain or quoted value, where the value starts."""
    if sub in checker.block_scalars and line is not None and 0 < line <= len(checker.text_lines):
        text = checker.text_lines[line - 1]
        return len(text) - len(text.lstrip(" ")) + err_column
    if err_line == 1 and sub in checker.value_columns:
        return checker.value_columns[sub] + err_column - 1
    return checker.column(sub)


_WORKFLOW_BRANCH_FIELDS = {"request_map": "string", "processors": "processor_list", "result_map": "string"}
_CASE_LISTS = {
    "switch": ("cases", {"check": "string", "processors": "processor_list", "fallthrough": "bool"}),
    "group_by": ("groups", {"check": "string", "processors": "processor_list"}),
}
"""Processors whose config is a list of cases: the key holding it and a case's fields."""


def _check_cases(name: str, cases: Any, fields: dict[str, str], path: Path, checker: _Checker) -> None:
    """``switch`` and ``group_by`` are lists of cases whose processors are components too (so
    an unsafe one nested in a case is refused like any other)."""
    if cases is None:
        return
    if not isinstance(cases, list):
        checker.add(path, f"expected a list of cases, got {_type_name(cases)}")
        return
    for i, case in enumerate(cases):
        _check_fields(name, "case", case, fields, path + (i,), checker)


def _check_type(ftype: str, value: Any, path: Path, checker: _Checker, f: registry.Field | None = None) -> None:
    ok = True
    expected = ftype
    if ftype == "string":
        ok, expected = isinstance(value, (str, int, float)) and not isinstance(value, bool), "a string"
    elif ftype == "int":
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif ftype == "float":
        ok, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif ftype == "bool":
        ok, expected = isinstance(value, bool), "a boolean"
    elif ftype == "duration":
        if isinstance(value, str) and not _DURATION.match(value.strip()):
            checker.add(path, f"invalid duration {value!r} (expected e.g. 5s, 100ms, 1m30s)")
            return
        ok, expected = isinstance(value, str), "a duration string such as 5s"
    elif ftype == "string_list":
        ok = isinstance(value, list) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        )
        expected = "a list of strings"
    elif ftype == "object":
        ok, expected = isinstance(value, dict) or value is None, "an object"
        if ok and f is not None and f.fields:
            before = len(checker.problems)
            _check_fields("field", f.name, value, {sub.name: sub.type for sub in f.fields}, path, checker)
            if f.check is not None and value and len(checker.problems) == before:
                for sub, message in f.check(value):
                    checker.add(path + sub, message)
            return
    elif ftype in ("input", "output", "processor"):
        _check_component(ftype, value, path, checker)
        return
    elif ftype in ("input_list", "output_list", "processor_list"):
        if value is None:
            return
        if not isinstance(value, list):
            checker.add(path, f"expected a list of {ftype[:-5]}s, got {_type_name(value)}")
            return
        for i, item in enumerate(value):
            _check_component(ftype[:-5], item, path + (i,), checker)
        return
    if not ok:
        checker.add(path, f"expected {expected}, got {_type_name(value)}")
        return
    if f is not None and f.options and value not in f.options:
        checker.add(path, f"invalid value {value!r} (expected one of: {', '.join(map(str, f.options))})")
        return
    if f is not None and f.check is not None and value:
        for sub, message in f.check(value):
            checker.add(path + sub, message)


def _suggest(name: Any, choices: Iterable[Any]) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _example(kind: str) -> str:
    return {"input": "kafka", "output": "kafka", "processor": "mapping", "cache": "memory"}.get(kind, kind)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
