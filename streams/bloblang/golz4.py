"""The LZ4 frame Benthos's ``compress("lz4")`` writes, byte for byte.

Benthos (``internal/impl/pure/algorithms.go``) writes the whole input once into a
``pierrec/lz4/v4`` ``Writer`` with its defaults and closes it. What that frame holds, and why a
general LZ4 library does not reproduce it:

* descriptor: version 1, independent blocks, content checksum on, no content size, no block
  checksums, 4 MiB maximum block size (FLG ``0x64``, BD ``0x70``), then the header checksum
  (second byte of the XXH32 of FLG and BD);
* blocks: the input cut into 4 MiB pieces, each compressed on its own by pierrec's own block
  compressors (a fast one with a 16-bit hash of 6 bytes, or, for ``level`` 1 to 9, a hash-chain
  one searching ``1 << (8 + level)`` candidates), which choose other matches than the reference
  C library does; a block whose compressed form is not smaller than the input is stored as is
  (size word with the high bit set). An empty input has no block at all;
* end mark, then the XXH32 of the whole input.

Benthos's ``level`` becomes ``CompressionLevel(1 << (8 + level))`` (a 32-bit value, so levels of
24 and above wrap to 0, the fast compressor); 10 to 23 are refused with pierrec's error text.

``decompress("lz4")`` is pierrec's ``Reader`` read to the end with ``io.ReadAll``: concatenated,
skippable and legacy frames are read, and input that stops where a 4-byte word or a block would
start is a clean end (``io.EOF``), even before the end mark or the checksum, while input that stops
inside one is ``unexpected EOF``. Checksums, block sizes and block contents are checked with
pierrec's error texts.
"""

from __future__ import annotations

from .errors import ExecError

_MAGIC = b"\x04\x22\x4d\x18"
_FRAME_MAGIC = 0x184D2204
_LEGACY_MAGIC = 0x184C2102
_SKIPPABLE_MAGIC_HIGH = 0x184D2A50 >> 8  # Go compares all but the low byte
_BLOCK_SIZES = {4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22}
_LEGACY_BLOCK_SIZE = 8 << 20
_FLG = 0x40 | 0x20 | 0x04  # version 1, block independence, content checksum
_BD = 7 << 4  # block maximum size index 7: 4 MiB
_BLOCK_SIZE = 4 << 20
_UNCOMPRESSED = 0x80000000

_MIN_MATCH = 4
_WIN_SIZE = 1 << 16
_WIN_MASK = _WIN_SIZE - 1
_HASH_LOG = 16
_MF_LIMIT = 10 + _MIN_MATCH
_ADAPT_SKIP_LOG = 7
_VALID_LEVELS = frozenset([0] + [1 << (8 + i) for i in range(1, 10)])

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF


def lz4_frame(data: bytes, level: int = -1) -> bytes:
    """``compress("lz4", level)`` as Benthos produces it."""
    depth = _depth(level)
    out = bytearray(_MAGIC)
    descriptor = bytes((_FLG, _BD))
    out += descriptor
    out.append((xxh32(descriptor) >> 8) & 0xFF)
    for start in range(0, len(data), _BLOCK_SIZE):
        chunk = data[start : start + _BLOCK_SIZE]
        packed = _compress_block(chunk, depth)
        if packed is None:
            out += (len(chunk) | _UNCOMPRESSED).to_bytes(4, "little")
            out += chunk
        else:
            out += len(packed).to_bytes(4, "little")
            out += packed
    out += b"\x00\x00\x00\x00"
    out += xxh32(data).to_bytes(4, "little")
    return bytes(out)


def _depth(level: int) -> int:
    """Benthos's level to pierrec's CompressionLevel: 0 is the fast compressor, else the
    number of hash-chain candidates the other one tries."""
    if level <= 0:
        return 0
    depth = (1 << (8 + level)) & _M32 if level < 64 else 0
    if depth not in _VALID_LEVELS:
        raise ExecError(f"lz4: invalid compression level: {depth}")
    return depth


def _compress_block(src: bytes, depth: int) -> bytes | None:
    """One block's LZ4 sequences, or None where pierrec stores the block uncompressed: its
    destination buffer is as long as the input, so any output that is not shorter fails."""
    packed = _fast_block(src) if depth == 0 else _hc_block(src, depth)
    if packed is None or len(packed) >= len(src):
        return None
    return packed


