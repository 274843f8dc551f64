"""Bloblang's Encoding and Encryption methods: encode, decode, compress, decompress,
encrypt_aes, decrypt_aes, hash, uuid_v5 (Benthos v4 ``query/methods_strings.go`` and
``impl/pure/bloblang_encoding.go``).

Decoders reproduce Go's error texts (``illegal base64 data at input byte 4``,
``encoding/hex: invalid byte: U+0067 'g'``). gzip, zlib, flate and bzip2 use the standard
library; snappy (block format, as Go's ``snappy.Encode``) and zstd use the ``cramjam`` package (a
dependency; without it only those fail), and their compressed bytes are valid for every decoder but
not byte-identical to Go's compressors. lz4 frames are written and read as Benthos's
``pierrec/lz4`` writer and reader do (golz4.py), byte for byte and error for error.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import gzip
import hashlib
import hmac
import struct
import uuid
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .errors import ExecError
from .golz4 import lz4_frame, lz4_unframe
from .goquote import go_quote
from .registry import Library, Param
from .values import bytes_to_str, get_bytes, type_error, utf8

LIBRARY = Library()

_CRAMJAM: ModuleType | None
try:
    import cramjam

    _CRAMJAM = cramjam
except ImportError:  # pragma: no cover - depends on the installation
    _CRAMJAM = None


def _target_bytes(target: Any) -> bytes:
    """Targets of the query/methods_strings.go encoders: strings and bytes only."""
    if isinstance(target, str):
        return utf8(target)
    if isinstance(target, (bytes, bytearray)):
        return bytes(target)
    raise type_error(target, "string")


# --------------------------------------------------------------------------------------------
# base64 with Go's decoder rules


def _b64_map(alphabet: bytes) -> dict[int, int]:
    return {c: i for i, c in enumerate(alphabet)}


_STD = _b64_map(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_URL = _b64_map(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64_corrupt(offset: int) -> ExecError:
    return ExecError(f"illegal base64 data at input byte {offset}")


def _b64_decode_chunk(src: bytes, table: dict[int, int], padded: bool) -> bytes:
    """Go's ``Encoding.Decode`` quantum by quantum, with its corrupt-input offsets."""
    out = bytearray()
    si = 0
    n = len(src)
    while True:
        quantum = [0, 0, 0, 0]
        size = 4
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                if j == 1 or padded:
                    raise _b64_corrupt(si - j)
                size = j
                break
            c = src[si]
            si += 1
            v = table.get(c)
            if v is not None:
                quantum[j] = v
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if not padded or c != 0x3D:
                raise _b64_corrupt(si - 1)
            if j in (0, 1):
                raise _b64_corrupt(si - 1)
            if j == 2:
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise _b64_corrupt(n)
                if src[si] != 0x3D:
                    raise _b64_corrupt(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise _b64_corrupt(si)
            size = j
            break
        value = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        chunk = value.to_bytes(3, "big")
        out += chunk[: size - 1] if size < 4 else chunk
        if size < 4:
            return bytes(out)


def _b64_decode(data: bytes, table: dict[int, int], padded: bool) -> bytes:
    """Go's ``base64.NewDecoder`` read to the end: newlines are dropped and whole quanta are
    decoded; a trailing partial quantum is ``unexpected EOF`` for padded encodings and is
    decoded on its own (offsets restarting at 0) for the raw ones."""
    data = data.replace(b"\n", b"").replace(b"\r", b"")
    whole = len(data) // 4 * 4
    out = _b64_decode_chunk(data[:whole], table, padded)
    if whole < len(data):
        if padded:
            raise ExecError("unexpected EOF")
        out += _b64_decode_chunk(data[whole:], table, padded)
    return out


# --------------------------------------------------------------------------------------------
# hex, ascii85, z85


def _go_rune_u(code: int) -> str:
    """Go's ``%#U``: ``U+0067 'g'`` (the character only when printable)."""
    ch = chr(code)
    if ch.isprintable():
        return f"U+{code:04X} '{ch}'"
    return f"U+{code:04X}"


_HEX_VALUES = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}


