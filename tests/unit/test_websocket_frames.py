"""Client WebSocket frames (RFC 6455): header rules, unmasking, message assembly within the size
limit, the frame-rate budget, the opening handshake, and ``GatewayWebSocket`` reading from an
in-memory stream (what it reads, what it answers)."""

from __future__ import annotations

import io
import os
import struct
from types import SimpleNamespace

import pytest

from handlers.server.connection import GatewayWebSocket
from handlers.server.frames import (
    CLOSE_INVALID_DATA,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameHeader,
    FrameRate,
    MessageAssembler,
    header_size,
    parse_header,
    unmask,
)
from handlers.server.handshake import HandshakeError, accept_headers, accept_key, is_upgrade, missing_upgrade_token

MASK = b"\x37\xfa\x21\x3d"


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = MASK, rsv: int = 0) -> bytes:
    """A client frame as a browser would send it (masked unless ``mask`` is None)."""
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, n])
    elif n < 1 << 16:
        head = bytes([b0, 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    head = bytes([head[0], head[1] | 0x80]) + head[2:]
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def header_of(raw: bytes) -> FrameHeader:
    return parse_header(raw[: header_size(raw[:2])])


# -- headers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 10 * 1024 * 1024])
def test_header_lengths_in_all_three_encodings(length):
    b1 = 0x80 | (length if length < 126 else 126 if length < 1 << 16 else 127)
    extra = b"" if length < 126 else struct.pack("!H" if length < 1 << 16 else "!Q", length)
    head = bytes([0x82, b1]) + extra + MASK
    assert header_size(head[:2]) == len(head)
    assert parse_header(head) == FrameHeader(True, OP_BINARY, length, MASK)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (frame(OP_TEXT, b"x", mask=None), "client frames must be masked"),
        (frame(OP_TEXT, b"x", rsv=0x40), "reserved bits set without an extension"),
        (frame(0x3, b"x"), "unknown opcode 0x3"),
        (frame(OP_PING, b"x", fin=False), "control frames must be final and at most 125 bytes"),
        (frame(OP_PING, b"x" * 126), "control frames must be final and at most 125 bytes"),
        (bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + MASK, "frame length has its most significant bit set"),
    ],
)
def test_forbidden_headers_are_protocol_errors(raw, reason):
    with pytest.raises(FrameError) as caught:
        header_of(raw)
    assert (caught.value.code, caught.value.reason) == (CLOSE_PROTOCOL_ERROR, reason)


# -- unmasking --------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 65535, 65536, 65537, 200_003])
def test_unmask_matches_the_bytewise_definition(size):
    payload = os.urandom(size)
    expected = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    assert unmask(payload, MASK) == expected
    assert unmask(expected, MASK) == payload


# -- assembly and the size limit ----------------------------------------------------------------
def feed_frames(assembler: MessageAssembler, frames: list[bytes]) -> list[object]:
    out = []
    for raw in frames:
        header = header_of(raw)
        assembler.admit(header)
        payload = unmask(raw[header_size(raw[:2]) :], header.mask or b"\0\0\0\0")
        message = assembler.feed(header, payload)
        if message is not None:
            out.append(message.data)
    return out


def test_fragments_join_into_one_message_each():
    asm = MessageAssembler(100)
    text = "héllo wörld".encode()
    frames = [frame(OP_TEXT, text[:2], fin=False), frame(OP_CONTINUATION, text[2:7], fin=False)]
    frames += [frame(OP_CONTINUATION, text[7:]), frame(OP_BINARY, b"\x00\xff")]
    assert feed_frames(asm, frames) == ["héllo wörld", b"\x00\xff"]


def test_a_frame_over_the_limit_is_refused_from_its_header():
    asm = MessageAssembler(1024)
    asm.admit(FrameHeader(True, OP_BINARY, 1024, MASK))  # exactly the limit is fine
    with pytest.raises(FrameError) as caught:
        asm.admit(FrameHeader(True, OP_BINARY, 1025, MASK))
    assert (caught.value.code, caught.value.reason) == (CLOSE_MESSAGE_TOO_BIG, "message too big (limit 1024 bytes)")