def _u32(src: bytes, i: int) -> int:
    return int.from_bytes(src[i : i + 4], "little")


def _u64(src: bytes, i: int) -> int:
    return int.from_bytes(src[i : i + 8], "little")


def _trailing_zero_bytes(x: int) -> int:
    return ((x & -x).bit_length() - 1) >> 3


def _block_hash(x: int) -> int:
    """pierrec's hash of the low 6 bytes of ``x`` into ``_HASH_LOG`` bits."""
    return ((((x << 16) & _M64) * 227718039650203) & _M64) >> (64 - _HASH_LOG)


def _emit(dst: bytearray, lit_len: int, match_len: int | None, literals: bytes, offset: int = 0) -> None:
    """A sequence: token, literal length extension, literals, then offset and match length
    extension (``match_len`` already less the 4 implied bytes; None for the last literals)."""
    token = min(lit_len, 15) << 4
    if match_len is not None:
        token |= min(match_len, 15)
    dst.append(token)
    if lit_len >= 15:
        rest = lit_len - 15
        while rest >= 255:
            dst.append(255)
            rest -= 255
        dst.append(rest)
    dst += literals
    if match_len is None:
        return
    dst += bytes((offset & 0xFF, (offset >> 8) & 0xFF))
    if match_len >= 15:
        rest = match_len - 15
        while rest >= 255:
            dst.append(255)
            rest -= 255
        dst.append(rest)


class _FastTable:
    """pierrec's fast compressor table: the low 16 bits of a position per hash, read back
    relative to the current 64 KiB boundary (or the previous one)."""

    def __init__(self) -> None:
        self.table: dict[int, int] = {}

    def get(self, h: int, si: int) -> int:
        i = self.table.get(h, 0) + (si & ~_WIN_MASK)
        if i >= si:
            i -= _WIN_SIZE
        return i

    def put(self, h: int, si: int) -> None:
        self.table[h] = si & 0xFFFF


def _fast_block(src: bytes) -> bytes | None:
    """pierrec's ``Compressor.CompressBlock`` (lz4block/block.go), step for step."""
    table = _FastTable()
    dst = bytearray()
    si = anchor = 0
    sn = len(src) - _MF_LIMIT
    while si < sn:
        match = _u64(src, si)
        h = _block_hash(match)
        h2 = _block_hash(match >> 8)
        ref = table.get(h, si)
        ref2 = table.get(h2, si + 1)
        table.put(h, si)
        table.put(h2, si + 1)
        offset = si - ref
        if offset <= 0 or offset >= _WIN_SIZE or (match & _M32) != _u32(src, ref):
            h = _block_hash(match >> 16)
            ref3 = table.get(h, si + 2)
            si += 1
            offset = si - ref2
            if offset <= 0 or offset >= _WIN_SIZE or ((match >> 8) & _M32) != _u32(src, ref2):
                si += 1
                offset = si - ref3
                table.put(h, si)
                if offset <= 0 or offset >= _WIN_SIZE or ((match >> 16) & _M32) != _u32(src, ref3):
                    si += 2 + ((si - anchor) >> _ADAPT_SKIP_LOG)
                    continue
        lit_len = si - anchor
        m_len = 4
        t_off = si - offset - 1
        while lit_len > 0 and t_off >= 0 and src[si - 1] == src[t_off]:
            si -= 1
            t_off -= 1
            lit_len -= 1
            m_len += 1
        si, base = si + m_len, si + _MIN_MATCH
        while si + 8 <= sn:
            x = _u64(src, si) ^ _u64(src, si - offset)
            if x == 0:
                si += 8
            else:
                si += _trailing_zero_bytes(x)
                break
        _emit(dst, lit_len, si - base, src[anchor : anchor + lit_len], offset)
        anchor = si
        if si >= sn:
            break
        table.put(_block_hash(_u64(src, si - 2)), si - 2)
    if anchor == 0:
        return None
    _emit(dst, len(src) - anchor, None, src[anchor:])
    return bytes(dst)


def _hc_hash(x: int) -> int:
    return ((x * 2654435761) & _M32) >> (32 - 16)


