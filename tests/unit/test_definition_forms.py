"""The config forms Bento and Tyk accept, read by the validator with positions: ``type:``,
``label``, no ``output``, ``streams: {}``, ``stdout``, ``stream_format``, WebSocket keep-alive,
resources, ``http_server`` inside brokers, OpenAPI versions, ``info``, JSON indented with tabs."""

from __future__ import annotations

import json
import textwrap

import pytest

from streams import forms
from streams.definitions import ApiDefinition, Problem, load_text


def _doc(streams: str, head: str = "openapi: 3.0.3\ninfo: {title: t, version: 1.0.0}\n") -> str:
    return (
        head
        + "paths: {}\nx-tyk-streaming:\n  streams:\n"
        + textwrap.indent(textwrap.dedent(streams), "    ")
        + "x-tyk-api-gateway:\n  info: {name: t, state: {active: true}}\n  server: {listenPath: {value: /t/}}\n"
    )


def _load(text: str, name: str = "api.yaml") -> tuple[ApiDefinition | None, list[Problem]]:
    return load_text(text, name, display=name)


def _where(problems: list[Problem]) -> list[tuple[int | None, int | None, str, str]]:
    return [(p.line, p.column, p.path, p.message) for p in problems]


# --- type: and label ---------------------------------------------------------------------------


def test_explicit_type_and_labels_load() -> None:
    api, problems = _load(_doc("""\
        s:
          input:
            type: kafka
            label: jobs_in
            kafka: {addresses: [localhost:9093], topics: [jobs], consumer_group: w}
          pipeline:
            processors:
              - label: enrich
                type: mapping
                mapping: root = this
          output:
            type: drop
            label: nowhere
    """))
    assert problems == []
    assert api is not None and set(api.streams) == {"s"}


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("input: {type: kafkaa, kafkaa: {}}\n", (7, 15, "streams.s.input.type", "unknown input 'kafkaa' (did you mean 'kafka'?)")),
        ("input: {type: kafka, http_server: {}}\n", (7, 28, "streams.s.input.http_server",
                                                     "field http_server is invalid when the component type is kafka (input)")),
        ("input: {type: [kafka]}\n", (7, 15, "streams.s.input.type", "expected the name of an input type")),
        ("input: {type: file}\n", (7, 15, "streams.s.input.type",
                                   "input 'file' is not allowed: it reaches the host's files, processes or sockets")),
        ("input: {label: In-1, http_server: {}}\n", (7, 15, "streams.s.input.label",
                                                    "invalid label 'In-1': should match the regular expression /^[a-z0-9_]+$/ and must not start with an underscore")),
        ("input: {http_server: {}}\npipeline: {processors: [{label: _x, mapping: root = this}]}\n",
         (8, 32, "streams.s.pipeline.processors.0.label",
          "invalid label '_x': should match the regular expression /^[a-z0-9_]+$/ and must not start with an underscore")),
        ("input: {type: http_server, http_server: {pathx: /p}}\n", (7, 48, "streams.s.input.http_server.pathx",
                                                                  "unknown field (did you mean 'path'?)")),
    ],
)
def test_type_and_label_mistakes_are_placed(stream: str, expected: tuple[int, int, str, str]) -> None:
    api, problems = _load(_doc("s:\n" + textwrap.indent(stream, "  ")))
    assert api is None
    assert _where(problems) == [expected]


# --- output, streams, stdout, http_server output fields ----------------------------------------


def test_a_stream_without_output_writes_to_stdout() -> None:
    api, problems = _load(_doc("s:\n  input: {http_server: {path: /in}}\n"))
    assert problems == []
    assert api is not None
    assert forms.stream_output(api.streams["s"].config) == {"stdout": {}}


def test_no_streams_is_an_api_that_serves_nothing() -> None:
    text = _doc("").replace("  streams:\n", "  streams: {}\n")
    api, problems = _load(text)
    assert problems == []
    assert api is not None and api.streams == {}


