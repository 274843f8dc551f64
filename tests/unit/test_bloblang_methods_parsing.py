"""Parsing methods through real mappings. Expected texts were produced by the Benthos v4
reference evaluator (tests/bloblang_ref) for the same mapping and input, except ``parse_logfmt``
and ``infer_schema`` (newer than the reference build), which follow the v4.76 source, and
``parse_xml`` (not in the reference build), whose rows are Bento's documented examples and test
cases (``internal/impl/xml``) and, for the errors, what Bento's decoder setup gives."""

from __future__ import annotations

import pytest

from streams import bloblang
from streams.bloblang.lib_parsing import format_yaml_text, go_json_decode, yaml_resolve
from tests.unit.bloblang_reference import run_mapping

# (mapping, input, expected payload or None, expected error or None)
CASES = [
    ('root = this.s.parse_json()', '{"s":"{\\"a\\":[1,2.5,{\\"b\\":null}],\\"c\\":true}"}', '{"a":[1,2.5,{"b":null}],"c":true}', None),
    ('root = this.s.parse_json().a.type()', '{"s":"{\\"a\\":5}"}', 'number', None),
    ('root = this.s.parse_json(use_number: true)', '{"s":"[12345678901234567890, 1.50]"}', '[12345678901234567890,1.50]', None),
    ('root = this.s.parse_json()', '{"s":"2020-01-01"}', '2020', None),
    ('root = this.s.parse_json()', '{"s":"[1,2"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as JSON: unexpected EOF'),
    ('root = this.s.parse_json()', '{"s":"{\\"a\\" 1}"}', None, "failed assignment (line 1): field `this.s`: failed to parse value as JSON: invalid character '1' after object key"),
    ('root = this.s.parse_json()', '{"s":"[1,]"}', None, "failed assignment (line 1): field `this.s`: failed to parse value as JSON: invalid character ']' looking for beginning of value"),
    ('root = this.s.parse_json()', '{"s":"tru"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as JSON: unexpected EOF'),
    ('root = this.s.parse_json()', '{"s":"  "}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as JSON: EOF'),
    ('root = this.s.parse_json()', '{"s":"\\"a\\\\x\\""}', None, "failed assignment (line 1): field `this.s`: failed to parse value as JSON: invalid character 'x' in string escape code"),
    ('root = this.s.parse_json()', '{"s":"{\\"a\\":1,}"}', None, "failed assignment (line 1): field `this.s`: failed to parse value as JSON: invalid character '}' looking for beginning of object key string"),
    ('root = this.s.parse_json()', '{"s":5}', None, 'failed assignment (line 1): expected string value, got number from field `this.s` (5)'),
    ('root = this.d.format_json()', '{"d":{"b":[1,{"c":"<&>"}],"a":{}}}', '{\n    "a": {},\n    "b": [\n        1,\n        {\n            "c": "\\u003c\\u0026\\u003e"\n        }\n    ]\n}', None),
    ('root = this.d.format_json(indent: "\\t", escape_html: false)', '{"d":{"b":[1,{"c":"<&>"}],"a":[]}}', '{\n\t"a": [],\n\t"b": [\n\t\t1,\n\t\t{\n\t\t\t"c": "<&>"\n\t\t}\n\t]\n}', None),
    ('root = this.d.format_json(no_indent: true)', '{"d":{"b":[1,{"c":"<&>"}],"a":"x"}}', '{"a":"x","b":[1,{"c":"\\u003c\\u0026\\u003e"}]}', None),
    ('root = this.d.format_json().string()', '{"d":"str"}', '"str"', None),
    ('root = {"a":[1,{"b":"x\\ny"}],"k10":1,"k9":2,"yes":"no","e":"","n":null,"f":1.5,"t":"a\\tb"}.format_yaml()', '{}', 'a:\n    - 1\n    - b: |-\n        x\n        y\ne: ""\nf: 1.5\nk9: 2\nk10: 1\n"n": null\nt: "a\\tb"\n"yes": "no"\n', None),
    ('root = [[1,[2]],{"a":{"b":[]}}].format_yaml()', '{}', '- - 1\n  - - 2\n- a:\n    b: []\n', None),
    ('root = "plain".format_yaml()', '{}', 'plain\n', None),
    ('root = this.s.parse_yaml()', '{"s":"a: yes\\nb: 010\\nc: 0x1F\\nd: 2020-01-02\\ne: ~\\nf: 1_000\\ng: .5\\nh: [1, two, {x: y}]\\ni: |\\n  line\\n"}', '{"a":"yes","b":8,"c":31,"d":"2020-01-02T00:00:00Z","e":null,"f":1000,"g":0.5,"h":[1,"two",{"x":"y"}],"i":"line\\n"}', None),
    ('root = this.s.parse_yaml()', '{"s":"base: &b {x: 1, y: 2}\\nderived:\\n  <<: *b\\n  y: 3\\n"}', '{"base":{"x":1,"y":2},"derived":{"x":1,"y":3}}', None),
    ('root = this.s.parse_yaml()', '{"s":"first: 1\\n---\\nsecond: 2\\n"}', '{"first":1}', None),
    ('root = this.s.parse_yaml()', '{"s":"\\"quoted\\": \\"true\\"\\nsingle: \'1\'\\n"}', '{"quoted":"true","single":"1"}', None),
    ('root = this.s.parse_yaml()', '{"s":""}', 'null', None),
    ('root = this.s.parse_csv()', '{"s":"a,b\\n1,\\"x,\\"\\"y\\"\\"\\"\\n\\n2,\\"multi\\nline\\"\\r\\n"}', '[{"a":"1","b":"x,\\"y\\""},{"a":"2","b":"multi\\nline"}]', None),
    ('root = this.s.parse_csv(false)', '{"s":"1,2\\n3,4"}', '[["1","2"],["3","4"]]', None),
    ('root = this.s.parse_csv(delimiter: ";")', '{"s":"a;b\\n1;2"}', '[{"a":"1","b":"2"}]', None),
    ('root = this.s.parse_csv()', '{"s":"a,b\\n1,2,3"}', None, 'failed assignment (line 1): field `this.s`: record on line 2: wrong number of fields'),
    ('root = this.s.parse_csv()', '{"s":"a,b\\nx\\"y,2"}', None, 'failed assignment (line 1): field `this.s`: parse error on line 2, column 2: bare " in non-quoted-field'),
    ('root = this.s.parse_csv()', '{"s":"a,b\\n\\"x\\"y,2"}', None, 'failed assignment (line 1): field `this.s`: parse error on line 2, column 3: extraneous or missing " in quoted-field'),
    ('root = this.s.parse_csv()', '{"s":"a\\n\\"open"}', None, 'failed assignment (line 1): field `this.s`: parse error on line 2, column 6: extraneous or missing " in quoted-field'),
    ('root = this.s.parse_csv(lazy_quotes: true)', '{"s":"a,b\\nx\\"y,\\"q\\"r\\""}', '[{"a":"x\\"y","b":"q\\"r"}]', None),
    ('root = this.s.parse_csv()', '{"s":""}', None, 'failed assignment (line 1): field `this.s`: zero records were parsed'),
    ('root = this.s.parse_csv(delimiter: "ab")', '{"s":"a"}', None, 'failed assignment (line 1): field `this.s`: delimiter value must be exactly one character'),
    ('root = this.s.parse_url()', '{"s":"https://user:p%40ss@example.com:8080/a%2Fb/c d?x=1&y=2#frag%20ment"}', '{"fragment":"frag ment","host":"example.com:8080","opaque":"","path":"/a/b/c d","raw_fragment":"","raw_path":"/a%2Fb/c d","raw_query":"x=1&y=2","scheme":"https","user":{"name":"user","password":"p@ss"}}', None),
    ('root = this.s.parse_url()', '{"s":"mailto:joe@example.com"}', '{"fragment":"","host":"","opaque":"joe@example.com","path":"","raw_fragment":"","raw_path":"","raw_query":"","scheme":"mailto"}', None),
    ('root = this.s.parse_url()', '{"s":"http://[::1]:80/x"}', '{"fragment":"","host":"[::1]:80","opaque":"","path":"/x","raw_fragment":"","raw_path":"","raw_query":"","scheme":"http"}', None),
    ('root = this.s.parse_url()', '{"s":"http://x.com:port/"}', None, 'failed assignment (line 1): field `this.s`: parse "http://x.com:port/": invalid port ":port" after host'),
    ('root = this.s.parse_url()', '{"s":"rel:path"}', '{"fragment":"","host":"","opaque":"path","path":"","raw_fragment":"","raw_path":"","raw_query":"","scheme":"rel"}', None),
    ('root = this.s.parse_url()', '{"s":"http://a b.com/"}', None, 'failed assignment (line 1): field `this.s`: parse "http://a b.com/": invalid character " " in host name'),
    ('root = this.s.parse_form_url_encoded()', '{"s":"a=1&b=x+y&b=%21&c="}', '{"a":"1","b":["x y","!"],"c":""}', None),
    ('root = this.s.parse_form_url_encoded()', '{"s":"a=1;b=2"}', None, 'failed assignment (line 1): failed to parse value as url-encoded data: invalid semicolon separator in query'),
    ('root = this.s.parse_form_url_encoded()', '{"s":"a=%zz"}', None, 'failed assignment (line 1): failed to parse value as url-encoded data: invalid URL escape "%zz"'),
    ('root = this.s.parse_yaml()', '{"s":"a: 1\\nb:\\n  x: 1\\n  x: 2\\n"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as YAML: yaml: unmarshal errors:\n  line 4: mapping key "x" already defined at line 3'),
    ('root = this.s.parse_yaml()', '{"s":"a: 1\\na: 2\\na: 3\\n"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as YAML: yaml: unmarshal errors:\n  line 2: mapping key "a" already defined at line 1\n  line 3: mapping key "a" already defined at line 1\n  line 3: mapping key "a" already defined at line 2'),
    ('root = this.s.parse_yaml()', '{"s":"a: b: c"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as YAML: yaml: mapping values are not allowed in this context'),
    ('root = this.s.parse_yaml()', '{"s":"[1, 2"}', None, "failed assignment (line 1): field `this.s`: failed to parse value as YAML: yaml: line 1: did not find expected ',' or ']'"),
    ('root = this.s.parse_yaml()', '{"s":"a:\\n\\t- b"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as YAML: yaml: line 2: found character that cannot start any token'),
    ('root = this.v.format_yaml()', '{"v":{"multi\\nline key":"v","k":["p\\u2029q","emoji \\ud83d\\ude00","a\\u0085b"]}}', 'k:\n    - \'p\u2029      q\'\n    - "emoji \\U0001F600"\n    - "a\\Nb"\n? |-\n    multi\n    line key\n: v\n', None),
    ('root = this.s.parse_logfmt()', '{"s":"level=info msg=\\"hello \\\\\\"world\\\\\\"\\" debug dur=1.5s"}',
     '{"debug":true,"dur":"1.5s","level":"info","msg":"hello \\"world\\""}', None),
    ('root = this.s.parse_logfmt()', '{"s":"a=\\"open"}', None,
     'failed assignment (line 1): field `this.s`: logfmt: unterminated quoted value for key "a"'),
    ('root.doc = this.doc.parse_xml()', '{"doc":"<root><title>This is a title</title><content>This is some content</content></root>"}',
     '{"doc":{"root":{"content":"This is some content","title":"This is a title"}}}', None),
    ('root.doc = this.doc.parse_xml(cast: false)', '{"doc":"<root><title>This is a title</title><number id=99>123</number><bool>True</bool></root>"}',
     '{"doc":{"root":{"bool":"True","number":{"#text":"123","-id":"99"},"title":"This is a title"}}}', None),
    ('root.doc = this.doc.parse_xml(cast: true)', '{"doc":"<root><title>This is a title</title><number id=99>123</number><bool>True</bool></root>"}',
     '{"doc":{"root":{"bool":true,"number":{"#text":123,"-id":99},"title":"This is a title"}}}', None),
    ('root = this.parse_xml(true)', '"<root><title>This is a title</title><number id=\\"99\\">123</number><bool>True</bool></root>"',
     '{"root":{"bool":true,"number":{"#text":123,"-id":99},"title":"This is a title"}}', None),
    ('root = content().parse_xml()', '<root>\n  <next>foo&lt;&ndash;&circ;&amp;bar</next>\n</root>', '{"root":{"next":"foo<&ndash;&circ;&bar"}}', None),
    ('root = content().parse_xml()', '<root>\n  <title>This is a title</title>\n  <description tone="boring">This is a description</description>\n'
     '  <elements id="1">foo1</elements>\n  <elements id="2">foo2</elements>\n  <elements>foo3</elements>\n</root>',
     '{"root":{"description":{"#text":"This is a description","-tone":"boring"},"elements":[{"#text":"foo1","-id":"1"},{"#text":"foo2","-id":"2"},"foo3"],"title":"This is a title"}}', None),
    ('root = content().parse_xml(cast: true)', '<root>\n  <title>This is a title</title>\n  <description tone="boring">This is a description</description>\n'
     '  <elements id="1">foo1</elements>\n  <elements id="2">foo2</elements>\n  <elements>foo3</elements>\n</root>',
     '{"root":{"description":{"#text":"This is a description","-tone":"boring"},"elements":[{"#text":"foo1","-id":1},{"#text":"foo2","-id":2},"foo3"],"title":"This is a title"}}', None),
    ('root = this.s.parse_xml()', '{"s":"<a><b>x</b>"}', None,
     'failed assignment (line 1): field `this.s`: failed to parse value as XML: xml.Decoder.Token() - XML syntax error on line 1: unexpected EOF'),
    ('root = this.s.parse_xml()', '{"s":"just text"}', None, 'failed assignment (line 1): field `this.s`: failed to parse value as XML: EOF'),
    ('root = this.s.parse_xml()', '{"s":5}', None, 'failed assignment (line 1): expected bytes value, got number from field `this.s` (5)'),
]


