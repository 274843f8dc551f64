"""Object & Array methods through real mappings. Expected texts were produced by the Benthos v4
reference evaluator (tests/bloblang_ref) for the same mapping and input."""

from __future__ import annotations

from typing import Any

import pytest

from streams import bloblang
from streams.bloblang.lib_structured import dot_path, merge
from streams.bloblang.library import METHODS
from tests.unit.bloblang_reference import run_mapping

# (mapping, input, expected payload or None, expected error or None)
CASES = [
    ('root = this.a.merge(this.b)', '{"a":{"x":1,"n":{"p":1,"q":[1]}},"b":{"x":2,"n":{"q":[2],"r":3},"y":[4]}}', '{"n":{"p":1,"q":[1,2],"r":3},"x":[1,2],"y":[4]}', None),
    ('root = this.a.assign(this.b)', '{"a":{"x":1,"n":{"p":1,"q":[1]}},"b":{"x":2,"n":{"q":[2],"r":3},"y":[4]}}', '{"n":{"p":1,"q":[2],"r":3},"x":2,"y":[4]}', None),
    ('root = this.a.merge(this.b)', '{"a":[1],"b":[2,3]}', '[1,2,3]', None),
    ('root = this.a.merge(this.b)', '{"a":[1],"b":{"k":1}}', '[1,{"k":1}]', None),
    ('root = this.a.merge(this.b)', '{"a":{"k":1},"b":"scalar"}', '{"k":1}', None),
    ('root = this.a.merge(this.b)', '{"a":"s","b":{}}', None, 'failed assignment (line 1): expected object or array value, got string from field `this.a` ("s")'),
    ('root = this.a.squash()', '{"a":[{"x":1},{"x":2,"y":{"z":1}},{"y":{"w":2}},"ignored"]}', '{"x":[1,2],"y":{"w":2,"z":1}}', None),
    ('root = this.a.all(v -> v > 1)', '{"a":[]}', 'false', None),
    ('root = this.a.any(v -> v > 1)', '{"a":[1,"x"]}', None, 'failed assignment (line 1): field `this.a`: element 1: cannot compare types string (from field `v`) and number (from number literal)'),
    ('root = this.a.all(v -> v)', '{"a":[true,"x"]}', None, 'failed assignment (line 1): field `this.a`: element 1: expected bool value, got string ("x")'),
    ('root = this.a.any(v -> v.number())', '{"a":["x"]}', None, 'failed assignment (line 1): element 0: field `v`: strconv.ParseFloat: parsing "x": invalid syntax'),
    ('root = [this.exists("a.b.0"), this.exists("a.b.1"), this.exists("a.c"), this.exists("x~1y"), this.exists("a.b.*")]', '{"a":{"b":[null],"c":null},"x.y":1}', '[true,false,true,true,true]', None),
    ('root = [this.get("a.b.0"), this.get("a.*.v"), this.get("x~1y"), this.get("nope.deeper")]', '{"a":{"b":[7]},"x.y":1}', '[7,null,1,null]', None),
    ('root = [this.a.find(2), this.a.find("2"), this.a.find_all(2.0), this.a.find_by(v -> v == "2"), this.a.find_all_by(v -> v != 2)]', '{"a":[1,2,"2",2.0]}', '[1,2,[1,3],2,[0,2]]', None),
    ('root = this.a.find_by(v -> v.length())', '{"a":["x"]}', None, 'failed assignment (line 1): field `this.a`: query returned a non-boolean value for index 0: expected bool value, got number (1)'),
    ('root = [this.a.index(0), this.a.index(-1), this.s.bytes().index(1)]', '{"a":[1,2,3],"s":"AB"}', '[1,3,66]', None),
    ('root = this.a.index(5)', '{"a":[1,2,3]}', None, "failed assignment (line 1): field `this.a`: index '5' was out of bounds for array size: 3"),
    ('root = [this.a.append(4, [5]), this.a.concat([6], [[7]]), this.a.zip(["x","y","z"], [true, false, null])]', '{"a":[1,2,3]}', '[[1,2,3,4,[5]],[1,2,3,6,[7]],[[1,"x",true],[2,"y",false],[3,"z",null]]]', None),
    ('root = this.a.concat("x")', '{"a":[1]}', None, 'PARSE: line 1 char 26: expected array value, got string ("x")'),
    ('root = this.a.zip()', '{"a":[1]}', None, 'failed assignment (line 1): zip requires at least one argument'),
    ('root = this.a.enumerated()', '{"a":["x","y"]}', '[{"index":0,"value":"x"},{"index":1,"value":"y"}]', None),
    ('root = this.a.flatten()', '{"a":[1,[2,[3]],[],"x"]}', '[1,2,[3],"x"]', None),
    ('root = [this.a.join(), this.a.join(", ")]', '{"a":["x","y"]}', '["xy","x, y"]', None),
    ('root = this.a.join(",")', '{"a":["x",1]}', None, 'failed assignment (line 1): field `this.a`: failed to join element 1: expected string value, got number (1)'),
    ('root = [this.o.keys(), this.o.values().sort(), this.o.key_values().sort_by(kv -> kv.key)]', '{"o":{"b":1,"a":2,"c":0}}', '[["a","b","c"],[0,1,2],[{"key":"a","value":2},{"key":"b","value":1},{"key":"c","value":0}]]', None),
    ('root = this.without("a.b", "c", "x.y.z")', '{"a":{"b":1,"k":2},"c":3,"x":{"y":"notobj"},"d":4}', '{"a":{"k":2},"d":4,"x":{"y":"notobj"}}', None),
    ('root = this.with("a.b", "d", "missing")', '{"a":{"b":1,"k":2},"c":3,"d":4}', '{"a":{"b":1},"d":4}', None),
    ('root = this.collapse()', '{"a":[{"b":1},{"c":{}},[]],"d":{"e":null}}', '{"a.0.b":1,"d.e":null}', None),
    ('root = this.collapse(include_empty: true)', '{"a":[{"b":1},{"c":{}},[]],"d":{"e":null}}', '{"a.0.b":1,"a.1.c":{},"a.2":[],"d.e":null}', None),
    ('root = this.explode("v")', '{"id":1,"v":[{"a":1},2]}', '[{"id":1,"v":{"a":1}},{"id":1,"v":2}]', None),
    ('root = this.explode("n.v")', '{"id":1,"n":{"v":{"x":1,"y":2},"w":0}}', '{"x":{"id":1,"n":{"v":1,"w":0}},"y":{"id":1,"n":{"v":2,"w":0}}}', None),
    ('root = this.explode("id")', '{"id":1}', None, "failed assignment (line 1): field `this`: expected array or object value at path 'id', found: number"),
    ('root = this.a.filter(v -> v > 1)', '{"a":[1,2,3]}', '[2,3]', None),
    ('root = this.o.filter(kv -> kv.key != "b")', '{"o":{"a":1,"b":2}}', '{"a":1}', None),
    ('root = this.a.filter(v -> "yes")', '{"a":[1,2]}', '[]', None),
    ('root = this.a.map_each(v -> if v > 1 { v * 10 } else if v == 1 { deleted() })', '{"a":[0,1,2]}', '[0,20]', None),
    ('root = this.o.map_each(kv -> if kv.value > 1 { kv.value * 10 } else if kv.value == 1 { deleted() })', '{"o":{"a":0,"b":1,"c":2}}', '{"a":0,"c":20}', None),
    ('root = this.a.map_each(v -> v.uppercase())', '{"a":["x",1]}', None, 'failed assignment (line 1): field `this.a`: failed to process element 1: expected string value, got number from field `v` (1)'),
    ('root = this.o.map_each_key(k -> if k == "a" { "A" })', '{"o":{"a":1,"b":2}}', '{"A":1,"b":2}', None),
    ('root = this.o.map_each_key(k -> 5)', '{"o":{"a":1}}', None, 'failed assignment (line 1): field `this.o`: unexpected result from key mapping: expected string value, got number (5)'),
    ('root = this.a.fold({"n":0}, item -> {"n": item.tally.n + item.value})', '{"a":[1,2,3]}', '{"n":6}', None),
    ('root = this.a.fold("", item -> item.tally + item.value)', '{"a":["x",1]}', None, 'failed assignment (line 1): cannot add types string (from field `item.tally`) and number (from field `item.value`)'),
    ('root = [this.a.sort(), this.b.sort(), this.a.sort(l -> l.left > l.right)]', '{"a":[3,1.5,2],"b":["b","B","a"]}', '[[1.5,2,3],["B","a","b"],[3,2,1.5]]', None),
    ('root = this.a.sort()', '{"a":[1,"x"]}', None, 'failed assignment (line 1): sort element 0: expected string value, got number (1)'),
    ('root = this.a.sort()', '{"a":[true,false]}', None, 'failed assignment (line 1): sort element 1: expected number or string value, got bool (false)'),
    ('root = this.a.sort(l -> 1)', '{"a":[1,2]}', None, 'failed assignment (line 1): expected bool value, got number from sort argument (1)'),
    ('root = this.a.sort_by(v -> v.k)', '{"a":[{"k":"b"},{"k":"a"},{"k":"c"}]}', '[{"k":"a"},{"k":"b"},{"k":"c"}]', None),
    ('root = this.a.sort_by(v -> v.k)', '{"a":[{"k":"b"},{"k":1}]}', None, 'failed assignment (line 1): sort_by element 0: expected number value, got string from field `v.k` ("b")'),
    ('root = [this.a.unique(), this.b.unique(v -> v.id)]', '{"a":[1,1.0,"1","x","x"],"b":[{"id":1},{"id":2},{"id":1}]}', '[[1,"1","x"],[{"id":1},{"id":2}]]', None),
    ('root = this.a.unique()', '{"a":[1,true]}', None, 'failed assignment (line 1): field `this.a`: index 1: expected string or number value, got bool (true)'),
    ('root = [this.a.sum(), this.b.sum(), 5.sum()]', '{"a":[1,2,3],"b":[0.5,0.25]}', '[6,0.75,5]', None),
    ('root = this.a.sum()', '{"a":[1,"x"]}', None, 'failed assignment (line 1): index 1: expected number value, got string ("x")'),
    ('root = this.a.keys()', '{"a":[1]}', None, 'failed assignment (line 1): expected object value, got array from field `this.a`'),
    ('root = this.a.merge(this.b)', '{"a":5,"b":1}', None, 'failed assignment (line 1): expected object or array value, got number from field `this.a` (5)'),
    ('root = this.json_schema("""{"type":"object","properties":{"foo":{"type":"string"}}}""")', '{"foo":"bar"}', '{"foo":"bar"}', None),
    ('root = this.json_schema("""{"type":"object","properties":{"foo":{"type":"string"}}}""")', '{"foo":5}', None, 'failed assignment (line 1): field `this`: foo invalid type. expected: string, given: integer'),
    ('root = this.json_schema("""{"type":"object","required":["a","b"],"properties":{"a":{"type":"integer","minimum":3},"b":{"type":"array","items":{"type":"string","maxLength":2},"minItems":2}}}""")', '{"a":1.5,"b":["abc"]}', None, 'failed assignment (line 1): field `this`: a invalid type. expected: integer, given: number\nb.0 string length must be less than or equal to 2\nb array must have at least 2 items'),
    ('root = this.json_schema("""{"type":"object","required":["a","b"]}""")', '{"c":1}', None, 'failed assignment (line 1): field `this`: (root) a is required\n(root) b is required'),
    ('root = this.json_schema("""{"type":"object","additionalProperties":false,"properties":{"a":{"enum":["x","y"]}}}""")', '{"a":"z","b":1}', None, 'failed assignment (line 1): field `this`: (root) badditional property b is not allowed\na a must be one of the following: "x", "y"'),
    ('root = this.json_schema("""{"type":["string","null"],"pattern":"^a+$"}""")', '"bbb"', None, "failed assignment (line 1): field `this`: (root) does not match pattern '^a+$'"),
    ('root = this.json_schema("""{"anyOf":[{"type":"string"},{"type":"number"}]}""")', '[]', None, 'failed assignment (line 1): field `this`: (root) must validate at least one schema (anyof)\n(root) invalid type. expected: string, given: array'),
    ('root = this.json_schema("""{"type":"object","properties":{"n":{"type":"number","exclusiveMaximum":10,"multipleOf":3}}}""")', '{"n":11}', None, 'failed assignment (line 1): field `this`: n must be a multiple of 3\nn must be less than 10'),
    ('root = this.json_schema("""not json""")', '{}', None, "PARSE: line 1 char 40: failed to parse json schema definition: invalid character 'o' in literal null (expecting 'u')"),
    ('root = this.json_schema("""{"definitions": {"pos": {"type": "integer", "minimum": 0}}, "type": "object", "properties": {"a": {"$ref": "#/definitions/pos"}, "b": {"type": "array", "items": {"$ref": "#/definitions/pos"}, "uniqueItems": true}}}""")', '{"a":-1,"b":[1,1,-2]}', None, 'failed assignment (line 1): field `this`: a must be greater than or equal to 0\nb.2 must be greater than or equal to 0\nb array items[0,1] must be unique'),
    ('root = this.json_schema("""{"type": "object", "properties": {"u": {"format": "uuid"}, "i": {"format": "ipv4"}, "d": {"format": "date-time"}, "n": {"format": "hostname"}}}""")', '{"u":"X","i":"::ffff:1.2.3.4","d":"10:00:00","n":"-bad"}', None, "failed assignment (line 1): field `this`: u does not match format 'uuid'\nn does not match format 'hostname'"),
    ('root = this.json_schema("""{"oneOf": [{"type": "integer"}, {"minimum": 2}]}""")', '3', None, 'failed assignment (line 1): field `this`: (root) must validate one and only one schema (oneof)'),
    ('root = this.json_schema("""{"oneOf": [{"type": "integer"}, {"minimum": 2}]}""")', '1.5', None, 'failed assignment (line 1): field `this`: (root) must validate one and only one schema (oneof)\n(root) must be greater than or equal to 2'),
    ('root = this.json_schema("""{"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}}""")', '{"a":1}', None, 'failed assignment (line 1): field `this`: (root) must validate "then" as "if" was valid\n(root) b is required'),
]


