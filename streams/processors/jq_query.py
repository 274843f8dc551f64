"""``jq`` processor: transform or filter each message with a jq query (libjq via PyPI ``jq``).

Bento's rules (``processor_jq.go``): the query runs on the payload as JSON, or as one string
with ``raw: true``; ``$metadata`` holds the message's metadata. No value emitted drops the
message, one value replaces the payload (a string as a JSON string), several become an array.
With ``output_raw: true``
the emitted values are written one after the other, strings unquoted and others as JSON (and
nothing emitted still drops the message). A failing query leaves the message as it was and
flags it with the error.

The user's query runs inside a fixed prefix that binds ``$metadata`` and hides ``env`` and
``$ENV``: a stream's query must not read the gateway's environment (its secrets). Module
directives (``import``, ``include``: reading files of the host) cannot follow the prefix, so
they are refused as syntax errors, and ``$tyk_context`` placeholders are refused at load
(``query_checks``). Bento uses gojq: libjq's error texts differ, and it reads integers beyond
2^53 as floats where gojq keeps them exact.
"""

from __future__ import annotations

import re
from typing import Any

import jq

from streams import registry
from streams.bloblang.values import to_json_bytes
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.query_checks import compiles
from streams.registry import Field

PRELUDE = "def env: {}; {} as $ENV | . as [$metadata, $__input] | $__input | (\n"
"""Runs before the query, on its own line: the query's line N is the program's line N + 1."""

_WHERE = re.compile(r"^jq: error: (?P<what>.*?) at <top-level>, line (?P<line>\d+), column (?P<column>\d+):?$")


def one_line_error(text: str, query: str) -> str:
    """libjq's compile error about the wrapped program as one line about the user's query: its
    first line, in the query's own line numbers (a problem found on the prelude's closing line
    is reported at the end of the query)."""
    first = text.strip().splitlines()[0] if text.strip() else text
    match = _WHERE.match(first)
    if match is None:
        return first.removeprefix("jq: error: ")
    line = int(match.group("line")) - 1
    if line > len(query.splitlines() or [""]):
        return f"{match.group('what')} at the end of the query"
    return f"{match.group('what')} at line {line}, column {match.group('column')}"


def compile_query(text: str) -> Any:
    """The compiled (wrapped) program; raises ``ValueError`` with Bento's prefix."""
    try:
        return jq.compile(PRELUDE + text + "\n)")
    except ValueError as exc:
        raise ValueError(f"error parsing jq query: {one_line_error(str(exc), text)}") from None


def set_structured(msg: Message, value: Any) -> None:
    """The payload becomes ``value`` as Bento's ``SetStructuredMut`` leaves it: a string is
    written as a JSON string (quoted; ``output_raw`` is how to get it bare), anything else as is."""
    if isinstance(value, str):
        msg.set_content(to_json_bytes(value))
    else:
        msg.set_value(value)


def raw_text(values: list[Any]) -> bytes:
    """``output_raw``: strings as they are, other values as JSON, concatenated (Bento's marshalRaw)."""
    return b"".join(v.encode("utf-8") if isinstance(v, str) else to_json_bytes(v) for v in values)


class JqProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        try:
            self.program = compile_query(str(conf["query"]))
        except ValueError as exc:
            raise ConfigError(f"{res.path}.query: {exc}") from None
        self.raw_in = bool(conf["raw"])
        self.raw_out = bool(conf["output_raw"])
        self.log = res.logger()
        self.res = res

    def _input_text(self, msg: Message) -> str:
        """``[metadata, input]`` as JSON text, the prelude's input."""
        subject: Any = msg.content.decode("utf-8", "replace") if self.raw_in else msg.value
        return "[" + to_json_bytes(msg.metadata).decode() + "," + to_json_bytes(subject).decode() + "]"

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message | None:
        try:
            emitted = self.program.input_text(self._input_text(msg)).all()
        except ValueError as exc:
            self.log.debug(f"jq failed: {exc}")
            self.res.incr("processor_error")
            msg.error = str(exc)
            return msg
        if not emitted:
            return None
        if self.raw_out:
            msg.set_content(raw_text(emitted))
        else:
            set_structured(msg, emitted[0] if len(emitted) == 1 else emitted)
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> JqProcessor:
    return JqProcessor(conf, res)


SPEC = registry.processor(
    "jq",
    _factory,
    Field("query", "string", doc="The jq query to filter and transform messages with.", check=compiles(compile_query, "a jq query")),
    Field("raw", "bool", False, "Process the payload as one raw string instead of as JSON."),
    Field("output_raw", "bool", False, "Write emitted strings unquoted (other values as JSON), concatenated."),
    doc="Transform and filter messages with jq.",
)