def _hex_decode(data: bytes) -> bytes:
    out = bytearray()
    pairs = len(data) // 2 * 2
    for i in range(0, pairs, 2):
        hi = _HEX_VALUES.get(data[i])
        if hi is None:
            raise ExecError(f"encoding/hex: invalid byte: {_go_rune_u(data[i])}")
        lo = _HEX_VALUES.get(data[i + 1])
        if lo is None:
            raise ExecError(f"encoding/hex: invalid byte: {_go_rune_u(data[i + 1])}")
        out.append(hi << 4 | lo)
    if pairs < len(data):
        last = data[-1]
        if last not in _HEX_VALUES:
            raise ExecError(f"encoding/hex: invalid byte: {_go_rune_u(last)}")
        raise ExecError("unexpected EOF")
    return bytes(out)


def _a85_decode(data: bytes) -> bytes:
    """Go's ``ascii85`` decoding: white space ignored, ``z`` for four zero bytes, a final
    partial group padded with ``u``. The streaming decoder flushes the bytes after the last
    whole group on their own, so a lone trailing character is reported at offset 1."""
    out = bytearray()
    value = 0
    count = 0
    for i, c in enumerate(data):
        if c in b" \t\n\r\v\f":
            continue
        if c == 0x7A and count == 0:  # 'z'
            out += b"\x00\x00\x00\x00"
            continue
        if 0x21 <= c <= 0x75:
            value = value * 85 + (c - 0x21)
            count += 1
            if count == 5:
                out += (value & 0xFFFFFFFF).to_bytes(4, "big")
                value = 0
                count = 0
            continue
        raise ExecError(f"illegal ascii85 data at input byte {i}")
    if count:
        if count == 1:
            # The tail is flushed on its own with white space filtered out: one byte long.
            raise ExecError("illegal ascii85 data at input byte 1")
        for _ in range(5 - count):
            value = value * 85 + 84
        out += (value & 0xFFFFFFFF).to_bytes(4, "big")[: count - 1]
    return bytes(out)


_Z85_DIGITS = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_VALUES = {c: i for i, c in enumerate(_Z85_DIGITS)}
_Z85_ALIGN = "z85: wrongly aligned input data"


def _z85_encode(data: bytes) -> str:
    if len(data) % 4:
        raise ExecError(_Z85_ALIGN)
    out = bytearray()
    for (value,) in struct.iter_unpack(">I", data):
        chunk = bytearray(5)
        for i in range(4, -1, -1):
            value, digit = divmod(value, 85)
            chunk[i] = _Z85_DIGITS[digit]
        out += chunk
    return out.decode("ascii")


def _z85_decode(data: bytes) -> bytes:
    if len(data) % 5:
        raise ExecError(_Z85_ALIGN)
    out = bytearray()
    for start in range(0, len(data), 5):
        value = 0
        for c in data[start : start + 5]:
            digit = _Z85_VALUES.get(c)
            if digit is None:
                raise ExecError(f"z85: invalid input byte: {_go_rune_u(c)}")
            value = value * 85 + digit
        out += (value & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(out)


_ENCODERS: dict[str, Callable[[bytes], str]] = {
    "base64": lambda b: base64.b64encode(b).decode("ascii"),
    "base64url": lambda b: base64.urlsafe_b64encode(b).decode("ascii"),
    "base64rawurl": lambda b: base64.urlsafe_b64encode(b).decode("ascii").rstrip("="),
    "hex": lambda b: binascii.hexlify(b).decode("ascii"),
    "ascii85": lambda b: base64.a85encode(b).decode("ascii"),
    "z85": _z85_encode,
}

_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": lambda b: _b64_decode(b, _STD, True),
    "base64url": lambda b: _b64_decode(b, _URL, True),
    "base64rawurl": lambda b: _b64_decode(b, _URL, False),
    "hex": _hex_decode,
    "ascii85": _a85_decode,
    "z85": _z85_decode,
}


def _encode_check(scheme: str) -> None:
    if scheme not in _ENCODERS:
        raise ExecError(f"unrecognized encoding type: {scheme}", annotated=True)


@LIBRARY.method("encode", Param("scheme", "string"), check=_encode_check)
def encode(target: Any, scheme: str) -> str:
    """Encode a string or bytes with ``base64``, ``base64url``, ``base64rawurl``, ``hex``,
    ``ascii85`` or ``z85``; the result is a string."""
    encoder = _ENCODERS.get(scheme)
    if encoder is None:
        raise ExecError(f"unrecognized encoding type: {scheme}", annotated=True)
    return encoder(_target_bytes(target))


