"""The LZ4 frame writer (streams/bloblang/golz4.py): the frame layout pierrec/lz4 v4 writes by
default, its level rules, and frames every LZ4 reader accepts. Byte equality with Benthos itself
is checked by tests/differential (test_lz4_frames_are_benthos_frames)."""

from __future__ import annotations

import random

import cramjam
import pytest

from streams import bloblang
from streams.bloblang.errors import ExecError
from streams.bloblang.golz4 import lz4_frame, xxh32


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
