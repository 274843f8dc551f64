"""The console's endpoints through Falcon's test client over a real gateway (embedded broker):
the guard on every JSON endpoint, the API overview with states and problems, validation as the
editor calls it, the examples, the playground endpoint and the static page. The whole console in
a browser against gunicorn is tests/e2e/test_console.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import falcon.testing
import pytest

from handlers.app import create_app
from handlers.console.endpoints import SEED_TEMPLATE, seed_mappings
from handlers.console.events import stats_body
from streams.engine.gateway import Gateway
from streams.engine.testing import make_settings

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
SECRET = "console-unit-secret"
AUTH = {"x-tyk-authorization": SECRET}
DENIED = {"status": "error", "message": "Attempted administrative access with invalid or missing key!"}
JSON_ENDPOINTS = [
    ("GET", "/tyk/console/apis", None),
    ("GET", "/tyk/console/apis/streams-demo/source", None),
    ("POST", "/tyk/console/validate", SEED.read_text()),
    ("GET", "/tyk/console/examples", None),
    ("POST", "/tyk/console/bloblang", '{"mapping": "root = this", "input": "{}"}'),
    ("GET", "/tyk/console/events", None),
]


@pytest.fixture
def console(tmp_path: Path):
    defs = tmp_path / "defs"
    defs.mkdir()
    shutil.copy(SEED, defs / "streams-demo.yaml")
    settings = make_settings(str(tmp_path / "data"), definitions_dir=str(defs), secret=SECRET, watch_interval=0.0)
    gateway = Gateway.from_settings(settings)
    client = falcon.testing.TestClient(create_app(gateway, settings))
    yield client, defs, gateway
    gateway.drain(5.0)


@pytest.mark.parametrize("method, path, body", JSON_ENDPOINTS)
def test_every_console_endpoint_answers_403_without_the_secret(console, method: str, path: str, body: str | None) -> None:
    client, _, _ = console
    for headers in ({}, {"x-tyk-authorization": "wrong"}, {"x-tyk-authorization": SECRET + "x"}):
        resp = client.simulate_request(method, path, body=body, headers=headers)
        assert (resp.status_code, resp.json) == (403, DENIED), (method, path, headers)


def test_the_overview_lists_the_seed_with_its_streams_and_endpoints(console) -> None:
    client, _, _ = console
    apis = client.simulate_get("/tyk/console/apis", headers=AUTH).json["apis"]
    assert [(a["id"], a["name"], a["listen_path"], a["state"], a["format"]) for a in apis] == [
        ("streams-demo", "stream-demo", "/stream-demo/", "active", "yaml")
    ]
    streams = {s["name"]: s for s in apis[0]["streams"]}
    assert list(streams) == ["Worker", "in", "out"]
    assert streams["Worker"] == {"name": "Worker", "template": False, "variables": [], "endpoints": []}
    assert streams["in"]["variables"] == ["request_data_user"]
    assert [(e["methods"], e["path"], e["kind"]) for e in streams["in"]["endpoints"]] == [
        (["POST"], "/stream-demo/push-event", "push"), (["GET"], "/stream-demo/ws-out", "push_ws"),
    ]
    assert [(e["methods"], e["path"], e["kind"]) for e in streams["out"]["endpoints"]] == [
        (["GET"], "/stream-demo/get-event", "pull"), (["GET"], "/stream-demo/get/stream", "stream"),
        (["GET"], "/stream-demo/ws-in", "pull_ws"),
    ]


def test_a_broken_file_shows_its_problems_and_state(console) -> None:
    client, defs, _ = console
    text = SEED.read_text()
    (defs / "broken.yaml").write_text(
        text.replace("name: stream-demo", "name: broken").replace("/stream-demo/", "/broken/").replace("path: /push-event", "pathx: /push-event")
    )
    (defs / "streams-demo.yaml").write_text(text.replace("root = this\n", "root = this.\n"))
    client.simulate_get("/tyk/reload", headers=AUTH)
    apis = {a["id"]: a for a in client.simulate_get("/tyk/console/apis", headers=AUTH).json["apis"]}
    assert apis["broken"]["state"] == "invalid"
    assert apis["broken"]["problems"] == [{
        "line": 39, "column": 11, "path": "streams.in.input.http_server.pathx", "message": "unknown field (did you mean 'path'?)",
    }]
    assert [s["name"] for s in apis["broken"]["streams"]] == ["Worker", "in", "out"]
    # The seed's file broke after it served: its last good version keeps serving.
    assert apis["streams-demo"]["state"] == "stale"
    assert apis["streams-demo"]["problems"][0]["path"] == "streams.in.pipeline.processors.0.mapping"


def test_a_file_that_does_not_parse_is_listed_with_its_problem(console) -> None:
    client, defs, _ = console
    (defs / "mangled.yaml").write_text("openapi: 3.0.3\ninfo: [unclosed\n")
    client.simulate_get("/tyk/reload", headers=AUTH)
    apis = {a["file"]: a for a in client.simulate_get("/tyk/console/apis", headers=AUTH).json["apis"]}
    mangled = apis["mangled.yaml"]
    assert (mangled["id"], mangled["state"], mangled["editable"], mangled["streams"]) == ("mangled", "invalid", False, [])
    assert len(mangled["problems"]) == 1 and mangled["problems"][0]["line"] is not None
    assert apis["streams-demo.yaml"]["editable"] is True


def test_an_inactive_api_is_listed_as_inactive(console) -> None:
    client, defs, _ = console
    text = SEED.read_text().replace("name: stream-demo", "name: off").replace("/stream-demo/", "/off/")
    (defs / "off.yaml").write_text(text.replace("active: true", "active: false"))
    client.simulate_get("/tyk/reload", headers=AUTH)
    apis = {a["id"]: a for a in client.simulate_get("/tyk/console/apis", headers=AUTH).json["apis"]}
    assert (apis["off"]["state"], apis["off"]["problems"]) == ("inactive", [])
    assert apis["streams-demo"]["state"] == "active"


def test_the_source_is_the_file_as_written(console) -> None:
    client, _, _ = console
    resp = client.simulate_get("/tyk/console/apis/streams-demo/source", headers=AUTH)
    assert resp.json == {"id": "streams-demo", "file": "streams-demo.yaml", "format": "yaml", "text": SEED.read_text()}
    missing = client.simulate_get("/tyk/console/apis/nope/source", headers=AUTH)
    assert (missing.status_code, missing.json) == (404, {"status": "error", "message": "API not found"})


def test_validation_gives_lints_positions(console) -> None:
    client, _, _ = console
    text = SEED.read_text()
    ok = client.simulate_post("/tyk/console/validate", params={"id": "streams-demo"}, body=text, headers=AUTH)
    assert ok.json == {"problems": []}
    bad = client.simulate_post(
        "/tyk/console/validate", params={"id": "streams-demo"}, body=text.replace("path: /push-event", "pathx: /push-event"), headers=AUTH
    )
    assert bad.json == {"problems": [{
        "line": 39, "column": 11, "path": "streams.in.input.http_server.pathx", "message": "unknown field (did you mean 'path'?)",
    }]}
    mapping = client.simulate_post(
        "/tyk/console/validate", params={"id": "streams-demo"}, body=text.replace("root = this\n", "root = this.\n"), headers=AUTH
    )
    [problem] = mapping.json["problems"]
    assert (problem["line"], problem["path"]) == (53, "streams.in.pipeline.processors.0.mapping")
    assert problem["message"] == "invalid Bloblang: line 2 char 14: expected line break"


def test_validation_of_a_new_api_names_the_listen_path_it_would_take(console) -> None:
    client, _, _ = console
    resp = client.simulate_post("/tyk/console/validate", body=SEED.read_text(), headers=AUTH)
    [problem] = resp.json["problems"]
    assert (problem["line"], problem["column"], problem["path"]) == (112, 7, "x-tyk-api-gateway.server.listenPath.value")
    assert problem["message"].startswith("listen path /stream-demo/ is already used by ")


def test_validation_of_a_new_api_names_an_id_already_taken(console) -> None:
    client, _, _ = console
    text = SEED.read_text().replace("    name: stream-demo", "    id: streams-demo\n    name: other").replace("/stream-demo/", "/other/")
    resp = client.simulate_post("/tyk/console/validate", body=text, headers=AUTH)
    assert resp.json == {"problems": [
        {"line": None, "column": None, "path": "x-tyk-api-gateway.info.id", "message": "API with this ID already exists"}
    ]}
    assert client.simulate_post("/tyk/console/validate", body=text.replace("id: streams-demo", "id: other"), headers=AUTH).json == {
        "problems": []
    }


def test_validation_refuses_what_it_cannot_read(console) -> None:
    client, _, _ = console
    empty = client.simulate_post("/tyk/console/validate", body="", headers=AUTH)
    assert (empty.status_code, empty.json) == (400, {"status": "error", "message": "Request malformed: the body is empty"})
    unknown = client.simulate_post("/tyk/console/validate", params={"id": "nope"}, body="a: 1", headers=AUTH)
    assert (unknown.status_code, unknown.json["message"]) == (404, "API not found")
    broken = client.simulate_post("/tyk/console/validate", body="a: [1,\n", headers=AUTH)
    assert broken.status_code == 200 and broken.json["problems"][0]["line"] is not None


def test_examples_are_the_seed_and_its_three_mappings(console) -> None:
    client, _, _ = console
    body = client.simulate_get("/tyk/console/examples", headers=AUTH).json
    assert body["template"] == SEED.read_text()
    assert [m["stream"] for m in body["mappings"]] == ["Worker", "in", "out"]
    assert body["mappings"][0]["mapping"] == 'root = this.merge({ "result": "bar" })\n'
    assert body["mappings"] == seed_mappings(SEED.read_text())


def test_the_shipped_template_is_the_seed() -> None:
    assert Path(SEED_TEMPLATE).read_text() == SEED.read_text()


def test_the_playground_endpoint(console) -> None:
    client, _, _ = console
    resp = client.simulate_post(
        "/tyk/console/bloblang", body=json.dumps({"mapping": "root = this.a.", "input": "{}"}), headers=AUTH
    )
    assert resp.status_code == 200
    assert resp.json["parse_error"] == (
        "failed to parse mapping: line 1 char 15: required: expected method or field path\n"
        "  |\n1 | root = this.a.\n  |               ^---\n"
    )
    not_json = client.simulate_post("/tyk/console/bloblang", body="{", headers=AUTH)
    assert not_json.status_code == 400 and not_json.json["message"].startswith("the body is not JSON: ")
    huge = client.simulate_post("/tyk/console/bloblang", body=json.dumps({"mapping": "x" * 70000}), headers=AUTH)
    assert (huge.status_code, huge.json["message"]) == (413, "mapping is 70000 bytes, over the playground's limit of 65536 bytes")


def test_the_events_stream_carries_counters_per_stream(console) -> None:
    client, _, gateway = console
    client.simulate_post("/stream-demo/push-event", params={"user": "alice"}, body='{"m": 1}')
    body = stats_body(gateway, 0.01)
    assert next(body) == b"retry: 2000\n\n"
    event = next(body).decode()
    assert event.startswith("event: stats\ndata: ") and event.endswith("\n\n")
    stats = json.loads(event.split("data: ", 1)[1])
    assert len(stats["generation"]) == 16
    row = {(s["api"], s["stream"]): s for s in stats["streams"]}[("stream-demo", "in")]
    assert row["received"] >= 1 and row["sent"] >= 1
    gateway.begin_shutdown()
    assert list(body)[-1] == b"retry: 1000\n\n"  # a stopping worker ends the stream


def test_the_page_and_its_assets(console) -> None:
    client, _, _ = console
    page = client.simulate_get("/tyk/console/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="static/main.js">' in page.text
    assert client.simulate_get("/tyk/console").headers["location"].endswith("/tyk/console/")
    js = client.simulate_get("/tyk/console/static/main.js")
    assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
    for name in ("..%2Fendpoints.py", "endpoints.py", "nope.js"):
        assert client.simulate_get(f"/tyk/console/static/{name}").status_code == 404
    for asset in ("api.js", "apis.js", "editor.js", "highlight.js", "playground.js", "tail.js", "console.css"):
        assert client.simulate_get(f"/tyk/console/static/{asset}").status_code == 200, asset
