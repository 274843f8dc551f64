"""Bad input gets a 4xx with a JSON body naming the problem, never a traceback or a hang."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.conftest import get_result, push
from tests.e2e.server import start_gunicorn


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_gunicorn(tmp_path_factory.mktemp("gunicorn-errors"), workers=2)
    yield server
    server.stop()


def assert_json_error(resp: requests.Response, status: int, *needles: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["status"] == status
    for needle in needles:
        assert needle in body["error"], body
    assert "Traceback" not in resp.text
    return body


def test_non_json_body_is_400_naming_the_problem(server, user):
    resp = requests.post(server.url("/stream-demo/push-event"), params={"user": user}, data=b"not json{", timeout=30)
    assert_json_error(resp, 400, "json")


def test_unknown_paths_are_404_json(server):
    assert_json_error(requests.get(server.url("/stream-demo/nope"), timeout=10), 404, "/stream-demo/nope")
    assert_json_error(requests.get(server.url("/elsewhere"), timeout=10), 404, "/elsewhere")


def test_wrong_verb_is_405(server, user):
    resp = requests.delete(server.url("/stream-demo/push-event"), params={"user": user}, timeout=10)
    body = assert_json_error(resp, 405)
    assert "POST" in resp.headers["Allow"], body


def test_get_with_nothing_to_deliver_is_408_after_the_output_timeout(server, user):
    resp = requests.get(server.url("/stream-demo/get-event"), params={"user": user}, timeout=60)
    assert_json_error(resp, 408, "5s")


def test_body_over_the_limit_is_413(server, user):
    big = json.dumps({"blob": "x" * (1024 * 1024 + 10)})
    resp = requests.post(server.url("/stream-demo/push-event"), params={"user": user}, data=big, timeout=30)
    assert_json_error(resp, 413, "limit")


def test_plain_get_on_a_websocket_path_is_400(server, user):
    resp = requests.get(server.url("/stream-demo/ws-in"), params={"user": user}, timeout=10)
    assert_json_error(resp, 400, "WebSocket")


@pytest.mark.parametrize(
    "hostile",
    [
        'a"\nroot = "pwned',
        'x" + this.secret + "',
        "a,b",
        '"""',
        '${! env("HOME") }',
        "\\",
        "ünïcødé ✓",
    ],
)
def test_hostile_user_values_are_just_odd_names(server, hostile):
    resp = push(server, hostile, {"message": "hi"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["user_id"] == hostile
    result = get_result(server, hostile)
    assert result.status_code == 200, result.text
    assert result.json()["user_id"] == hostile
    # Nobody else sees it: a user whose name is a prefix or a part of the hostile one gets nothing.
    other = requests.get(server.url("/stream-demo/get-event"), params={"user": hostile[:1] + "-other"}, timeout=60)
    assert other.status_code == 408
