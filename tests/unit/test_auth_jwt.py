"""The JWT verifier and the JWKS cache's bookkeeping, without I/O: each algorithm family,
leeways on exp/nbf/iat, identity claims, and the refusals (alg none, algorithm confusion)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from streams.auth.config import JwksUri
from streams.auth.jwks import JwksCache, JwksKeys, parse_jwks
from streams.auth.jwt_verify import JwtRejected, Leeway, VerifyKey, identity, verify

NOW = 1_800_000_000.0
SECRET = b"a-shared-secret-of-64-bytes-long-for-every-hmac-algorithm-we-use"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _pem(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _keys(*keys: VerifyKey):
    return lambda kid, family: [k for k in keys if kid is None or k.kid in (None, kid)]


HMAC_KEYS = _keys(VerifyKey("hmac", SECRET))
RSA_KEYS = _keys(VerifyKey("rsa", RSA_KEY.public_key()))
EC_KEYS = _keys(VerifyKey("ecdsa", EC_KEY.public_key()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_signed(header: dict, claims: dict, secret: bytes | None) -> str:
    """A token built by hand: what an attacker can send that PyJWT would refuse to make."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize(
    ("alg", "key", "keys"),
    [
        ("HS256", SECRET, HMAC_KEYS), ("HS512", SECRET, HMAC_KEYS),
        ("RS256", RSA_KEY, RSA_KEYS), ("PS384", RSA_KEY, RSA_KEYS),
        ("ES256", EC_KEY, EC_KEYS),
    ],
)
def test_each_family_verifies_its_own_tokens(alg, key, keys):
    token = jwt.encode({"sub": "alice", "exp": NOW + 60, "role": ["a", "b"]}, key, algorithm=alg)
    assert verify(token, keys, now=NOW) == {"sub": "alice", "exp": NOW + 60, "role": ["a", "b"]}


def test_a_token_signed_with_another_secret_is_refused():
    token = jwt.encode({"sub": "alice"}, b"another-secret-of-32-bytes-long!", algorithm="HS256")
    with pytest.raises(JwtRejected, match="signature verification failed"):
        verify(token, HMAC_KEYS, now=NOW)


def test_alg_none_is_refused_before_any_key_is_used():
    token = _hand_signed({"alg": "none", "typ": "JWT"}, {"sub": "alice"}, None)
    with pytest.raises(JwtRejected, match="algorithm 'none' is not accepted"):
        verify(token, HMAC_KEYS, now=NOW)


def test_hmac_token_signed_with_the_rsa_public_key_is_refused():
    # Algorithm confusion: the RSA public key is public, so an attacker signs HS256 with its PEM.
    forged = _hand_signed({"alg": "HS256", "typ": "JWT"}, {"sub": "admin"}, _pem(RSA_KEY))
    with pytest.raises(JwtRejected, match="no key to verify the token with"):
        verify(forged, RSA_KEYS, now=NOW)
    # ...and a PEM never serves as an HMAC secret even if one were offered as a key.
    pem_as_secret = _keys(VerifyKey("hmac", _pem(RSA_KEY)))
    with pytest.raises(JwtRejected, match="signature verification failed"):
        verify(forged, pem_as_secret, now=NOW)


def test_the_signing_method_narrows_the_family():
    token = jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")
    with pytest.raises(JwtRejected, match="does not match the API's signing method rsa"):
        verify(token, HMAC_KEYS, now=NOW, signing_method="rsa")


def test_an_unsigned_or_garbled_token_is_malformed():
    with pytest.raises(JwtRejected, match="malformed token"):
        verify("not.a.jwt", HMAC_KEYS, now=NOW)


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"exp": NOW - 4}, True),  # expired 4 s ago, inside the 5 s leeway
        ({"exp": NOW - 6}, False),
        ({"nbf": NOW + 4}, True),
        ({"nbf": NOW + 6}, False),
        ({"iat": NOW + 4}, True),
        ({"iat": NOW + 6}, False),
    ],
)
def test_time_claims_are_checked_with_a_leeway(claims, accepted):
    token = jwt.encode({"sub": "alice", **claims}, SECRET, algorithm="HS256")
    if accepted:
        assert verify(token, HMAC_KEYS, now=NOW, leeway=Leeway(5, 5, 5))["sub"] == "alice"
    else:
        with pytest.raises(JwtRejected):
            verify(token, HMAC_KEYS, now=NOW, leeway=Leeway(5, 5, 5))


