"""Every scanner, in one explicit table, and how a scanner config (Bento's ``scanner`` field) is
checked and turned into a ``ScannerMaker``.

A scanner config names one scanner: ``{lines: {custom_delimiter: "|"}}``, or in the ``type:``
form ``{type: lines, lines: {...}}``. Fields are Bento's, with its defaults; a field of type
``scanner`` (``into``, a ``switch`` case's ``scanner``) is itself a scanner config and is built
first, so a scanner's builder receives the ``ScannerMaker`` of its child.

``problems`` reports every shape problem (unknown scanner or field, wrong type, missing field)
with its path inside the config; only when there are none are values the scanners alone can judge
(a regular expression, an algorithm) checked by building. ``make`` builds a checked config.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from streams.registry import Field
from streams.scanners import (
    chunker,
    csv_rows,
    decompress,
    json_documents,
    lines,
    re_match,
    skip_bom,
    switch,
    tar_files,
    to_the_end,
    xml_documents,
)
from streams.scanners.base import ScanConfigError, ScannerMaker, ScannerSpec

Path = tuple[str | int, ...]


def _table(*specs: ScannerSpec) -> dict[str, ScannerSpec]:
    out: dict[str, ScannerSpec] = {}
    for s in specs:
        if s.name in out:
            raise ValueError(f"scanner {s.name!r} listed twice")
        out[s.name] = s
    return out


SCANNERS = _table(
    chunker.SPEC,
    csv_rows.SPEC,
    decompress.SPEC,
    json_documents.SPEC,
    lines.SPEC,
    re_match.SPEC,
    skip_bom.SPEC,
    switch.SPEC,
    tar_files.SPEC,
    to_the_end.SPEC,
    xml_documents.SPEC,
)

REFUSED = {
    "avro": "avro is not supported by this gateway (and not offered by Tyk Streams)",
}
"""Bento scanners this gateway does not run, with the reason given to the user."""

DEFAULT: dict[str, Any] = {"lines": {}}


def problems(conf: Any) -> list[tuple[Path, str]]:
    """Every problem of a scanner config, each with its path inside the config."""
    found: list[tuple[Path, str]] = []
    _check(conf, (), found)
    if not found:
        try:
            make(conf)
        except ScanConfigError as exc:
            found.append((exc.where, exc.message))
    return found


def make(conf: Any) -> ScannerMaker:
    """The maker of a scanner config without ``problems``; raises ``ScanConfigError`` (with the
    path) for a value only the scanner can judge."""
    return _build(conf, ())


# -- checking ---------------------------------------------------------------------------------


def _parts(conf: Any, path: Path, found: list[tuple[Path, str]]) -> tuple[str, Any, Path] | None:
    """(scanner name, its config, path of that config) of either form, or None after a problem."""
    if conf is None:
        conf = DEFAULT
    if not isinstance(conf, dict):
        found.append((path, f"expected a scanner object such as {{lines: {{}}}}, got {_type_name(conf)}"))
        return None
    if "plugin" in conf:
        found.append((path + ("plugin",), "plugin scanners are not supported by this gateway"))
        return None
    named = dict(conf)
    if "type" in named:
        name = named.pop("type")
        if not isinstance(name, str):
            found.append((path + ("type",), f"expected a scanner name, got {_type_name(name)}"))
            return None
        body = named.pop(name, None)
        for extra in named:
            found.append((path + (extra,), f"unexpected field beside type: {name}"))
        return (name, body, path + (name,)) if not named else None
    if len(named) != 1:
        found.append((path, f"a scanner config names exactly one scanner, got {len(named)} keys"))
        return None
    name, body = next(iter(named.items()))
    return str(name), body, path + (name,)


def _check(conf: Any, path: Path, found: list[tuple[Path, str]]) -> None:
    parts = _parts(conf, path, found)
    if parts is None:
        return
    name, body, where = parts
    spec = SCANNERS.get(name)
    if spec is None:
        reason = REFUSED.get(name) or "unknown scanner" + _suggest(name, SCANNERS)
        found.append((where[:-1] + (name,), reason))
        return
    if spec.list_of:
        if not isinstance(body, list):
            found.append((where, f"expected a list of cases, got {_type_name(body)}"))
            return
        for i, item in enumerate(body):
            _check_fields(spec.fields, item, where + (i,), found)
        return
    _check_fields(spec.fields, body, where, found)


def _check_fields(fields: tuple[Field, ...], body: Any, path: Path, found: list[tuple[Path, str]]) -> None:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        found.append((path, f"expected an object, got {_type_name(body)}"))
        return
    known = {f.name: f for f in fields}
    for key, value in body.items():
        f = known.get(key)
        if f is None:
            found.append((path + (key,), "unknown field" + _suggest(key, known)))
        elif value is not None or f.type == "scanner":
            _check_value(f, value, path + (key,), found)
    for f in fields:
        if f.required and f.name not in body:
            found.append((path + (f.name,), "missing required field"))


def _check_value(f: Field, value: Any, path: Path, found: list[tuple[Path, str]]) -> None:
    if f.type == "scanner":
        _check(value, path, found)
        return
    ok, expected = {
        "string": (isinstance(value, (str, int, float)) and not isinstance(value, bool), "a string"),
        "int": (isinstance(value, int) and not isinstance(value, bool), "an integer"),
        "bool": (isinstance(value, bool), "a boolean"),
        "string_list": (isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"),
    }[f.type]
    if not ok:
        found.append((path, f"expected {expected}, got {_type_name(value)}"))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- building ---------------------------------------------------------------------------------


def _build(conf: Any, path: Path) -> ScannerMaker:
    found: list[tuple[Path, str]] = []
    parts = _parts(conf, path, found)
    if parts is None:
        raise ScanConfigError(*found[0])
    name, body, where = parts
    spec = SCANNERS.get(name)
    if spec is None:
        raise ScanConfigError(where, REFUSED.get(name) or "unknown scanner" + _suggest(name, SCANNERS))
    try:
        if spec.list_of:
            filled: Any = [_filled(spec.fields, item, where + (i,)) for i, item in enumerate(body or [])]
        else:
            filled = _filled(spec.fields, body, where)
        return spec.build(filled)
    except ScanConfigError as exc:
        if exc.where[: len(where)] == where:
            raise
        raise ScanConfigError(where + exc.where, exc.message) from exc


def _filled(fields: tuple[Field, ...], body: Any, path: Path) -> dict[str, Any]:
    """The config with defaults in and nested scanner configs built."""
    given = body or {}
    out: dict[str, Any] = {}
    for f in fields:
        value = given.get(f.name)
        if value is None and f.type != "scanner":
            value = None if f.required else f.default
        if f.type == "scanner":
            value = _build(value if value is not None else f.default, path + (f.name,))
        out[f.name] = value
    return out
