"""What ``lint`` (the definitions validator) reports for the parsing and query processors: one
line per problem at the field's position, found without building the stream."""

from __future__ import annotations

import textwrap
from pathlib import Path

from streams.lint import format_text, lint

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
      input: {http_server: {path: /in}}
      pipeline:
        processors:
%s
      output: {sync_response: {}}
"""


def problems(tmp_path: Path, processors: str) -> list[str]:
    body = textwrap.indent(textwrap.dedent(processors).strip("\n"), " " * 10)
    (tmp_path / "api.yaml").write_text(DEFINITION % body)
    return [format_text(p).removeprefix(str(tmp_path / "api.yaml") + ":") for p in lint([str(tmp_path)]).problems]


def test_each_broken_processor_is_one_positioned_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        - jq: {query: ".a +"}
        - jmespath: {query: "a[?"}
        - json_schema: {schema_path: "./schemas/example_schema.json"}
        - json_schema: {schema: "{not json"}
        - parse_log: {format: apache, default_year: soon}
        - grok: {pattern_definitions: {}}
        - http: {url: "http://x", negotiate: {enabled: true}, jwt: {enabled: true, signing_method: HS256}}
        """,
    )
    p = "streams.s.pipeline.processors"
    assert found == [
        f"13:18: {p}.0.jq.query: error parsing jq query: syntax error, unexpected ')' at the end of the query",
        f"14:24: {p}.1.jmespath.query: failed to compile JMESPath query: Invalid jmespath expression: Incomplete expression at column 3",
        f"15:27: {p}.2.json_schema.schema_path: must start with file:// (an http:// schema is not fetched by the gateway)",
        f"16:27: {p}.3.json_schema.schema: failed to load JSON schema definition: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        f"17:25: {p}.4.parse_log.format: invalid value 'apache' (expected one of: syslog_rfc5424, syslog_rfc3164)",
        f"17:41: {p}.4.parse_log.default_year: failed to convert year soon into integer:  "
        'strconv.Atoi: parsing "soon": invalid syntax',
        f"18:13: {p}.5.grok.expressions: missing required field",
        f"19:49: {p}.6.http.negotiate.enabled: not supported by this gateway",
        f"19:86: {p}.6.http.jwt.signing_method: jwt signing method 'HS256' not accepted; use RS256, RS384, RS512 or EdDSA",
    ]


def test_placeholders_are_refused_where_a_request_value_could_change_the_query(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        - jq: {query: 'select(.user == "$tyk_context.request_data_user")'}
        - jmespath: {query: "items[?owner == '$tyk_context.request_data_user']"}
        - grok: {expressions: ["%{WORD:w}", "$tyk_context.request_data_p"], pattern_definitions: {X: "$tyk_context.request_data_x"}}
        - json_schema: {schema: '{"const": "$tyk_context.request_data_user"}'}
        - http: {url: 'http://127.0.0.1/users/$tyk_context.request_data_user', headers: {X-User: $tyk_context.request_data_user}}
        - parse_log: {format: syslog_rfc3164, default_timezone: Europe/Paris}
        """,
    )
    p = "streams.s.pipeline.processors"
    why = "cannot be put safely into {}; use the request value in a mapping, a switch check or $metadata instead"
    assert found == [
        f"13:18: {p}.0.jq.query: a $tyk_context placeholder {why.format('a jq query')}",
        f"14:24: {p}.1.jmespath.query: a $tyk_context placeholder {why.format('a JMESPath query')}",
        f"15:47: {p}.2.grok.expressions.1: a $tyk_context placeholder {why.format('a grok expression')}",
        f"15:101: {p}.2.grok.pattern_definitions.X: a $tyk_context placeholder {why.format('a grok pattern')}",
        f"16:27: {p}.3.json_schema.schema: a $tyk_context placeholder {why.format('a JSON schema')}",
    ]