def test_expired_message_and_a_zero_skew():
    token = jwt.encode({"sub": "alice", "exp": NOW - 1}, SECRET, algorithm="HS256")
    with pytest.raises(JwtRejected, match="token has expired"):
        verify(token, HMAC_KEYS, now=NOW, leeway=Leeway(0, 0, 0))


def test_a_time_claim_that_is_not_a_number_is_refused():
    token = jwt.encode({"sub": "alice", "exp": "tomorrow"}, SECRET, algorithm="HS256")
    with pytest.raises(JwtRejected, match="claim exp is not a number"):
        verify(token, HMAC_KEYS, now=NOW)


def test_identity_is_the_base_field_then_sub():
    assert identity({"sub": "s", "email": "e@x"}, "email") == "e@x"
    assert identity({"sub": "s"}, "email") == "s"
    with pytest.raises(JwtRejected, match="no 'email' claim"):
        identity({"name": "n"}, "email")


def test_keys_are_chosen_by_kid():
    token = jwt.encode({"sub": "a"}, RSA_KEY, algorithm="RS256", headers={"kid": "k2"})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = _keys(VerifyKey("rsa", other.public_key(), "k1"), VerifyKey("rsa", RSA_KEY.public_key(), "k2"))
    assert verify(token, keys, now=NOW)["sub"] == "a"


# --- JWKS -------------------------------------------------------------------------------------


def _jwks(*entries: tuple[str, object]) -> bytes:
    keys = []
    for kid, key in entries:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()) if isinstance(key, rsa.RSAPrivateKey)
                         else jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "use": "sig"})
    keys.append({"kty": "oct", "k": _b64(SECRET), "kid": "symmetric"})  # never trusted from a JWKS
    return json.dumps({"keys": keys}).encode()


def test_parse_jwks_keeps_rsa_and_ec_signature_keys():
    keys = parse_jwks(_jwks(("r", RSA_KEY), ("e", EC_KEY)))
    assert [(k.kid, k.family) for k in keys] == [("r", "rsa"), ("e", "ecdsa")]
    with pytest.raises(ValueError, match="not a JWKS document"):
        parse_jwks(b'{"nokeys": []}')


def test_cache_fetches_on_unknown_kid_but_not_more_often_than_the_floor():
    cache = JwksCache(min_refresh_s=3.0)
    source = JwksUri("http://jwks.test/keys", cache_timeout=600)
    assert cache.due(source, None, 0.0)
    cache.store(source.url, parse_jwks(_jwks(("k1", RSA_KEY))), 0.0)
    assert not cache.due(source, "k1", 1.0)
    assert not cache.due(source, "k9", 2.9)  # unknown kid, but within the floor
    assert cache.due(source, "k9", 3.0)
    assert not cache.due(source, None, 100.0)  # known keys, cache still fresh
    assert cache.due(source, None, 600.0)  # cache timeout


def test_a_flood_of_unknown_kids_fetches_once_per_floor():
    fetched: list[str] = []
    clock = [0.0]

    def fetch(url: str) -> list[VerifyKey]:
        fetched.append(url)
        return parse_jwks(_jwks(("k1", RSA_KEY)))

    keys = JwksKeys(fetch=fetch, clock=lambda: clock[0], cache=JwksCache(min_refresh_s=3.0))
    source = (JwksUri("http://jwks.test/keys"),)
    for i in range(100):
        clock[0] = i * 0.05  # 100 tokens over 5 s, each with a new kid
        keys.keys(source, f"bogus-{i}")
    assert len(fetched) == 2  # at 0 s and at 3 s


def test_a_failed_fetch_keeps_the_known_keys():
    calls = []

    def fetch(url: str) -> list[VerifyKey]:
        calls.append(url)
        if len(calls) > 1:
            raise ValueError("answered 500")
        return parse_jwks(_jwks(("k1", RSA_KEY)))

    clock = [0.0]
    keys = JwksKeys(fetch=fetch, clock=lambda: clock[0], cache=JwksCache(min_refresh_s=1.0))
    source = (JwksUri("http://jwks.test/keys"),)
    assert [k.kid for k in keys.keys(source, "k1")] == ["k1"]
    clock[0] = 5.0
    assert [k.kid for k in keys.keys(source, "k2")] == ["k1"] and len(calls) == 2
