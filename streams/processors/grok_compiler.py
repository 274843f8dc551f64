"""Grok expressions to regular expressions, as the Go grok library Bento uses builds them.

No I/O: ``GrokCompiler(definitions, named_only, use_defaults)`` resolves ``%{NAME}``,
``%{NAME:field}`` and ``%{NAME:field:type}`` references (github.com/Jeffail/grok v1.1.0):

* every reference is replaced by the referenced pattern's expression, wrapped in a named group
  when it names a field (or always, with ``named_captures_only: false``, named after the
  pattern); field names with characters other than letters, digits and ``_`` (``nested.name``)
  get a safe alias in the regular expression and their own name back in the result;
* type hints ``int`` and ``float`` convert a value (Go's ``strconv.Atoi``/``ParseFloat``: a
  value that does not convert makes the expression fail); ``string`` is the default;
* user definitions may refer to each other and to the defaults; a user definition named like a
  default is ignored, as in Go, and an unknown reference is an error (``no pattern found for
  %{NAME}``).

Go's RE2 accepts one name for several groups (``%{HOUR}`` twice in a timestamp); the result
then holds the last group of that name, even when it matched nothing. Python does not, so every
named group is renamed ``_g<n>`` and the names kept in order. Expressions are compiled with the
``regex`` module in ASCII mode, which reads RE2's classes (``[[:alpha:]]``, ``\\pL``) and, like
RE2, matches ``\\w``, ``\\d``, ``\\s`` and ``\\b`` on ASCII only. Unlike RE2, it backtracks: a
hostile expression can take long, so expressions belong to the API's author, never to a request.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import regex

from streams.processors.grok_patterns import DEFAULT_PATTERNS

REFERENCE = re.compile(r"%\{([\w\-.]+(?::[\w\-.]+(?::[\w\-.]+)?)?)\}")
SYMBOLIC = re.compile(r"\W")
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)


class GrokError(ValueError):
    """A definition or expression that cannot be compiled."""


class CastError(ValueError):
    """A captured value that its type hint cannot convert."""


@dataclass(frozen=True)
class Pattern:
    expression: str
    aliases: dict[str, str]  # safe alias -> field name
    hints: dict[str, str]  # safe alias -> type


def expand(pattern: str, known: dict[str, Pattern], named_only: bool) -> Pattern:
    """One pattern with its references replaced (Go's ``newPattern``)."""
    hints: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for match in REFERENCE.finditer(pattern):
        whole, names = match.group(0), match.group(1).split(":")
        ref_key = alias = names[0]
        if len(names) > 1:
            alias = names[1]
        safe = SYMBOLIC.sub("_", alias)
        if safe != alias:
            aliases[safe] = alias
            alias = safe
        if len(names) == 3 and names[2] != "string":
            hints[alias] = names[2]
        ref = known.get(ref_key)
        if ref is None:
            raise GrokError(f"no pattern found for %{{{ref_key}}}")
        if not named_only or len(names) > 1:
            replacement = f"(?P<{alias}>{ref.expression})"
        else:
            replacement = f"({ref.expression})"
        for key, kind in ref.hints.items():
            hints.setdefault(key, kind.lower())
        for key, name in ref.aliases.items():
            aliases.setdefault(key, name)
        pattern = pattern.replace(whole, replacement)
    return Pattern(pattern, aliases, hints)


def add_definitions(known: dict[str, Pattern], definitions: dict[str, str], named_only: bool) -> None:
    """Go's ``patternMap.addList``: resolve each definition after the ones it refers to."""

    def resolve(key: str, text: str, depth: int = 0) -> None:
        if depth > len(definitions):
            raise GrokError(f"pattern %{{{key}}} refers to itself")
        for match in REFERENCE.finditer(text):
            ref_key = match.group(1).split(":")[0]
            if ref_key not in known:
                if ref_key not in definitions:
                    raise GrokError(f"no pattern found for %{{{ref_key}}}")
                try:
                    resolve(ref_key, definitions[ref_key], depth + 1)
                except GrokError:
                    pass  # as in Go: the reference itself then reports the missing pattern
        known[key] = expand(text, known, named_only)

    for key, text in definitions.items():
        if key not in known:
            resolve(key, text)


def python_regex(expression: str) -> tuple[str, list[str]]:
    """RE2 text -> text ``regex`` compiles the same way, and the names of its named groups in
    order (each renamed ``_g<n>``; ``(?<name>`` is read as ``(?P<name>``, ``\\z`` as ``\\Z``)."""
    out: list[str] = []
    names: list[str] = []
    i, n, in_class = 0, len(expression), False
    while i < n:
        c = expression[i]
        if c == "\\" and i + 1 < n:
            nxt = expression[i + 1]
            out.append("\\Z" if nxt == "z" and not in_class else c + nxt)
            i += 2
            continue
        if in_class:
            if c == "[" and expression.startswith("[:", i):
                end = expression.find(":]", i + 2)
                if end != -1:
                    out.append(expression[i : end + 2])
                    i = end + 2
                    continue
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # a ']' right after '[' or '[^' is a literal member
            if expression.startswith("^", i):
                out.append("^")
                i += 1
            if expression.startswith("]", i):
                out.append("]")
                i += 1
            continue
        if c == "(" and (expression.startswith("(?P<", i) or (expression.startswith("(?<", i) and expression[i + 3 : i + 4] not in ("=", "!"))):
            start = expression.index("<", i) + 1
            end = expression.find(">", start)
            if end == -1:
                raise GrokError(f"error parsing regexp: invalid named capture: `{expression[i:]}`")
            out.append(f"(?P<_g{len(names)}>")
            names.append(expression[start:end])
            i = end + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), names


