"""NKey seeds, public keys and ``.creds`` files: the NATS documentation's example pair, the
encoding both ways, signatures a server can check, and the errors a user sees."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from streams.connectors.nkeys import KeyPair, NKeyError, crc16, encode_seed, parse_credentials

DOC_SEED = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
DOC_PUBLIC = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"
"""The user pair the NATS server documentation shows (``nk -gen user -pubout``)."""


def test_the_documented_seed_gives_its_documented_public_key() -> None:
    assert KeyPair.from_seed(DOC_SEED).public_key == DOC_PUBLIC


def test_crc16_is_xmodem() -> None:
    assert crc16(b"123456789") == 0x31C3


@pytest.mark.parametrize("role", ["U", "A", "O"])
def test_a_made_seed_reads_back_with_its_role_and_signs_for_its_public_key(role: str) -> None:
    key = KeyPair.from_seed(encode_seed(role, os.urandom(32)))
    assert key.seed.startswith("S" + role) and key.public_key.startswith(role)
    raw_public = base64.b32decode(key.public_key + "=" * (-len(key.public_key) % 8))[1:33]
    signature = base64.urlsafe_b64decode(key.sign(b"nonce") + "==")
    Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, b"nonce")  # raises when wrong


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DOC_PUBLIC, "not an NKey seed (S... with 32 key bytes)"),
        (DOC_SEED[:-1] + "A", "checksum does not match"),
        ("not base32!", "not base32"),
    ],
)
def test_what_is_not_a_seed_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(NKeyError) as caught:
        KeyPair.from_seed(text)
    assert str(caught.value) == problem


def test_a_creds_file_gives_its_jwt_and_seed() -> None:
    text = (
        "-----BEGIN NATS USER JWT-----\naaa.bbb.ccc\n------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{DOC_SEED}\n------END USER NKEY SEED------\n"
    )
    jwt, key = parse_credentials(text)
    assert (jwt, key.public_key) == ("aaa.bbb.ccc", DOC_PUBLIC)


def test_a_creds_file_without_both_blocks_is_refused() -> None:
    with pytest.raises(NKeyError) as caught:
        parse_credentials(f"-----BEGIN USER NKEY SEED-----\n{DOC_SEED}\n------END USER NKEY SEED------\n")
    assert str(caught.value) == "expected a user JWT and an NKey seed, each between dashed lines"
