"""API keys without I/O: the session object, the fold of the keys log, and the gate's decisions
(401, 403, 429 + Retry-After) with dummy key lookups and counters."""

from __future__ import annotations

import jwt
import pytest

from streams.auth.config import AuthConfig, CredentialSources, JwtScheme, TokenScheme
from streams.auth.gate import AuthDenied, Credentials, Gate
from streams.auth.key_table import KeyTable, decode, encode
from streams.auth.sessions import SessionInvalid, hash_key, new_key, read_session, stored_document

NOW = 1_800_000_000.0
TOKEN = TokenScheme("keys", CredentialSources(header="Authorization"))


def _session(**fields):
    return read_session(stored_document(fields, "h", NOW))


# --- the session object ---------------------------------------------------------------------


def test_session_defaults_are_tyks():
    s = _session()
    assert (s.rate_limited, s.quota_limited, s.expired(NOW), s.allows("any")) == (False, False, False, True)
    assert s.document["quota_remaining"] == -1 and s.document["key_hash"] == "h"


def test_session_access_rights_and_expiry():
    s = _session(access_rights={"api-a": {"api_id": "api-a", "api_name": "a", "versions": ["Default"]}},
                 expires=NOW + 10)
    assert s.allows("api-a") and not s.allows("api-b")
    assert not s.expired(NOW + 9) and s.expired(NOW + 10)
    assert not _session(expires=-1).expired(NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rate": "ten"}, "rate must be a number"),
        ({"access_rights": ["api-a"]}, "access_rights must map API IDs"),
        ({"alias": 5}, "alias must be a string"),
        ({"meta_data": "x"}, "meta_data must be an object"),
    ],
)
def test_bad_session_fields_are_named(body, message):
    with pytest.raises(SessionInvalid, match=message):
        read_session(body)


def test_the_plain_key_is_never_kept():
    doc = stored_document({"key": "plain", "alias": "a"}, hash_key("plain"), NOW)
    assert "plain" not in encode(read_session(doc)).decode()
    assert len(new_key()) == 32 and new_key() != new_key()


# --- the fold of the keys log ---------------------------------------------------------------


def test_table_folds_records_in_log_order_and_deletes():
    table = KeyTable()
    table.apply_record(b"h1", encode(_session(alias="one")), 0)
    table.apply_record(b"h2", encode(_session(alias="two")), 1)
    table.apply_record(b"h1", b"", 2)
    assert table.get("h1") is None and table.get("h2").alias == "two"
    assert table.read_to == 3 and table.hashes() == ["h2"]


def test_own_write_applied_early_is_not_undone_by_older_records():
    table = KeyTable()
    assert table.apply("h1", None, 5)  # this process deleted the key at offset 5
    table.apply_record(b"h1", encode(_session(alias="old")), 4)  # the follower catches up late
    assert table.get("h1") is None
    table.apply_record(b"h1", b"", 5)  # its own record read back
    assert table.get("h1") is None and table.read_to == 6


def test_records_not_understood_are_skipped():
    table = KeyTable()
    table.apply_record(b"h1", b"{not json", 0)
    table.apply_record(None, encode(_session()), 1)
    assert table.hashes() == [] and table.read_to == 2
    assert decode(b"") is None


# --- the gate -------------------------------------------------------------------------------


