"""``unarchive`` processor: each message into the messages it holds, in ``binary``, ``lines``,
``json_documents``, ``json_array``, ``json_map`` (key in ``archive_key`` metadata), ``csv`` or
``csv:<delimiter>`` (rows as objects keyed by the header), ``xml_documents_to_json`` or
``xml_documents_to_json:cast`` (each document of concatenated XML as ``parse_xml`` reads it, with
or without ``cast``), ``tar`` or ``zip`` (file name in ``archive_filename`` metadata) format. The
new messages keep the original's metadata; one that does not unarchive stays as it was, flagged
with the error."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import goxml
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors import archive_formats as fmt
from streams.registry import Field

FORMATS = (
    "binary",
    "lines",
    "json_documents",
    "json_array",
    "json_map",
    "csv",
    "tar",
    "zip",
    "xml_documents_to_json",
    "xml_documents_to_json:cast",
)


class UnarchiveProcessor(MessageProcessor):
    def __init__(self, fmt_name: str, res: Resources) -> None:
        self.format = fmt_name
        self.delimiter = ","
        if fmt_name.startswith("csv:"):
            self.format, self.delimiter = "csv", fmt_name[4:]
            if len(self.delimiter) != 1:
                raise ConfigError(f"{res.path}.format: csv format requires a single character delimiter")
        elif fmt_name not in FORMATS:
            raise ConfigError(f"{res.path}.format: archive format not recognised: {fmt_name}")
        self.log = res.logger()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> list[Message]:
        try:
            return self._unarchive(msg)
        except (fmt.ArchiveError, ValueError) as exc:
            msg.error = str(exc)
            self.log.error(f"failed to unarchive message: {exc}")
            return [msg]

    def _unarchive(self, msg: Message) -> list[Message]:
        if self.format in ("tar", "zip"):
            files = fmt.unpack_tar(msg.content) if self.format == "tar" else fmt.unpack_zip(msg.content)
            return [_part(msg, content, archive_filename=name) for name, content in files]
        if self.format == "binary":
            return [_part(msg, content) for content in fmt.unpack_binary(msg.content)]
        if self.format == "lines":
            return [_part(msg, line) for line in msg.content.split(b"\n")]
        if self.format == "json_documents":
            return [_valued(msg, v) for v in fmt.split_json_documents(msg.content)]
        if self.format == "csv":
            return [_valued(msg, row) for row in fmt.read_csv(msg.content, self.delimiter)]
        if self.format.startswith("xml_documents_to_json"):
            docs = list(goxml.documents(msg.content, cast=self.format.endswith(":cast")))
            return [_valued(msg, doc) for doc in docs]
        kind = "array" if self.format == "json_array" else "map"
        try:
            doc = msg.value
        except ValueError as exc:
            raise fmt.ArchiveError(f"failed to parse message into JSON {kind}: {exc}") from None
        if kind == "array":
            if not isinstance(doc, list):
                raise fmt.ArchiveError(f"failed to parse message into JSON array: invalid type '{_go_type(doc)}'")
            return [_valued(msg, v) for v in doc]
        if not isinstance(doc, dict):
            raise fmt.ArchiveError(f"failed to parse message into JSON map: invalid type '{_go_type(doc)}'")
        return [_valued(msg, v, archive_key=k) for k, v in doc.items()]


def _part(msg: Message, content: bytes, **meta: str) -> Message:
    out = msg.copy()
    out.set_content(content)
    out.metadata.update(meta)
    return out


def _valued(msg: Message, value: Any, **meta: str) -> Message:
    out = msg.copy()
    out.set_value(value)
    out.metadata.update(meta)
    return out


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "<nil>"
    return "json.Number" if isinstance(value, int | float) else type(value).__name__


def _factory(conf: dict[str, Any], res: Resources) -> UnarchiveProcessor:
    return UnarchiveProcessor(conf["format"], res)


SPEC = registry.processor(
    "unarchive",
    _factory,
    Field("format", "string", doc="The archive format (csv:<delimiter> for another delimiter)."),
    doc="Expand archived messages into several messages.",
)
