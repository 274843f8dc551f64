"""API keys end to end on a real ``gunicorn -w 3`` (embedded broker): made through Tyk's
``/tyk/keys`` API, used on several workers, revoked (refused on every worker within about a
second), limited to their APIs (403), to their quota (429 + Retry-After, counted for the host)
and to their lifetime (401 once expired)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.auth_definitions import with_keys, write
from tests.e2e.clients import held_steady
from tests.e2e.server import Gunicorn, start_gunicorn

SECRET = "keys-test-secret"
ADMIN = {"x-tyk-authorization": SECRET}


def echo_api(api_id: str) -> dict[str, Any]:
    """An API whose one stream answers each POST with its body, behind an auth token."""
    return with_keys({
        "openapi": "3.0.3",
        "info": {"title": api_id, "version": "1.0.0"},
        "paths": {},
        "x-tyk-streaming": {"streams": {"echo": {
            "input": {"http_server": {"path": "/echo"}},
            "pipeline": {"processors": [{"mapping": "root = this"}]},
            "output": {"sync_response": {}},
        }}},
        "x-tyk-api-gateway": {
            "info": {"id": api_id, "name": api_id, "state": {"active": True}},
            "server": {"listenPath": {"value": f"/{api_id}/", "strip": True}},
        },
    })


def start_keys_gateway(tmp: Path, *, workers: int = 3, env: dict[str, str] | None = None) -> Gunicorn:
    apis = tmp / "apis"
    for api_id in ("keys-a", "keys-b"):
        write(apis, f"{api_id}.yaml", echo_api(api_id))
    return start_gunicorn(tmp, workers=workers, env={
        "STREAMS_DEFINITIONS_DIR": str(apis), "STREAMS_SECRET": SECRET, "STREAMS_LOG_LEVEL": "DEBUG", **(env or {}),
    })


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Gunicorn:
    server = start_keys_gateway(tmp_path_factory.mktemp("auth-keys"))
    yield server
    server.stop()


def rights(*api_ids: str) -> dict[str, Any]:
    return {a: {"api_id": a, "api_name": a, "versions": ["Default"]} for a in api_ids}


def create_key(server: Gunicorn, **session: Any) -> str:
    resp = requests.post(server.url("/tyk/keys/create"), json=session, headers=ADMIN, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["action"]) == ("ok", "added") and len(body["key_hash"]) == 64
    return body["key"]


def call(server: Gunicorn, api_id: str, key: str | None, **extra: Any) -> requests.Response:
    """One POST on a fresh connection (so the kernel may hand it to any worker)."""
    headers = {"Authorization": key} if key else {}
    with requests.Session() as fresh:
        return fresh.post(server.url(f"/{api_id}/echo"), json={"hello": "world", **extra}, headers=headers, timeout=10)


def test_a_key_works_on_several_workers(gateway: Gunicorn) -> None:
    key = create_key(gateway, alias="alice", access_rights=rights("keys-a"))
    replies = [call(gateway, "keys-a", key, n=i) for i in range(40)]
    assert [r.status_code for r in replies] == [200] * 40
    assert replies[7].json() == {"hello": "world", "n": 7}
    pids = set(re.findall(r"authenticated api=keys-a scheme=keys pid=(\d+)", gateway.log()))
    assert len(pids) > 1, f"all 40 requests were served by one worker: {pids}"


def test_missing_and_unknown_keys_are_401_in_the_gateway_error_shape(gateway: Gunicorn) -> None:
    missing = call(gateway, "keys-a", None)
    assert (missing.status_code, missing.json()) == (401, {"error": "Authorization field missing", "status": 401})
    unknown = call(gateway, "keys-a", "no-such-key")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "Key not authorised")


def test_a_key_for_another_api_is_403(gateway: Gunicorn) -> None:
    key = create_key(gateway, access_rights=rights("keys-a"))
    refused = call(gateway, "keys-b", key)
    assert (refused.status_code, refused.json()["error"]) == (403, "Access to this API has been disallowed")
    updated = requests.put(gateway.url(f"/tyk/keys/{key}"), json={"access_rights": rights("keys-a", "keys-b")},
                           headers=ADMIN, timeout=10)
    assert (updated.status_code, updated.json()["action"]) == (200, "modified")
    held_steady("the widened key works on keys-b", lambda: call(gateway, "keys-b", key).status_code == 200, bound=2, settle=1)


def test_a_revoked_key_is_refused_on_every_worker_within_a_second(gateway: Gunicorn) -> None:
    key = create_key(gateway, access_rights=rights("keys-a"))
    held_steady("the key works everywhere", lambda: call(gateway, "keys-a", key).status_code == 200, bound=2, settle=1)
    deleted = requests.delete(gateway.url(f"/tyk/keys/{key}"), headers=ADMIN, timeout=10)
    assert deleted.json() == {"key": key, "status": "ok", "action": "deleted"}
    took = held_steady("the revoked key is refused on every worker",
                       lambda: call(gateway, "keys-a", key).status_code == 401, bound=1.0, settle=1.5)
    assert took <= 1.0
    assert requests.get(gateway.url(f"/tyk/keys/{key}"), headers=ADMIN, timeout=10).status_code == 404


def test_quota_is_counted_for_the_host_and_answers_429(gateway: Gunicorn) -> None:
    key = create_key(gateway, access_rights=rights("keys-a"), quota_max=5, quota_renewal_rate=3600)
    statuses = [call(gateway, "keys-a", key).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3  # five in all, whichever workers served them
    over = call(gateway, "keys-a", key)
    assert over.json()["error"] == "Quota exceeded" and 3000 < int(over.headers["Retry-After"]) <= 3600
    stored = requests.get(gateway.url(f"/tyk/keys/{key}"), headers=ADMIN, timeout=10).json()
    assert (stored["quota_max"], stored["quota_remaining"]) == (5, 0) and stored["quota_renews"] > time.time() + 3000


def test_rate_answers_429_with_retry_after(gateway: Gunicorn) -> None:
    key = create_key(gateway, access_rights=rights("keys-a"), rate=3, per=60)
    statuses = [call(gateway, "keys-a", key).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    over = call(gateway, "keys-a", key)
    assert over.json()["error"] == "Rate limit exceeded" and 1 <= int(over.headers["Retry-After"]) <= 60


def test_an_expired_key_is_401(gateway: Gunicorn) -> None:
    key = create_key(gateway, access_rights=rights("keys-a"), expires=int(time.time()) + 3)
    assert call(gateway, "keys-a", key).status_code == 200
    time.sleep(3.5)
    refused = call(gateway, "keys-a", key)
    assert (refused.status_code, refused.json()["error"]) == (401, "Key has expired, please renew")


def test_the_key_api_speaks_tyks_shapes(gateway: Gunicorn) -> None:
    made = requests.post(gateway.url("/tyk/keys"), json={"alias": "bob", "meta_data": {"team": "x"}}, headers=ADMIN, timeout=10)
    body = made.json()
    assert set(body) == {"key", "status", "action", "key_hash"}
    stored = requests.get(gateway.url(f"/tyk/keys/{body['key']}"), headers=ADMIN, timeout=10).json()
    assert (stored["alias"], stored["meta_data"], stored["key_hash"], stored["quota_max"]) == ("bob", {"team": "x"}, body["key_hash"], -1)
    assert body["key"] not in str(stored)
    by_hash = requests.get(gateway.url(f"/tyk/keys/{body['key_hash']}?hashed=true"), headers=ADMIN, timeout=10)
    assert by_hash.json()["alias"] == "bob"
    assert body["key_hash"] in requests.get(gateway.url("/tyk/keys"), headers=ADMIN, timeout=10).json()["keys"]
    custom = requests.post(gateway.url("/tyk/keys/my-own-key"), json={}, headers=ADMIN, timeout=10)
    assert (custom.status_code, custom.json()["key"]) == (200, "my-own-key")
    again = requests.post(gateway.url("/tyk/keys/my-own-key"), json={}, headers=ADMIN, timeout=10)
    assert (again.status_code, again.json()) == (400, {"status": "error", "message": "Key already exists"})
    bad = requests.post(gateway.url("/tyk/keys/create"), json={"rate": "fast"}, headers=ADMIN, timeout=10)
    assert (bad.status_code, bad.json()["message"]) == (400, "Request malformed: rate must be a number")
    assert requests.put(gateway.url("/tyk/keys/unknown"), json={}, headers=ADMIN, timeout=10).status_code == 404
    assert requests.post(gateway.url("/tyk/keys/create"), json={}, timeout=10).status_code == 403