@LIBRARY.method("decode", Param("scheme", "string"), check=_encode_check)
def decode(target: Any, scheme: str) -> bytes:
    """Decode a string or bytes with one of ``encode``'s schemes; the result is bytes."""
    decoder = _DECODERS.get(scheme)
    if decoder is None:
        raise ExecError(f"unrecognized encoding type: {scheme}", annotated=True)
    return decoder(_target_bytes(target))


# --------------------------------------------------------------------------------------------
# compression


def _cramjam() -> ModuleType:
    if _CRAMJAM is None:  # pragma: no cover - depends on the installation
        raise ExecError("snappy, lz4 and zstd need the cramjam package, which is not installed", annotated=True)
    return _CRAMJAM


def _zlib_level(name: str, level: int) -> int:
    if level < -2 or level > 9:
        if name == "flate":
            raise ExecError(f"flate: invalid compression level {level}: want value in range [-2, 9]")
        raise ExecError(f"{name}: invalid compression level: {level}")
    return level


def _deflate(level: int, wbits: int, name: str) -> Callable[[bytes], bytes]:
    lvl = _zlib_level(name, level)

    def run(data: bytes) -> bytes:
        if lvl == -2:
            obj = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, wbits, 8, zlib.Z_HUFFMAN_ONLY)
        else:
            obj = zlib.compressobj(lvl, zlib.DEFLATED, wbits)
        return obj.compress(data) + obj.flush()

    return run


def _gzip_compress(level: int) -> Callable[[bytes], bytes]:
    lvl = _zlib_level("gzip", level)

    def run(data: bytes) -> bytes:
        return gzip.compress(data, compresslevel=6 if lvl < 0 else lvl, mtime=0)

    return run


def _compressor(algorithm: str, level: int) -> Callable[[bytes], bytes]:
    if algorithm in ("gzip", "pgzip"):
        return _gzip_compress(level)
    if algorithm == "zlib":
        return _deflate(level, zlib.MAX_WBITS, "zlib")
    if algorithm == "flate":
        return _deflate(level, -zlib.MAX_WBITS, "flate")
    if algorithm == "snappy":
        return lambda data: bytes(_cramjam().snappy.compress_raw(data))
    if algorithm == "lz4":
        return lambda data: lz4_frame(data, level)
    if algorithm == "zstd":
        return lambda data: bytes(_cramjam().zstd.compress(data, level=level if level > 0 else None))
    raise ExecError(f"compression type not recognised: {algorithm}", annotated=True)


def _corrupt_offset(data: bytes, wbits: int) -> int:
    """Where zlib notices the damage: the count of bytes fed when it fails (Go reports
    ``corrupt input before offset N`` with the bytes its reader had consumed)."""
    obj = zlib.decompressobj(wbits)
    for i in range(len(data)):
        try:
            obj.decompress(data[i : i + 1])
        except zlib.error:
            return i + 1
    return len(data)


def _inflate(data: bytes, wbits: int, name: str) -> bytes:
    obj = zlib.decompressobj(wbits)
    try:
        out = obj.decompress(data)
    except zlib.error:
        if name == "zlib" and (len(data) < 2 or (data[0] << 8 | data[1]) % 31 or data[0] & 0x0F != 8):
            raise ExecError("zlib: invalid header") from None
        offset = _corrupt_offset(data[2:] if name == "zlib" else data, -zlib.MAX_WBITS)
        raise ExecError(f"flate: corrupt input before offset {offset}") from None
    if not obj.eof:
        raise ExecError("unexpected EOF")
    return out


def _gunzip(data: bytes) -> bytes:
    if len(data) < 10 or data[:2] != b"\x1f\x8b" or data[2] != 8:
        if len(data) < 10:
            raise ExecError("EOF" if not data else "unexpected EOF")
        raise ExecError("gzip: invalid header")
    try:
        return gzip.decompress(data)
    except EOFError:
        raise ExecError("unexpected EOF") from None
    except (OSError, zlib.error) as exc:
        if "CRC" in str(exc) or "length" in str(exc):
            raise ExecError("gzip: invalid checksum") from None
        raise ExecError("flate: corrupt input") from None


