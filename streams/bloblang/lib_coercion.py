"""Bloblang's Type Coercion methods: array, bool, bytes, not_empty, not_null, number, string,
timestamp, type (Benthos v4 ``query/methods.go`` and ``methods_structured.go``).

``bool``, ``number`` and ``timestamp`` take an optional default that is returned when the
target cannot be converted. In Benthos the default also replaces an error raised by the target
query itself (``this.missing.number(0)``); that part needs the compiler to hand the target over
unevaluated, so here the default covers conversion failures only.
"""

from __future__ import annotations

from typing import Any

from .errors import ExecError
from .lib_numbers import parse_float
from .registry import Library, Param
from .values import (
    NOTHING,
    Timestamp,
    bytes_to_str,
    get_timestamp,
    to_bytes,
    to_string,
    type_error,
    type_name,
)

LIBRARY = Library()

_PARSE_BOOL = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}


@LIBRARY.method("array")
def array(target: Any) -> list[Any]:
    """The target itself when it is an array, else a one-element array holding it."""
    if isinstance(target, list):
        return target
    return [target]


def to_bool(value: Any) -> bool:
    """``value.IToBool``: bools, numbers compared with zero, and Go's ``ParseBool`` strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        text = getattr(value, "text", None)
        return text != "0" if text is not None else value != 0
    if isinstance(value, (str, bytes, bytearray)):
        key = value if isinstance(value, str) else bytes_to_str(bytes(value))
        parsed = _PARSE_BOOL.get(key)
        if parsed is not None:
            return parsed
    raise type_error(value, "bool")


@LIBRARY.method("bool", Param("default", "bool", default=None, nullable=True), target_default=True)
def bool_(target: Any, default: bool | None = None) -> bool:
    """Parse the target as a bool, or return ``default`` when given and it cannot be."""
    try:
        return to_bool(target)
    except ExecError:
        if default is not None:
            return default
        raise


@LIBRARY.method("number", Param("default", "float", default=None, nullable=True), target_default=True)
def number(target: Any, default: float | None = None) -> float:
    """Parse the target as a float64 number, or return ``default`` when given."""
    try:
        if isinstance(target, bool):
            raise type_error(target, "number")
        if isinstance(target, (int, float)):
            return float(target)
        if isinstance(target, (str, bytes, bytearray)):
            text = target if isinstance(target, str) else bytes_to_str(bytes(target))
            return parse_float(text)
        raise type_error(target, "number")
    except ExecError:
        if default is not None:
            return default
        raise


@LIBRARY.method("timestamp", Param("default", "timestamp", default=None, nullable=True), target_default=True)
def timestamp(target: Any, default: Timestamp | None = None) -> Timestamp:
    """A timestamp from a timestamp, Unix seconds or an RFC 3339 string; else ``default``."""
    try:
        return get_timestamp(target)
    except ExecError:
        if default is not None:
            return default
        raise


@LIBRARY.method("bytes")
def bytes_(target: Any) -> bytes:
    """The target as bytes: strings encoded, other values as their string form (JSON for
    arrays and objects)."""
    return to_bytes(target)


@LIBRARY.method("string")
def string(target: Any) -> str:
    """The target as a string: numbers in Go's texts, arrays and objects as JSON."""
    return to_string(target)


@LIBRARY.method("not_empty")
def not_empty(target: Any) -> Any:
    """The target, unless it is an empty string, array or object (an error then)."""
    if isinstance(target, str):
        if target == "":
            raise ExecError("string value is empty")
    elif isinstance(target, list):
        if not target:
            raise ExecError("array value is empty")
    elif isinstance(target, dict):
        if not target:
            raise ExecError("object value is empty")
    else:
        raise type_error(target, "string", "array", "object")
    return target


@LIBRARY.method("not_null")
def not_null(target: Any) -> Any:
    """The target, unless it is null (an error then)."""
    if target is None:
        raise ExecError("value is null")
    return target


@LIBRARY.method("type")
def type_(target: Any) -> str:
    """The target's type name: string, bytes, number, bool, timestamp, array, object, null."""
    if target is NOTHING:
        return "nothing"
    return type_name(target)
