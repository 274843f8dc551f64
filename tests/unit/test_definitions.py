"""Loading and validating API definitions: positions, component checks, isolation of bad files."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams import catalog, definitions, registry
from streams.definitions import Problem, fill_defaults, load_directory, load_file
from streams.registry import Field

SEED = Path(__file__).resolve().parents[2] / "deploy" / "apis" / "streams-demo.yaml"


def _noop(**_: object) -> None:
    return None


# Components the seed uses, declared here with Bento's field names so these tests do not depend
# on the component modules; registered only when the real ones are absent, removed afterwards.
_FIXTURE_SPECS = [
    ("input", "http_server", {"fields": (
        Field("path", default="/post"), Field("ws_path", default="/post/ws"),
        Field("allowed_verbs", "string_list", default=["POST"]), Field("timeout", "duration", default="5s"),
    )}),
    ("input", "kafka", {"fields": (
        Field("addresses", "string_list"), Field("topics", "string_list"),
        Field("consumer_group", default=""), Field("checkpoint_limit", "int", default=1024),
        Field("start_from_oldest", "bool", default=True),
    )}),
    ("output", "kafka", {"fields": (
        Field("addresses", "string_list"), Field("topic"), Field("key", default=""),
        Field("max_in_flight", "int", default=64),
    )}),
    ("output", "http_server", {"fields": (
        Field("path", default="/get"), Field("stream_path", default="/get/stream"),
        Field("ws_path", default="/get/ws"), Field("timeout", "duration", default="5s"),
        Field("stream_format", default="lines", options=("lines", "event_source")),
    )}),
    ("output", "broker", {"fields": (
        Field("pattern", default="fan_out", options=("fan_out", "fan_out_sequential", "round_robin", "greedy")),
        Field("outputs", "output_list", default=[]),
    )}),
    ("output", "sync_response", {}),
    ("output", "drop", {}),
    ("processor", "mapping", {"scalar_field": "mapping", "fields": (Field("mapping"),)}),
    ("processor", "sleep", {"fields": (Field("duration", "duration"),)}),
]


# Test-only components with known declarations, so the precise checks below do not depend on
# how the real component modules declare their fields.
_TEST_SPECS = [
    ("input", "t_in", {"fields": (
        Field("path", default="/post"), Field("ws_path", default="/post/ws"),
        Field("allowed_verbs", "string_list", default=["POST"]), Field("timeout", "duration", default="5s"),
        Field("addresses", "string_list"), Field("count", "int", default=0),
    )}),
    ("output", "t_out", {"fields": (
        Field("stream_format", default="lines", options=("lines", "event_source")),
        Field("ratio", "float", default=1.0), Field("flag", "bool", default=False),
    )}),
    ("processor", "t_proc", {"scalar_field": "t_proc", "fields": (Field("t_proc"),)}),
]


@pytest.fixture
def components() -> Iterator[None]:
    added = []
    for kind, name, extra in _FIXTURE_SPECS + _TEST_SPECS:
        if name not in catalog.TABLES[kind]:
            catalog.TABLES[kind][name] = registry.ComponentSpec(kind=kind, name=name, factory=_noop, **extra)
            added.append((kind, name))
    yield
    for kind, name in added:
        del catalog.TABLES[kind][name]


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _api(listen: str = "/t/", streams: str = "", name: str = "t") -> str:
    body = streams or """
        s:
          input:
            http_server:
              path: /push
          output:
            sync_response: {}
    """
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: 1.0.0}\npaths: {}\n"
        "x-tyk-streaming:\n  streams:\n" + textwrap.indent(textwrap.dedent(body), "    ")
        + f"x-tyk-api-gateway:\n  info: {{name: {name}, state: {{active: true}}}}\n"
        f"  server: {{listenPath: {{value: {listen}, strip: true}}}}\n"
    )


def _messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


# --- the seed ---------------------------------------------------------------------------------


def test_seed_loads_without_problems(components: None) -> None:
    api, problems = load_file(str(SEED))
    assert problems == []
    assert api is not None
    assert (api.name, api.listen_path, api.strip, api.active) == ("stream-demo", "/stream-demo/", True, True)
    assert api.context_variables is True and api.traffic_logs is True
    assert set(api.streams) == {"Worker", "in", "out"}
    assert api.streams["Worker"].placeholders == frozenset()
    assert api.streams["in"].placeholders == {"request_data_user"}  # the jwt one sits in a comment
    assert api.streams["out"].placeholders == {"request_data_user"}
    assert api.streams["out"].is_template and not api.streams["Worker"].is_template
    # the config is handed over as written: no defaults filled, placeholders intact
    assert api.streams["out"].config["input"]["kafka"]["consumer_group"] == "$tyk_context.request_data_user"
    assert "timeout" not in api.streams["in"].config["input"]["http_server"]
    assert api.base_dir == str(SEED.parent)


def test_seed_loads_with_the_real_components() -> None:
    api, problems = load_file(str(SEED))
    assert _messages(problems) == []
    assert api is not None and set(api.streams) == {"Worker", "in", "out"}


def test_default_directory_serves_the_seed(components: None) -> None:
    apis, problems = load_directory(str(SEED.parent))
    assert problems == []
    assert [a.listen_path for a in apis] == ["/stream-demo/"]


# --- positions ------------------------------------------------------------------------------


def test_unknown_field_has_file_line_and_path(components: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed = SEED.read_text().replace("          path: /push-event\n", "          pathx: /push-event\n")
    (tmp_path / "apis").mkdir()
    (tmp_path / "apis" / "x.yaml").write_text(seed)
    monkeypatch.chdir(tmp_path)
    line = seed.splitlines().index("          pathx: /push-event") + 1
    api, problems = load_file("apis/x.yaml")
    assert api is None
    assert _messages(problems) == [
        f"apis/x.yaml:{line}: streams.in.input.http_server.pathx: unknown field (did you mean 'path'?)"
    ]


def test_problem_renders_without_line_or_path() -> None:
    assert str(Problem("a.yaml", None, "", "cannot read")) == "a.yaml: cannot read"
    assert str(Problem("a.yaml", 3, "streams.s", "bad")) == "a.yaml:3: streams.s: bad"


def test_broken_yaml_reports_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "b.yaml", "openapi: 3.0.3\nx-tyk-streaming:\n  streams: [a\n  b: c\n")
    api, problems = load_file(path)
    assert api is None
    assert len(problems) == 1 and problems[0].line == 4 and "invalid YAML" in problems[0].message


def test_broken_json_reports_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "b.json", '{\n  "openapi": "3.0.3",\n  "x": \n}\n')
    api, problems = load_file(path)
    assert api is None
    assert problems[0].line == 4 and problems[0].message.startswith("invalid JSON")


def test_json_definition_loads(components: None, tmp_path: Path) -> None:
    import json

    import yaml

    doc = yaml.safe_load(_api("/j/"))
    path = _write(tmp_path, "j.json", json.dumps(doc, indent=2))
    api, problems = load_file(path)
    assert problems == [] and api is not None and api.listen_path == "/j/"


def test_duplicate_key_is_reported(components: None, tmp_path: Path) -> None:
    path = _write(tmp_path, "d.yaml", _api(streams="""
        s:
          input:
            http_server:
              path: /a
              path: /b
          output:
            sync_response: {}
    """))
    _, problems = load_file(path)
    assert [(p.path, p.message) for p in problems] == [
        ("streams.s.input.http_server.path", "duplicate key")
    ]
    assert problems[0].line == 11


# --- component checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream, path, message",
    [
        ("input: {nope: {}}\noutput: {drop: {}}", "streams.s.input.nope", "unknown input 'nope'"),
        ("input: {file: {paths: [/etc/passwd]}}\noutput: {sync_response: {}}", "streams.s.input.file",
         "input 'file' is not allowed: it reaches the host's files, processes or sockets"),
        (("input: {http_server: {}}\noutput: {sync_response: {}}\npipeline:\n  processors:\n"
         "    - command: {name: ls}"), "streams.s.pipeline.processors.0.command",
         "processor 'command' is not allowed: it runs programs on the gateway host"),
        ("input: {http_server: {address: 0.0.0.0:9999}}\noutput: {sync_response: {}}",
         "streams.s.input.http_server.address", ("not allowed: a second listener would bypass the gateway; "
         "the stream is served under the API listen path")),
        ("input: {http_server: {}, kafka: {}}\noutput: {sync_response: {}}", "streams.s.input",
         "exactly one input per block, found 2: http_server, kafka"),
        ("input: {label: x}\noutput: {sync_response: {}}", "streams.s.input", "no input given (expected one of: "),
        ("input: {t_in: {addresses: [], timeout: 5}}\noutput: {sync_response: {}}", "streams.s.input.t_in.timeout",
         "expected a duration string such as 5s, got an integer"),
        ("input: {t_in: {addresses: [], timeout: 5 s}}\noutput: {sync_response: {}}", "streams.s.input.t_in.timeout",
         "invalid duration '5 s' (expected e.g. 5s, 100ms, 1m30s)"),
        ("input: {t_in: {addresses: [], allowed_verbs: POST}}\noutput: {sync_response: {}}",
         "streams.s.input.t_in.allowed_verbs", "expected a list of strings, got a string"),
        ("input: {t_in: {path: /a}}\noutput: {sync_response: {}}", "streams.s.input.t_in.addresses",
         "missing required field"),
        ("input: {http_server: {}}\noutput: {t_out: {stream_format: xml}}",
         "streams.s.output.t_out.stream_format", "invalid value 'xml' (expected one of: lines, event_source)"),
        (("input: {http_server: {}}\noutput:\n  broker:\n    outputs:\n      - kafka: {addresses: [a:1], topic: t}\n"
         "      - file: {path: /tmp/x}"), "streams.s.output.broker.outputs.1.file",
         "output 'file' is not allowed: it reaches the host's files, processes or sockets"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\npipeline: {processors: [{mapping: [a]}]}",
         "streams.s.pipeline.processors.0.mapping", "expected a string, got a list"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\npipeline: {threads: two}",
         "streams.s.pipeline.threads", "expected an integer, got a string"),
        ("output: {sync_response: {}}\n", "streams.s.input", "missing required field"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\nhttp: {address: 0.0.0.0:4195}",
         "streams.s.http", "not allowed: the gateway owns the HTTP server"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\noutptu: {}", "streams.s.outptu",
         "unknown field (did you mean 'output'?)"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\nmetrics: {prometheus: {file_output_path: /tmp/x}}",
         "streams.s.metrics.prometheus.file_output_path", "not allowed: writes files on the gateway host"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\nmetrics: {statsd: {}}",
         "streams.s.metrics.statsd", "unsupported metrics type"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\ntracer: {jaeger: {collector_urll: x}}",
         "streams.s.tracer.jaeger.collector_urll", "unknown field (did you mean 'collector_url'?)"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\nlogger: {file: {path: /tmp/l}}",
         "streams.s.logger.file", "not allowed: writes files on the gateway host"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\nprocessor_resources: [{sleep: {duration: 1s}}]",
         "streams.s.processor_resources.0.label", "missing: a resource needs a label"),
        ("input: {http_server: {}}\noutput: {sync_response: {}}\nbuffer: {kafka: {}}",
         "streams.s.buffer.kafka", "unsupported buffer type"),
        ("input: {t_in: {addresses: [], count: 1.5}}\noutput: {sync_response: {}}", "streams.s.input.t_in.count",
         "expected an integer, got a number"),
        ("input: {t_in: {addresses: [], count: true}}\noutput: {sync_response: {}}", "streams.s.input.t_in.count",
         "expected an integer, got a boolean"),
        ("input: {http_server: {}}\noutput: {t_out: {ratio: x}}", "streams.s.output.t_out.ratio",
         "expected a number, got a string"),
        ("input: {http_server: {}}\noutput: {t_out: {flag: yes}}", "streams.s.output.t_out.flag",
         "expected a boolean, got a string"),
        (("input: {http_server: {}}\noutput: {sync_response: {}}\npipeline:\n  processors:\n    - switch:\n"
         "        - check: this.a == 1\n          processors: [{subprocess: {name: sh}}]"),
         "streams.s.pipeline.processors.0.switch.0.processors.0.subprocess",
         "processor 'subprocess' is not allowed"),
        (("input: {http_server: {}}\noutput: {sync_response: {}}\npipeline:\n  processors:\n    - switch:\n"
         "        - chek: this.a == 1"), "streams.s.pipeline.processors.0.switch.0.chek",
         "unknown field (did you mean 'check'?)"),
    ],
)
def test_component_problems(components: None, tmp_path: Path, stream: str, path: str, message: str) -> None:
    file = _write(tmp_path, "c.yaml", _api(streams="s:\n" + textwrap.indent(stream, "  ") + "\n"))
    api, problems = load_file(file)
    assert api is None
    assert len(problems) == 1, _messages(problems)
    assert problems[0].path == path
    assert problems[0].message.startswith(message)
    assert problems[0].line is not None


def test_valid_stream_level_blocks_pass(components: None, tmp_path: Path) -> None:
    file = _write(tmp_path, "ok.yaml", _api(streams="""
        s:
          input:
            label: in
            http_server: {path: /p, timeout: 1m30s}
            processors: [{sleep: {duration: 10ms}}]
          pipeline: {threads: 1, processors: [{mapping: "root = this"}]}
          output:
            broker:
              pattern: fan_out
              outputs: [{kafka: {addresses: ["a:1"], topic: t}}, {sync_response: {}}]
          buffer: {none: {}}
          metrics: {prometheus: {push_url: "http://127.0.0.1:9091", push_interval: 1s, push_job_name: s}}
          tracer: {jaeger: {collector_url: "http://127.0.0.1:14268/api/traces", tags: {stream: s}}}
          logger: {level: INFO, format: json}
          processor_resources: [{label: nap, sleep: {duration: 1s}}]
          shutdown_timeout: 20s
    """))
    api, problems = load_file(file)
    assert _messages(problems) == []
    assert api is not None and api.streams["s"].config["input"]["label"] == "in"


# --- API level ------------------------------------------------------------------------------


def test_api_fields_and_listen_path_normalisation(components: None, tmp_path: Path) -> None:
    text = _api("stream-x").replace("strip: true", "strip: false")
    text += "  middleware:\n    global:\n      contextVariables: {enabled: false}\n"
    api, problems = load_file(_write(tmp_path, "a.yaml", text))
    assert problems == [] and api is not None
    assert (api.listen_path, api.strip, api.context_variables, api.traffic_logs) == ("/stream-x/", False, False, False)
    assert definitions.normalise_listen_path("//a//b") == "/a/b/"


def test_missing_listen_path_and_streams(tmp_path: Path) -> None:
    api, problems = load_file(_write(tmp_path, "m.yaml", "openapi: 3.0.3\ninfo: {title: m, version: '1'}\nx-tyk-api-gateway: {info: {name: m}}\n"))
    assert api is None
    assert {p.path for p in problems} == {"x-tyk-api-gateway.server.listenPath.value", "x-tyk-streaming.streams"}


def test_not_a_mapping(tmp_path: Path) -> None:
    api, problems = load_file(_write(tmp_path, "l.yaml", "- a\n- b\n"))
    assert api is None and problems[0].message.startswith("the document must be a mapping")


def test_endless_yaml_aliases_are_problems_not_crashes(tmp_path: Path) -> None:
    # An alias inside its own anchor is a document without end; nested aliases can expand to
    # billions of values. Either used to take the whole directory (every API) down at load.
    api, problems = load_file(_write(tmp_path, "self.yaml", "a: &x [*x]\n"))
    assert api is None and [p.message for p in problems] == ["a YAML alias refers to its own anchor"]
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    api, problems = load_file(_write(tmp_path, "laughs.yaml", "\n".join(lines) + "\n"))
    assert api is None and [p.message for p in problems] == [
        f"YAML aliases expand to more than {definitions.MAX_DOCUMENT_PATHS} values"
    ]


# --- directories ----------------------------------------------------------------------------


def test_bad_file_is_skipped_while_good_one_loads(components: None, tmp_path: Path) -> None:
    _write(tmp_path, "a-good.yaml", _api("/good/", name="good"))
    _write(tmp_path, "b-bad.yaml", _api("/bad/", name="bad").replace("http_server", "nope"))
    _write(tmp_path, "c-broken.yml", "x-tyk-streaming: [\n")
    _write(tmp_path, "notes.txt", "not a definition")
    apis, problems = load_directory(str(tmp_path))
    assert [a.name for a in apis] == ["good"]
    assert sorted(Path(p.file).name for p in problems) == ["b-bad.yaml", "c-broken.yml"]


def test_duplicate_listen_path_is_reported(components: None, tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _api("/same/", name="a"))
    _write(tmp_path, "b.yaml", _api("same", name="b"))
    apis, problems = load_directory(str(tmp_path))
    assert [a.name for a in apis] == ["a"]
    assert len(problems) == 1
    assert problems[0].path == "x-tyk-api-gateway.server.listenPath.value"
    assert "listen path /same/ is already used by" in problems[0].message and problems[0].line is not None


def test_inactive_api_is_skipped(components: None, tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _api("/off/", name="off").replace("active: true", "active: false"))
    _write(tmp_path, "b.yaml", _api("/off/", name="on"))
    apis, problems = load_directory(str(tmp_path))
    assert problems == [] and [a.name for a in apis] == ["on"]  # YAML 1.2: "on" is a string


def test_api_with_authentication_but_no_scheme_is_refused(components: None, tmp_path: Path) -> None:
    # Fail closed: serving it open would drop the protection its author asked for.
    text = _api("/auth/").replace("strip: true}}", "strip: true}, authentication: {enabled: true}}")
    api, problems = load_file(_write(tmp_path, "auth.yaml", text))
    assert api is None
    assert [p.path for p in problems] == ["security"]
    assert "authentication is enabled but no enabled scheme is required" in problems[0].message


def test_internal_api_is_not_served(components: None, tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _api("/int/", name="int").replace("active: true", "active: true, internal: true"))
    apis, problems = load_directory(str(tmp_path))
    assert problems == [] and apis == []
    api, _ = load_file(str(tmp_path / "a.yaml"))
    assert api is not None and api.internal


def test_missing_directory_is_a_problem(tmp_path: Path) -> None:
    apis, problems = load_directory(str(tmp_path / "nope"))
    assert apis == [] and "cannot read the definitions directory" in problems[0].message


# --- defaults -------------------------------------------------------------------------------


def test_fill_defaults(components: None) -> None:
    written = {"path": "/push-event"}
    filled = fill_defaults("input", "t_in", written)
    assert filled["path"] == "/push-event"
    assert filled["ws_path"] == "/post/ws" and filled["timeout"] == "5s"
    assert filled["allowed_verbs"] == ["POST"]
    assert written == {"path": "/push-event"}  # not mutated
    filled["allowed_verbs"].append("GET")
    assert fill_defaults("input", "t_in", {})["allowed_verbs"] == ["POST"]  # defaults are copies
    assert fill_defaults("processor", "t_proc", "root = this") == {"t_proc": "root = this"}
    assert fill_defaults("output", "sync_response", None) == {}


# --- Bloblang checked at load -------------------------------------------------------------------


def _require_bloblang() -> None:
    from streams import bloblang

    if not hasattr(bloblang, "parse"):
        pytest.skip("streams.bloblang.parse has not landed yet")


def test_bloblang_syntax_error_points_at_the_yaml_line(components: None, tmp_path: Path) -> None:
    _require_bloblang()
    text = _api(streams="""
        s:
          input: {http_server: {}}
          pipeline:
            processors:
              - mapping: |
                  root = this
                  root.user = "$tyk_context.request_data_user"
                  root.x = this.a +
                  root.y = 1
              - log:
                  message: 'got ${! this.a. }'
          output: {sync_response: {}}
    """)
    path = _write(tmp_path, "bl.yaml", text)
    lines = text.splitlines()
    api, problems = load_file(path)
    assert api is None
    assert [p.path for p in problems] == [
        "streams.s.pipeline.processors.0.mapping",
        "streams.s.pipeline.processors.1.log.message",
    ]
    assert lines[problems[0].line - 1].strip() == "root.x = this.a +" or lines[problems[0].line - 1].strip() == "root.y = 1"
    assert problems[0].message.startswith("invalid Bloblang: line ")
    assert lines[problems[1].line - 1].strip() == "message: 'got ${! this.a. }'"


def test_seed_mappings_parse(components: None) -> None:
    _require_bloblang()
    api, problems = load_file(str(SEED))
    assert problems == [] and api is not None


@pytest.mark.parametrize("allowed", [False, True])
def test_the_gateway_loads_impure_mappings_only_when_the_setting_allows_them(tmp_path: Path, allowed: bool) -> None:
    from streams.engine.gateway import Gateway
    from streams.engine.testing import make_settings

    apis = tmp_path / "apis"
    apis.mkdir()
    stream = """
        s:
          input:
            http_server: {}
          pipeline:
            processors:
              - mapping: root = hostname()
          output:
            sync_response: {}
    """
    _write(apis, "a.yaml", _api(streams=stream))
    gateway = Gateway.from_settings(
        make_settings(str(tmp_path), definitions_dir=str(apis), allow_impure_bloblang=allowed)
    )
    impure = [p for p in gateway.problems if "function 'hostname' is impure and not allowed here" in p.message]
    assert (len(gateway.problems), len(impure)) == ((0, 0) if allowed else (1, 1))


# --- nesting ----------------------------------------------------------------------------------


def _deep_yaml_block(depth: int) -> str:
    return "a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth)) + "  " * (depth + 1) + "x: 1\n"


@pytest.mark.parametrize("depth", [600, 5000])
@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("block.yaml", lambda d: _deep_yaml_block(d) if d <= 600 else "a: " + "[" * d + "]" * d),
        ("flow.yaml", lambda d: "a: " + "{b: " * d + "1" + "}" * d),
        ("list.json", lambda d: '{"a": ' + "[" * d + "]" * d + "}"),
        ("object.json", lambda d: '{"a": ' + '{"b":\n' * d + "1" + "}" * d + "}"),
    ],
)
def test_deep_nesting_is_the_files_problem(tmp_path: Path, name: str, make, depth: int) -> None:
    api, problems = load_file(_write(tmp_path, name, make(depth)))
    assert api is None and len(problems) == 1, problems
    assert problems[0].message.startswith(f"nesting deeper than {definitions.MAX_NESTING} levels")
    assert problems[0].file.endswith(name) and problems[0].line is not None


def test_nesting_up_to_the_limit_loads(components: None, tmp_path: Path) -> None:
    # The document's own levels (x-tyk-streaming.streams.s.output.sync_response) plus a deep
    # metadata block elsewhere in the document, one level under the limit.
    deep = "x-extra: " + "{a: " * (definitions.MAX_NESTING - 1) + "1" + "}" * (definitions.MAX_NESTING - 1) + "\n"
    api, problems = load_file(_write(tmp_path, "ok.yaml", _api("/ok/") + deep))
    assert problems == [] and api is not None
    deeper = deep.replace("{a: ", "{a: {a: ", 1).replace("}", "}}", 1)
    api, problems = load_file(_write(tmp_path, "no.yaml", _api("/no/") + deeper))
    assert api is None and "nesting deeper" in problems[0].message


def test_json_nesting_counts_brackets_outside_strings_only(tmp_path: Path) -> None:
    assert definitions._json_too_deep('{"a": "' + "[" * 500 + '"}') is None
    assert definitions._json_too_deep('{"a": "\\"' + "[" * 500 + '"}') is None
    assert definitions._json_too_deep("{\n\n" + "[" * 200) == 3


@pytest.mark.parametrize(
    "mapping",
    [
        "root = " + "(" * 2000 + "1" + ")" * 2000,
        "root = " + "[" * 2000 + "]" * 2000,
        "root = this" + ".string()" * 2000,
    ],
)
def test_deeply_nested_bloblang_is_a_config_error(components: None, tmp_path: Path, mapping: str) -> None:
    _require_bloblang()
    stream = f"""
        s:
          input:
            http_server: {{path: /push}}
          pipeline:
            processors:
              - mapping: '{mapping}'
          output:
            sync_response: {{}}
    """
    _write(tmp_path, "deep.yaml", _api("/deep/", streams=stream, name="deep"))
    _write(tmp_path, "good.yaml", _api("/good/", name="good"))
    apis, problems = load_directory(str(tmp_path))
    assert [a.name for a in apis] == ["good"]
    assert [(Path(p.file).name, p.path, p.message) for p in problems] == [
        ("deep.yaml", "streams.s.pipeline.processors.0.mapping", "invalid Bloblang: nested too deeply")
    ]


def test_a_loader_failure_is_the_files_problem(components: None, tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path, "a.yaml", _api("/a/", name="a"))
    _write(tmp_path, "b.yaml", _api("/b/", name="b"))
    real = definitions.load_file

    def flaky(path: str, **kw):
        if path.endswith("a.yaml"):
            raise RuntimeError("loader bug\nsecond line")
        return real(path, **kw)

    monkeypatch.setattr(definitions, "load_file", flaky)
    apis, problems = load_directory(str(tmp_path))
    assert [a.name for a in apis] == ["b"]
    assert [(Path(p.file).name, p.message) for p in problems] == [
        ("a.yaml", "cannot load the file: RuntimeError: loader bug second line")
    ]


# --- listen path collisions -------------------------------------------------------------------


def _aged(path: str, mtime: float) -> str:
    import os

    os.utime(path, (mtime, mtime))
    return path


def test_the_older_file_keeps_a_listen_path_whatever_the_names(components: None, tmp_path: Path) -> None:
    _aged(_write(tmp_path, "z-old.yaml", _api("/same/", name="old")), 1_000)
    _aged(_write(tmp_path, "a-new.yaml", _api("/same/", name="new")), 2_000)
    apis, problems = load_directory(str(tmp_path))
    assert [a.name for a in apis] == ["old"]
    assert len(problems) == 1 and Path(problems[0].file).name == "a-new.yaml"
    assert "z-old.yaml" in problems[0].message and "a-new.yaml" in problems[0].message


def test_same_age_breaks_ties_by_name(components: None, tmp_path: Path) -> None:
    _aged(_write(tmp_path, "b.yaml", _api("/same/", name="b")), 1_000)
    _aged(_write(tmp_path, "a.yaml", _api("/same/", name="a")), 1_000)
    apis, _ = load_directory(str(tmp_path))
    assert [a.name for a in apis] == ["a"]


def test_a_stored_owner_keeps_its_path_against_an_older_file(components: None, tmp_path: Path) -> None:
    _aged(_write(tmp_path, "serving.yaml", _api("/same/", name="serving")), 2_000)
    _aged(_write(tmp_path, "newcomer.yaml", _api("/same/", name="newcomer")), 1_000)
    owners = {"/same/": "serving.yaml"}
    apis, problems = load_directory(str(tmp_path), owners=owners.get)
    assert [a.name for a in apis] == ["serving"]
    assert Path(problems[0].file).name == "newcomer.yaml"
    # An owner whose file is gone no longer counts: the older remaining file wins.
    apis, _ = load_directory(str(tmp_path), owners={"/same/": "deleted.yaml"}.get)
    assert [a.name for a in apis] == ["newcomer"]


def test_nested_listen_paths_and_equal_names_collide(components: None, tmp_path: Path) -> None:
    _aged(_write(tmp_path, "outer.yaml", _api("/a/", name="outer")), 1_000)
    _aged(_write(tmp_path, "inner.yaml", _api("/a/b/", name="inner")), 2_000)
    _aged(_write(tmp_path, "twin.yaml", _api("/elsewhere/", name="outer")), 3_000)
    _aged(_write(tmp_path, "sibling.yaml", _api("/ab/", name="sibling")), 4_000)
    apis, problems = load_directory(str(tmp_path))
    assert sorted(a.name for a in apis) == ["outer", "sibling"]
    by_file = {Path(p.file).name: p for p in problems}
    assert set(by_file) == {"inner.yaml", "twin.yaml"}
    assert "/a/b/ overlaps /a/" in by_file["inner.yaml"].message
    assert by_file["twin.yaml"].path == "x-tyk-api-gateway.info.name"
    assert "API name 'outer' is already used by" in by_file["twin.yaml"].message


def test_gateway_section_without_info_is_refused(tmp_path: Path) -> None:
    """Tyk's schema requires ``x-tyk-api-gateway.info``; a present info without a name still
    takes its name from ``info.title``."""
    text = _api().replace("  info: {name: t, state: {active: true}}\n", "")
    api, problems = load_file(_write(tmp_path, "i.yaml", text))
    assert api is None
    assert [(p.path, p.message) for p in problems] == [("x-tyk-api-gateway.info", "missing: the API's info (name, state) is required")]
    api, problems = load_file(_write(tmp_path, "n.yaml", _api().replace("{name: t, state:", "{state:")))
    assert problems == [] and api is not None and api.name == "t"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a uri", "expected an http:// or https:// URL, got 'not a uri'"),
        ("ftp://files.example.com/drop", "expected an http:// or https:// URL, got 'ftp://files.example.com/drop'"),
        ("http://", "expected an http:// or https:// URL, got 'http://'"),
        ("http://localhost:8080/hook", None),
        ("https://hooks.example.com/a?b=c", None),
        ('${! meta("hook_url") }', None),
        ("http://$tyk_context.headers_Hook_Host/hook", None),
    ],
)
def test_http_client_url_must_be_an_http_url(tmp_path: Path, url: str, problem: str | None) -> None:
    """As Tyk's schema gives ``http_client.url`` the ``uri`` format; an interpolated URL is only
    known per message (real components)."""
    streams = f"""
        s:
          input:
            http_server:
              path: /push
          output:
            http_client:
              url: '{url.replace("'", "''")}'
    """
    api, problems = load_file(_write(tmp_path, "h.yaml", _api(streams=streams)))
    found = [(p.path, p.message) for p in problems]
    assert found == ([("streams.s.output.http_client.url", problem)] if problem else []), found


def test_http_client_output_batching_that_would_group_messages_is_refused_at_load(tmp_path: Path) -> None:
    """The output writes the batches its input makes, so a policy that would group messages is
    named at load; one that keeps each message apart (Bento's defaults, ``count: 1``) passes."""
    streams = """
        s:
          input:
            http_server:
              path: /push
          output:
            http_client:
              url: http://hook/
              max_in_flight: -1
              batching: {count: 5, period: 1s}
        t:
          input:
            http_server:
              path: /push2
          output:
            http_client:
              url: http://hook/
              batching: {count: 1, byte_size: 0, period: "", check: ""}
    """
    api, problems = load_file(_write(tmp_path, "h.yaml", _api(streams=streams)))
    refused = "batching is not supported by this gateway; each message is written as it comes"
    assert sorted((p.path, p.message) for p in problems) == [
        ("streams.s.output.http_client.batching.count", refused),
        ("streams.s.output.http_client.batching.period", refused),
        ("streams.s.output.http_client.max_in_flight", "must be at least 1"),
    ]


def test_http_client_settings_are_checked_at_load(tmp_path: Path) -> None:
    """The shared HTTP client fields name the sub-field that cannot work, before any stream starts."""
    streams = """
        s:
          input:
            http_client:
              url: http://feed/items
              oauth2: {enabled: true, client_key: k}
              jwt: {enabled: true, signing_method: HS256, private_key_file: k.pem}
              proxy_url: socks5://proxy:1080
              oauth: {enabled: true, consumer_key: ck, nonce: x}
          output:
            http_client:
              url: http://hook/
              negotiate: {enabled: true}
    """
    api, problems = load_file(_write(tmp_path, "h.yaml", _api(streams=streams)))
    found = sorted((p.path, p.message) for p in problems)
    assert found == sorted(
        [
            (
                "streams.s.input.http_client.oauth2.token_url",
                "an http(s) URL of the token provider is required when oauth2 is enabled",
            ),
            (
                "streams.s.input.http_client.jwt.signing_method",
                "jwt signing method 'HS256' not accepted; use RS256, RS384, RS512 or EdDSA",
            ),
            (
                "streams.s.input.http_client.proxy_url",
                "failed to parse proxy_url string: expected http://host:port or https://host:port, got 'socks5://proxy:1080'",
            ),
            ("streams.s.input.http_client.oauth.nonce", "unknown field"),
            ("streams.s.output.http_client.negotiate.enabled", "not supported by this gateway"),
        ]
    ), found
