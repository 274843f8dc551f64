"""What ``lint`` (the definitions validator) says about the ``http_client`` input's
``stream.scanner``: Tyk-schema-shaped configs pass, each mistake is one line at its YAML position,
and ``python -m streams lint`` itself accepts a definition using scanners."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from streams.lint import format_text, lint
from streams.scanners import catalog

REPO = Path(__file__).resolve().parents[2]

DEFINITION = """\
openapi: 3.0.3
info: {title: t, version: 1.0.0}
paths: {}
x-tyk-api-gateway:
  info: {name: t, state: {active: true}}
  server: {listenPath: {value: /t/, strip: true}}
x-tyk-streaming:
  streams:
    s:
      input:
        http_client:
          url: http://feeds.example.com/export.csv.gz
          stream:
%s
      output: {drop: {}}
"""

TYK_SHAPED = """
enabled: true
reconnect: true
scanner:
  switch:
    - re_match_name: '\\.csv\\.gz$'
      scanner:
        decompress:
          algorithm: gzip
          into:
            csv: {custom_delimiter: ';', parse_header_row: true, lazy_quotes: false, continue_on_error: true}
    - re_match_name: '\\.tar$'
      scanner: {tar: {}}
    - re_match_name: '\\.log$'
      scanner: {re_match: {pattern: '(?m)^\\d\\d:\\d\\d:\\d\\d', max_buffer_size: 65536}}
    - re_match_name: '\\.ndjson$'
      scanner: {skip_bom: {into: {json_documents: {}}}}
    - re_match_name: '\\.bin$'
      scanner: {chunker: {size: 1024}}
    - re_match_name: '\\.txt$'
      scanner: {lines: {custom_delimiter: '|', max_buffer_size: 100, omit_empty: true}}
    - scanner: {to_the_end: {}}
"""


def write(tmp_path: Path, stream: str) -> Path:
    body = textwrap.indent(textwrap.dedent(stream).strip("\n"), " " * 12)
    path = tmp_path / "api.yaml"
    path.write_text(DEFINITION % body)
    return path


def problems(tmp_path: Path, stream: str) -> list[str]:
    path = write(tmp_path, stream)
    return [format_text(p).removeprefix(str(path) + ":") for p in lint([str(tmp_path)]).problems]


def test_a_tyk_schema_shaped_stream_block_with_every_scanner_is_clean(tmp_path: Path) -> None:
    assert problems(tmp_path, TYK_SHAPED) == []
    assert problems(tmp_path, "{enabled: true, scanner: {lines: {}}}") == []
    assert problems(tmp_path, "{enabled: true, codec: 'delim:|', max_buffer: 100}") == []
    assert problems(tmp_path, "{enabled: true, codec: 'gzip/skipbom/csv:;'}") == []
    assert problems(tmp_path, "{enabled: true}") == []


def test_python_m_streams_lint_accepts_it(tmp_path: Path) -> None:
    write(tmp_path, TYK_SHAPED)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "streams", "lint", "api.yaml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "1 file, 0 problems\n")


def test_each_scanner_mistake_is_one_line_at_its_position(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        enabled: true
        scanner:
          switch:
            - re_match_name: '\\.csv$'
              scanner: {csvv: {}}
            - scanner:
                decompress:
                  into: {lines: {omit_empty: 'yes', max_bufer_size: 10}}
            - scanner: {avro: {}}
            - re_match_nam: x
        """,
    )
    p = "streams.s.input.http_client.stream.scanner.switch"
    assert found == [
        f"18:29: {p}.0.scanner.csvv: unknown scanner (did you mean 'csv'?)",
        f"21:38: {p}.1.scanner.decompress.into.lines.omit_empty: expected a boolean, got a string",
        f"21:57: {p}.1.scanner.decompress.into.lines.max_bufer_size: unknown field (did you mean 'max_buffer_size'?)",
        f"20:21: {p}.1.scanner.decompress.algorithm: missing required field",
        f"22:29: {p}.2.scanner.avro: {catalog.REFUSED['avro']}",
        f"23:19: {p}.3.re_match_nam: unknown field (did you mean 're_match_name'?)",
        f"23:19: {p}.3.scanner: missing required field",
    ]


def test_values_only_the_scanner_judges_and_a_bad_codec_are_placed_too(tmp_path: Path) -> None:
    bad_pattern = problems(tmp_path, "{enabled: true, scanner: {re_match: {pattern: '(?P<x'}}}")
    assert bad_pattern == [
        "14:50: streams.s.input.http_client.stream.scanner.re_match.pattern: "
        "invalid regular expression: missing >, unterminated name at position 4"
    ]
    assert problems(tmp_path, "{enabled: true, codec: csv/tar}") == [
        "14:29: streams.s.input.http_client.stream.codec: unable to follow codec 'csv' with 'tar' "
        "(only gzip, pgzip and skipbom wrap)"
    ]
    assert problems(tmp_path, "{enabled: true, codec: 'regex:('}") == [
        "14:29: streams.s.input.http_client.stream.codec: invalid regular expression: "
        "missing ), unterminated subpattern at position 0"
    ]
    assert problems(tmp_path, "{enabled: true, scanner: lines}") == [
        "14:29: streams.s.input.http_client.stream.scanner: expected an object, got a string"
    ]
