"""``mapping``, ``mutation`` and ``bloblang`` processors: Bloblang over each message.

``mapping`` builds a new message from the input (``root`` starts empty, metadata is kept);
``mutation`` edits the message in place; ``bloblang`` is Bento's older name for ``mapping``.
A failing mapping leaves the message as it was and flags it with the error (Bento's rule), so
``catch``/``try`` can handle it; a mapping that deletes the message drops it.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.bloblang.filters import FieldFilter
from streams.contracts import MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class MappingProcessor(MessageProcessor):
    def __init__(self, source: str, res: Resources, mutate: bool) -> None:
        self.mapping = res.mapping(source)
        self.mutate = mutate
        self.res = res
        self.log = res.logger()

    def deletion_check(self) -> FieldFilter | None:
        """A mapping that only keeps messages whose field equals a literal (the seed's per-user
        filter) says so without running (``streams.bloblang.filters``). A deletion runs no
        metric and logs nothing, so skipping it changes nothing but the time taken."""
        return self.mapping.field_filter

    def process_message(
        self, msg: Message, batch: list[Message], index: int, txn: Transaction
    ) -> Message | None:
        try:
            if self.mutate:
                return self.mapping.mutate_message(msg, batch, index)
            return self.mapping.apply_message(msg, batch, index)
        except MappingError as exc:
            self.log.debug(f"mapping failed: {exc}")
            self.res.incr("processor_error")
            msg.error = str(exc)
            return msg


def _mapping(conf: dict[str, Any], res: Resources) -> MappingProcessor:
    return MappingProcessor(conf["mapping"], res, mutate=False)


def _bloblang(conf: dict[str, Any], res: Resources) -> MappingProcessor:
    return MappingProcessor(conf["bloblang"], res, mutate=False)


def _mutation(conf: dict[str, Any], res: Resources) -> MappingProcessor:
    return MappingProcessor(conf["mutation"], res, mutate=True)


SPEC_MAPPING = registry.processor(
    "mapping",
    _mapping,
    Field("mapping", "string", doc="Bloblang mapping; the result replaces the message."),
    scalar_field="mapping",
    doc="Build a new message with Bloblang.",
)

SPEC_BLOBLANG = registry.processor(
    "bloblang",
    _bloblang,
    Field("bloblang", "string", doc="Bloblang mapping (the older name of `mapping`)."),
    scalar_field="bloblang",
    doc="Build a new message with Bloblang (deprecated name of mapping).",
)

SPEC_MUTATION = registry.processor(
    "mutation",
    _mutation,
    Field("mutation", "string", doc="Bloblang mapping applied to the message in place."),
    scalar_field="mutation",
    doc="Edit the message with Bloblang.",
)
