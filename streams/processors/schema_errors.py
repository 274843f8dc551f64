"""The error text of a JSON document that fails its schema, worded as Bento words it.

Bento validates with gojsonschema and joins one line per problem: the field (``age``,
``address.city``, ``(root)``) and the lowercased description (``must be greater than or equal
to 0``); when the problem names a property (``required``, ``additionalProperties``), that name
is put back in front with its case (``(root) firstName is required``), and since Bento only
strips a prefix that is the name itself, an additional property reads ``(root) zzadditional
property zz is not allowed``. This module turns a Python ``jsonschema`` error into that line;
numbers are written as Go's ``big.Float`` prints them (``%.10g``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema.exceptions import ValidationError


def go_type(value: Any) -> str:
    """gojsonschema's name for a JSON value's type (an integral number is an ``integer``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def number(value: Any) -> str:
    return f"{value:.10g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def field_of(path: list[Any]) -> str:
    """gojsonschema's ``Field()``: the path below the root, dot-separated, or ``(root)``."""
    return ".".join(str(p) for p in path) if path else "(root)"


def _types(expected: Any) -> str:
    return expected if isinstance(expected, str) else "[" + ",".join(expected) + "]"


def _marshal(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def describe(error: ValidationError) -> tuple[str, str | None]:
    """gojsonschema's description of one problem, and the property it names (if any)."""
    kind, schema, value = error.validator, error.schema, error.instance
    want: Any = error.validator_value
    path = list(error.absolute_path)
    exclusive = isinstance(schema, dict) and schema.get(f"exclusive{str(kind).title()}") is True
    texts: dict[str, Any] = {
        "type": lambda: f"Invalid type. Expected: {_types(want)}, given: {go_type(value)}",
        "minimum": lambda: f"Must be greater than {'' if exclusive else 'or equal to '}{number(want)}",
        "maximum": lambda: f"Must be less than {'' if exclusive else 'or equal to '}{number(want)}",
        "exclusiveMinimum": lambda: f"Must be greater than {number(want)}",
        "exclusiveMaximum": lambda: f"Must be less than {number(want)}",
        "multipleOf": lambda: f"Must be a multiple of {number(want)}",
        "enum": lambda: f"{field_of(path)} must be one of the following: {', '.join(_marshal(v) for v in want)}",
        "const": lambda: f"{field_of(path)} does not match: {_marshal(want)}",
        "minLength": lambda: f"String length must be greater than or equal to {want}",
        "maxLength": lambda: f"String length must be less than or equal to {want}",
        "pattern": lambda: f"Does not match pattern '{want}'",
        "format": lambda: f"Does not match format '{want}'",
        "minItems": lambda: f"Array must have at least {want} items",
        "maxItems": lambda: f"Array must have at most {want} items",
        "minProperties": lambda: f"Must have at least {want} properties",
        "maxProperties": lambda: f"Must have at most {want} properties",
        "anyOf": lambda: "Must validate at least one schema (anyOf)",
        "oneOf": lambda: "Must validate one and only one schema (oneOf)",
        "allOf": lambda: "Must validate all the schemas (allOf)",
        "not": lambda: "Must not validate the schema (not)",
        "contains": lambda: "At least one of the items must match",
        "uniqueItems": lambda: _unique_items(value),
        "dependencies": lambda: f"Has a dependency on {_missing_dependency(error)}",
        "dependentRequired": lambda: f"Has a dependency on {_missing_dependency(error)}",
        "additionalItems": lambda: "No additional items allowed on array",
        "false": lambda: "False always fails validation",
    }
    if kind == "required":
        missing = _quoted_name(error.message)
        return f"{missing} is required", missing
    if kind == "additionalProperties":
        extra = _first_extra(error)
        return f"Additional property {extra} is not allowed", extra
    text = texts.get(str(kind))
    return (text() if text else error.message), None


def _quoted_name(message: str) -> str:
    """The property name in jsonschema's ``'name' is a required property``."""
    head = message.rsplit(" is a required property", 1)[0]
    try:
        return str(json.loads('"' + head[1:-1].replace('"', '\\"') + '"')) if head[:1] == "'" else head
    except ValueError:
        return head[1:-1]


def _first_extra(error: ValidationError) -> str:
    schema, value = error.schema, error.instance
    if not isinstance(schema, dict) or not isinstance(value, dict):
        return ""
    known = set(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    extras = sorted(k for k in value if k not in known and not any(re.search(p, k) for p in patterns))
    return extras[0] if extras else ""


def _unique_items(value: Any) -> str:
    if isinstance(value, list):
        seen: dict[str, int] = {}
        for j, item in enumerate(value):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                return f"array items[{seen[key]},{j}] must be unique"
            seen[key] = j
    return "array items must be unique"


def _missing_dependency(error: ValidationError) -> str:
    return error.message.split("'")[1] if error.message.count("'") >= 2 else error.message


def line(error: ValidationError) -> str:
    """One line of Bento's error text for ``error``."""
    description, prop = describe(error)
    lowered = description.lower()
    if prop is not None:
        lowered = prop + lowered.removeprefix(prop.lower())
    return f"{field_of(list(error.absolute_path))} {lowered}"
