"""A stream that checks pushed documents with ``json_schema`` and enriches the good ones with an
``http`` call, served by a real ``gunicorn wsgi:app -w 2``: a bad document is answered 400 with
the schema error (in Bento's words; a message still flagged at the output is refused), a good
one with the profile the HTTP service returned, whichever worker takes the request; the HTTP
service only ever sees the good ones, and its failure is answered with the http processor's error."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.server import Gunicorn, start_gunicorn
from tests.e2e.upstream import Upstream

WORKERS = 2

PERSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
    },
    "required": ["firstName"],
}

DEFINITION = """\
openapi: 3.0.3
info: {title: people, version: 1.0.0}
paths: {}
x-tyk-api-gateway:
  info: {name: people, state: {active: true}}
  server: {listenPath: {value: /people/, strip: true}}
x-tyk-streaming:
  streams:
    check:
      input:
        http_server: {path: /check}
      pipeline:
        processors:
          - json_schema:
              schema: '%(schema)s'
          - switch:
              - check: '!errored()'
                processors:
                  - branch:
                      request_map: 'root = this'
                      processors:
                        - http:
                            url: '%(upstream)s/profiles/${! json("firstName") }'
                            verb: GET
                            retries: 0
                      result_map: 'root.profile = this'
      output:
        sync_response: {}
"""


def profile(path: str, body: bytes) -> tuple[int, object]:
    name = path.rsplit("/", 1)[1]
    return 200, {"name": name, "tier": "gold" if name == "John" else "basic"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    service = Upstream(profile).start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Gunicorn]:
    tmp = tmp_path_factory.mktemp("schema-http")
    defs = tmp / "apis"
    defs.mkdir()
    (defs / "people.yaml").write_text(DEFINITION % {"schema": json.dumps(PERSON), "upstream": upstream.base})
    gunicorn = start_gunicorn(tmp, workers=WORKERS, env={"STREAMS_DEFINITIONS_DIR": str(defs)})
    yield gunicorn
    gunicorn.stop()


def check(server: Gunicorn, document: object) -> requests.Response:
    # A new connection per request, so both workers take requests.
    return requests.post(server.url("/people/check"), data=json.dumps(document), timeout=30, headers={"Connection": "close"})


def test_bad_documents_are_answered_with_the_schema_error(server: Gunicorn, upstream: Upstream) -> None:
    before = len(upstream.seen)
    answers = [check(server, {"firstName": "John", "lastName": "Doe", "age": -21}) for _ in range(6)]
    assert {(r.status_code, r.headers["Content-Type"]) for r in answers} == {(400, "application/json")}
    assert {r.json()["error"] for r in answers} == {"processing failed: age must be greater than or equal to 0"}
    missing = check(server, {"lastName": "Doe", "age": "old"})
    assert (missing.status_code, missing.json()["error"]) == (
        400,
        "processing failed: (root) firstName is required\nage invalid type. expected: integer, given: string",
    )
    assert len(upstream.seen) == before  # nothing bad reached the HTTP service


def test_good_documents_are_enriched_by_the_http_call(server: Gunicorn, upstream: Upstream) -> None:
    answers = [check(server, {"firstName": name, "age": 30}) for name in ("John", "Ann") * 3]
    assert [r.status_code for r in answers] == [200] * 6
    assert [r.json() for r in answers[:2]] == [
        {"firstName": "John", "age": 30, "profile": {"name": "John", "tier": "gold"}},
        {"firstName": "Ann", "age": 30, "profile": {"name": "Ann", "tier": "basic"}},
    ]
    assert [(m, p) for m, p, _ in upstream.seen[-6:]] == [("GET", "/profiles/John"), ("GET", "/profiles/Ann")] * 3


def test_a_failing_http_call_flags_the_message(server: Gunicorn, upstream: Upstream) -> None:
    upstream.handler = lambda path, body: (503, {"down": True})
    try:
        answer = check(server, {"firstName": "Eve"})
    finally:
        upstream.handler = profile
    url = f"{upstream.base}/profiles/Eve"
    assert (answer.status_code, answer.json()["error"]) == (
        400,
        f'processing failed: {url}: HTTP request returned unexpected response code (503): 503 Error, Error: {{"down": true}}',
    )
