"""The LZ4 frame writer (streams/bloblang/golz4.py): the frame layout pierrec/lz4 v4 writes by
default, its level rules, and frames every LZ4 reader accepts. Byte equality with Benthos itself
is checked by tests/differential (test_lz4_frames_are_benthos_frames)."""

from __future__ import annotations

import random

import cramjam
import pytest

from streams import bloblang
from streams.bloblang.errors import ExecError
from streams.bloblang.golz4 import lz4_frame, lz4_unframe, xxh32


def test_xxh32_known_values() -> None:
    assert xxh32(b"") == 0x02CC5D05
    assert xxh32(b"a") == 0x550D7456
    assert xxh32(b"abc") == 0x32D153FF
    assert xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F


def test_frame_layout_is_pierrecs_default() -> None:
    frame = lz4_frame(b"hello")
    assert frame[:4] == b"\x04\x22\x4d\x18"
    assert frame[4:6] == b"\x64\x70"  # version 1, independent blocks, content checksum; 4 MiB blocks
    assert frame[6] == (xxh32(b"\x64\x70") >> 8) & 0xFF
    # Five bytes cannot shrink: one block stored as is (high bit of the size word).
    assert frame[7:11] == (5 | 0x80000000).to_bytes(4, "little") and frame[11:16] == b"hello"
    assert frame[16:20] == b"\x00\x00\x00\x00"
    assert frame[20:] == xxh32(b"hello").to_bytes(4, "little")


def test_empty_input_has_no_block() -> None:
    assert lz4_frame(b"") == b"\x04\x22\x4d\x18\x64\x70" + bytes([(xxh32(b"\x64\x70") >> 8) & 0xFF]) + b"\x00" * 4 + xxh32(b"").to_bytes(4, "little")


@pytest.mark.parametrize("level", [-1, 0, 1, 4, 9])
def test_frames_decompress_with_another_reader(level: int) -> None:
    rnd = random.Random(level)
    samples = [b"x" * 15, b"a" * 5000, bytes(rnd.choice(b"ab c") for _ in range(100_000)), bytes(rnd.randrange(256) for _ in range(2000))]
    for data in samples:
        frame = lz4_frame(data, level)
        assert bytes(cramjam.lz4.decompress(frame)) == data


def test_compressible_block_is_smaller_and_not_marked_stored() -> None:
    frame = lz4_frame(b"a" * 5000)
    size_word = int.from_bytes(frame[7:11], "little")
    assert size_word & 0x80000000 == 0 and size_word < 100


def test_input_is_cut_into_4_mib_blocks() -> None:
    data = b"ab" * (3 << 20)  # 6 MiB
    frame = lz4_frame(data)
    first = int.from_bytes(frame[7:11], "little")
    second_at = 11 + first
    second = int.from_bytes(frame[second_at : second_at + 4], "little")
    assert frame[second_at + 4 + second : second_at + 8 + second] == b"\x00" * 4
    assert bytes(cramjam.lz4.decompress(frame)) == data


def test_levels_as_benthos_maps_them() -> None:
    assert lz4_frame(b"q" * 300, 24) == lz4_frame(b"q" * 300, -1)  # 1 << 32 wraps to 0: the fast compressor
    with pytest.raises(ExecError, match=r"^lz4: invalid compression level: 262144$"):
        lz4_frame(b"q", 10)


def test_compress_method_writes_these_frames() -> None:
    out = bloblang.parse('root = content().compress("lz4")').apply(b"hello hello hello hello")
    assert out is not None and out.content == lz4_frame(b"hello hello hello hello")


def _header(flg: int, bd: int = 0x70, content_size: bytes = b"") -> bytes:
    descriptor = bytes((flg, bd)) + content_size
    return b"\x04\x22\x4d\x18" + descriptor + bytes([(xxh32(descriptor) >> 8) & 0xFF])


def test_reader_reads_its_own_frames() -> None:
    for data in (b"", b"hello", b"abc " * 3000, bytes(range(256)) * 40):
        for level in (-1, 5):
            assert lz4_unframe(lz4_frame(data, level)) == data


def test_reader_stops_quietly_where_a_word_would_start() -> None:
    frame = lz4_frame(b"hello")
    assert lz4_unframe(b"") == b""
    assert lz4_unframe(frame[:7]) == b""  # header only
    assert lz4_unframe(frame[:-8]) == b"hello"  # no end mark, no checksum
    with pytest.raises(ExecError, match=r"^unexpected EOF$"):
        lz4_unframe(frame[:-6])  # inside the end mark


def test_reader_checks_header_and_content_checksums() -> None:
    frame = bytearray(lz4_frame(b"hello"))
    frame[6] ^= 1
    with pytest.raises(ExecError, match=r"^lz4: invalid header checksum: got \w+; expected \w+$"):
        lz4_unframe(bytes(frame))
    frame = bytearray(lz4_frame(b"hello"))
    frame[-1] ^= 0xFF
    good = xxh32(b"hello")
    with pytest.raises(ExecError, match=rf"^lz4: invalid frame checksum: got {good:x}; expected {(good ^ 0xFF000000):x}$"):
        lz4_unframe(bytes(frame))


def test_reader_checks_block_checksums_and_skips_content_size() -> None:
    payload = b"stored"
    block = (len(payload) | 0x80000000).to_bytes(4, "little") + payload
    flg = 0x40 | 0x20 | 0x10 | 0x08  # block checksums and a content size
    frame = _header(flg, content_size=len(payload).to_bytes(8, "little")) + block
    assert lz4_unframe(frame + xxh32(payload).to_bytes(4, "little") + b"\0\0\0\0") == payload
    with pytest.raises(ExecError, match=r"^lz4: invalid block checksum: got "):
        lz4_unframe(frame + b"\1\2\3\4" + b"\0\0\0\0")


def test_reader_refuses_bad_block_sizes_and_bad_sequences() -> None:
    with pytest.raises(ExecError, match=r"^lz4: invalid block size$"):
        lz4_unframe(_header(0x60, bd=0x30))
    with pytest.raises(ExecError, match=r"^lz4: invalid block size$"):
        lz4_unframe(_header(0x60, bd=0x40) + (70_000).to_bytes(4, "little"))
    zero_offset = b"\x10a\x00\x00"  # one literal, then a match at offset 0
    with pytest.raises(ExecError, match=r"^lz4: invalid source or destination buffer too short$"):
        lz4_unframe(_header(0x60) + len(zero_offset).to_bytes(4, "little") + zero_offset)


def test_reader_reads_legacy_frames() -> None:
    # One literal-only block ("abc"), then the Linux trailer: the count of bytes decoded.
    block = b"\x30abc"
    legacy = (0x184C2102).to_bytes(4, "little") + len(block).to_bytes(4, "little") + block + (3).to_bytes(4, "little")
    assert lz4_unframe(legacy) == b"abc"


def test_decoder_copies_overlapping_matches() -> None:
    # literal "ab", then a 10-byte match at offset 2, then a final literal "z".
    block = bytes([0x26]) + b"ab" + b"\x02\x00" + bytes([0x10]) + b"z"
    frame = _header(0x60) + len(block).to_bytes(4, "little") + block + b"\0\0\0\0"
    assert lz4_unframe(frame) == b"ab" * 6 + b"z"
