"""``json_schema`` processor: check each message against a JSON Schema, never changing it.

As in Bento (``processor_jsonschema.go``): the schema comes from ``schema`` (the document as
text) or ``schema_path`` (``file://...``); a message that is not JSON, or does not match, is
flagged with the error and passes on unchanged, so ``catch`` or ``switch`` on ``errored()`` can
answer it. The error text is Bento's (see ``schema_errors``). The draft is the schema's
``$schema`` (draft 4, 6, 7, 2019-09, 2020-12), draft 7 when it names none.

``schema_path`` is read once when the stream is built, from inside the definitions directory
(``local_files``); Bento also fetches ``http://`` schemas, which the gateway refuses: a stream
must not make its host fetch from the network at load time.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

from streams import registry
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors import local_files, schema_errors
from streams.processors.query_checks import Problems, compiles, no_placeholders
from streams.registry import Field


def validator_for(text: str) -> Any:
    """A validator for the schema document ``text``; ``ValueError`` when it is not a schema."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"failed to load JSON schema definition: {exc}") from None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"failed to load JSON schema definition: {exc.message}") from None
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


_check_schema_text = compiles(validator_for, "a JSON schema")


def _check_path(value: object) -> Problems:
    refused = no_placeholders("a schema path")(value)
    if refused:
        return refused
    if isinstance(value, str) and value and not value.startswith("file://"):
        return [((), "must start with file:// (an http:// schema is not fetched by the gateway)")]
    return []


def schema_text(conf: dict[str, Any], res: Resources) -> str:
    """The schema document the config names (``schema`` or ``schema_path``)."""
    if conf["schema_path"]:
        path = str(conf["schema_path"])
        where = f"{res.path}.schema_path"
        if not path.startswith("file://"):
            raise ConfigError(f"{where}: invalid schema_path provided, must start with file://")
        return local_files.read_text(res.settings.definitions_dir, path.removeprefix("file://"), where)
    if conf["schema"]:
        return str(conf["schema"])
    raise ConfigError(f"{res.path}: either schema or schema_path must be provided")


class JsonSchemaProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        text = schema_text(conf, res)
        try:
            self.validator = validator_for(text)
        except ValueError as exc:
            raise ConfigError(f"{res.path}: {exc}") from None
        self.log = res.logger()
        self.res = res

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            document = msg.value
        except ValueError as exc:
            self.log.debug(f"json_schema: the message is not JSON: {exc}")
            self.res.incr("processor_error")
            msg.error = str(exc)
            return msg
        problems = sorted(self.validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
        if problems:
            self.res.incr("processor_error")
            msg.error = "\n".join(schema_errors.line(e) for e in problems)
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> JsonSchemaProcessor:
    return JsonSchemaProcessor(conf, res)


SPEC = registry.processor(
    "json_schema",
    _factory,
    Field("schema", "string", "", "The schema document (JSON). Use this or schema_path.", check=_check_schema_text),
    Field("schema_path", "string", "", "file:// path of the schema, inside the definitions directory.", check=_check_path),
    doc="Check messages against a JSON Schema; a mismatch flags the message.",
)
