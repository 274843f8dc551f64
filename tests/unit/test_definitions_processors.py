"""The definitions validator on the structural processors and cache resources: Bento-shaped
configs pass, a bad field is reported at its position."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from streams.definitions import load_file

VALID = """
input:
  http_server: {path: /in}
cache_resources:
  - label: local
    memory: {default_ttl: 1m, compaction_interval: "", init_values: {a: b}}
  - label: shared
    memory: {default_ttl: 10s}
rate_limit_resources:
  - label: slow
    local: {count: 10, interval: 1s}
processor_resources:
  - label: shout
    mutation: root = content().uppercase()
pipeline:
  processors:
    - noop: {}
    - bounds_check: {max_part_size: 1024, min_part_size: 1, max_parts: 10, min_parts: 1}
    - split: {size: 2, byte_size: 100}
    - select_parts: {parts: [0, -1]}
    - insert_part: {content: 'head ${! batch_size() }', index: 0}
    - archive: {format: tar, path: '${! batch_index() }.json'}
    - unarchive: {format: tar}
    - compress: {algorithm: gzip, level: 9}
    - decompress: {algorithm: gzip}
    - for_each: [{resource: shout}]
    - parallel: {cap: 2, processors: [{noop: {}}]}
    - while: {check: 'this.n < 3', max_loops: 5, processors: [{mutation: root.n = this.n + 1}]}
    - retry:
        backoff: {initial_interval: 10ms, max_interval: 1s, max_elapsed_time: 5s}
        processors: [{noop: {}}]
    - group_by:
        - check: this.kind == "a"
          processors: [{archive: {format: lines}}]
    - group_by_value: {value: '${! meta("key") }'}
    - rate_limit: {resource: slow}
    - cache: {resource: shared, operator: set, key: '${! json("id") }', value: '${! content() }', ttl: 60s}
    - cached:
        cache: local
        key: k
        skip_on: errored()
        processors: [{noop: {}}]
    - metric: {type: counter_by, name: bytes_in, labels: {kind: '${! json("kind") }'}, value: '${! content().length() }'}
    - dedupe: {cache: shared, key: '${! json("id") }'}
    - workflow:
        meta_path: meta.workflow
        order: [[one]]
        branches:
          one: {request_map: 'root = this.doc', processors: [{noop: {}}], result_map: 'root.one = this'}
output:
  sync_response: {}
"""


def load(tmp_path: Path, stream: str) -> tuple[object, list[object]]:
    body = textwrap.indent(stream.strip("\n"), "      ")
    text = (
        "openapi: 3.0.3\ninfo: {title: t, version: 1.0.0}\npaths: {}\nx-tyk-streaming:\n  streams:\n    s:\n"
        f"{body}\nx-tyk-api-gateway:\n  info: {{name: t, state: {{active: true}}}}\n"
        "  server: {listenPath: {value: /t/, strip: true}}\n"
    )
    path = tmp_path / "api.yaml"
    path.write_text(text)
    api, problems = load_file(str(path))
    return api, list(problems)


def test_a_stream_using_every_structural_processor_is_valid(tmp_path: Path) -> None:
    api, problems = load(tmp_path, VALID)
    assert problems == [] and api is not None


BASE = "input: {http_server: {}}\noutput: {sync_response: {}}\n"


@pytest.mark.parametrize(
    "extra, path, message, line",
    [
        ("pipeline:\n  processors:\n    - archive: {format: rar}", "streams.s.pipeline.processors.0.archive.format",
         "invalid value 'rar' (expected one of: binary, concatenate, json_array, lines, tar, zip)", 5),
        ("pipeline:\n  processors:\n    - compress: {algorithm: gzip, levle: 3}",
         "streams.s.pipeline.processors.0.compress.levle", "unknown field (did you mean 'level'?)", 5),
        ("pipeline:\n  processors:\n    - split: {size: two}", "streams.s.pipeline.processors.0.split.size",
         "expected an integer, got a string", 5),
        ("pipeline:\n  processors:\n    - retry:\n        backoff: {initial_intervl: 1s}\n        processors: []",
         "streams.s.pipeline.processors.0.retry.backoff.initial_intervl", "unknown field (did you mean 'initial_interval'?)", 6),
        ("pipeline:\n  processors:\n    - retry: {max_retries: often, processors: [{noop: {}}]}",
         "streams.s.pipeline.processors.0.retry.max_retries", "expected an integer, got a string", 5),
        ("pipeline:\n  processors:\n    - while: {check: 'this.n <', processors: []}",
         "streams.s.pipeline.processors.0.while.check", "invalid Bloblang", 5),
        ("pipeline:\n  processors:\n    - cached: {cache: c, key: k, skip_on: 'errored(', processors: []}",
         "streams.s.pipeline.processors.0.cached.skip_on", "invalid Bloblang", 5),
        ("pipeline:\n  processors:\n    - group_by:\n        - chek: this.a\n          processors: []",
         "streams.s.pipeline.processors.0.group_by.0.chek", "unknown field (did you mean 'check'?)", 6),
        ("pipeline:\n  processors:\n    - group_by:\n        - check: this.a\n          processors: [{command: {name: ls}}]",
         "streams.s.pipeline.processors.0.group_by.0.processors.0.command",
         "processor 'command' is not allowed: it runs programs on the gateway host", 7),
        ("pipeline:\n  processors:\n    - subprocess: {name: sh}", "streams.s.pipeline.processors.0.subprocess",
         "processor 'subprocess' is not allowed: it runs programs on the gateway host", 5),
        ("pipeline:\n  processors:\n    - cache: {resource: c, key: k}", "streams.s.pipeline.processors.0.cache.operator",
         "missing required field", 5),
        ("pipeline:\n  processors:\n    - workflow:\n        branches:\n          a: {request_mapp: x, processors: []}",
         "streams.s.pipeline.processors.0.workflow.branches.a.request_mapp", "unknown field (did you mean 'request_map'?)", 7),
        ("pipeline:\n  processors:\n    - workflow:\n        branches:\n          a: {processors: [{command: {name: ls}}]}",
         "streams.s.pipeline.processors.0.workflow.branches.a.processors.0.command",
         "processor 'command' is not allowed: it runs programs on the gateway host", 7),
        ("cache_resources:\n  - label: c\n    memory: {default_tll: 1m}", "streams.s.cache_resources.0.memory.default_tll",
         "unknown field (did you mean 'default_ttl'?)", 5),
        ("cache_resources:\n  - label: c\n    redis: {url: x}", "streams.s.cache_resources.0.redis",
         "unknown cache 'redis'", 5),
        ("cache_resources:\n  - label: c\n    memory: {default_ttl: soon}", "streams.s.cache_resources.0.memory.default_ttl",
         "invalid duration 'soon'", 5),
    ],
)
def test_bad_fields_are_reported_where_they_are(tmp_path: Path, extra: str, path: str, message: str, line: int) -> None:
    api, problems = load(tmp_path, BASE + extra)
    assert api is None
    assert [p.path for p in problems] == [path], [str(p) for p in problems]  # type: ignore[attr-defined]
    assert problems[0].message.startswith(message)  # type: ignore[attr-defined]
    assert problems[0].line == line + 6  # type: ignore[attr-defined]  # the stream starts on line 7
