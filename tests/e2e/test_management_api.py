"""The management API on a real ``gunicorn wsgi:app -w 4``: an API's whole life through it.

A copy of the seed (its own ID, listen path, name and topics) is created with POST, served by
every worker (the answering one at once, the others through the directory watch), changed with
PUT (the new mapping shows in the next replies), read back, deleted (404 afterwards), and a
created API survives a restart of the gateway. Missing or wrong secrets get 403, an invalid body
400 with positioned problems, and a gateway without a configured secret makes its own.
"""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.e2e.clients import held_steady
from tests.e2e.server import ROOT, Gunicorn, start_gunicorn

WORKERS = 4
SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
SECRET = "management-secret-for-tests"
AUTH = {"x-tyk-authorization": SECRET}
PUSHES = 8  # fresh connections each: several land on every worker
BOUND = 15.0  # seconds any change may take to reach every worker (the watch needs about 1)


def seed_copy(api_id: str) -> dict[str, Any]:
    """The seed as a separate API: its own ID, name, listen path, topics and group."""
    doc = yaml.safe_load(SEED.read_text())
    gw = doc["x-tyk-api-gateway"]
    gw["info"]["name"] = api_id
    gw["info"]["id"] = api_id
    gw["server"]["listenPath"]["value"] = f"/{api_id}/"
    streams = doc["x-tyk-streaming"]["streams"]
    streams["Worker"]["input"]["kafka"]["topics"] = [f"jobs-{api_id}"]
    streams["Worker"]["input"]["kafka"]["consumer_group"] = f"worker-{api_id}"
    streams["Worker"]["output"]["kafka"]["topic"] = f"completed-{api_id}"
    streams["in"]["output"]["broker"]["outputs"][0]["kafka"]["topic"] = f"jobs-{api_id}"
    streams["out"]["input"]["kafka"]["topics"] = [f"completed-{api_id}"]
    return doc