def test_streams_must_be_an_object() -> None:
    api, problems = _load(_doc("").replace("  streams:\n", "  streams: [a]\n"))
    assert api is None
    assert _where(problems) == [(5, 3, "x-tyk-streaming.streams", "expected an object of streams by name, got a list")]


def test_stdout_output_and_http_server_output_fields_as_bento_writes_them() -> None:
    api, problems = _load(_doc("""\
        logged:
          input: {http_server: {path: /in}}
          output: {stdout: {codec: lines}}
        served:
          input: {http_server: {path: /in2}}
          output:
            http_server:
              stream_format: raw_bytes
              ping_period: 5s
              pong_wait: 10s
              write_wait: 10s
    """))
    assert problems == []
    assert api is not None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("stream_format: lines", (9, 23, "streams.s.output.http_server.stream_format",
                                  "invalid value 'lines' (expected one of: raw_bytes, event_source, raw)")),
        ("ping_period: 60s, pong_wait: 60s", (9, 23, "streams.s.output.http_server.ping_period",
                                              "must be less than pong_wait (60s)")),
        ("pong_wait: soon", (9, 23, "streams.s.output.http_server.pong_wait",
                             "invalid duration 'soon' (expected e.g. 5s, 100ms, 1m30s)")),
    ],
)
def test_http_server_output_field_mistakes(fields: str, expected: tuple[int, int, str, str]) -> None:
    api, problems = _load(_doc(f"s:\n  input: {{http_server: {{}}}}\n  output:\n    http_server: {{{fields}}}\n"))
    assert api is None
    assert _where(problems) == [expected]


# --- brokers and resources ---------------------------------------------------------------------


def test_http_server_inside_brokers_loads_and_two_http_server_outputs_do_not() -> None:
    ok = """\
        s:
          input:
            broker:
              inputs:
                - http_server: {path: /in}
                - generate: {mapping: root = "tick", interval: 1s}
          output:
            broker:
              outputs:
                - http_server: {path: /out}
                - stdout: {}
    """
    api, problems = _load(_doc(ok))
    assert problems == []
    two = ok.replace("- stdout: {}", "- http_server: {path: /out2}")
    api, problems = _load(_doc(two))
    assert api is None
    assert _where(problems) == [(12, 7, "streams.s.output", "2 http_server outputs: a stream serves its clients from one")]


def test_resource_inputs_and_outputs_name_their_entries() -> None:
    ok = """\
        s:
          input_resources:
            - label: pushes
              http_server: {path: /in}
          output_resources:
            - label: sink
              type: drop
          input: {resource: pushes}
          output: {resource: sink, processors: [{mapping: root = this}]}
    """
    api, problems = _load(_doc(ok))
    assert problems == []
    api, problems = _load(_doc(ok.replace("{resource: sink,", "{resource: sinc,")))
    assert api is None
    assert _where(problems) == [(14, 16, "streams.s.output.resource", "no output_resources entry labelled 'sinc' (did you mean 'sink'?)")]


def test_cache_and_rate_limit_resources_in_the_type_form() -> None:
    api, problems = _load(_doc("""\
        s:
          input: {http_server: {rate_limit: five}}
          output: {drop: {}}
          cache_resources: [{label: seen, type: memory, memory: {default_ttl: 1m}}]
          rate_limit_resources: [{label: five, type: local, local: {count: 5, interval: 1s}}]
    """))
    assert problems == []
    api, problems = _load(_doc("""\
        s:
          input: {http_server: {}}
          output: {drop: {}}
          rate_limit_resources: [{label: five, type: locl}]
    """))
    assert _where(problems) == [(9, 44, "streams.s.rate_limit_resources.0.type",
                                 "unsupported rate_limit type 'locl' (did you mean 'local'?) (supported: local)")]


