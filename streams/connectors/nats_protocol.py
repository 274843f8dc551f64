"""The NATS client protocol as plain data: bytes in, events out; frames out as bytes. No I/O.

The protocol is text lines ended by CRLF, some followed by a payload of a stated length
(https://docs.nats.io/reference/reference-protocols/nats-protocol). A socket read may end
anywhere, inside a line or a payload, so ``NatsParser.feed`` keeps what it could not use yet and
hands out only whole events. Operation names are case-insensitive on the wire.

Headers (``HMSG``/``HPUB``) are an HTTP-like block: ``NATS/1.0[ status[ description]]`` then
``Key: Value`` lines and an empty line; the first value of a repeated key is the one kept as
metadata (as Bento does with ``Header.Get``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CRLF = b"\r\n"
HEADER_VERSION = b"NATS/1.0"
MAX_CONTROL_LINE = 4096
"""The server's default ``max_control_line``: a longer line without CRLF is not NATS."""


class ProtocolError(Exception):
    """The server sent something that is not NATS (the remote side's fault)."""


@dataclass(frozen=True)
class Info:
    """The server's ``INFO``: its options (``server_id``, ``headers``, ``tls_required``, ...)."""

    options: dict[str, Any]


@dataclass(frozen=True)
class Msg:
    """A message of a subscription (``MSG`` or ``HMSG``)."""

    subject: str
    sid: int
    reply: str
    payload: bytes
    headers: dict[str, list[str]] = field(default_factory=dict)
    status: str = ""
    """The status of the header line (``503`` no responders, ``100`` idle heartbeat); empty mostly."""


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class Ok:
    pass


@dataclass(frozen=True)
class ServerError:
    """A ``-ERR`` line; the server closes the connection after most of them."""

    text: str


Event = Info | Msg | Ping | Pong | Ok | ServerError


@dataclass
class _PendingPayload:
    """A ``MSG``/``HMSG`` line read, its payload (and CRLF) not all here yet."""

    subject: str
    sid: int
    reply: str
    header_size: int
    total_size: int


class NatsParser:
    """Turns the server's bytes into events, across any split of the byte stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: _PendingPayload | None = None

    def feed(self, data: bytes) -> list[Event]:
        """Every whole event ``data`` completes, in order. Raises ``ProtocolError``."""
        self._buffer += data
        events: list[Event] = []
        while True:
            event = self._next()
            if event is None:
                return events
            events.append(event)

    def _next(self) -> Event | None:
        if self._pending is not None:
            return self._payload(self._pending)
        end = self._buffer.find(CRLF)
        if end < 0:
            if len(self._buffer) > MAX_CONTROL_LINE:
                raise ProtocolError(f"control line longer than {MAX_CONTROL_LINE} bytes")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return self._line(line)

    def _line(self, line: bytes) -> Event | None:
        op, _, rest = line.partition(b" ")
        op = op.upper()
        if op == b"MSG":
            self._pending = _msg_line(rest)
        elif op == b"HMSG":
            self._pending = _hmsg_line(rest)
        elif op == b"PING":
            return Ping()
        elif op == b"PONG":
            return Pong()
        elif op == b"+OK":
            return Ok()
        elif op == b"-ERR":
            return ServerError(rest.decode("utf-8", "replace").strip().strip("'"))
        elif op == b"INFO":
            try:
                return Info(json.loads(rest))
            except ValueError:
                raise ProtocolError("INFO is not JSON") from None
        else:
            raise ProtocolError(f"unknown operation {line[:40]!r}")
        return self._payload(self._pending)

    def _payload(self, pending: _PendingPayload) -> Msg | None:
        if len(self._buffer) < pending.total_size + 2:
            return None
        body = bytes(self._buffer[: pending.total_size])
        if self._buffer[pending.total_size : pending.total_size + 2] != CRLF:
            raise ProtocolError(f"payload of {pending.subject!r} is not followed by CRLF")
        del self._buffer[: pending.total_size + 2]
        self._pending = None
        headers: dict[str, list[str]] = {}
        status = ""
        if pending.header_size:
            status, headers = parse_headers(body[: pending.header_size])
        return Msg(pending.subject, pending.sid, pending.reply, body[pending.header_size :], headers, status)


def _ints(*texts: bytes) -> list[int]:
    try:
        values = [int(t) for t in texts]
    except ValueError:
        raise ProtocolError(f"not a number in {b' '.join(texts)!r}") from None
    if any(v < 0 for v in values):
        raise ProtocolError("negative size")
    return values


def _msg_line(rest: bytes) -> _PendingPayload:
    """``<subject> <sid> [reply-to] <#bytes>``"""
    parts = rest.split()
    if len(parts) not in (3, 4):
        raise ProtocolError(f"bad MSG line {rest[:80]!r}")
    sid, size = _ints(parts[1], parts[-1])
    reply = parts[2].decode() if len(parts) == 4 else ""
    return _PendingPayload(parts[0].decode(), sid, reply, 0, size)