def _hc_block(src: bytes, depth: int) -> bytes | None:
    """pierrec's ``CompressorHC.CompressBlock``: hash chains over a 64 KiB window, trying
    ``depth`` earlier positions for the longest match. Position 0 is never a candidate (an
    empty chain slot holds 0), as in Go."""
    hash_table = [0] * _WIN_SIZE
    chain_table = [0] * _WIN_SIZE
    dst = bytearray()
    si = anchor = 0
    sn = len(src) - _MF_LIMIT
    while si < sn:
        match = _u32(src, si)
        h = _hc_hash(match)
        m_len = offset = 0
        nxt, tries = hash_table[h], depth
        while tries > 0 and nxt > 0 and si - nxt < _WIN_SIZE:
            if src[nxt + m_len] == src[si + m_len]:
                ml = 0
                while ml < sn - si:
                    x = _u64(src, nxt + ml) ^ _u64(src, si + ml)
                    if x == 0:
                        ml += 8
                    else:
                        ml += _trailing_zero_bytes(x)
                        break
                if ml >= _MIN_MATCH and ml > m_len:
                    m_len = ml
                    offset = si - nxt
            nxt, tries = chain_table[nxt & _WIN_MASK], tries - 1
        chain_table[si & _WIN_MASK] = hash_table[h]
        hash_table[h] = si
        if m_len == 0:
            si += 1 + ((si - anchor) >> _ADAPT_SKIP_LOG)
            continue
        win_start = max(si + 1, si + m_len - _WIN_SIZE)
        for pos in range(win_start, si + m_len):
            match = (match >> 8) | (src[pos + 3] << 24)
            h = _hc_hash(match)
            chain_table[pos & _WIN_MASK] = hash_table[h]
            hash_table[h] = pos
        lit_len = si - anchor
        si += m_len
        _emit(dst, lit_len, m_len - _MIN_MATCH, src[anchor : anchor + lit_len], offset)
        anchor = si
    if anchor == 0:
        return None
    _emit(dst, len(src) - anchor, None, src[anchor:])
    return bytes(dst)


_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M32, 13) * _P1) & _M32


def xxh32(data: bytes, seed: int = 0) -> int:
    """XXH32, the checksum of LZ4 frame headers and contents."""
    n = len(data)
    i = 0
    if n >= 16:
        v1 = (seed + _P1 + _P2) & _M32
        v2 = (seed + _P2) & _M32
        v3 = seed
        v4 = (seed - _P1) & _M32
        limit = n - 16
        while i <= limit:
            v1 = _round(v1, _u32(data, i))
            v2 = _round(v2, _u32(data, i + 4))
            v3 = _round(v3, _u32(data, i + 8))
            v4 = _round(v4, _u32(data, i + 12))
            i += 16
        acc = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M32
    else:
        acc = (seed + _P5) & _M32
    acc = (acc + n) & _M32
    while i + 4 <= n:
        acc = (_rotl((acc + _u32(data, i) * _P3) & _M32, 17) * _P4) & _M32
        i += 4
    while i < n:
        acc = (_rotl((acc + data[i] * _P5) & _M32, 11) * _P1) & _M32
        i += 1
    acc ^= acc >> 15
    acc = (acc * _P2) & _M32
    acc ^= acc >> 13
    acc = (acc * _P3) & _M32
    acc ^= acc >> 16
    return acc


# --- reading -------------------------------------------------------------------------------------


class _CleanEnd(Exception):
    """The input stopped where a read began (Go's ``io.EOF``): not an error for ``io.ReadAll``."""