def test_a_label_is_used_once_per_stream_and_may_be_empty() -> None:
    api, problems = _load(_doc("""\
        s:
          input: {label: "", http_server: {}}
          pipeline: {processors: [{label: step, mapping: root = this}, {label: step, mapping: root = this}]}
          output: {drop: {}}
        other:
          input: {label: step, http_server: {path: /other}}
          output: {drop: {}}
    """))
    assert api is None
    assert _where(problems) == [(8, 69, "streams.s.pipeline.processors.1.label",
                                 "label 'step' collides with a previously defined label at line 8")]


def test_metrics_tracer_and_buffer_in_the_type_form() -> None:
    stream = """\
        s:
          input: {http_server: {}}
          output: {drop: {}}
          metrics: {type: prometheus, mapping: root = this, prometheus: {push_interval: 1s}}
          tracer: {type: jaeger, jaeger: {collector_url: "http://localhost:14268/api/traces"}}
          buffer: {type: none}
    """
    api, problems = _load(_doc(stream))
    assert problems == []
    assert api is not None
    assert forms.canonical_blocks(api.streams["s"].config)["tracer"] == {
        "jaeger": {"collector_url": "http://localhost:14268/api/traces"}}
    api, problems = _load(_doc(stream.replace("type: jaeger, jaeger", "type: jaegr, jaeger")))
    assert _where(problems) == [
        (10, 29, "streams.s.tracer.jaeger", "field jaeger is invalid when the component type is jaegr (tracer)"),
    ]
    api, problems = _load(_doc(stream.replace("buffer: {type: none}", "buffer: {type: memroy}")))
    assert _where(problems) == [
        (11, 16, "streams.s.buffer.type", "unsupported buffer type 'memroy' (did you mean 'memory'?) (supported: none, memory)"),
    ]


def test_resource_labels_follow_bentos_rule() -> None:
    api, problems = _load(_doc("""\
        s:
          input: {http_server: {}}
          output: {drop: {}}
          cache_resources: [{label: My-Cache, memory: {}}]
    """))
    assert api is None
    assert _where(problems) == [(9, 26, "streams.s.cache_resources.0.label",
                                 "invalid label 'My-Cache': should match the regular expression /^[a-z0-9_]+$/ and must not start with an underscore")]


# --- OpenAPI version and info ------------------------------------------------------------------

STREAM = "s:\n  input: {http_server: {}}\n  output: {drop: {}}\n"


@pytest.mark.parametrize("version", ["3.0.0", "3.0.3", "3.0.3-rc1", "3.1.0", "3.1.12"])
def test_openapi_3_0_and_3_1_are_accepted(version: str) -> None:
    api, problems = _load(_doc(STREAM, head=f"openapi: {version}\ninfo: {{title: t, version: '1'}}\n"))
    assert problems == []


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("openapi: 2.0.0\ninfo: {title: t, version: '1'}\n",
         (1, 1, "openapi", "unsupported OpenAPI version '2.0.0': only 3.0.x and 3.1.x are accepted")),
        ("openapi: 3.2.0\ninfo: {title: t, version: '1'}\n",
         (1, 1, "openapi", "unsupported OpenAPI version '3.2.0': only 3.0.x and 3.1.x are accepted")),
        ("openapi: 3.0.10\ninfo: {title: t, version: '1'}\n",
         (1, 1, "openapi", "unsupported OpenAPI version '3.0.10': only 3.0.x and 3.1.x are accepted")),
        ("openapi: 3.0\ninfo: {title: t, version: '1'}\n",
         (1, 1, "openapi", 'expected a string such as "3.0.3" (quoted in YAML), got a number')),
        ("info: {title: t, version: '1'}\n", (1, 1, "openapi", "missing: the OpenAPI version (openapi: 3.0.3 or 3.1.0)")),
        ("openapi: 3.0.3\n", (1, 1, "info", "missing: the OpenAPI info object (title and version)")),
        ("openapi: 3.0.3\ninfo: {title: t}\n", (2, 1, "info.version", "missing required field")),
        ("openapi: 3.0.3\ninfo: {title: t, version: 1}\n", (2, 18, "info.version", "expected a string, got an integer")),
    ],
)
def test_openapi_version_and_info_mistakes(head: str, expected: tuple[int | None, int | None, str, str]) -> None:
    api, problems = _load(_doc(STREAM, head=head))
    assert api is None
    assert _where(problems) == [expected]


