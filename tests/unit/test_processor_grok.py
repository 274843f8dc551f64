"""The ``grok`` processor through the processor API, with Bento's documented and tested cases
(``processor_grok_test.go``, the VPC flow log example of its docs) and the Go grok library's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.contracts import ConfigError
from streams.processors.grok_compiler import CastError, GrokCompiler, GrokError, cast, python_regex, set_path
from tests.unit.processor_helpers import build, run


def grok(tmp_path: Path, *expressions: str, **fields: object) -> object:
    return build({"grok": {"expressions": list(expressions), **fields}}, tmp_path)


def test_each_message_of_a_batch_is_parsed_with_type_hints(tmp_path: Path) -> None:
    out = run(grok(tmp_path, "%{WORD:first},%{INT:second:int}"), "foo,0", "foo,1", "foo,2")
    assert [m.content for m in out] == [
        b'{"first":"foo","second":0}',
        b'{"first":"foo","second":1}',
        b'{"first":"foo","second":2}',
    ]
    assert [m.error for m in out] == [None, None, None]


@pytest.mark.parametrize(
    ("expression", "definitions", "line", "expected"),
    [
        (
            "%{COMMONAPACHELOG}",
            {},
            '127.0.0.1 - - [23/Apr/2014:22:58:32 +0200] "GET /index.php HTTP/1.1" 404 207',
            '{"auth":"-","bytes":"207","clientip":"127.0.0.1","httpversion":"1.1","ident":"-","request":"/index.php",'
            '"response":"404","timestamp":"23/Apr/2014:22:58:32 +0200","verb":"GET"}',
        ),
        (
            "%{ACTION:action} connection from %{IPV4:ipv4}",
            {"ACTION": "(pass|deny)"},
            "pass connection from 127.0.0.1",
            '{"action":"pass","ipv4":"127.0.0.1"}',
        ),
        (
            "%{WORD:nested.name} %{INT:nested.value:int} bazes from %{IPV4:nested.ipv4}",
            {},
            "foo 5 bazes from 192.0.1.11",
            '{"nested":{"ipv4":"192.0.1.11","name":"foo","value":5}}',
        ),
        (
            "%{VPCFLOWLOG}",
            {
                "VPCFLOWLOG": "%{NUMBER:version:int} %{NUMBER:accountid} %{NOTSPACE:interfaceid} %{NOTSPACE:srcaddr} "
                "%{NOTSPACE:dstaddr} %{NOTSPACE:srcport:int} %{NOTSPACE:dstport:int} %{NOTSPACE:protocol:int} "
                "%{NOTSPACE:packets:int} %{NOTSPACE:bytes:int} %{NUMBER:start:int} %{NUMBER:end:int} "
                "%{NOTSPACE:action} %{NOTSPACE:logstatus}"
            },
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
            '{"accountid":"123456789010","action":"ACCEPT","bytes":4249,"dstaddr":"172.31.16.21","dstport":22,'
            '"end":1418530070,"interfaceid":"eni-1235b8ca123456789","logstatus":"OK","packets":20,"protocol":6,'
            '"srcaddr":"172.31.16.139","srcport":20641,"start":1418530010,"version":2}',
        ),
    ],
    ids=["common-apache-log", "pattern-definitions", "dotted-names", "vpc-flow-logs"],
)
def test_bento_cases(tmp_path: Path, expression: str, definitions: dict[str, str], line: str, expected: str) -> None:
    [out] = run(grok(tmp_path, expression, pattern_definitions=definitions), line)
    assert (out.content.decode(), out.error) == (expected, None)


def test_pattern_files_inside_the_definitions_directory(tmp_path: Path) -> None:
    (tmp_path / "patterns").mkdir()
    (tmp_path / "patterns" / "foos").write_text(
        "\nFOOFLAT %{WORD:first} %{WORD:second} %{WORD:third}\n"
        "FOONESTED %{INT:nested.first:int} %{WORD:nested.second} %{WORD:nested.third}\n"
    )
    proc = grok(tmp_path, "%{FOONESTED}", "%{FOOFLAT}", pattern_paths=["patterns"])
    flat, nested = run(proc, "hello foo bar", "10 foo bar")
    assert flat.content == b'{"first":"hello","second":"foo","third":"bar"}'
    assert nested.content == b'{"nested":{"first":10,"second":"foo","third":"bar"}}'


def test_pattern_files_outside_the_definitions_directory_are_refused(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    (tmp_path / "outside").write_text("FOO %{WORD:x}\n")
    with pytest.raises(ConfigError, match=r"pattern_paths: \.\./outside is outside the definitions directory"):
        build({"grok": {"expressions": ["%{FOO}"], "pattern_paths": ["../outside"]}}, defs)
    with pytest.raises(ConfigError, match="is outside the definitions directory"):
        build({"grok": {"expressions": ["%{FOO}"], "pattern_paths": ["/etc/passwd"]}}, defs)


def test_no_match_flags_the_message_and_leaves_it(tmp_path: Path) -> None:
    [out] = run(grok(tmp_path, "%{INT:n:int}"), "no digits here")
    assert (out.content, out.error) == (b"no digits here", "no pattern matches found")


def test_a_value_its_type_hint_cannot_convert_moves_on_to_the_next_expression(tmp_path: Path) -> None:
    # 99999999999999999999 is beyond int64, so Atoi fails and the second expression is used.
    [out] = run(grok(tmp_path, "%{NUMBER:n:int}", "%{NUMBER:n:float}"), "99999999999999999999")
    assert json.loads(out.content) == {"n": 1e20}


def test_remove_empty_values_and_named_captures_only(tmp_path: Path) -> None:
    expression = "%{WORD:a}(?: %{WORD:b})?"
    [kept] = run(grok(tmp_path, expression, remove_empty_values=False), "foo")
    [removed] = run(grok(tmp_path, expression), "foo")
    assert json.loads(kept.content) == {"a": "foo", "b": ""}
    assert json.loads(removed.content) == {"a": "foo"}
    [every] = run(grok(tmp_path, "%{HOSTPORT}", named_captures_only=False), "example.com:80")
    assert json.loads(every.content) == {"HOSTPORT": "example.com:80", "IPORHOST": "example.com", "HOSTNAME": "example.com", "POSINT": "80"}


def test_one_name_on_several_groups_keeps_the_last_group(tmp_path: Path) -> None:
    [out] = run(grok(tmp_path, "%{INT:x} %{INT:x}"), "1 2")
    assert json.loads(out.content) == {"x": "2"}


def test_compile_errors_name_the_expression(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"failed to compile Grok pattern '%\{NOPE:x\}': no pattern found for %\{NOPE\}"):
        grok(tmp_path, "%{NOPE:x}")
    with pytest.raises(ConfigError, match=r"failed to compile Grok pattern '%\{WORD:x\}': no pattern found for %\{WORD\}"):
        grok(tmp_path, "%{WORD:x}", use_default_patterns=False)
    with pytest.raises(ConfigError, match=r"failed to create grok compiler: no pattern found for %\{MISSING\}"):
        grok(tmp_path, "%{A:x}", pattern_definitions={"A": "%{MISSING}"})


def test_a_user_definition_named_like_a_default_is_ignored() -> None:
    compiler = GrokCompiler({"WORD": "[0-9]+"}, named_only=True, use_defaults=True, remove_empty=True)
    assert compiler.compile("%{WORD:w}").parse_typed("abc 123") == {"w": "abc"}


def test_group_renaming_leaves_classes_and_escapes_alone() -> None:
    text, names = python_regex(r"(?P<a>x)[(?P<b>]\((?<c>y)(?<=z)\z")
    assert text == r"(?P<_g0>x)[(?P<b>]\((?P<_g1>y)(?<=z)\Z"
    assert names == ["a", "c"]
    with pytest.raises(GrokError):
        python_regex("(?P<open")


def test_type_hints_convert_as_go_does() -> None:
    assert cast("+5", "int") == 5 and cast("-07", "int") == -7
    for bad in (" 5", "1_0", "5.0", ""):
        with pytest.raises(CastError):
            cast(bad, "int")
    assert cast("1e3", "float") == 1000.0 and cast(".5", "float") == 0.5
    with pytest.raises(CastError, match="Must be int, float, string or empty"):
        cast("1", "bool")


def test_dotted_names_make_nested_objects() -> None:
    target: dict[str, object] = {"a": "scalar"}
    set_path(target, "a.b", 1)
    set_path(target, "x~1y.z~0", 2)
    assert target == {"a": {"b": 1}, "x.y": {"z~": 2}}
