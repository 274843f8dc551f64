"""Structured log lines and metrics for the engine.

Log lines go through the standard ``logging`` module (logger ``streams.engine``) with the
stream's fields (api, stream, component, topic/partition/offset...) as record attributes, which
the JSON formatter of ``streams.observability`` writes out. Metrics go to
``streams.observability.METRICS``.
"""

from __future__ import annotations

import logging
from typing import Any

from streams.observability import METRICS

_logger = logging.getLogger("streams.engine")
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class StreamLog:
    """A logger bound to fields; ``log.error("text", topic=..., offset=...)`` adds more. Its
    fields never change once made (``bind`` makes another), so one may be shared."""

    __slots__ = ("fields",)

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def bind(self, **fields: Any) -> StreamLog:
        return StreamLog(**{**self.fields, **fields})

    @staticmethod
    def enabled_for(level: int) -> bool:
        """False when a line at ``level`` would be dropped: callers skip building it."""
        return _logger.isEnabledFor(level)

    def _log(self, level: int, msg: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if not _logger.isEnabledFor(level):
            return
        extra = {(k if k not in _RESERVED else f"{k}_"): v for k, v in {**self.fields, **fields}.items()}
        _logger.log(level, msg, exc_info=exc_info, extra=extra, stacklevel=3)

    def debug(self, msg: str, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, False, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._log(logging.INFO, msg, False, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._log(logging.WARNING, msg, False, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._log(logging.ERROR, msg, False, fields)

    def exception(self, msg: str, **fields: Any) -> None:
        self._log(logging.ERROR, msg, True, fields)

    def log(self, level: int, msg: str, **fields: Any) -> None:
        self._log(level, msg, False, fields)


def metric(kind: str, name: str, value: float, /, **tags: str) -> None:
    """Send one metric (``incr``, ``timing`` or ``gauge``); never fails the caller. The three are
    positional, so a tag may be called ``kind``, ``name`` or ``value``."""
    try:
        getattr(METRICS, kind)(name, value, **tags)
    except Exception:
        metric_failed(name)


def metric_failed(name: str) -> None:
    """Log (at debug) a metric that raised; called from the ``except`` that caught it."""
    _logger.debug("metric %s failed", name, exc_info=True)
