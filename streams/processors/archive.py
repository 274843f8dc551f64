"""``archive`` processor: every message of a batch into one message, in ``binary``,
``concatenate``, ``lines`` (joined by newlines, with a trailing one), ``json_array``, ``tar`` or
``zip`` format. The result keeps the first message's metadata; ``path`` (interpolated per
message) names each file in a tar or zip. A ``json_array`` over a message that is not JSON
flags every message of the batch and keeps them, as Bento does."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors import archive_formats as fmt
from streams.registry import Field

FORMATS = ("binary", "concatenate", "json_array", "lines", "tar", "zip")


class ArchiveProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.format = conf["format"]
        self.path = res.interpolation(conf["path"])
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        if not batch:
            return batch
        try:
            result = self._archive(batch)
        except (fmt.ArchiveError, ValueError) as exc:
            error = f"failed to create archive: {exc}"
            self.log.error(error)
            for msg in batch:
                msg.error = error
            return batch
        out = batch[0].copy()
        if isinstance(result, bytes):
            out.set_content(result)
        else:
            out.set_value(result)
        return [out]

    def _archive(self, batch: list[Message]) -> bytes | list[Any]:
        if self.format == "json_array":
            values = []
            for msg in batch:
                try:
                    values.append(msg.value)
                except ValueError as exc:
                    raise fmt.ArchiveError(f"failed to parse message as JSON: {exc}") from None
            return values
        contents = [msg.content for msg in batch]
        if self.format == "binary":
            return fmt.pack_binary(contents)
        if self.format == "concatenate":
            return b"".join(contents)
        if self.format == "lines":
            return b"\n".join(contents) + b"\n"
        files = [(self._name(batch, i), content) for i, content in enumerate(contents)]
        return fmt.pack_tar(files) if self.format == "tar" else fmt.pack_zip(files)

    def _name(self, batch: list[Message], index: int) -> str:
        try:
            return self.path.render(batch[index], batch, index)
        except MappingError as exc:
            self.log.error(f"archive path interpolation failed: {exc}")
            return ""


def _factory(conf: dict[str, Any], res: Resources) -> ArchiveProcessor:
    return ArchiveProcessor(conf, res)


SPEC = registry.processor(
    "archive",
    _factory,
    Field("format", "string", doc="The archive format.", options=FORMATS),
    Field("path", "string", "", "Interpolated file name of each message in a tar or zip."),
    doc="Archive the messages of a batch into one message.",
)
