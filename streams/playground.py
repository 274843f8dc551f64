"""The console's Bloblang playground: one mapping run against one message, with bounds.

What a run answers is what Benthos's ``blobl server`` answers for the same mapping and input
(``parse_error`` is ``failed to parse mapping: `` plus the structured error with its caret line,
``mapping_error`` the execution error as is, ``result`` the output printed as that server
prints it: strings raw, other values as indented JSON), plus the output metadata and whether the
message was deleted.

The playground is reachable from a browser, so a run is bounded:

* sizes: the mapping, the input document and the metadata are refused above ``Limits`` (a
  ``PlaygroundRefused``, which the HTTP layer turns into a 4xx), the result above
  ``output_bytes`` is replaced by an error;
* host and time: ``env``, ``file``, ``hostname``, imports, clocks and random ids are refused at
  parse time with the reason (``REFUSED_FUNCTIONS``): their results differ per run or leak the
  host;
* time and memory: the gateway runs mappings in a helper process (``streams.playground_helper``,
  started and killed by ``streams.playground_runner``) whose address space is capped and which is
  killed at the deadline, so no mapping can hold a worker: a Python loop cannot be interrupted from inside
  the process, and a single huge ``repeat`` never returns to Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streams import bloblang
from streams.bloblang.cli import render, structured_error
from streams.bloblang.errors import ExecError
from streams.bloblang.values import DELETE, NOTHING, to_json, to_string
from streams.message import Message

_CHANGES_PER_RUN = "its result changes from run to run"
REFUSED_FUNCTIONS: dict[str, str] = {
    **{name: _CHANGES_PER_RUN for name in (
        "now", "timestamp_unix", "timestamp_unix_milli", "timestamp_unix_micro", "timestamp_unix_nano",
        "uuid_v4", "uuid_v7", "ksuid", "nanoid", "random_int", "count",
    )},
    "env": "it reads the gateway's environment",
    "hostname": "it reads the gateway's host name",
    "file": "it reads the gateway's files",
    "file_rel": "it reads the gateway's files",
}
"""Functions the playground refuses, with the reason its parse error gives."""


@dataclass(frozen=True)
class Limits:
    """Bounds of one run."""

    seconds: float = 2.0
    mapping_bytes: int = 64 * 1024
    input_bytes: int = 256 * 1024
    metadata_bytes: int = 64 * 1024
    output_bytes: int = 1024 * 1024
    memory_bytes: int = 256 * 1024 * 1024
    """Address space the child may add to what the worker already holds."""


class PlaygroundRefused(ValueError):
    """A request the playground does not run (too large, malformed); the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.http_status = status


@dataclass(frozen=True)
class Run:
    """One run's input: the mapping, the message content and its metadata."""

    mapping: str
    input: str
    metadata: dict[str, Any]

    @classmethod
    def from_request(cls, body: Any, limits: Limits) -> Run:
        """Check a request body ``{"mapping", "input", "metadata"}`` against ``limits``."""
        if not isinstance(body, dict):
            raise PlaygroundRefused('the body must be a JSON object {"mapping": ..., "input": ..., "metadata": {...}}')
        mapping, text, metadata = body.get("mapping", ""), body.get("input", ""), body.get("metadata") or {}
        if not isinstance(mapping, str) or not isinstance(text, str):
            raise PlaygroundRefused("mapping and input must be strings")
        if not isinstance(metadata, dict):
            raise PlaygroundRefused("metadata must be a JSON object")
        _within("mapping", len(mapping.encode("utf-8", "surrogatepass")), limits.mapping_bytes)
        _within("input", len(text.encode("utf-8", "surrogatepass")), limits.input_bytes)
        _within("metadata", len(orjson.dumps(metadata)), limits.metadata_bytes)
        return cls(mapping, text, metadata)


def _within(what: str, size: int, limit: int) -> None:
    if size > limit:
        raise PlaygroundRefused(f"{what} is {size} bytes, over the playground's limit of {limit} bytes", 413)


def evaluate(run: Run, limits: Limits | None = None) -> dict[str, Any]:
    """Parse and run ``run`` in this process (no time bound: see ``streams.playground_runner``)."""
    limits = limits or Limits()
    answer: dict[str, Any] = {"parse_error": "", "mapping_error": "", "result": None, "metadata": {}, "deleted": False}
    try:
        mapping = bloblang.parse(run.mapping, imports=False, refused_functions=REFUSED_FUNCTIONS, filename="playground")
    except bloblang.ParseError as exc:
        answer["parse_error"] = f"failed to parse mapping: {structured_error(run.mapping, exc)}\n"
        return answer
    content = run.input.encode("utf-8", "surrogateescape")
    msg = Message(content, dict(run.metadata))
    try:
        answer["result"], answer["deleted"] = _execute(mapping, msg, content)
    except bloblang.MappingError as exc:
        answer["mapping_error"] = str(exc)
        return answer
    answer["metadata"] = {key: _plain(value) for key, value in sorted(msg.metadata.items())}
    if len(answer["result"].encode("utf-8", "surrogateescape")) > limits.output_bytes:
        answer["result"] = None
        answer["mapping_error"] = f"the result is over the playground's limit of {limits.output_bytes} bytes"
    return answer


def _execute(mapping: bloblang.Mapping, msg: Message, content: bytes) -> tuple[str, bool]:
    """The printed result and whether the message was deleted, as ``blobl server`` prints it."""
    ctx = mapping._context([msg], 0, msg.metadata, NOTHING)
    mapping._run(ctx)
    result = ctx.root
    if result is DELETE:
        return "", True
    if result is NOTHING:  # root never assigned: the input as it was
        try:
            return render(ctx.doc(""), pretty=True), False
        except ExecError:
            return content.decode("utf-8", "surrogateescape"), False
    return render(result, pretty=True), False


def _plain(value: Any) -> Any:
    """A metadata value as JSON can carry it."""
    try:
        return orjson.loads(to_json(value))
    except (ValueError, TypeError):
        return to_string(value)


def failed(message: str) -> dict[str, Any]:
    """An answer with only a ``mapping_error`` (a bound the run went over)."""
    return {"parse_error": "", "mapping_error": message, "result": None, "metadata": {}, "deleted": False}
