"""Go duration strings (``5s``, ``100ms``, ``1m30s``) as used by Bento configs, in seconds."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value: object, default: float | None = None) -> float:
    """Seconds for a Go duration string; plain numbers are taken as seconds.

    An empty string gives ``default`` (Bento uses "" for "disabled"); a malformed value raises
    ``ValueError`` so a bad config is reported instead of silently meaning zero.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")  # noqa: TRY004 - callers report ValueError as a config error
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text == "":
        if default is None:
            raise ValueError("empty duration")
        return default
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    pos = 0
    total = 0.0
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m:
            raise ValueError(f"invalid duration {value!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0:
        raise ValueError(f"invalid duration {value!r}")
    return sign * total
