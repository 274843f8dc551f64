"""``grok`` processor: parse unstructured text into a JSON object with grok expressions.

Bento's rules (``processor_grok.go``): the expressions are tried in order and the first that
yields at least one value replaces the payload with an object of those values (dotted field
names make nested objects); an expression whose typed value does not convert is skipped; when
none yields a value the message is flagged ``no pattern matches found`` and left as it was.
Fields and defaults are Bento's: ``pattern_definitions``, ``named_captures_only`` (true),
``use_default_patterns`` (true), ``remove_empty_values`` (true), ``pattern_paths``.

``pattern_paths`` name files (or directories, or globs) of ``NAME pattern`` lines; Bento reads
them anywhere on the host. Here they must lie inside the definitions directory
(``local_files``): a stream must not read the host's other files, whose lines would come back
in error texts and parsed messages.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from streams import registry
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors import local_files
from streams.processors.grok_compiler import CastError, CompiledGrok, GrokCompiler, GrokError, set_path
from streams.processors.query_checks import no_placeholders
from streams.registry import Field

NO_MATCH = "no pattern matches found"


def parse_pattern_lines(text: str, where: str) -> dict[str, str]:
    """``NAME pattern`` lines; blank lines and ``#`` comments skipped."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, sep, pattern = line.partition(" ")
        if not sep:
            raise ConfigError(f"{where}: a pattern line needs a name and a pattern: {line!r}")
        found[name] = pattern
    return found


def patterns_from_paths(paths: list[str], root: str, where: str) -> dict[str, str]:
    """The definitions in the files ``paths`` name, read from inside ``root``."""
    found: dict[str, str] = {}
    for path in paths:
        real = local_files.inside(root, path, where)
        if not os.path.exists(real):
            raise ConfigError(f"{where}: failed to parse patterns from path '{path}': no such file or directory")
        files = sorted(glob.glob(os.path.join(real, "*"))) if os.path.isdir(real) else [real]
        if any(ch in path for ch in "*?["):
            files = sorted(glob.glob(real, recursive=True))
        for name in files:
            if os.path.isfile(name):
                found.update(parse_pattern_lines(local_files.read_text(root, name, where), where))
    return found


def compile_all(conf: dict[str, Any], extra: dict[str, str]) -> list[CompiledGrok]:
    """The compiled expressions of a config (``GrokError`` with Bento's wording)."""
    definitions = {str(k): str(v) for k, v in (conf["pattern_definitions"] or {}).items()}
    definitions.update(extra)
    try:
        compiler = GrokCompiler(
            definitions,
            named_only=bool(conf["named_captures_only"]),
            use_defaults=bool(conf["use_default_patterns"]),
            remove_empty=bool(conf["remove_empty_values"]),
        )
    except GrokError as exc:
        raise GrokError(f"failed to create grok compiler: {exc}") from None
    compiled = []
    for expression in conf["expressions"]:
        try:
            compiled.append(compiler.compile(str(expression)))
        except GrokError as exc:
            raise GrokError(f"failed to compile Grok pattern '{expression}': {exc}") from None
    return compiled


class GrokProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        where = f"{res.path}.pattern_paths"
        extra = patterns_from_paths([str(p) for p in conf["pattern_paths"] or []], res.settings.definitions_dir, where)
        try:
            self.parsers = compile_all(conf, extra)
        except GrokError as exc:
            raise ConfigError(f"{res.path}: {exc}") from None
        self.log = res.logger()
        self.res = res

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        text = msg.content.decode("utf-8", "replace")
        values: dict[str, Any] = {}
        for parser in self.parsers:
            try:
                values = parser.parse_typed(text)
            except CastError as exc:
                self.log.debug(f"grok: failed to parse body: {exc}")
                values = {}
                continue
            if values:
                break
        if not values:
            self.res.incr("processor_error")
            msg.error = NO_MATCH
            return msg
        document: dict[str, Any] = {}
        for key, value in values.items():
            set_path(document, key, value)
        msg.set_value(document)
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> GrokProcessor:
    return GrokProcessor(conf, res)


SPEC = registry.processor(
    "grok",
    _factory,
    Field("expressions", "string_list", doc="Grok expressions tried in order; the first yielding a value wins.",
          check=no_placeholders("a grok expression")),
    Field("pattern_definitions", "object", {}, "Extra patterns by name, usable in the expressions.",
          check=no_placeholders("a grok pattern")),
    Field("pattern_paths", "string_list", [], "Pattern files (NAME pattern lines) inside the definitions directory.",
          check=no_placeholders("a pattern path")),
    Field("named_captures_only", "bool", True, "Capture only references that name a field."),
    Field("use_default_patterns", "bool", True, "Offer the default pattern set."),
    Field("remove_empty_values", "bool", True, "Leave out fields that captured nothing."),
    doc="Parse unstructured text into a JSON object with grok expressions.",
)
