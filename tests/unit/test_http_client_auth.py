"""The shared HTTP client's authentication pieces alone (``streams.httpclient``): the OAuth 1
base string and signature, the RFC 7616 digest examples, challenge parsing and the OAuth 2 token
lifetime."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from streams.httpclient import digest, oauth1, oauth2

# RFC 7616 §3.9.1: the example's values.
RFC_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("alg", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_response_matches_the_rfc_7616_example(alg: str, expected: str) -> None:
    ch = digest.parse_challenge(RFC_CHALLENGE.format(alg=alg))
    assert (ch.realm, ch.qop, ch.algorithm) == ("http-auth@example.org", "auth", alg)
    got = digest.response(ch, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "00000001", RFC_CNONCE)
    assert got == expected
    header = digest.authorization(ch, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, RFC_CNONCE)
    assert f'response="{expected}"' in header and "nc=00000001" in header and 'opaque="FQhe/' in header


def test_digest_sess_and_no_qop_forms() -> None:
    ch = digest.Challenge("r", "n", "MD5-SESS", "auth")
    ha1 = hashlib.md5(f"{hashlib.md5(b'u:r:p').hexdigest()}:n:c".encode()).hexdigest()
    ha2 = hashlib.md5(b"GET:/x").hexdigest()
    assert (
        digest.response(ch, "u", "p", "GET", "/x", "00000001", "c")
        == hashlib.md5(f"{ha1}:n:00000001:c:auth:{ha2}".encode()).hexdigest()
    )
    plain = digest.Challenge("r", "n")
    ha1 = hashlib.md5(b"u:r:p").hexdigest()
    assert digest.response(plain, "u", "p", "GET", "/x", "", "") == hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ('Basic realm="x"', "no Digest challenge"),
        ('Digest realm="x", nonce="n", algorithm=SHA-512-256', "unsupported digest algorithm SHA-512-256"),
        ('Digest realm="x", nonce="n", qop="auth-int"', "unsupported qop auth-int"),
        ('Digest realm="x"', "challenge without a nonce"),
    ],
)
def test_digest_challenges_this_client_cannot_answer(header: str, problem: str) -> None:
    with pytest.raises(digest.DigestError, match=problem):
        digest.parse_challenge(header)


def test_oauth1_base_string_signs_the_full_url_and_the_oauth_parameters() -> None:
    params = {"oauth_token": "t k", "oauth_consumer_key": "ck", "oauth_nonce": "42"}
    base = oauth1.base_string("POST", "http://h:1/p?a=b c", params)
    assert base == "POST&http%3A%2F%2Fh%3A1%2Fp%3Fa%3Db+c&oauth_consumer_key%3Dck%26oauth_nonce%3D42%26oauth_token%3Dt%2Bk"
    key = b"c%26s&t~s"  # both secrets escaped ("&" is, "~" is not)
    expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
    assert oauth1.signature(base, "c&s", "t~s") == expected


def test_oauth1_header_lists_the_parameters_without_a_scheme_word() -> None:
    signer = oauth1.OAuth1("ck", "cs", "at", "ats")
    header = signer.header("GET", "http://h/p", "7", "1700000000")
    sig = oauth1.signature(
        oauth1.base_string(
            "GET",
            "http://h/p",
            {
                "oauth_consumer_key": "ck",
                "oauth_nonce": "7",
                "oauth_signature_method": "HMAC-SHA1",
                "oauth_timestamp": "1700000000",
                "oauth_token": "at",
                "oauth_version": "1.0",
            },
        ),
        "cs",
        "ats",
    )
    assert header == (
        f'oauth_consumer_key="ck", oauth_nonce="7", oauth_signature="{oauth1.escape(sig)}", '
        'oauth_signature_method="HMAC-SHA1", oauth_timestamp="1700000000", oauth_token="at", oauth_version="1.0"'
    )


def test_an_oauth2_token_is_renewed_ten_seconds_before_it_expires() -> None:
    token = oauth2.token_of({"access_token": "a", "token_type": "bearer", "expires_in": 60}, now=100.0)
    assert token.header() == "Bearer a"
    assert token.valid(149.9) and not token.valid(150.0)
    forever = oauth2.token_of({"access_token": "b", "token_type": "mac"}, now=0.0)
    assert forever.valid(1e12) and forever.header() == "mac b"
    with pytest.raises(oauth2.TokenError, match="server response missing access_token"):
        oauth2.token_of({"token_type": "bearer"}, now=0.0)
