"""The message that flows through a stream.

A message holds its payload either as bytes or as a structured Bloblang value, whichever was set
last, and converts lazily: a chain of mappings passes the structured value along without a JSON
round trip per processor (DESIGN §6), and bytes are produced only when an output needs them.
"""

from __future__ import annotations

from typing import Any

_UNSET: Any = object()
_CODEC: Any = None


def _codec() -> Any:
    """The value codec module (``streams.bloblang.values``), imported on first use.

    NOTE: not at the top: streams.bloblang imports this module when it loads, so a top-level
    import here is a cycle until the value codec leaves that package. PERF: kept in a global,
    as an import statement run per message costs more than the rest of a small conversion."""
    global _CODEC
    if _CODEC is None:
        from streams.bloblang import values  # noqa: PLC0415

        _CODEC = values
    return _CODEC


class Message:
    """One message: payload, metadata, the processing error flag and where it came from."""

    __slots__ = ("_content", "_value", "metadata", "error", "position")

    def __init__(self, content: bytes = b"", metadata: dict[str, Any] | None = None) -> None:
        self._content: bytes | None = content
        self._value: Any = _UNSET
        self.metadata: dict[str, Any] = dict(metadata) if metadata else {}
        self.error: str | None = None  # set by a failed processor; read by error()/errored()/catch
        self.position: Any = None  # broker position (``streams.brokers.base.Position``) if consumed

    @classmethod
    def from_value(cls, value: Any, metadata: dict[str, Any] | None = None) -> Message:
        msg = cls(b"", metadata)
        msg.set_value(value)
        return msg

    @property
    def content(self) -> bytes:
        """The payload bytes (strings raw, other values as Go-compatible compact JSON)."""
        if self._content is None:
            self._content = _codec().to_payload(self._value)
        return self._content

    @property
    def value(self) -> Any:
        """The payload as a structured value; raises ``ValueError`` when it is not JSON."""
        if self._value is _UNSET:
            self._value = _codec().parse_json(self._content or b"")
        return self._value

    @property
    def has_value(self) -> bool:
        """True when the structured form is already at hand (no parsing needed)."""
        return self._value is not _UNSET

    def set_content(self, content: bytes) -> None:
        self._content = content
        self._value = _UNSET

    def set_value(self, value: Any) -> None:
        self._value = value
        self._content = None

    def copy(self) -> Message:
        """A shallow copy: metadata dict copied, payload shared (values are never mutated in place)."""
        other = Message.__new__(Message)
        other._content = self._content
        other._value = self._value
        other.metadata = dict(self.metadata)
        other.error = self.error
        other.position = self.position
        return other

    def __repr__(self) -> str:
        body = self._content if self._content is not None else self._value
        return f"Message({body!r}, metadata={self.metadata!r})"
