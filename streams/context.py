"""``$tyk_context`` variables: which a stream uses, their values for a request, and safe substitution.

A stream config may mention ``$tyk_context.request_data_user`` anywhere. The gateway turns such a
config into a template and builds one instance per distinct substituted config (DESIGN §3.2). The
values come from the request, so they are hostile: substitution here is *contextual*. The same value
is written differently depending on where the placeholder sits:

* Bloblang source fields (``mapping``, ``mutation``, ``bloblang``, ``check``, ``request_map``,
  ``result_map``, ``args_mapping``, ``fields_mapping``) and the inside of ``${! ... }`` interpolations: inside a ``"..."``
  literal the value is escaped as string content; inside a triple-quoted literal (which has no
  escapes) the literal is split and the value joined in as a quoted literal; in code it becomes a
  quoted literal. Comments are left alone. The value can therefore never end a literal or add code.
* Kafka topic fields (``topic``, ``topics``): the value is encoded to stay one topic token (Bento
  splits ``topics`` entries on commas and reads ``name:partition``), see :func:`encode_topic`; a
  value Tyk leaves a legal topic name is kept as Tyk writes it.
* ``consumer_group`` (and other plain identifiers: ``client_id``, ``rack_id``): the value as Tyk
  writes it there, :func:`tyk_escape` (Go's ``url.QueryEscape``, unless it starts with ``http``;
  Tyk's ``ReplaceTykVariables`` escapes every value so), so ``alice@example.com`` reads the group
  ``alice%40example.com`` here as under Tyk and a team moving over keeps its groups' offsets.
  Either form is one identifier: nothing in it is read as syntax.
* Any other string is treated as an interpolated string (Bento interpolates most string fields):
  a value that could start or close an interpolation (``$``, ``{``, ``}``) is inserted as the
  interpolation of a string literal, ``${! "..." }``, which evaluates to exactly the value.

Placeholder syntax: ``$tyk_context.NAME`` where NAME is letters, digits and ``_`` with single dots
between them; dots read as underscores, so the seed's ``$tyk_context.jwt.claims.sub`` is
``jwt_claims_sub``. Placeholders in mapping keys are not substituted.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\$tyk_context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")

BLOBLANG_FIELDS = frozenset(
    {
        "mapping",
        "mutation",
        "bloblang",
        "check",
        "skip_on",
        "request_map",
        "result_map",
        "args_mapping",
        "fields_mapping",
    }
)
"""Config keys whose string value is Bloblang source."""

TOPIC_FIELDS = frozenset({"topic", "topics"})
"""Config keys whose value (or list entries) name Kafka topics."""

VERBATIM_FIELDS = frozenset({"consumer_group", "client_id", "rack_id"})
"""Config keys used as one exact identifier, never interpolated."""

_TOPIC_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")

Lookup = Callable[[str], str]


def variable_name(spelling: str) -> str:
    """The variable a placeholder names: ``jwt.claims.sub`` -> ``jwt_claims_sub``."""
    return spelling.replace(".", "_")


# --- scanning -------------------------------------------------------------------------------


def _bloblang_segments(src: str) -> Iterator[tuple[str, int, int]]:
    """Split Bloblang source into ``code``, ``string``, ``triple`` and ``comment`` spans.

    ``string`` and ``triple`` spans include their quotes. An unterminated literal runs to the end
    of its line (``string``) or of the source (``triple``), as far as the parser would read it.
    """
    i, n, start = 0, len(src), 0
    while i < n:
        c = src[i]
        if c == '"' or c == "#":
            if start < i:
                yield "code", start, i
            if src.startswith('"""', i):
                end = src.find('"""', i + 3)
                end = n if end < 0 else end + 3
                yield "triple", i, end
            elif c == '"':
                end = i + 1
                while end < n and src[end] != '"' and src[end] != "\n":
                    end += 2 if src[end] == "\\" else 1
                if end < n and src[end] == '"':
                    end += 1
                end = min(end, n)
                yield "string", i, end
            else:
                end = src.find("\n", i)
                end = n if end < 0 else end
                yield "comment", i, end
            i = start = end
        else:
            i += 1
    if start < n:
        yield "code", start, n


