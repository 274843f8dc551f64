"""``log`` processor: write a log line per message, message untouched."""

from __future__ import annotations

import logging
from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "ALL": logging.DEBUG,
}


class LogProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        level = str(conf["level"]).upper()
        if level not in LEVELS and level != "NONE":
            raise ConfigError(f"{res.path}.level: unknown level {conf['level']!r}")
        self.level = LEVELS.get(level)
        self.message = res.interpolation(conf["message"])
        self.fields_mapping = res.mapping(conf["fields_mapping"], "fields_mapping") if conf["fields_mapping"] else None
        self.static_fields = {k: res.interpolation(str(v)) for k, v in (conf["fields"] or {}).items()}
        self.log = res.logger()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        # PERF: the interpolations and fields_mapping run per message; not for a dropped line.
        if self.level is None or not self.log.enabled_for(self.level):
            return msg
        try:
            fields: dict[str, Any] = {k: v.render(msg, batch, index) for k, v in self.static_fields.items()}
            text = self.message.render(msg, batch, index)
        except MappingError as exc:
            self.log.error(f"log message interpolation failed: {exc}")
            return msg
        if self.fields_mapping is not None:

            try:
                out = self.fields_mapping.apply_message(msg, batch, index)
                value = out.value if out is not None else None
                if isinstance(value, dict):
                    fields.update(value)
            except (MappingError, ValueError) as exc:
                self.log.error(f"log fields_mapping failed: {exc}")
        self.log.log(self.level, text, **{"fields": fields} if fields else {})
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> LogProcessor:
    return LogProcessor(conf, res)


SPEC = registry.processor(
    "log",
    _factory,
    Field("level", "string", "INFO", "FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL or NONE."),
    Field("fields_mapping", "string", "", "Bloblang mapping whose object result becomes log fields."),
    Field("fields", "object", {}, "Static log fields (values interpolated); older form of fields_mapping."),
    Field("message", "string", "", "The log text (interpolated)."),
    doc="Log each message.",
)
