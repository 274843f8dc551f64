"""The management API through Falcon's test client over a real gateway (embedded broker):
PATCH, import, YAML bodies, malformed bodies and IDs. The lifecycle on real gunicorn is in
tests/e2e/test_management_api.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
import yaml

from handlers.app import create_app
from streams.admin_secret import SECRET_FILE
from streams.engine.gateway import Gateway
from streams.engine.testing import make_settings

SECRET = "unit-secret"
AUTH = {"x-tyk-authorization": SECRET}
STREAMS = {"streams": {"s": {
    "input": {"http_server": {"path": "/in"}},
    "pipeline": {"processors": [{"mapping": "root = this\nroot.seen = true"}]},
    "output": {"sync_response": {}},
}}}


def oas(name: str, api_id: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"name": name}
    if api_id:
        info["id"] = api_id
    return {
        "openapi": "3.0.3",
        "info": {"title": name, "version": "1"},
        "x-tyk-api-gateway": {"info": info, "server": {"listenPath": {"value": f"/{name}/"}}},
        "x-tyk-streaming": STREAMS,
    }


@pytest.fixture
def setup(tmp_path: Path):
    defs = tmp_path / "defs"
    defs.mkdir()
    settings = make_settings(str(tmp_path / "data"), definitions_dir=str(defs), secret=SECRET, watch_interval=0.0)
    gateway = Gateway.from_settings(settings)
    client = falcon.testing.TestClient(create_app(gateway, settings))
    yield client, defs
    gateway.drain(5.0)


def test_patch_keeps_the_stored_gateway_sections_unless_sent(setup) -> None:
    client, defs = setup
    assert client.simulate_post("/tyk/apis/oas", body=json.dumps(oas("p", "p1")), headers=AUTH).json["action"] == "added"
    plain = {"openapi": "3.0.3", "info": {"title": "renamed", "version": "2"}}
    resp = client.simulate_patch("/tyk/apis/oas/p1", body=json.dumps(plain), headers=AUTH)
    assert resp.json == {"key": "p1", "status": "ok", "action": "modified"}, resp.text
    stored = client.simulate_get("/tyk/apis/oas/p1", headers=AUTH).json
    assert stored["info"] == {"title": "renamed", "version": "2"}
    assert stored["x-tyk-api-gateway"]["server"]["listenPath"]["value"] == "/p/"
    assert stored["x-tyk-streaming"] == STREAMS
    assert client.simulate_post("/p/in", body='{"a":1}').json == {"a": 1, "seen": True}
    assert client.simulate_patch("/tyk/apis/oas/nope", body=json.dumps(plain), headers=AUTH).status_code == 404


def test_import_makes_the_gateway_section(setup) -> None:
    client, defs = setup
    doc = {"openapi": "3.0.3", "info": {"title": "Imported API", "version": "1"}, "x-tyk-streaming": STREAMS}
    resp = client.simulate_post("/tyk/apis/oas/import", params={"listenPath": "/imp/"}, body=json.dumps(doc), headers=AUTH)
    assert resp.status_code == 200 and resp.json["action"] == "added", resp.text
    stored = client.simulate_get(f"/tyk/apis/oas/{resp.json['key']}", headers=AUTH).json
    assert stored["x-tyk-api-gateway"]["info"]["name"] == "Imported API"
    assert client.simulate_post("/imp/in", body='{"b":2}').json == {"b": 2, "seen": True}
    resp = client.simulate_post("/tyk/apis/oas/import", body=json.dumps(oas("x")), headers=AUTH)
    assert resp.status_code == 400 and resp.json == {"status": "error", "message": "the import payload should not contain x-tyk-api-gateway"}


def test_yaml_bodies_are_written_as_yaml(setup) -> None:
    client, defs = setup
    resp = client.simulate_post("/tyk/apis/oas", body=yaml.safe_dump(oas("y", "y1")), headers=AUTH)
    assert resp.json == {"key": "y1", "status": "ok", "action": "added"}, resp.text
    assert (defs / "y1.yaml").is_file()
    assert client.simulate_post("/y/in", body='{"c":3}').json == {"c": 3, "seen": True}
    again = client.simulate_post("/tyk/apis/oas", body=yaml.safe_dump(oas("y2", "y1")), headers=AUTH)
    assert again.status_code == 400 and again.json["message"] == "API with this ID already exists"


def test_a_file_named_by_its_file_name_keeps_its_yaml_on_put(setup) -> None:
    # A file written by hand (no info.id: its ID is the file name) edited in the console: the
    # body is stored as sent, comments and all, not rewritten as JSON.
    client, defs = setup
    doc = oas("hand")
    text = "# written by hand\n" + yaml.safe_dump(doc)
    (defs / "hand.yaml").write_text(text)
    client.simulate_get("/tyk/reload", headers=AUTH)
    edited = text.replace("root.seen = true", "root.seen = \"edited\"")
    resp = client.simulate_put("/tyk/apis/oas/hand", body=edited, headers=AUTH)
    assert resp.json == {"key": "hand", "status": "ok", "action": "modified"}, resp.text
    assert (defs / "hand.yaml").read_text() == edited
    assert client.simulate_post("/hand/in", body='{"d":4}').json == {"d": 4, "seen": "edited"}


@pytest.mark.parametrize("body, message", [
    (b"\xff\xfe", "Request malformed: the body is not UTF-8"),
    (b"", "Request malformed: the body is empty"),
])
def test_unreadable_bodies(setup, body: bytes, message: str) -> None:
    client, _ = setup
    resp = client.simulate_post("/tyk/apis/oas", body=body, headers=AUTH)
    assert resp.status_code == 400 and resp.json == {"status": "error", "message": message}


def test_bad_json_and_bad_ids_are_400_with_positions(setup) -> None:
    client, defs = setup
    resp = client.simulate_post("/tyk/apis/oas", body='{\n  "openapi": "3.0.3",\n  "info": [1,,2]\n}', headers=AUTH)
    assert resp.status_code == 400
    assert resp.json["problems"][0]["line"] == 3 and resp.json["problems"][0]["file"] == "body", resp.json
    resp = client.simulate_post("/tyk/apis/oas", body=json.dumps(oas("z", "../evil")), headers=AUTH)
    assert resp.status_code == 400 and "invalid API ID" in resp.json["message"]
    assert sorted(p.name for p in defs.iterdir() if not p.name.startswith(".")) == []


def test_reload_and_the_guard(setup) -> None:
    client, defs = setup
    (defs / "r.json").write_text(json.dumps(oas("r")))
    assert client.simulate_post("/r/in", body="{}").status_code == 404
    assert client.simulate_get("/tyk/reload", headers=AUTH).json == {"status": "ok", "message": ""}
    assert client.simulate_post("/r/in", body="{}").status_code == 200
    assert client.simulate_get("/tyk/apis/oas/r", headers=AUTH).json["x-tyk-api-gateway"]["info"]["id"] == "r"
    assert client.simulate_get("/tyk/reload/group", headers={"x-tyk-authorization": "no"}).status_code == 403


def test_an_unwritable_directory_is_a_500_naming_the_write(setup) -> None:
    client, defs = setup
    defs.rmdir()  # gone (an unmounted volume): every write fails, also for root
    resp = client.simulate_post("/tyk/apis/oas", body=json.dumps(oas("ro", "ro1")), headers=AUTH)
    assert resp.status_code == 500, resp.text
    assert resp.json["message"].startswith("file object creation failed, write error"), resp.json


def test_unsupported_verbs_are_405_in_tyk_shape_and_guarded(setup) -> None:
    client, _ = setup
    resp = client.simulate_delete("/tyk/apis/oas", headers=AUTH)
    assert resp.status_code == 405 and resp.json == {"status": "error", "message": "Method not supported"}
    assert client.simulate_delete("/tyk/apis/oas").status_code == 403
    assert client.simulate_post("/tyk/reload", headers=AUTH).status_code == 405


MANAGEMENT_PATHS = [("GET", "/tyk/apis/oas"), ("DELETE", "/tyk/apis/oas"), ("POST", "/tyk/apis/oas/import"),
                    ("PUT", "/tyk/apis/oas/x"), ("GET", "/tyk/reload"), ("GET", "/tyk/reload/group")]


def test_without_a_configured_secret_the_gateway_makes_one(tmp_path: Path) -> None:
    settings = make_settings(str(tmp_path / "data"), definitions_dir=str(tmp_path), watch_interval=0.0)
    gateway = Gateway.from_settings(settings)
    client = falcon.testing.TestClient(create_app(gateway, settings))
    try:
        for method, path in MANAGEMENT_PATHS:
            resp = client.simulate_request(method, path, headers=AUTH)
            assert resp.status_code == 403, (method, path, resp.text)
        made = (tmp_path / "data" / SECRET_FILE).read_text().strip()
        assert client.simulate_get("/tyk/apis/oas", headers={"x-tyk-authorization": made}).status_code == 200
    finally:
        gateway.drain(5.0)


def test_without_a_secret_it_can_keep_every_management_path_is_404(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a data dir cannot live below a file")
    settings = make_settings(str(tmp_path / "file" / "data"), definitions_dir=str(tmp_path), watch_interval=0.0)
    gateway = Gateway(settings)
    client = falcon.testing.TestClient(create_app(gateway, settings))
    try:
        for method, path in MANAGEMENT_PATHS:
            resp = client.simulate_request(method, path, headers=AUTH)
            assert resp.status_code == 404, (method, path, resp.text)
    finally:
        gateway.drain(5.0)