def cast(value: str, kind: str | None) -> Any:
    """A captured value converted by its type hint (Go's ``typeCast``)."""
    if kind is None or kind == "string":
        return value
    if kind == "int":
        if not _INT.fullmatch(value) or not -(2**63) <= int(value) < 2**63:
            raise CastError(f'strconv.Atoi: parsing "{value}": invalid syntax')
        return int(value)
    if kind == "float":
        if not _FLOAT.fullmatch(value):
            raise CastError(f'strconv.ParseFloat: parsing "{value}": invalid syntax')
        number = float(value)
        if math.isinf(number) and "inf" not in value.lower():
            raise CastError(f'strconv.ParseFloat: parsing "{value}": value out of range')
        return number
    raise CastError(f"ERROR the value {value} cannot be converted to {kind}. Must be int, float, string or empty")


class CompiledGrok:
    """One expression, ready to parse payloads into ``{field: value}``."""

    def __init__(self, pattern: Pattern, remove_empty: bool) -> None:
        text, self.names = python_regex(pattern.expression)
        try:
            self.regex = regex.compile(text, regex.ASCII | regex.V0)
        except regex.error as exc:
            raise GrokError(f"error parsing regexp: {exc}") from None
        self.aliases = pattern.aliases
        self.hints = pattern.hints
        self.remove_empty = remove_empty

    def parse_typed(self, text: str) -> dict[str, Any]:
        """Field values of the first match (empty when nothing matches); ``CastError`` when a
        typed value does not convert."""
        match = self.regex.search(text)
        captures: dict[str, Any] = {}
        if match is None:
            return captures
        for number, key in enumerate(self.names):
            value = match.group(f"_g{number}") or ""
            if not key or (self.remove_empty and not value):
                continue
            captures[self.aliases.get(key, key)] = cast(value, self.hints.get(key))
        return captures


class GrokCompiler:
    """Go's ``grok.New``: the defaults (unless skipped), then the user's definitions."""

    def __init__(self, definitions: dict[str, str], *, named_only: bool, use_defaults: bool, remove_empty: bool) -> None:
        self.known: dict[str, Pattern] = {}
        self.named_only = named_only
        self.remove_empty = remove_empty
        if use_defaults:
            add_definitions(self.known, DEFAULT_PATTERNS, named_only)
        add_definitions(self.known, definitions, named_only)

    def compile(self, expression: str) -> CompiledGrok:
        return CompiledGrok(expand(expression, self.known, self.named_only), self.remove_empty)


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """gabs ``SetP``: ``a.b`` sets ``target["a"]["b"]`` (``~1`` is a literal dot, ``~0`` a tilde),
    replacing what is not an object on the way."""
    keys = [k.replace("~1", ".").replace("~0", "~") for k in dotted.split(".")]
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value