@pytest.mark.parametrize("mapping, payload, output, error", CASES)
def test_mapping_matches_benthos(mapping: str, payload: str, output: str | None, error: str | None) -> None:
    assert run_mapping(mapping, payload) == (output, error)


def test_merge_does_not_touch_its_inputs() -> None:
    a: dict[str, Any] = {"n": {"q": [1]}}
    b: dict[str, Any] = {"n": {"q": [2]}}
    assert merge(a, b) == {"n": {"q": [1, 2]}}
    assert a == {"n": {"q": [1]}} and b == {"n": {"q": [2]}}


def test_dot_path_escapes() -> None:
    assert dot_path("a.b~1c.d~0e") == ["a", "b.c", "d~e"]


def test_map_each_on_object_keeps_value_on_nothing() -> None:
    out = bloblang.parse("root = this.map_each(kv -> if kv.key == \"a\" { kv.value + 1 })").apply(b'{"a":1,"b":2}')
    assert out is not None and out.content == b'{"a":2,"b":2}'


def test_every_method_of_the_family_is_registered() -> None:
    names = ["all", "any", "append", "assign", "collapse", "concat", "enumerated", "exists", "explode", "filter", "find", "find_all", "find_all_by", "find_by", "flatten", "fold", "get", "index", "join", "json_schema", "key_values", "keys", "map_each", "map_each_key", "merge", "sort", "sort_by", "squash", "sum", "unique", "values", "with", "without", "zip"]
    assert [n for n in names if n not in METHODS] == []
