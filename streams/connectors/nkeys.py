"""NATS NKeys: ed25519 keys spelled as base32 text, and the ``.creds`` file that pairs a user JWT
with one. No I/O beyond reading a named file.

An NKey is base32 (no padding) of a prefix, the 32 key bytes and a CRC-16 (XMODEM: polynomial
0x1021, initial 0) of both, little-endian. A public key's prefix is one byte whose top five bits
say its role (``U`` user, ``A`` account, ``O`` operator, ``N`` server); a seed (private key) spends
two bytes: the seed marker (``S``) in the top five bits, then the role of its public key, so a user
seed reads ``SU...``. The server proves a client holds the seed by having it sign the ``nonce`` of
its ``INFO``; the signature goes in ``CONNECT`` as unpadded URL-safe base64
(https://docs.nats.io/reference/reference-protocols/nats-protocol#connect).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX_SEED = 18 << 3
ROLES = {"U": 20 << 3, "A": 0, "O": 14 << 3, "N": 13 << 3}
"""The public-key prefixes a seed may carry (user, account, operator, server)."""


class NKeyError(ValueError):
    """Text that is not a usable NKey seed or credentials file; the message says what is wrong."""


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _encode(raw: bytes) -> str:
    checked = raw + crc16(raw).to_bytes(2, "little")
    return base64.b32encode(checked).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes:
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        raise NKeyError("not base32") from None
    if len(raw) < 4 or crc16(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
        raise NKeyError("checksum does not match") from None
    return raw[:-2]


def encode_public(role: str, key: bytes) -> str:
    """The NKey text of a 32-byte public key of ``role`` (``U``, ``A``, ``O``, ``N``)."""
    return _encode(bytes([ROLES[role]]) + key)


def encode_seed(role: str, seed: bytes) -> str:
    """The NKey text of a 32-byte ed25519 seed whose public key has ``role``."""
    prefix = ROLES[role]
    return _encode(bytes([PREFIX_SEED | prefix >> 5, (prefix & 31) << 3]) + seed)


@dataclass(frozen=True)
class KeyPair:
    """An ed25519 key from an NKey seed: signs nonces, knows its public NKey."""

    seed: str = field(repr=False)

    @classmethod
    def from_seed(cls, text: str) -> KeyPair:
        """Raises ``NKeyError`` when ``text`` is not an NKey seed."""
        pair = cls(text.strip())
        pair._private()
        return pair

    def _private(self) -> tuple[str, Ed25519PrivateKey]:
        raw = _decode(self.seed)
        if len(raw) != 34 or raw[0] & 0xF8 != PREFIX_SEED:
            raise NKeyError("not an NKey seed (S... with 32 key bytes)")
        prefix = (raw[0] & 7) << 5 | (raw[1] & 0xF8) >> 3
        role = next((r for r, p in ROLES.items() if p == prefix), None)
        if role is None:
            raise NKeyError("the seed's key role is unknown")
        return role, Ed25519PrivateKey.from_private_bytes(raw[2:])

    @property
    def public_key(self) -> str:
        role, key = self._private()
        return encode_public(role, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, nonce: bytes) -> str:
        """The signature of ``nonce`` as CONNECT's ``sig`` wants it."""
        return base64.urlsafe_b64encode(self._private()[1].sign(nonce)).decode("ascii").rstrip("=")


_BLOCK = re.compile(r"^\s*-{3,}[^\n]*-{3,}\s*\n\s*([\w\-.=]+)\s*\n\s*-{3,}[^\n]*-{3,}\s*$", re.MULTILINE)


def parse_credentials(text: str) -> tuple[str, KeyPair]:
    """The user JWT and the key of a ``.creds`` file's text: its first and second blocks framed by
    dashed lines. Raises ``NKeyError``."""
    blocks = _BLOCK.findall(text)
    if len(blocks) < 2:
        raise NKeyError("expected a user JWT and an NKey seed, each between dashed lines")
    jwt, seed = blocks[0], blocks[1]
    if jwt.count(".") != 2:
        raise NKeyError("the first block is not a JWT")
    try:
        return jwt, KeyPair.from_seed(seed)
    except NKeyError as exc:
        raise NKeyError(f"the second block: {exc}") from None


def read_file(path: str) -> str:
    """A key file's text; ``NKeyError`` naming the reason when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise NKeyError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise NKeyError(f"{path} is not text") from None