# --- JSON indented with tabs -------------------------------------------------------------------


def _tabbed_json(stream: dict[str, object]) -> str:
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "x-tyk-streaming": {"streams": {"s": stream}},
        "x-tyk-api-gateway": {"info": {"name": "t"}, "server": {"listenPath": {"value": "/t/"}}},
    }
    return json.dumps(doc, indent="\t")


def _position_of(text: str, needle: str) -> tuple[int, int]:
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def test_a_json_definition_indented_with_tabs_places_a_deep_error_on_its_key() -> None:
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"switch": [{"check": "true", "processors": [{"sleep": {"durationn": "1s"}}]}]}]},
        "output": {"drop": {}},
    }
    text = _tabbed_json(stream)
    assert "\n" + "\t" * 12 + '"durationn"' in text  # 12 tabs deep
    api, problems = _load(text, "api.json")
    assert api is None
    line, column = _position_of(text, '"durationn"')
    sleep_line, sleep_column = _position_of(text, '"sleep"')
    sleep = "streams.s.pipeline.processors.0.switch.0.processors.0.sleep"
    assert _where(problems) == [
        (line, column, f"{sleep}.durationn", "unknown field (did you mean 'duration'?)"),
        (sleep_line, sleep_column, f"{sleep}.duration", "missing required field"),
    ]
    assert text.splitlines()[line - 1][column - 1:].startswith('"durationn"')


def test_a_json_definition_indented_with_tabs_places_a_bad_value_on_its_text() -> None:
    text = _tabbed_json({"input": {"http_server": {"timeout": "five seconds"}}, "output": {"drop": {}}})
    api, problems = _load(text, "api.json")
    assert api is None
    line, column = _position_of(text, '"timeout"')
    assert _where(problems) == [(line, column, "streams.s.input.http_server.timeout",
                                 "invalid duration 'five seconds' (expected e.g. 5s, 100ms, 1m30s)")]


def test_a_duplicate_key_in_json_is_placed() -> None:
    text = '{\n\t"openapi": "3.0.3",\n\t"openapi": "3.0.3"\n}'
    _, problems = _load(text, "api.json")
    assert (3, 2, "openapi", "duplicate key") in _where(problems)


# --- the forms themselves ----------------------------------------------------------------------


def test_forms_read_both_shapes_and_resources() -> None:
    assert forms.parts("input", {"type": "kafka", "label": "a", "kafka": {"x": 1}}) == ("kafka", {"x": 1}, {"label": "a"})
    assert forms.parts("output", {"type": "drop"}) == ("drop", None, {})
    assert forms.canonical("output", {"type": "drop", "label": "b"}) == {"drop": {}, "label": "b"}
    assert forms.canonical_list("rate_limit", [{"label": "l", "type": "local"}, "x"]) == [{"local": {}, "label": "l"}, "x"]
    resources = {"r": {"label": "r", "type": "http_server", "http_server": {"path": "/r"}, "processors": [{"a": 1}]}}
    assert forms.dereference("input", {"resource": "r", "processors": [{"b": 2}]}, resources) == {
        "http_server": {"path": "/r"}, "processors": [{"a": 1}, {"b": 2}], "label": "r"}
    with pytest.raises(forms.FormError, match="loop"):
        forms.dereference("input", {"resource": "x"}, {"x": {"label": "x", "resource": "x"}})
    nested = {"broker": {"outputs": [{"drop": {}}, {"type": "broker", "broker": {"outputs": [{"resource": "o"}]}}]}}
    assert forms.http_servers("output", nested, {"o": {"label": "o", "http_server": {"path": "/o"}}}) == [
        {"http_server": {"path": "/o"}}]