class Counters:
    """Fixed-window counters like HostState.rate_take, in memory."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def take(self, name: str, count: int, interval: float) -> float:
        if self.used.get(name, 0) >= count:
            return interval / 2
        self.used[name] = self.used.get(name, 0) + 1
        return 0.0


def _gate(sessions: dict, config: AuthConfig | None = None, counters: Counters | None = None) -> Gate:
    config = config or AuthConfig(((TOKEN,),), schemes={"keys": TOKEN})
    counters = counters or Counters()
    return Gate("api-a", "a", config, keys=sessions.get, jwks=lambda sources, kid: [], limits=counters.take,
                clock=lambda: NOW)


def _creds(key: str | None = None, header: str = "authorization") -> Credentials:
    return Credentials({header: key} if key else {}, {}, {})


def _denied(gate: Gate, creds: Credentials) -> AuthDenied:
    with pytest.raises(AuthDenied) as caught:
        gate.check(creds)
    return caught.value


def test_key_decisions():
    sessions = {
        hash_key("good"): _session(alias="alice"),
        hash_key("old"): _session(expires=NOW - 1),
        hash_key("other"): _session(access_rights={"api-b": {"api_id": "api-b"}}),
        hash_key("off"): _session(is_inactive=True),
    }
    gate = _gate(sessions)
    who = gate.check(_creds("Bearer good"))
    assert (who.subject, who.token, who.scheme) == ("alice", "good", "keys")
    assert (_denied(gate, _creds()).status, _denied(gate, _creds()).message) == (401, "Authorization field missing")
    assert _denied(gate, _creds("nope")).status == 401
    assert _denied(gate, _creds("old")).message == "Key has expired, please renew"
    assert _denied(gate, _creds("off")).status == 401
    other = _denied(gate, _creds("other"))
    assert (other.status, other.message) == (403, "Access to this API has been disallowed")


def test_rate_and_quota_answer_429_with_retry_after():
    sessions = {hash_key("r"): _session(rate=2, per=10), hash_key("q"): _session(quota_max=3, quota_renewal_rate=60)}
    gate = _gate(sessions)
    for _ in range(2):
        gate.check(_creds("r"))
    rate = _denied(gate, _creds("r"))
    assert (rate.status, rate.message, rate.headers) == (429, "Rate limit exceeded", {"Retry-After": "5"})
    for _ in range(3):
        gate.check(_creds("q"))
    quota = _denied(gate, _creds("q"))
    assert (quota.status, quota.message, quota.headers) == (429, "Quota exceeded", {"Retry-After": "30"})
    zero = _gate({hash_key("z"): _session(quota_max=0, quota_renewal_rate=60)})
    assert _denied(zero, _creds("z")).headers == {"Retry-After": "60"}


def test_credential_sources_header_query_cookie():
    scheme = TokenScheme("keys", CredentialSources(header="X-Api-Key", query="key", cookie="k"))
    gate = _gate({hash_key("good"): _session()}, AuthConfig(((scheme,),), schemes={"keys": scheme}))
    assert gate.check(Credentials({"x-api-key": "good"}, {}, {})).token == "good"
    assert gate.check(Credentials({}, {"key": "good"}, {})).token == "good"
    assert gate.check(Credentials({}, {}, {"k": "good"})).token == "good"
    assert _denied(gate, Credentials({"authorization": "good"}, {}, {})).status == 401


SECRET = b"gate-secret-of-at-least-32-bytes"


def test_jwt_scheme_challenges_with_bearer_and_names_the_identity():
    scheme = JwtScheme("jwt", CredentialSources(), signing_method="hmac", secret=SECRET, identity_base_field="email")
    gate = _gate({}, AuthConfig(((scheme,),), schemes={"jwt": scheme}))
    token = jwt.encode({"sub": "s1", "email": "a@x", "exp": NOW + 60}, SECRET, algorithm="HS256")
    who = gate.check(_creds(f"Bearer {token}"))
    assert (who.subject, who.claims["email"], who.token) == ("a@x", "a@x", token)
    missing = _denied(gate, _creds())
    assert missing.status == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="a"'
    expired = _denied(gate, _creds(jwt.encode({"sub": "s", "exp": NOW - 60}, SECRET, algorithm="HS256")))
    assert expired.message == "invalid JWT: token has expired"
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_compliant_requirements_take_the_most_telling_refusal():
    jwt_scheme = JwtScheme("jwt", CredentialSources(), signing_method="hmac", secret=SECRET)
    config = AuthConfig(((jwt_scheme,), (TOKEN,)), schemes={"jwt": jwt_scheme, "keys": TOKEN})
    gate = _gate({hash_key("other"): _session(access_rights={"api-b": {}})}, config)
    assert _denied(gate, _creds("other")).status == 403  # the key is valid, for another API
    assert gate.check(_creds(jwt.encode({"sub": "s"}, SECRET, algorithm="HS256"))).subject == "s"
