"""``json_documents`` scanner: a message per JSON value of a stream of concatenated values, such as
``{"a":1} {"a":2}\\n[3]`` (Bento ``internal/impl/pure/scanner_json.go``, Go's ``json.Decoder``).

Values may be separated by whitespace or nothing. A value is cut once it is complete; a number at
the very end of what arrived so far waits for the next bytes, since more digits may follow. Text
that is not JSON fails the source at the first bad value.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from streams.bloblang.values import parse_json
from streams.message import Message
from streams.scanners.base import ScanError, Scanner, ScannerMaker, spec

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class JsonDocumentsScanner(Scanner):
    def __init__(self) -> None:
        self.text = ""
        self.utf8 = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, chunk: bytes) -> list[Message]:
        self.raise_held()
        self.text += self.utf8.decode(chunk)
        return self._values(at_end=False)

    def end(self) -> list[Message]:
        self.raise_held()
        self.text += self.utf8.decode(b"", final=True)
        return self._values(at_end=True)

    def _values(self, at_end: bool) -> list[Message]:
        out: list[Message] = []
        text, start = self.text, 0
        try:
            while (start := _SPACE.match(text, start).end()) < len(text):  # type: ignore[union-attr]
                end = self._value_end(text, start, at_end)
                if end is None:
                    break
                out.append(Message.from_value(self._parse(text[start:end])))
                start = end
        except ScanError as exc:
            return self.hold(out, exc)
        finally:
            self.text = text[start:]
        return out

    @staticmethod
    def _value_end(text: str, start: int, at_end: bool) -> int | None:
        """Where the value at ``start`` ends; None when it may still be incomplete."""
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            if not at_end and _truncated(exc, text):
                return None
            raise ScanError(f"invalid JSON document: {exc}") from exc
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        growing = number and not at_end and _NUMBER_CHARS.issuperset(text[end:])
        return None if growing else end

    @staticmethod
    def _parse(text: str) -> Any:
        return parse_json(text.encode())


_LITERALS = ("true", "false", "null")
_NUMBER_CHARS = frozenset("0123456789.eE+-")


def _truncated(exc: json.JSONDecodeError, text: str) -> bool:
    """True when the error only says the text stopped early (more bytes may complete it): at the
    end of the text, inside a string, or at a literal or number that is still arriving."""
    if exc.msg.startswith("Unterminated string"):
        return True
    if "escape" in exc.msg:
        return exc.pos >= len(text) - 6
    rest = text[exc.pos :]
    return not rest.strip() or any(lit.startswith(rest) for lit in _LITERALS) or _NUMBER_CHARS.issuperset(rest)


def build(conf: dict[str, Any]) -> ScannerMaker:
    return lambda name: JsonDocumentsScanner()


SPEC = spec("json_documents", build, doc="A message per JSON value of a stream of values.")