def with_mapping_line(doc: dict[str, Any], line: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    processor = doc["x-tyk-streaming"]["streams"]["in"]["pipeline"]["processors"][0]
    processor["mapping"] = processor["mapping"] + line + "\n"
    return doc


def push(server: Gunicorn, api_id: str, user: str) -> requests.Response:
    return requests.post(
        server.url(f"/{api_id}/push-event"), params={"user": user}, data=json.dumps({"m": 1}), timeout=30
    )


SETTLE = 2.5
"""Seconds a state must hold on fresh connections before every worker counts as in it: the
requests cannot choose a worker, but every worker applies a change within its watch interval
(1 s) after the first did, so a check that keeps passing for longer has met them all."""


def until(what: str, check: Any, bound: float = BOUND) -> float:
    """``held_steady`` with this file's settle time."""
    return held_steady(what, check, bound, SETTLE)


def every_worker(server: Gunicorn, api_id: str, check: Any) -> bool:
    """``check(response)`` holds for PUSHES pushes in a row on fresh connections."""
    user = f"u-{uuid.uuid4().hex[:8]}"
    return all(check(push(server, api_id, user)) for _ in range(PUSHES))


def start(tmp: Path, defs: Path, brokers: str, secret: bool = True) -> Gunicorn:
    env = {"STREAMS_DEFINITIONS_DIR": str(defs), "STREAMS_KAFKA_BROKERS": brokers}
    if secret:
        env["STREAMS_SECRET"] = SECRET
    return start_gunicorn(tmp, workers=WORKERS, env=env)


@pytest.mark.parametrize("broker", ["embedded", "kafka"])
def test_api_lifecycle_through_the_management_api(tmp_path: Path, request: pytest.FixtureRequest, broker: str) -> None:
    brokers = request.getfixturevalue("kafka_bootstrap") if broker == "kafka" else "embedded"
    API_ID = f"mgmt-{uuid.uuid4().hex[:8]}"  # noqa: N806 - one name per run (topics, groups)
    defs = tmp_path / "apis"
    defs.mkdir()
    shutil.copy(SEED, defs / "streams-demo.yaml")
    server = start(tmp_path / "run1", defs, brokers)
    try:
        base = server.url("/tyk/apis/oas")
        # A configured secret is never logged; the console's address is, once.
        assert SECRET not in server.log()
        assert server.log().count(f"console: http://127.0.0.1:{server.port}/tyk/console/ (sign in with STREAMS_SECRET)") == 1
        assert not (server.data_dir / "management-secret").exists()
        # The guard: no detail either way.
        for headers in ({}, {"x-tyk-authorization": "wrong"}):
            resp = requests.get(base, headers=headers, timeout=10)
            assert resp.status_code == 403, resp.text
            assert resp.json() == {"status": "error", "message": "Attempted administrative access with invalid or missing key!"}
        # Invalid body: 400 with positions, nothing written.
        bad = seed_copy(API_ID)
        bad["x-tyk-streaming"]["streams"]["in"]["input"]["http_server"]["pathx"] = "/x"
        resp = requests.post(base, data=json.dumps(bad, indent=2), headers=AUTH, timeout=30)
        assert resp.status_code == 400, resp.text
        body = resp.json()
        assert body["status"] == "error"
        assert any(
            p["path"] == "streams.in.input.http_server.pathx" and "unknown field" in p["message"] and p["line"]
            for p in body["problems"]
        ), body
        assert sorted(p.name for p in defs.iterdir() if not p.name.startswith(".")) == ["streams-demo.yaml"]

        # Create: the answering worker serves at once, every worker within the bound.
        resp = requests.post(base, data=json.dumps(seed_copy(API_ID)), headers=AUTH, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"key": API_ID, "status": "ok", "action": "added"}
        took = until("every worker serves the new API", lambda: every_worker(server, API_ID, lambda r: r.status_code == 200))
        print(f"created API served after {took:.2f}s, then on every request for {SETTLE}s")
        user = f"u-{uuid.uuid4().hex[:8]}"
        assert push(server, API_ID, user).json()["user_id"] == user
        result = requests.get(server.url(f"/{API_ID}/get-event"), params={"user": user}, timeout=30)
        assert result.status_code == 200 and result.json()["result"] == "bar", result.text

        # Read back: the document as stored, in the list and by ID.
        listed = requests.get(base, headers=AUTH, timeout=10).json()
        ids = [d["x-tyk-api-gateway"]["info"]["id"] for d in listed]
        assert API_ID in ids and "streams-demo" in ids, ids
        one = requests.get(f"{base}/{API_ID}", headers=AUTH, timeout=10)
        assert one.status_code == 200 and one.json()["x-tyk-api-gateway"]["server"]["listenPath"]["value"] == f"/{API_ID}/"

        # Update: the new mapping shows in the next replies, on every worker.
        changed = with_mapping_line(seed_copy(API_ID), "root.version = 2")
        resp = requests.put(f"{base}/{API_ID}", data=json.dumps(changed), headers=AUTH, timeout=30)
        assert resp.json() == {"key": API_ID, "status": "ok", "action": "modified"}, resp.text
        assert push(server, API_ID, "v").json().get("version") in (2, None)  # another worker may lag a moment
        took = until("every worker runs the new mapping", lambda: every_worker(server, API_ID, lambda r: r.status_code == 200 and r.json().get("version") == 2))
        print(f"changed mapping served after {took:.2f}s, then on every request for {SETTLE}s")
        mismatch = requests.put(f"{base}/{API_ID}", data=json.dumps(seed_copy("other-id")), headers=AUTH, timeout=30)
        assert mismatch.status_code == 400 and "does not match" in mismatch.json()["message"]
        collide = seed_copy("collider")
        collide["x-tyk-api-gateway"]["server"]["listenPath"]["value"] = "/stream-demo/"
        resp = requests.post(base, data=json.dumps(collide), headers=AUTH, timeout=30)
        assert resp.status_code == 400 and "/stream-demo/" in resp.json()["message"], resp.text

        # Delete: 404 everywhere afterwards.
        resp = requests.delete(f"{base}/{API_ID}", headers=AUTH, timeout=30)
        assert resp.json() == {"key": API_ID, "status": "ok", "action": "deleted"}, resp.text
        took = until("no worker serves the deleted API", lambda: every_worker(server, API_ID, lambda r: r.status_code == 404))
        print(f"deleted API 404 after {took:.2f}s, then on every request for {SETTLE}s")
        assert requests.get(f"{base}/{API_ID}", headers=AUTH, timeout=10).status_code == 404
        assert requests.delete(f"{base}/{API_ID}", headers=AUTH, timeout=10).json() == {"status": "error", "message": "API not found"}

        # Created without an ID: one is generated and written into the document.
        resp = requests.post(base, data=json.dumps(_without_id(seed_copy(API_ID))), headers=AUTH, timeout=30)
        assert resp.status_code == 200, resp.text
        generated = resp.json()["key"]
        assert generated != API_ID and (defs / f"{generated}.json").is_file()
        assert json.loads((defs / f"{generated}.json").read_text())["x-tyk-api-gateway"]["info"]["id"] == generated
    finally:
        server.stop()

    # A restart (here without a secret: the gateway makes its own) serves what was created.
    server = start(tmp_path / "run2", defs, brokers, secret=False)
    try:
        assert requests.get(server.url("/tyk/apis/oas"), headers=AUTH, timeout=10).status_code == 403
        assert requests.get(server.url("/tyk/reload"), headers=AUTH, timeout=10).status_code == 403
        made = {"x-tyk-authorization": (server.data_dir / "management-secret").read_text().strip()}
        assert requests.get(server.url("/tyk/reload"), headers=made, timeout=10).status_code == 200
        user = f"u-{uuid.uuid4().hex[:8]}"
        assert every_worker(server, API_ID, lambda r: r.status_code == 200)
        assert push(server, API_ID, user).json()["user_id"] == user
    finally:
        server.stop()


def _without_id(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    del doc["x-tyk-api-gateway"]["info"]["id"]
    return doc