def test_fragments_count_together_against_the_limit():
    asm = MessageAssembler(1000)
    assert feed_frames(asm, [frame(OP_BINARY, b"a" * 600, fin=False)]) == []
    with pytest.raises(FrameError) as caught:
        asm.admit(header_of(frame(OP_CONTINUATION, b"b" * 401)))
    assert caught.value.code == CLOSE_MESSAGE_TOO_BIG
    asm.admit(header_of(frame(OP_CONTINUATION, b"b" * 400)))  # 1000 in all still fits


def test_a_finished_message_frees_its_budget():
    asm = MessageAssembler(10)
    assert feed_frames(asm, [frame(OP_BINARY, b"a" * 10)] * 3) == [b"a" * 10] * 3


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([frame(OP_CONTINUATION, b"x")], CLOSE_PROTOCOL_ERROR),
        ([frame(OP_TEXT, b"x", fin=False), frame(OP_TEXT, b"y")], CLOSE_PROTOCOL_ERROR),
        ([frame(OP_TEXT, b"\xff\xfe")], CLOSE_INVALID_DATA),
        ([frame(OP_TEXT, b"ok", fin=False), frame(OP_CONTINUATION, b"\xc3")], CLOSE_INVALID_DATA),
    ],
)
def test_out_of_sequence_frames_and_bad_utf8_are_refused(frames, code):
    with pytest.raises(FrameError) as caught:
        feed_frames(MessageAssembler(100), frames)
    assert caught.value.code == code


def test_utf8_split_across_fragments_is_fine():
    data = "€".encode()
    asm = MessageAssembler(100)
    assert feed_frames(asm, [frame(OP_TEXT, data[:1], fin=False), frame(OP_CONTINUATION, data[1:])]) == ["€"]


# -- frame rate ---------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frame_rate_allows_a_burst_then_refuses():
    clock = Clock()
    rate = FrameRate(5, clock)
    for _ in range(5):
        rate.take()
    with pytest.raises(FrameError) as caught:
        rate.take()
    assert (caught.value.code, caught.value.reason) == (CLOSE_POLICY_VIOLATION, "more than 5 frames per second")


def test_frame_rate_refills_with_time_up_to_the_burst():
    clock = Clock()
    rate = FrameRate(5, clock)
    for _ in range(5):
        rate.take()
    clock.now += 0.4  # two frames' worth
    rate.take()
    rate.take()
    with pytest.raises(FrameError):
        rate.take()
    clock.now += 60  # a long pause refills only the burst
    for _ in range(5):
        rate.take()
    with pytest.raises(FrameError):
        rate.take()


# -- handshake ----------------------------------------------------------------------------------
UPGRADE = {
    "REQUEST_METHOD": "GET",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_UPGRADE": "websocket",
    "HTTP_CONNECTION": "keep-alive, Upgrade",
    "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
    "HTTP_SEC_WEBSOCKET_VERSION": "13",
}


def test_accept_key_is_the_rfc_example():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") in accept_headers(UPGRADE)


def test_is_upgrade_needs_both_headers():
    assert is_upgrade(UPGRADE)
    assert not is_upgrade({**UPGRADE, "HTTP_CONNECTION": "keep-alive"})
    assert not is_upgrade({**UPGRADE, "HTTP_UPGRADE": "h2c"})


@pytest.mark.parametrize(
    ("connection", "upgrade", "missing"),
    [
        ("Upgrade", "websocket", None),
        ("upgrade", "WebSocket", None),
        ("keep-alive, Upgrade", "websocket", None),  # Firefox sends this
        ("keep-alive,UPGRADE", "h2c, websocket", None),  # token lists, as gorilla/websocket reads them
        ("keep-alive", "websocket", "'upgrade' token not found in 'Connection' header"),
        ("", "websocket", "'upgrade' token not found in 'Connection' header"),
        ("upgraded", "websocket", "'upgrade' token not found in 'Connection' header"),
        ("Upgrade", "", "'websocket' token not found in 'Upgrade' header"),
        ("Upgrade", "websockets", "'websocket' token not found in 'Upgrade' header"),
    ],
)
def test_an_upgrade_is_read_as_gorilla_websocket_reads_it(connection, upgrade, missing):
    environ = {**UPGRADE, "HTTP_CONNECTION": connection, "HTTP_UPGRADE": upgrade}
    assert missing_upgrade_token(environ) == missing
    assert is_upgrade(environ) is (missing is None)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"HTTP_SEC_WEBSOCKET_VERSION": "8"}, 426),
        ({"HTTP_SEC_WEBSOCKET_KEY": "c2hvcnQ="}, 400),
        ({"HTTP_SEC_WEBSOCKET_KEY": "not base64!!"}, 400),
        ({"REQUEST_METHOD": "POST"}, 400),
        ({"SERVER_PROTOCOL": "HTTP/1.0"}, 400),
    ],
)
def test_bad_handshakes_get_a_status_not_a_101(change, status):
    with pytest.raises(HandshakeError) as caught:
        accept_headers({**UPGRADE, **change})
    assert caught.value.status == status


