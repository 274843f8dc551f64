"""WebSocket frames from the client, without I/O (RFC 6455 §5): headers, unmasking, message
assembly with a size budget, and a frame-rate budget.

The socket side (``handlers.server.websocket``) reads the 2-byte start of a frame, asks
:func:`header_size` how much header follows, hands the whole header to :func:`parse_header`,
lets :class:`MessageAssembler` decide on the header *before* reading the payload (so an
oversize frame is refused unread), then reads, unmasks and feeds the payload. Every refusal is
a :class:`FrameError` carrying the close code to answer with.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable
from dataclasses import dataclass

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
DATA_OPCODES = (OP_TEXT, OP_BINARY)
CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009

_MAX_CONTROL_PAYLOAD = 125
# PERF: unmasking XORs whole 64 KiB blocks as Python ints (one C loop per block) instead of one
# Python step per byte. The block size is a multiple of 4 so every block starts on the mask's
# first byte.
_BLOCK = 1 << 16


class FrameError(Exception):
    """The client broke the protocol or a limit; ``code`` is the close code to send."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class FrameHeader:
    fin: bool
    opcode: int
    length: int
    mask: bytes | None

    @property
    def is_control(self) -> bool:
        return self.opcode >= 0x8


def header_size(first_two: bytes) -> int:
    """The whole header's size in bytes, known from its first two bytes."""
    size = 2
    marker = first_two[1] & 0x7F
    if marker == 126:
        size += 2
    elif marker == 127:
        size += 8
    if first_two[1] & 0x80:
        size += 4
    return size


def parse_header(raw: bytes) -> FrameHeader:
    """Decode a client frame header (``raw`` is exactly :func:`header_size` bytes long).

    Refuses what RFC 6455 §5 forbids a client: reserved bits without an extension, unknown
    opcodes, fragmented or long control frames, a 64-bit length with its top bit set, and
    unmasked frames (§5.1: a server MUST close the connection on one)."""
    b0, b1 = raw[0], raw[1]
    if b0 & 0x70:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
    fin, opcode = bool(b0 & 0x80), b0 & 0x0F
    if opcode not in DATA_OPCODES + CONTROL_OPCODES + (OP_CONTINUATION,):
        raise FrameError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
    length, pos = b1 & 0x7F, 2
    if length == 126:
        (length,), pos = struct.unpack_from("!H", raw, 2), 4
    elif length == 127:
        (length,), pos = struct.unpack_from("!Q", raw, 2), 10
        if length >> 63:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "frame length has its most significant bit set")
    if opcode >= 0x8 and (not fin or length > _MAX_CONTROL_PAYLOAD):
        raise FrameError(CLOSE_PROTOCOL_ERROR, "control frames must be final and at most 125 bytes")
    if not b1 & 0x80:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
    return FrameHeader(fin, opcode, length, bytes(raw[pos : pos + 4]))


def unmask(payload: bytes | bytearray | memoryview, mask: bytes) -> bytes:
    """XOR ``payload`` with the repeating 4-byte ``mask`` (masking and unmasking are the same)."""
    n = len(payload)
    if n == 0:
        return b""
    view = memoryview(payload)
    out = bytearray(n)
    block_key = int.from_bytes(mask * (_BLOCK // 4), "little")
    from_bytes = int.from_bytes
    whole = n - n % _BLOCK
    for start in range(0, whole, _BLOCK):
        end = start + _BLOCK
        out[start:end] = (from_bytes(view[start:end], "little") ^ block_key).to_bytes(_BLOCK, "little")
    if whole < n:
        rest = n - whole
        key = block_key & ((1 << (8 * rest)) - 1)
        out[whole:] = (from_bytes(view[whole:], "little") ^ key).to_bytes(rest, "little")
    return bytes(out)


class FrameRate:
    """Token bucket of frames per connection: ``per_second`` refill, a burst of as many.

    Every frame counts, control frames too (a ping flood costs the server as much as a message
    flood). ``clock`` is injected so tests drive time."""

    def __init__(self, per_second: float, clock: Callable[[], float]) -> None:
        self.per_second = per_second
        self.clock = clock
        self.tokens = per_second
        self.stamp = clock()

    def take(self) -> None:
        now = self.clock()
        self.tokens = min(self.per_second, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens < 1:
            raise FrameError(CLOSE_POLICY_VIOLATION, f"more than {self.per_second:g} frames per second")
        self.tokens -= 1


@dataclass(frozen=True)
class Message:
    """A complete data message: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes


class MessageAssembler:
    """Joins data frames into messages within ``max_bytes`` (the whole message, all fragments).

    ``admit(header)`` runs before the payload is read and refuses a frame that would take the
    message over the limit or that arrives out of sequence; ``feed(header, payload)`` returns
    the finished :class:`Message` on the final fragment. Text is decoded incrementally, so bad
    UTF-8 is refused at the fragment that holds it."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._opcode: int | None = None
        self._size = 0
        self._parts: list[bytes] = []
        self._text: codecs.IncrementalDecoder | None = None
        self._chars: list[str] = []

    def admit(self, header: FrameHeader) -> None:
        if header.is_control:
            return
        if header.opcode == OP_CONTINUATION and self._opcode is None:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "continuation frame without a message to continue")
        if header.opcode != OP_CONTINUATION and self._opcode is not None:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "new message before the previous one was finished")
        if self._size + header.length > self.max_bytes:
            raise FrameError(CLOSE_MESSAGE_TOO_BIG, f"message too big (limit {self.max_bytes} bytes)")

    def feed(self, header: FrameHeader, payload: bytes) -> Message | None:
        if header.opcode != OP_CONTINUATION:
            self._start(header.opcode)
        self._size += len(payload)
        if self._text is not None:
            try:
                self._chars.append(self._text.decode(payload, final=header.fin))
            except UnicodeDecodeError:
                raise FrameError(CLOSE_INVALID_DATA, "text message is not valid UTF-8") from None
        else:
            self._parts.append(payload)
        if not header.fin:
            return None
        message = Message("".join(self._chars) if self._text is not None else b"".join(self._parts))
        self._reset()
        return message

    def _start(self, opcode: int) -> None:
        self._opcode = opcode
        if opcode == OP_TEXT:
            self._text = codecs.getincrementaldecoder("utf-8")("strict")

    def _reset(self) -> None:
        self._opcode, self._size, self._parts, self._text, self._chars = None, 0, [], None, []