def _interpolation_segments(text: str) -> Iterator[tuple[str, int, int]]:
    """Split an interpolated string into ``text`` spans and ``expr`` spans (the Bloblang between
    ``${!`` and its closing ``}``). ``${{!...}}`` is Bento's escape for a literal ``${!...}``."""
    i, n, start = 0, len(text), 0
    while True:
        j = text.find("${", i)
        if j < 0:
            break
        if text.startswith("${{!", j):
            close = text.find("}}", j + 4)
            i = n if close < 0 else close + 2
            continue
        if not text.startswith("${!", j):
            i = j + 2
            continue
        end = _expression_end(text, j + 3)
        if end is None:  # unclosed: the engine reports it; scan the rest as plain text
            break
        if start < j + 3:
            yield "text", start, j + 3
        yield "expr", j + 3, end
        i = start = end
    if start < n:
        yield "text", start, n


def _expression_end(text: str, i: int) -> int | None:
    """Index of the ``}`` that closes an interpolation whose Bloblang starts at ``i``."""
    depth = 0
    for kind, s, e in _bloblang_segments(text[i:]):
        if kind != "code":
            continue
        for k in range(s, e):
            ch = text[i + k]
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    return i + k
                depth -= 1
    return None


def _field_kind(key: str | None) -> str:
    if key in BLOBLANG_FIELDS:
        return "bloblang"
    if key in TOPIC_FIELDS:
        return "topic"
    if key in VERBATIM_FIELDS:
        return "verbatim"
    return "interpolated"


def _walk_strings(config: Any, key: str | None = None) -> Iterator[tuple[str, str]]:
    if isinstance(config, dict):
        for k, v in config.items():
            yield from _walk_strings(v, k if isinstance(k, str) else None)
    elif isinstance(config, list):
        for item in config:
            yield from _walk_strings(item, key)
    elif isinstance(config, str):
        yield _field_kind(key), config


# --- public API -------------------------------------------------------------------------------


def placeholders(config: Any) -> frozenset[str]:
    """The variable names a config uses (``jwt.claims.sub`` reported as ``jwt_claims_sub``).

    Placeholders inside Bloblang comments do not count: they are never substituted, so a stream
    whose only mention is a comment (the seed's ``# or $tyk_context.jwt.claims.sub``) does not
    depend on that variable.
    """
    found: set[str] = set()
    for kind, text in _walk_strings(config):
        if "$tyk_context." not in text:
            continue
        if kind == "bloblang":
            spans = [(text, _bloblang_segments(text))]
        else:
            spans = []
            for ikind, s, e in _interpolation_segments(text):
                if ikind == "text":
                    found.update(variable_name(m) for m in PLACEHOLDER.findall(text, s, e))
                else:
                    spans.append((text[s:e], _bloblang_segments(text[s:e])))
        for src, segments in spans:
            for bkind, s, e in segments:
                if bkind != "comment":
                    found.update(variable_name(m) for m in PLACEHOLDER.findall(src, s, e))
    return frozenset(found)


def substitute(config: Any, variables: Mapping[str, Any], *, enabled: bool = True) -> Any:
    """A new config with every placeholder replaced, written safely for where it lands (module doc).

    With ``enabled=False`` (the API's ``contextVariables.enabled: false``) every placeholder is
    the empty string; a variable the request does not provide is the empty string too.
    """

    def lookup(spelling: str) -> str:
        if not enabled:
            return ""
        value = variables.get(variable_name(spelling), "")
        return value if isinstance(value, str) else to_text(value)

    return _substitute(config, None, lookup)