# -- GatewayWebSocket on an in-memory stream ------------------------------------------------------
class CountingStream:
    """What the socket reads from (counting what was consumed) and writes to."""

    def __init__(self, data: bytes) -> None:
        self.source = io.BytesIO(data)
        self.sent: list[bytes] = []

    def read(self, n: int) -> bytes:
        return self.source.read(n)

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))


def gateway_ws(data: bytes, *, limit: int = 1024, fps: int = 100, clock=None) -> tuple[GatewayWebSocket, CountingStream]:
    stream = CountingStream(data)
    handler = SimpleNamespace(server=SimpleNamespace(application=None))
    extra = {"clock": clock} if clock else {}
    ws = GatewayWebSocket({}, stream, handler, max_message_bytes=limit, frames_per_second=fps, **extra)
    return ws, stream


def close_frame_of(sent: bytes) -> tuple[int, bytes]:
    assert sent[0] == 0x80 | OP_CLOSE
    payload = sent[2 : 2 + sent[1]]
    return struct.unpack("!H", payload[:2])[0], payload[2:]


def test_messages_pings_and_a_close_in_order():
    data = frame(OP_TEXT, b"one") + frame(OP_PING, b"p") + frame(OP_BINARY, b"\x01\x02") + frame(OP_CLOSE, struct.pack("!H", 1000))
    ws, stream = gateway_ws(data)
    assert ws.receive() == "one"
    assert ws.receive() == b"\x01\x02"
    assert stream.sent == [b"\x8a\x01p"]  # the pong
    assert ws.receive() is None
    assert ws.closed and close_frame_of(stream.sent[-1]) == (1000, b"")


def test_an_oversize_frame_is_closed_1009_without_reading_its_payload():
    big = frame(OP_BINARY, b"x" * 5000)
    ws, stream = gateway_ws(frame(OP_TEXT, b"fine") + big, limit=1024)
    assert ws.receive() == "fine"
    assert ws.receive() is None
    assert close_frame_of(stream.sent[-1]) == (CLOSE_MESSAGE_TOO_BIG, b"message too big (limit 1024 bytes)")
    consumed = stream.source.tell()
    assert consumed == len(frame(OP_TEXT, b"fine")) + header_size(big[:2])  # the header, not the payload
    assert ws.refused is not None and ws.refused.code == CLOSE_MESSAGE_TOO_BIG


def test_a_fragmented_oversize_message_is_closed_1009_and_never_returned():
    frames = [frame(OP_TEXT, b"a" * 400, fin=False), frame(OP_CONTINUATION, b"a" * 400, fin=False)]
    frames.append(frame(OP_CONTINUATION, b"a" * 400))
    ws, stream = gateway_ws(b"".join(frames), limit=1000)
    assert ws.receive() is None
    assert close_frame_of(stream.sent[-1])[0] == CLOSE_MESSAGE_TOO_BIG


def test_too_many_frames_close_1008():
    clock = Clock()
    ws, stream = gateway_ws(frame(OP_PING, b"") * 4 + frame(OP_TEXT, b"late"), fps=3, clock=clock)
    assert ws.receive() is None
    assert close_frame_of(stream.sent[-1]) == (CLOSE_POLICY_VIOLATION, b"more than 3 frames per second")
    assert len(stream.sent) == 4  # three pongs, then the close


def test_an_unmasked_frame_closes_1002():
    ws, stream = gateway_ws(frame(OP_TEXT, b"x", mask=None))
    assert ws.receive() is None
    assert close_frame_of(stream.sent[-1])[0] == CLOSE_PROTOCOL_ERROR


def test_a_connection_cut_mid_frame_ends_quietly():
    ws, stream = gateway_ws(frame(OP_TEXT, b"x" * 50)[:20])
    assert ws.receive() is None
    assert ws.closed and stream.sent == []
