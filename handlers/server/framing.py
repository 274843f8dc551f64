"""How long a request's body is, decided strictly from its header fields (RFC 9112 §6), without I/O.

A front proxy and this server must agree on where one request ends, or a client can hide a
second request inside the first one's body (request smuggling). So every ambiguous framing is
refused with 400 (501 for a transfer coding we do not implement) and the connection is closed,
never guessed at:

* ``Content-Length`` together with ``Transfer-Encoding`` (§6.1: "ought to be handled as an error");
* ``Transfer-Encoding`` on an HTTP/1.0 request (§6.1: faulty framing);
* ``Transfer-Encoding`` whose final coding is not ``chunked`` (§6.3 rule 4), ``chunked`` twice;
  any other coding before it is not implemented here (501);
* ``Content-Length`` that is not ``1*DIGIT`` (``+2``, ``0_2``, ``0x2``, ``-1``, empty), or several
  values that are not all identical (§6.3 rule 5);
* a header line that is not ``name: value`` (whitespace before the colon, §5.1), obs-fold line
  continuations (§5.2), control characters in a value, more than one ``Host``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS = re.compile(r"[0-9]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class FramingError(ValueError):
    """The request's framing is invalid or ambiguous: answer ``status`` and close the connection."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Framing:
    """Where the body ends: ``chunked``, else ``content_length`` bytes (None: no body)."""

    content_length: int | None
    chunked: bool


def request_framing(version: str, fields: Iterable[tuple[str, str]], malformed: bool = False) -> Framing:
    """Check the request's header fields (every occurrence, in order) and return its framing.

    ``malformed`` says the header parser met a line that is not a field (it then ignores the
    rest, which a proxy may not)."""
    if malformed:
        raise FramingError("malformed header line (whitespace before the colon or no colon)")
    lengths: list[str] = []
    codings: list[str] = []
    hosts = 0
    for name, value in fields:
        if not _TOKEN.fullmatch(name):
            raise FramingError(f"invalid header name {name!r}")
        if _BAD_VALUE.search(value):
            raise FramingError(f"control character or line folding in header {name}")
        low = name.lower()
        if low == "content-length":
            lengths.append(value)
        elif low == "transfer-encoding":
            codings.extend(c.strip().lower() for c in value.split(","))
        elif low == "host":
            hosts += 1
    if hosts > 1:
        raise FramingError("more than one Host header")
    if codings:
        return Framing(None, _chunked(version, codings, bool(lengths)))
    return Framing(_content_length(lengths), False)


def _chunked(version: str, codings: list[str], has_length: bool) -> bool:
    if has_length:
        raise FramingError("both Content-Length and Transfer-Encoding: the body length is ambiguous")
    if version != "HTTP/1.1":
        raise FramingError(f"Transfer-Encoding is not allowed in an {version} request")
    if codings[-1] != "chunked":
        raise FramingError("the final Transfer-Encoding must be chunked")
    if len(codings) > 1:
        if "chunked" in codings[:-1]:
            raise FramingError("chunked may be applied only once")
        raise FramingError(f"unsupported Transfer-Encoding {', '.join(codings[:-1])}", status=501)
    return True


def _content_length(values: list[str]) -> int | None:
    if not values:
        return None
    parts = [p.strip() for v in values for p in v.split(",")]
    if not all(_DIGITS.fullmatch(p) for p in parts):
        raise FramingError("Content-Length must be digits only")
    numbers = {int(p) for p in parts}
    if len(numbers) > 1:
        raise FramingError("several differing Content-Length values")
    return numbers.pop()