def _hmsg_line(rest: bytes) -> _PendingPayload:
    """``<subject> <sid> [reply-to] <#header bytes> <#total bytes>``"""
    parts = rest.split()
    if len(parts) not in (4, 5):
        raise ProtocolError(f"bad HMSG line {rest[:80]!r}")
    sid, header_size, total_size = _ints(parts[1], parts[-2], parts[-1])
    if header_size > total_size:
        raise ProtocolError("HMSG header size larger than the total size")
    reply = parts[2].decode() if len(parts) == 5 else ""
    return _PendingPayload(parts[0].decode(), sid, reply, header_size, total_size)


def parse_headers(block: bytes) -> tuple[str, dict[str, list[str]]]:
    """The status and the fields of a header block (``NATS/1.0 ...`` and ``Key: Value`` lines)."""
    lines = block.decode("utf-8", "replace").split("\r\n")
    first = lines[0]
    if not first.startswith(HEADER_VERSION.decode()):
        raise ProtocolError(f"header block does not start with NATS/1.0: {first[:40]!r}")
    status = first[len(HEADER_VERSION) :].strip().partition(" ")[0]
    fields: dict[str, list[str]] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise ProtocolError(f"bad header line {line[:80]!r}")
        fields.setdefault(key.strip(), []).append(value.strip())
    return status, fields


# -- frames the client sends ------------------------------------------------------------------


def _token(text: str, what: str) -> bytes:
    """A subject, queue group or reply subject: one non-empty token of the line."""
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"NATS {what} {text!r} must be non-empty and contain no whitespace")
    return text.encode()


def connect_frame(options: dict[str, Any]) -> bytes:
    return b"CONNECT " + json.dumps(options, separators=(",", ":")).encode() + CRLF


def ping_frame() -> bytes:
    return b"PING" + CRLF


def pong_frame() -> bytes:
    return b"PONG" + CRLF


def sub_frame(subject: str, sid: int, queue: str = "") -> bytes:
    parts = [b"SUB", _token(subject, "subject")]
    if queue:
        parts.append(_token(queue, "queue group"))
    parts.append(str(sid).encode())
    return b" ".join(parts) + CRLF


def unsub_frame(sid: int) -> bytes:
    return b"UNSUB %d" % sid + CRLF


def header_line_ok(key: str, value: str) -> bool:
    """Whether ``Key: Value`` is one header line that reads back as this key and value."""
    return bool(key) and not any(c in key for c in ":\r\n ") and not any(c in value for c in "\r\n")


def encode_headers(headers: dict[str, list[str]]) -> bytes:
    """A header block; keys and values must not carry CR/LF (they would end the line)."""
    out = [HEADER_VERSION + CRLF]
    for key, values in headers.items():
        if not all(header_line_ok(key, value) for value in [*values, ""]):
            raise ValueError(f"NATS header {key!r} has a character a header line cannot carry")
        out.extend(f"{key}: {value}".encode() + CRLF for value in values)
    return b"".join(out) + CRLF


def pub_frame(subject: str, payload: bytes, reply: str = "", headers: dict[str, list[str]] | None = None) -> bytes:
    """``PUB``, or ``HPUB`` when there are headers."""
    parts = [_token(subject, "subject")]
    if reply:
        parts.append(_token(reply, "reply subject"))
    if headers:
        block = encode_headers(headers)
        line = b"HPUB " + b" ".join([*parts, b"%d" % len(block), b"%d" % (len(block) + len(payload))])
        return line + CRLF + block + payload + CRLF
    return b"PUB " + b" ".join([*parts, b"%d" % len(payload)]) + CRLF + payload + CRLF