class _Source:
    """``io.ReadFull`` over the input: nothing left is a clean end, part of a read is an error."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        if n == 0:
            return b""
        left = len(self.data) - self.pos
        if left <= 0:
            raise _CleanEnd
        if left < n:
            raise ExecError("unexpected EOF")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u32(self) -> int:
        return int.from_bytes(self.read(4), "little")


def lz4_unframe(data: bytes) -> bytes:
    """``decompress("lz4")`` as Benthos reads it (pierrec/lz4 v4's ``Reader``)."""
    src = _Source(data)
    out = bytearray()
    try:
        while True:
            _read_frame(src, out)
    except _CleanEnd:
        return bytes(out)


def _read_frame(src: _Source, out: bytearray) -> None:
    magic = src.u32()
    while magic >> 8 == _SKIPPABLE_MAGIC_HIGH:
        skip = src.u32()
        if len(src.data) - src.pos < skip:
            raise _CleanEnd  # io.CopyN's io.EOF ends the read quietly
        src.pos += skip
        magic = src.u32()
    if magic == _LEGACY_MAGIC:
        _read_legacy_blocks(src, out)
        return
    if magic != _FRAME_MAGIC:
        raise ExecError("lz4: bad magic number")
    descriptor = src.read(3)
    flags = int.from_bytes(descriptor[:2], "little")
    if flags >> 3 & 1:  # content size present
        descriptor += src.read(8)
    stored, computed = descriptor[-1], (xxh32(descriptor[:-1]) >> 8) & 0xFF
    if computed != stored:
        raise ExecError(f"lz4: invalid header checksum: got {computed:x}; expected {stored:x}")
    limit = _BLOCK_SIZES.get(flags >> 12 & 0x7)
    if limit is None:
        raise ExecError("lz4: invalid block size")
    block_checksums, content_checksum = bool(flags >> 4 & 1), bool(flags >> 2 & 1)
    content = bytearray()
    while True:
        word = src.u32()
        if word == 0:
            break
        block = _read_block(src, word, limit, block_checksums)
        content += block
        out += block
    if content_checksum:
        stored_sum, computed_sum = src.u32(), xxh32(bytes(content))
        if computed_sum != stored_sum:
            raise ExecError(f"lz4: invalid frame checksum: got {computed_sum:x}; expected {stored_sum:x}")


def _read_block(src: _Source, word: int, limit: int, checksummed: bool) -> bytes:
    size = word & 0x7FFFFFFF
    if size > limit:
        raise ExecError("lz4: invalid block size")
    payload = src.read(size)
    stored = src.u32() if checksummed else None
    if word >> 31:
        block = payload
    else:
        decoded = _decode_block(payload, limit)
        if decoded is None:
            raise ExecError("lz4: invalid source or destination buffer too short")
        block = decoded
    if stored is not None and xxh32(payload) != stored:
        raise ExecError(f"lz4: invalid block checksum: got {xxh32(payload):x}; expected {stored:x}")
    return block


def _read_legacy_blocks(src: _Source, out: bytearray) -> None:
    """Legacy frames: compressed 8 MiB blocks until another legacy magic (a new frame) or a
    word equal to the bytes decoded so far (the Linux kernel's trailer)."""
    total = 0
    while True:
        word = src.u32()
        if word == _LEGACY_MAGIC:
            continue
        if word == total & _M32:
            return
        block = _read_block(src, word, _LEGACY_BLOCK_SIZE, False)
        total += len(block)
        out += block


def _decode_block(src: bytes, limit: int) -> bytes | None:
    """An LZ4 block's sequences, or None where pierrec's decoder fails (``decodeBlock``): data
    cut short, a zero offset, an offset before the block (blocks are independent) or more
    than ``limit`` bytes out."""
    if not src:
        return None
    out = bytearray()
    si, n = 0, len(src)
    while si < n:
        token = src[si]
        si += 1
        lit_len = token >> 4
        if lit_len == 15:
            while True:
                if si >= n:
                    return None
                extra = src[si]
                lit_len += extra
                si += 1
                if extra != 255:
                    break
        if lit_len:
            if si + lit_len > n or len(out) + lit_len > limit:
                return None
            out += src[si : si + lit_len]
            si += lit_len
        match_len = token & 0xF
        if si == n and match_len == 0:
            break
        if si + 2 > n:
            return None
        offset = src[si] | src[si + 1] << 8
        if offset == 0:
            return None
        si += 2
        match_len += _MIN_MATCH
        if match_len == 15 + _MIN_MATCH:
            while True:
                if si >= n:
                    return None
                extra = src[si]
                match_len += extra
                si += 1
                if extra != 255:
                    break
        if offset > len(out) or len(out) + match_len > limit:
            return None
        start = len(out) - offset
        if offset >= match_len:
            out += out[start : start + match_len]
        else:
            out += (out[start:] * (match_len // offset + 1))[:match_len]
    return bytes(out)