def instance_key(config: Any) -> str:
    """A stable digest of a (substituted) config: equal configs, equal keys, whatever the key order.

    The engine keys its instance table with it, so requests that substitute to the same config
    share one instance.
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]*")
_ENCODED = "__"
"""Starts every encoded topic token; a value kept as it is never holds it."""


def encode_topic(value: str) -> str:
    """A value as one legal Kafka topic token, the same token for a value Tyk's escaping leaves
    legal there (only ``[A-Za-z0-9._-]``: ``alice_smith`` stays ``alice_smith``), so a team's
    per-user topics keep their names.

    Any other value (``a,b``, ``alice@example.com``, where Tyk's ``%40`` is no legal topic name)
    and a value holding ``__`` are written ``__`` plus the value with every character outside
    ``[A-Za-z0-9.-]`` as ``_`` and the lowercase hex of each of its UTF-8 bytes: ``a,b`` ->
    ``__a_2cb``. A kept value never holds ``__`` and an encoded one always starts with it, so two
    values never share a token (:func:`decode_topic` inverts it)."""
    if _TOPIC_NAME.fullmatch(value) and _ENCODED not in value:
        return value
    out = [_ENCODED]
    for ch in value:
        if ch in _TOPIC_SAFE:
            out.append(ch)
        else:
            out.extend(f"_{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def decode_topic(token: str) -> str:
    """Invert :func:`encode_topic`."""
    if not token.startswith(_ENCODED):
        return token
    raw = bytearray()
    i = len(_ENCODED)
    while i < len(token):
        if token[i] == "_":
            raw.append(int(token[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(token[i].encode("ascii"))
            i += 1
    return raw.decode("utf-8", "surrogatepass")


def tyk_escape(value: str) -> str:
    """A value as Tyk substitutes it into a stream config (``gateway/mw_url_rewrite.go``,
    ``replaceVariables`` with ``escape``): ``url.QueryEscape`` (letters, digits and ``-_.~``
    kept, a space as ``+``, every other byte of its UTF-8 as ``%XX``), except a value starting
    with ``http``, which Tyk leaves as it is."""
    if value.startswith("http"):
        return value
    return urllib.parse.quote_plus(value, safe="", encoding="utf-8", errors="surrogatepass")


def bloblang_string(value: str) -> str:
    """``value`` as a double-quoted Bloblang string literal that reads back as exactly ``value``.

    ``$``, ``{`` and ``}`` are escaped too, so that nothing scanning for interpolation
    boundaries or placeholders can mistake the content for syntax.
    """
    return '"' + _escape_content(value) + '"'


def to_text(value: Any) -> str:
    """A claim or other structured value as text the way Tyk renders context data: lists joined
    by commas, objects as compact JSON, whole floats without ``.0``, booleans lowercase."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(to_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return str(value)


class Template:
    """A stream config with placeholders, rendered per request with a small cache.

    The substituted config depends only on the values of the variables the config uses, so
    requests of the same user (the common case: every poll of a GET) reuse one rendering and
    its instance key instead of walking the config again.
    """

    def __init__(self, config: Any, *, cache_size: int = 1024) -> None:
        self.config = config
        self.names: tuple[str, ...] = tuple(sorted(placeholders(config)))
        self._cache: collections.OrderedDict[tuple[str, ...], tuple[str, Any]] = collections.OrderedDict()
        self._cache_size = cache_size

    def render(self, variables: Mapping[str, Any], *, enabled: bool = True) -> tuple[str, Any]:
        """``(instance_key, substituted config)`` for a request's variables. The returned config
        is shared between callers: treat it as read-only."""
        if enabled:
            values = tuple(to_text(variables.get(n)) for n in self.names)
        else:
            values = ("",) * len(self.names)
        hit = self._cache.get(values)
        if hit is not None:
            self._cache.move_to_end(values)
            return hit
        config = substitute(self.config, dict(zip(self.names, values, strict=True)))
        result = (instance_key(config), config)
        self._cache[values] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result


# --- request variables -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)  # PERF: every header of every request; the names repeat
def canonical_header(name: str) -> str:
    """Go's canonical MIME header form (``x-user-ID`` -> ``X-User-Id``); names with characters
    outside a header token are kept as they are, as Go does."""
    if not name or any(not (c.isalnum() or c in "!#$%&'*+-.^_`|~") or not c.isascii() for c in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def request_variables(
    *,
    query: Mapping[str, list[str]],
    form: Mapping[str, list[str]] | None,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    path: str,
    remote_addr: str,
    request_id: str,
    token: str | None = None,
    jwt_claims: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The ``$tyk_context`` variables of one request, named as Tyk names them.

    * ``request_data_<k>``: first value of ``k``, form body values before query values (Go's
      ``Request.Form`` order);
    * ``headers_<Canonical_Name>``: ``X-User-Id`` -> ``headers_X_User_Id``;
    * ``cookies_<name>`` with ``-`` read as ``_``; ``jwt_claims_<claim>`` (case kept);
    * ``path``; ``path_parts``: the path split on ``/`` and joined with commas (Tyk's rendering of
      its list, so ``/a/b`` is ``,a,b``); ``remote_addr``; ``request_id``; ``token``.
    """
    out: dict[str, str] = {}
    for source in (query, form or {}):
        for key, values in source.items():
            if values:
                out[f"request_data_{key}"] = values[0]  # later sources (form) win
    for name, value in headers.items():
        out["headers_" + canonical_header(name).replace("-", "_")] = value
    for name, value in cookies.items():
        out["cookies_" + name.replace("-", "_")] = value
    for claim, value in (jwt_claims or {}).items():
        out[f"jwt_claims_{claim}"] = to_text(value)
    out["path"] = path
    out["path_parts"] = ",".join(path.split("/"))
    out["remote_addr"] = remote_addr
    out["request_id"] = request_id
    out["token"] = token or ""
    return out


# --- substitution ----------------------------------------------------------------------------


def _substitute(config: Any, key: str | None, lookup: Lookup) -> Any:
    if isinstance(config, dict):
        return {k: _substitute(v, k if isinstance(k, str) else None, lookup) for k, v in config.items()}
    if isinstance(config, list):
        return [_substitute(item, key, lookup) for item in config]
    if isinstance(config, str) and "$tyk_context." in config:
        kind = _field_kind(key)
        if kind == "bloblang":
            return _substitute_bloblang(config, lookup)
        if kind == "topic":
            return _substitute_interpolated(config, lambda s: encode_topic(lookup(s)), raw=True)
        if kind == "verbatim":
            return _substitute_interpolated(config, lambda s: tyk_escape(lookup(s)), raw=True)
        return _substitute_interpolated(config, lookup, raw=False)
    return config


def _substitute_bloblang(src: str, lookup: Lookup) -> str:
    out = []
    for kind, s, e in _bloblang_segments(src):
        part = src[s:e]
        if kind == "code":
            part = PLACEHOLDER.sub(lambda m: bloblang_string(lookup(m.group(1))), part)
        elif kind == "string":
            part = PLACEHOLDER.sub(lambda m: _escape_content(lookup(m.group(1))), part)
        elif kind == "triple" and PLACEHOLDER.search(part):
            part = _split_triple(part, lookup)
        out.append(part)
    return "".join(out)


def _split_triple(literal: str, lookup: Lookup) -> str:
    """Rewrite ``\"\"\"a $tyk_context.x b\"\"\"`` as ``(\"\"\"a \"\"\" + "value" + \"\"\" b\"\"\")``:
    a raw literal has no escapes, so the value must leave it; the parentheses keep precedence."""
    closed = literal.endswith('"""') and len(literal) >= 6
    body = literal[3:-3] if closed else literal[3:]
    parts, pos = [], 0
    for m in PLACEHOLDER.finditer(body):
        if m.start() > pos:
            parts.append('"""' + body[pos : m.start()] + '"""')
        parts.append(bloblang_string(lookup(m.group(1))))
        pos = m.end()
    if pos < len(body):
        parts.append('"""' + body[pos:] + ('"""' if closed else ""))
    return "(" + " + ".join(parts) + ")"


def _substitute_interpolated(text: str, lookup: Lookup, *, raw: bool) -> str:
    out = []
    for kind, s, e in _interpolation_segments(text):
        part = text[s:e]
        if kind == "expr":
            part = _substitute_bloblang(part, lookup)
        elif raw:
            part = PLACEHOLDER.sub(lambda m: lookup(m.group(1)), part)
        else:
            part = PLACEHOLDER.sub(lambda m: _interpolation_safe(lookup(m.group(1))), part)
        out.append(part)
    return "".join(out)


def _interpolation_safe(value: str) -> str:
    if any(c in value for c in "${}"):
        return "${! " + bloblang_string(value) + " }"
    return value


def _escape_content(value: str) -> str:
    out = []
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F or ch in "${}#" or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
