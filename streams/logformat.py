"""Structured log lines: JSON and text formatters, and loggers with bound fields.

A leaf module (standard library only), so everything that logs with fields (``observability``,
``tracing``, the engine) imports it without importing each other. ``observability.setup_logging``
installs the formatters.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; extra fields are kept as they are (``default=str`` for the rest)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``ts level logger: msg key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS and not k.startswith("_")
        )
        ts = datetime.datetime.fromtimestamp(record.created, datetime.UTC).strftime("%H:%M:%S.%f")[:-3]
        line = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class FieldsAdapter(logging.LoggerAdapter[logging.Logger]):
    """A logger with bound fields; call-site ``extra`` adds to them instead of replacing them."""

    def __init__(self, logger: logging.Logger, fields: Mapping[str, Any]) -> None:
        super().__init__(logger, dict(fields))
        self.fields: dict[str, Any] = dict(fields)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**self.fields, **(kwargs.get("extra") or {})}
        return msg, kwargs

    def bind(self, **fields: Any) -> FieldsAdapter:
        """A child logger with more fields."""
        return FieldsAdapter(self.logger, {**self.fields, **fields})


def get_logger(name: str = "streams", /, **fields: Any) -> FieldsAdapter:
    """A logger whose every line carries ``fields`` (e.g. ``api=..., stream=...``)."""
    return FieldsAdapter(logging.getLogger(name), fields)