@pytest.mark.parametrize("mapping, payload, output, error", CASES)
def test_mapping_matches_benthos(mapping: str, payload: str, output: str | None, error: str | None) -> None:
    assert run_mapping(mapping, payload) == (output, error)


def test_parse_json_reads_only_the_first_document() -> None:
    assert go_json_decode('{"a":1} {"b":2}') == {"a": 1.0}
    assert isinstance(go_json_decode("5"), float)
    assert go_json_decode("5", use_number=True) == 5


@pytest.mark.parametrize(
    "text, resolved",
    [("yes", "yes"), ("true", True), ("010", 8), ("0o17", 15), ("-0b101", -5), ("1e3", 1000.0), ("1e400", "1e400"),
     (".inf", float("inf")), ("1:20", "1:20"), ("~", None), ("0x", "0x")],
)
def test_yaml_plain_scalar_resolution(text: str, resolved: object) -> None:
    value = yaml_resolve(text)
    assert (text if value is not None and type(value).__name__ == "object" else value) == resolved


def test_yaml_round_trip_keeps_strings_that_look_like_other_types() -> None:
    doc = {"a": "true", "b": "1.5", "c": "2020-01-01", "d": "yes", "e": "plain"}
    text = format_yaml_text(doc)
    assert text == 'a: "true"\nb: "1.5"\nc: "2020-01-01"\nd: "yes"\ne: plain\n'
    payload = __import__("json").dumps({"s": text}).encode()
    out = bloblang.parse("root = this.s.parse_yaml()").apply(payload)
    assert out is not None and __import__("json").loads(out.content) == doc


def test_infer_schema_shape_and_fingerprint() -> None:
    out = bloblang.parse("root = this.infer_schema()").apply(b'{"b":true,"a":[1,2]}')
    assert out is not None
    schema = __import__("json").loads(out.content)
    assert schema["type"] == "OBJECT"
    assert [c["name"] for c in schema["children"]] == ["a", "b"]
    assert schema["children"][0]["children"][0]["type"] == "INT64"
    assert len(schema["fingerprint"]) == 64
    err = bloblang.parse("root = this.infer_schema()")
    with pytest.raises(bloblang.MappingError, match=r"\.a\.1 mismatched array types, found INT64 and STRING"):
        err.apply(b'{"a":[1,"x"]}')
