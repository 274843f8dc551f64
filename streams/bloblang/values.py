"""Runtime values of Bloblang, mapped onto plain Python objects.

| Bloblang (Go)          | Python                                                            |
|------------------------|-------------------------------------------------------------------|
| null                   | ``None``                                                          |
| bool                   | ``bool`` (NOTE: ``bool`` is an ``int`` subclass: test bool first)  |
| int64 / uint64         | ``int`` (the runtime wraps to 64 bits where Go would)             |
| float64                | ``float``                                                         |
| json.Number (input)    | ``int`` when its text is an int64, else ``JsonFloat`` (keeps text)|
| string                 | ``str``                                                           |
| []byte                 | ``bytes``                                                         |
| time.Time              | ``Timestamp``                                                     |
| array / object         | ``list`` / ``dict`` (str keys)                                    |
| Nothing / Delete       | the sentinels ``NOTHING`` / ``DELETE``                            |

Structured values flow between processors as these objects; they are turned into bytes only at
the edges (``to_payload``), with Go's encoding/json rules (sorted keys, no HTML escaping, Go float
formatting).
"""

from __future__ import annotations

from typing import Any


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


NOTHING: Any = _Sentinel("NOTHING")
"""No value: an assignment of it is skipped (``if`` without ``else``, ``nothing()``)."""

DELETE: Any = _Sentinel("DELETE")
"""``deleted()``: removes the assignment's target (the whole message for ``root``)."""


class JsonFloat(float):
    """A float decoded from input JSON that remembers its text, so an untouched ``5.0`` is
    written back as ``5.0`` (Benthos decodes with UseNumber). Arithmetic yields plain floats."""

    text: str

    def __new__(cls, text: str) -> "JsonFloat":
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


class Timestamp:
    """Go's time.Time: nanoseconds since the Unix epoch plus the location used for display.

    ``tz`` is a ``datetime.tzinfo`` (``zoneinfo.ZoneInfo``, ``datetime.timezone``) or None for
    the process's local zone. Formatting and parsing live in ``timefmt.py``.
    """

    __slots__ = ("ns", "tz")

    def __init__(self, ns: int, tz: Any = None) -> None:
        self.ns = ns
        self.tz = tz

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(self.ns)

    def __repr__(self) -> str:
        return f"Timestamp({self.ns}, {self.tz!r})"


def type_name(value: Any) -> str:
    """The name ``.type()`` reports and error messages use."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Timestamp):
        return "timestamp"
    if value is DELETE:
        return "delete"
    if value is NOTHING:
        return "nothing"
    return "unknown"
