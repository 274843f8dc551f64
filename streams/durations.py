"""Go duration strings (``5s``, ``100ms``, ``1m30s``) as Bento configs write them, in seconds.

A leaf module: telemetry blocks (``metrics.prometheus.push_interval``, ``tracer.jaeger.
flush_interval``) are read outside the engine, and reading them must not import it.
"""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value: object, default: float | None = None) -> float:
    """Seconds for a Go duration string; plain numbers are seconds.

    An empty string gives ``default`` (Bento writes "" for "off"); a malformed value raises
    ``ValueError`` so that a bad config is reported instead of silently meaning zero.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        if default is None:
            raise ValueError("empty duration")
        return default
    sign = -1.0 if text[0] == "-" else 1.0
    text = text[1:] if text[0] in "+-" else text
    if text == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(text):
        part = _PART.match(text, pos)
        if part is None:
            raise ValueError(f"invalid duration {value!r}")
        total += float(part.group(1)) * _UNITS[part.group(2)]
        pos = part.end()
    if pos == 0:
        raise ValueError(f"invalid duration {value!r}")
    return sign * total
