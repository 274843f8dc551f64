"""Structured log lines: JSON and text formatters, and loggers with bound fields.

A leaf module (standard library only), so everything that logs with fields (``observability``,
``tracing``, the engine) imports it without importing each other. ``observability.setup_logging``
installs the formatters.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from types import TracebackType
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
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = exception_summary(record.exc_info[1])
            entry["exc_at"] = exception_frames(record.exc_info[2])
        elif record.exc_text:
            entry["exc"] = " ".join(record.exc_text.split())[-MAX_EXC_CHARS:]
        return json.dumps(entry, ensure_ascii=False, default=str)


MAX_EXC_CHARS = 300
"""Longest exception message kept in a log line: an error's text may quote what a client sent."""
MAX_FRAMES = 8


_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def hide_values(text: str) -> str:
    """An error message without the values it quotes: Bloblang and Kafka errors quote what a
    message held in double quotes (``parsing "<content>": invalid syntax``), while names
    (topics, fields) are quoted in single ones and stay."""
    return _DOUBLE_QUOTED.sub('"…"', text)


def exception_summary(exc: BaseException) -> str:
    """``Type: message`` on one line, cut at ``MAX_EXC_CHARS``, quoted values hidden."""
    text = hide_values(" ".join(str(exc).split()))
    if len(text) > MAX_EXC_CHARS:
        text = text[:MAX_EXC_CHARS] + "..."
    name = type(exc).__qualname__
    return f"{name}: {text}" if text else name


def exception_frames(tb: TracebackType | None) -> str:
    """Where it happened, innermost last, on one line: ``file.py:12 func < ...`` (the last
    ``MAX_FRAMES`` frames, file names without their directories; no source text, no locals)."""
    frames = traceback.extract_tb(tb)[-MAX_FRAMES:] if tb is not None else []
    return " > ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames)


class RateLimitFilter(logging.Filter):
    """Lets through one record per (logger, level) every ``interval`` seconds (for
    loggers whose name starts with ``prefix``) and
    counts the rest, so a library that logs every reconnect attempt during an outage writes a
    line now and then instead of a flood. The next line let through says how many were
    dropped (``suppressed``). ``clock`` is injectable for tests."""

    def __init__(self, interval: float, prefix: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.prefix = prefix
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._dropped: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefix):
            return True
        # By level, not message text: libraries format numbers (backoffs, node ids) into it.
        key = (record.name, str(record.levelno))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.suppressed = dropped
        return True


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
        if record.exc_info and record.exc_info[1] is not None:
            line += f" exc={exception_summary(record.exc_info[1])!r} at={exception_frames(record.exc_info[2])}"
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




HANDLER_MARK = "_streams_handler"
"""Attribute set on the handlers this project installs, so installing again replaces them."""


def stderr_handler(log_format: str = "json") -> logging.Handler:
    """The one handler every line goes through: stderr, one record per line, in ``log_format``
    (``json`` or ``text``). gunicorn's ``logconfig_dict`` builds it in the master, and
    ``observability.setup_logging`` replaces it in each worker."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, HANDLER_MARK, True)
    return handler


def gunicorn_logconfig(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error and access loggers write through
    :func:`stderr_handler` like everything else instead of their own plain-text handlers."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": ["streams"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
        "handlers": {"streams": {"()": stderr_handler, "log_format": log_format}},
        "formatters": {},
    }


_QUERY_VALUE = re.compile(r"([?&;][^=\s&;'\"?#]*=)[^\s&;'\"#]*")
_CREDENTIAL = re.compile(
    r"(?i)\b(bearer|basic|token|authorization|cookie|x-tyk-authorization)([\s:=]+)(?:(?:bearer|basic|digest)\s+)?\S+"
)
_QUOTED = re.compile(r"('[^']{40})[^']+'")


def redact(text: str) -> str:
    """A server message (e.g. an invalid request line) without what a client could hide in it:
    query-string values, credentials after their usual keywords, long quoted input; one line."""
    text = " ".join(text.split())
    text = _QUERY_VALUE.sub(r"\1…", text)
    text = _CREDENTIAL.sub(r"\1\2…", text)
    text = _QUOTED.sub(r"\1…'", text)
    return text[:MAX_EXC_CHARS]