def _crj(call: Callable[[], Any], name: str, data: bytes) -> bytes:
    try:
        return bytes(call())
    except Exception:  # noqa: BLE001 - cramjam raises its own DecompressionError
        if name == "snappy":
            # Go's snappy is klauspost's s2-backed decoder.
            raise ExecError("s2: corrupt input") from None
        raise ExecError(f"{name}: corrupt input") from None


def _decompressor(algorithm: str) -> Callable[[bytes], bytes]:
    if algorithm in ("gzip", "pgzip"):
        return _gunzip
    if algorithm == "zlib":
        return lambda data: _inflate(data, zlib.MAX_WBITS, "zlib")
    if algorithm == "flate":
        return lambda data: _inflate(data, -zlib.MAX_WBITS, "flate")
    if algorithm == "bzip2":

        def bunzip(data: bytes) -> bytes:
            try:
                return bz2.decompress(data)
            except (OSError, ValueError, EOFError):
                raise ExecError("bzip2 data invalid: bad magic value") from None

        return bunzip
    if algorithm == "snappy":
        return lambda data: _crj(lambda: _cramjam().snappy.decompress_raw(data), "snappy", data)
    if algorithm == "lz4":
        return lz4_unframe
    if algorithm == "zstd":
        return lambda data: _crj(lambda: _cramjam().zstd.decompress(data), "zstd", data)
    raise ExecError(f"compression type not recognised: {algorithm}", annotated=True)


_COMPRESSORS = frozenset({"gzip", "pgzip", "zlib", "flate", "snappy", "lz4", "zstd"})
_DECOMPRESSORS = _COMPRESSORS | {"bzip2"}


def _compress_check(algorithm: str, level: int = -1) -> None:
    if algorithm not in _COMPRESSORS:
        raise ExecError(f"compression type not recognised: {algorithm}", annotated=True)


def _decompress_check(algorithm: str) -> None:
    if algorithm not in _DECOMPRESSORS:
        raise ExecError(f"compression type not recognised: {algorithm}", annotated=True)


@LIBRARY.method("compress", Param("algorithm", "string"), Param("level", "int", default=-1), check=_compress_check)
def compress(target: Any, algorithm: str, level: int = -1) -> bytes:
    """Compress with ``flate``, ``gzip``, ``pgzip``, ``lz4``, ``snappy``, ``zlib`` or ``zstd``."""
    run = _compressor(algorithm, level)
    return run(get_bytes(target))


@LIBRARY.method("decompress", Param("algorithm", "string"), check=_decompress_check)
def decompress(target: Any, algorithm: str) -> bytes:
    """Decompress ``gzip``, ``pgzip``, ``zlib``, ``bzip2``, ``flate``, ``snappy``, ``lz4`` or
    ``zstd`` data."""
    run = _decompressor(algorithm)
    return run(get_bytes(target))


# --------------------------------------------------------------------------------------------
# AES


def _aes_setup(scheme: str, key: str, iv: str) -> tuple[bytes, bytes]:
    key_bytes = utf8(key)
    if len(key_bytes) not in (16, 24, 32):
        raise ExecError(f"crypto/aes: invalid key size {len(key_bytes)}", annotated=True)
    iv_bytes = utf8(iv)
    if scheme in ("ctr", "ofb", "cbc") and len(iv_bytes) != 16:
        raise ExecError("the key must match the initialisation vector size", annotated=True)
    return key_bytes, iv_bytes


def _stream_mode(scheme: str, iv: bytes) -> Any:
    # PERF: cryptography takes about 40 ms to import and only the AES methods need it, so it is
    # imported on first use (where it is missing, only these methods fail).
    from cryptography.hazmat.primitives.ciphers import modes  # noqa: PLC0415

    if scheme == "ctr":
        return modes.CTR(iv)
    return modes.CBC(iv)


