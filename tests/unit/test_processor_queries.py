"""The ``jmespath``, ``jq`` and ``json_schema`` processors through the processor API, with the
cases of Bento's documentation and tests (``processor_jmespath*.go``, ``processor_jq*.go``,
``processor_jsonschema*.go``), and the errors they flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.contracts import ConfigError
from tests.unit.processor_helpers import build, run

LOCATIONS = json.dumps(
    {
        "locations": [
            {"name": "Seattle", "state": "WA"},
            {"name": "New York", "state": "NY"},
            {"name": "Bellevue", "state": "WA"},
            {"name": "Olympia", "state": "WA"},
        ]
    }
)


def test_jmespath_documented_mapping(tmp_path: Path) -> None:
    proc = build({"jmespath": {"query": "locations[?state == 'WA'].name | sort(@) | {Cities: join(', ', @)}"}}, tmp_path)
    [out] = run(proc, LOCATIONS)
    assert (out.content, out.error) == (b'{"Cities":"Bellevue, Olympia, Seattle"}', None)


def test_jmespath_reads_numbers_as_floats_and_flags_failures(tmp_path: Path) -> None:
    [floats] = run(build({"jmespath": {"query": "a"}}, tmp_path), '{"a":[5.0,1,2.50]}')
    assert floats.content == b"[5,1,2.5]"
    [text] = run(build({"jmespath": {"query": "a"}}, tmp_path), '{"a":"s"}')
    assert text.content == b'"s"'  # a structured string result is written as JSON, as Bento writes it
    not_json, bad_types = run(build({"jmespath": {"query": "sort(@)"}}, tmp_path), "not json", '[1,"a"]')
    assert (not_json.content, not_json.error) == (b"not json", "invalid character 'o' in literal null (expecting 'u')")
    assert bad_types.content == b'[1,"a"]' and "sort()" in (bad_types.error or "")


def test_jmespath_query_that_does_not_compile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"streams\.s\.pipeline\.processors\.0\.jmespath\.query: failed to compile JMESPath query"):
        build({"jmespath": {"query": "locations[?"}}, tmp_path)


def test_jq_documented_mapping(tmp_path: Path) -> None:
    proc = build({"jq": {"query": '{Cities: .locations | map(select(.state == "WA").name) | sort | join(", ") }'}}, tmp_path)
    [out] = run(proc, LOCATIONS)
    assert (out.content, out.error) == (b'{"Cities":"Bellevue, Olympia, Seattle"}', None)


def test_jq_emits_one_value_as_is_several_as_an_array_and_none_drops_the_message(tmp_path: Path) -> None:
    out = run(build({"jq": {"query": ".[]"}}, tmp_path), "[1,2]", "[]", "[3]")
    assert [m.content for m in out] == [b"[1,2]", b"3"]


def test_jq_raw_input_and_raw_output(tmp_path: Path) -> None:
    [raw_in] = run(build({"jq": {"query": "ascii_upcase", "raw": True}}, tmp_path), "hello")
    assert raw_in.content == b'"HELLO"'
    texts = run(build({"jq": {"query": ".[]", "output_raw": True}}, tmp_path), '["a",1,{"b":2}]', "[]", '["x"]')
    assert [m.content for m in texts] == [b'a1{"b":2}', b"x"]


def test_jq_sees_metadata_but_not_the_environment(tmp_path: Path) -> None:
    [meta] = run(build({"jq": {"query": "$metadata.user"}}, tmp_path), "{}", metadata={"user": "alice"})
    assert meta.content == b'"alice"'
    [env] = run(build({"jq": {"query": "[env, $ENV]"}}, tmp_path), "{}")
    assert env.content == b"[{},{}]"
    with pytest.raises(ConfigError, match="error parsing jq query: syntax error, unexpected import at line 1, column 1$"):
        build({"jq": {"query": 'import "lib" as lib; .'}}, tmp_path)


def test_jq_failures(tmp_path: Path) -> None:
    failed, not_json = run(build({"jq": {"query": ".a.b"}}, tmp_path), "1", "{nope")
    assert (failed.content, failed.error) == (b"1", 'Cannot index number with string ("a")')
    assert not_json.content == b"{nope" and not_json.error
    with pytest.raises(ConfigError, match=r"jq\.query: error parsing jq query: syntax error, unexpected '\)' at the end of the query$"):
        build({"jq": {"query": ".a +"}}, tmp_path)


PERSON = {
    "$id": "https://example.com/person.schema.json",
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Person",
    "type": "object",
    "properties": {
        "firstName": {"type": "string", "description": "The person's first name."},
        "lastName": {"type": "string", "description": "The person's last name."},
        "age": {"description": "Age in years which must be equal to or greater than zero.", "type": "integer", "minimum": 0},
    },
}
JOHN = '{"firstName":"John","lastName":"Doe","age":21}'
YOUNG_JOHN = '{"firstName":"John","lastName":"Doe","age":-20}'


def test_json_schema_inline(tmp_path: Path) -> None:
    good, bad = run(build({"json_schema": {"schema": json.dumps(PERSON)}}, tmp_path), JOHN, YOUNG_JOHN)
    assert (good.content, good.error) == (JOHN.encode(), None)
    assert (bad.content, bad.error) == (YOUNG_JOHN.encode(), "age must be greater than or equal to 0")


def test_json_schema_from_a_file_path(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "person.json").write_text(json.dumps(PERSON))
    good, bad = run(build({"json_schema": {"schema_path": "file://schemas/person.json"}}, tmp_path), JOHN, YOUNG_JOHN)
    assert (good.error, bad.error) == (None, "age must be greater than or equal to 0")


@pytest.mark.parametrize(
    ("schema", "document", "error"),
    [
        ({"required": ["firstName"]}, {}, "(root) firstName is required"),
        ({"properties": {"a": {"type": "string"}}}, {"a": 1}, "a invalid type. expected: string, given: integer"),
        ({"properties": {"a": {"type": ["string", "null"]}}}, {"a": 1.5}, "a invalid type. expected: [string,null], given: number"),
        ({"properties": {"c": {"enum": ["Red", "b"]}}}, {"c": "x"}, 'c c must be one of the following: "red", "b"'),
        ({"additionalProperties": False}, {"zz": 1}, "(root) zzadditional property zz is not allowed"),
        ({"properties": {"a": {"properties": {"b": {"maximum": 2.5}}}}}, {"a": {"b": 3}}, "a.b must be less than or equal to 2.5"),
        ({"items": {"minLength": 2}}, ["ab", "c"], "1 string length must be greater than or equal to 2"),
        ({"minItems": 3}, [1], "(root) array must have at least 3 items"),
        ({"properties": {"n": {"exclusiveMinimum": 10}}}, {"n": 10}, "n must be greater than 10"),
        (
            {"required": ["a", "b"], "properties": {"x": {"type": "string"}}},
            {"x": 0},
            "(root) a is required\n(root) b is required\nx invalid type. expected: string, given: integer",
        ),
    ],
)
def test_json_schema_errors_are_worded_as_bento_words_them(tmp_path: Path, schema: dict, document: object, error: str) -> None:
    [out] = run(build({"json_schema": {"schema": json.dumps(schema)}}, tmp_path), json.dumps(document))
    assert out.error == error
    assert json.loads(out.content) == document


def test_json_schema_refusals(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="either schema or schema_path must be provided"):
        build({"json_schema": {}}, tmp_path)
    with pytest.raises(ConfigError, match="invalid schema_path provided, must start with file://"):
        build({"json_schema": {"schema_path": "http://example.com/schema.json"}}, tmp_path)
    with pytest.raises(ConfigError, match="is outside the definitions directory"):
        build({"json_schema": {"schema_path": "file:///etc/passwd"}}, tmp_path)
    with pytest.raises(ConfigError, match="failed to load JSON schema definition"):
        build({"json_schema": {"schema": '{"type": 5}'}}, tmp_path)
    [not_json] = run(build({"json_schema": {"schema": "{}"}}, tmp_path), "nope")
    assert not_json.error == "invalid character 'o' in literal null (expecting 'u')"