def _ofb(key: bytes, iv: bytes, data: bytes) -> bytes:
    """OFB built on the block cipher: the key stream is E(iv), E(E(iv)), ... XORed with the
    data (cryptography is retiring its OFB mode)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415 - optional, see _stream_mode

    block = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    stream = bytearray()
    state = iv
    while len(stream) < len(data):
        state = block.update(state)
        stream += state
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))  # the key stream runs past the data


def _aes_run(scheme: str, key: bytes, iv: bytes, data: bytes, encrypting: bool) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms  # noqa: PLC0415 - optional, see _stream_mode

    if scheme == "cbc" and len(data) % 16:
        what = "plaintext" if encrypting else "ciphertext"
        raise ExecError(f"{what} is not a multiple of the block size")
    if scheme == "ofb":
        return _ofb(key, iv, data)
    cipher = Cipher(algorithms.AES(key), _stream_mode(scheme, iv))
    ctx = cipher.encryptor() if encrypting else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def _gcm(key: bytes, iv: bytes, data: bytes, encrypting: bool) -> bytes:
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415 - optional, see _stream_mode
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415 - optional, see _stream_mode

    if len(iv) != 12:
        # NOTE: Go panics here; a mapping error is the kinder equivalent.
        raise ExecError("crypto/cipher: incorrect nonce length given to GCM")
    aead = AESGCM(key)
    if encrypting:
        return aead.encrypt(iv, data, None)
    try:
        return aead.decrypt(iv, data, None)
    except InvalidTag:
        raise ExecError("gcm decrypting failed: cipher: message authentication failed") from None


def _encrypt_check(scheme: str, key: str, iv: str) -> None:
    _aes_setup(scheme, key, iv)
    if scheme not in ("ctr", "gcm", "ofb", "cbc"):
        raise ExecError(f"unrecognized encryption type: {scheme}", annotated=True)


def _decrypt_check(scheme: str, key: str, iv: str) -> None:
    _aes_setup(scheme, key, iv)
    if scheme not in ("ctr", "gcm", "ofb", "cbc"):
        raise ExecError(f"unrecognized decryption type: {scheme}", annotated=True)


@LIBRARY.method("encrypt_aes", Param("scheme", "string"), Param("key", "string"), Param("iv", "string"), check=_encrypt_check)
def encrypt_aes(target: Any, scheme: str, key: str, iv: str) -> str:
    """AES-encrypt with ``ctr``, ``gcm``, ``ofb`` or ``cbc`` (no padding: cbc input must be
    whole blocks). Like Go the result is a string holding the raw cipher bytes."""
    key_bytes, iv_bytes = _aes_setup(scheme, key, iv)
    if scheme not in ("ctr", "gcm", "ofb", "cbc"):
        raise ExecError(f"unrecognized encryption type: {scheme}", annotated=True)
    data = _target_bytes(target)
    if scheme == "gcm":
        return bytes_to_str(_gcm(key_bytes, iv_bytes, data, True))
    return bytes_to_str(_aes_run(scheme, key_bytes, iv_bytes, data, True))


@LIBRARY.method("decrypt_aes", Param("scheme", "string"), Param("key", "string"), Param("iv", "string"), check=_decrypt_check)
def decrypt_aes(target: Any, scheme: str, key: str, iv: str) -> bytes:
    """Reverse ``encrypt_aes``; the result is bytes."""
    key_bytes, iv_bytes = _aes_setup(scheme, key, iv)
    if scheme not in ("ctr", "gcm", "ofb", "cbc"):
        raise ExecError(f"unrecognized decryption type: {scheme}", annotated=True)
    data = _target_bytes(target)
    if scheme == "gcm":
        return _gcm(key_bytes, iv_bytes, data, False)
    return _aes_run(scheme, key_bytes, iv_bytes, data, False)


# --------------------------------------------------------------------------------------------
# hashing


_M64 = (1 << 64) - 1
_P1, _P2, _P3, _P4, _P5 = (
    0x9E3779B185EBCA87,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0x85EBCA77C2B2AE63,
    0x27D4EB2F165667C5,
)


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _xx_round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _M64
    return (_rotl(acc, 31) * _P1) & _M64


def _xx_merge(acc: int, val: int) -> int:
    acc ^= _xx_round(0, val)
    return (acc * _P1 + _P4) & _M64


def xxhash64(data: bytes, seed: int = 0) -> int:
    """XXH64 of ``data`` (pure Python; Benthos prints it in decimal)."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M64
        v2 = (seed + _P2) & _M64
        v3 = seed & _M64
        v4 = (seed - _P1) & _M64
        limit = n - 32
        while i <= limit:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1, v2, v3, v4 = _xx_round(v1, a), _xx_round(v2, b), _xx_round(v3, c), _xx_round(v4, d)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h = _xx_merge(h, v)
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        h ^= _xx_round(0, lane)
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, i)
        h ^= (lane * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h


def fnv32(data: bytes) -> int:
    """FNV-1 (not 1a) 32-bit, as Go's ``hash/fnv.New32``."""
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


_CRC_TABLES: dict[int, list[int]] = {}
_CRC_POLYS = {"Castagnoli": 0x82F63B78, "Koopman": 0xEB31D82E}


def _crc32(data: bytes, poly: int) -> int:
    table = _CRC_TABLES.get(poly)
    if table is None:
        table = []
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ poly if c & 1 else c >> 1
            table.append(c)
        _CRC_TABLES[poly] = table
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _hasher(algorithm: str, key: str | None, polynomial: str) -> Callable[[bytes], bytes]:
    key_bytes = utf8(key) if key is not None else b""
    hmacs = {"hmac_sha1": "sha1", "hmac_sha256": "sha256", "hmac_sha512": "sha512"}
    name = algorithm.replace("-", "_") if algorithm.startswith("hmac-") else algorithm
    if name in hmacs:
        if not key_bytes:
            raise ExecError(f"hash algorithm {algorithm} requires a key argument", annotated=True)
        digest = hmacs[name]
        return lambda data: hmac.new(key_bytes, data, digest).digest()
    if algorithm in ("md5", "sha1", "sha256", "sha512", "sha3_256", "sha3_512"):
        return lambda data: hashlib.new(algorithm, data).digest()
    if algorithm == "xxhash64":
        return lambda data: str(xxhash64(data)).encode()
    if algorithm == "fnv32":
        return lambda data: str(fnv32(data)).encode()
    if algorithm == "crc32":

        def crc(data: bytes) -> bytes:
            if polynomial == "IEEE":
                value = zlib.crc32(data)
            elif polynomial in _CRC_POLYS:
                value = _crc32(data, _CRC_POLYS[polynomial])
            else:
                raise ExecError(f"unsupported crc32 hash key {_quoted(polynomial)}")
            return value.to_bytes(4, "big")

        return crc
    raise ExecError(f"unrecognized hash type: {algorithm}", annotated=True)


def _quoted(s: str) -> str:
    return go_quote(s)


def _hash_check(algorithm: str, key: str | None = None, polynomial: str = "IEEE") -> None:
    _hasher(algorithm, key, polynomial)


@LIBRARY.method(
    "hash",
    Param("algorithm", "string"),
    Param("key", "string", default=None, nullable=True),
    Param("polynomial", "string", default="IEEE"),
    check=_hash_check,
)
def hash_(target: Any, algorithm: str, key: str | None = None, polynomial: str = "IEEE") -> bytes:
    """Hash a string or bytes: ``hmac_sha1``, ``hmac_sha256``, ``hmac_sha512`` (need ``key``),
    ``md5``, ``sha1``, ``sha256``, ``sha512``, ``sha3_256``, ``sha3_512``, ``xxhash64`` and
    ``fnv32`` (decimal text), ``crc32`` (``IEEE``, ``Castagnoli`` or ``Koopman``)."""
    run = _hasher(algorithm, key, polynomial)
    return run(_target_bytes(target))


# --------------------------------------------------------------------------------------------
# UUID v5

_NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}


def _namespace(ns: str | None) -> uuid.UUID:
    if ns is None:
        return uuid.UUID(int=0)
    if ns in ("dns", "DNS", "url", "URL", "oid", "OID", "x500", "X500"):
        return _NAMESPACES[ns.lower()]
    try:
        return uuid.UUID(ns)
    except ValueError:
        raise ExecError(f"invalid ns uuid: {_quoted(ns)}") from None


@LIBRARY.method("uuid_v5", Param("ns", "string", default=None, nullable=True))
def uuid_v5(target: Any, ns: str | None = None) -> str | None:
    """The name-based (SHA-1) UUID of the target in namespace ``ns`` (``dns``, ``url``,
    ``oid``, ``x500`` or a UUID; the nil UUID by default). A null target gives null."""
    if target is None:
        return None
    namespace = _namespace(ns)
    name = _target_bytes(target)
    digest = bytearray(hashlib.sha1(namespace.bytes + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))
