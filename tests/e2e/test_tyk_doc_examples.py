"""The Tyk documentation's stream examples that use the ``http`` and ``json_schema`` processors
and the ``stdout`` output (``tests/e2e/tyk_doc_examples/``, each file naming its source): each
one is checked with ``python -m streams lint`` as written, and the ones that load run under a
real ``gunicorn wsgi:app -w 2``. Their outside services (Docker Hub, a customer API) are a
loopback service here: the test changes only those URLs.

Two examples do not load, in Bento either, and lint says why: one sets a ``body`` field the
http processor does not have, one gives a ``schema_path`` without ``file://``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.server import ROOT, Gunicorn, serve_definitions, start_gunicorn
from tests.e2e.upstream import Upstream

EXAMPLES = Path(__file__).parent / "tyk_doc_examples"
WORKERS = 2
RUNNABLE = ("http_branch_request.yaml", "json_schema_catch.yaml", "complex_event_processing.yaml")
NEEDS_STDOUT = "dashboard_streams_example.yaml"

FEEDER = """\
openapi: 3.0.3
info: {title: feeder, version: 1.0.0}
paths: {}
x-tyk-api-gateway:
  info: {name: feeder, state: {active: true}}
  server: {listenPath: {value: /feeder/, strip: true}}
x-tyk-streaming:
  streams:
%s
"""
"""An API of the test that writes pushed records to the topics the examples read."""


def feeder_stream(topic: str) -> str:
    return (
        f"    {topic.replace('.', '-')}:\n"
        f"      input: {{http_server: {{path: /{topic}}}}}\n"
        f"      output: {{kafka: {{addresses: [localhost:9092], topic: {topic}}}}}\n"
    )


def lint(*names: str) -> subprocess.CompletedProcess[str]:
    """``python -m streams lint NAME...`` run in the examples directory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "streams", "lint", *names],
        cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("name", RUNNABLE)
def test_the_runnable_examples_lint_clean(name: str) -> None:
    done = lint(name)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "1 file, 0 problems\n")


def test_lint_names_what_bento_refuses_in_two_examples() -> None:
    done = lint("async_api_orchestration.yaml", "stream_config_json_schema.yaml")
    branch = "streams.orchestration.pipeline.processors.0.switch.cases.{}.processors.1.branch.processors.0.http.body"
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"async_api_orchestration.yaml:48:31: {branch.format(0)}: unknown field",
        f"async_api_orchestration.yaml:60:31: {branch.format(1)}: unknown field",
        "async_api_orchestration.yaml:78:17: streams.orchestration.output.broker.outputs.2.http_client.body: unknown field",
        "stream_config_json_schema.yaml:33:15: streams.pipeline-example.pipeline.processors.1.json_schema.schema_path: "
        "must start with file:// (an http:// schema is not fetched by the gateway)",
    ]


def outside_services(path: str, body: bytes) -> tuple[int, object]:
    if path == "/v2/repositories/tykio/tyk-gateway":
        return 200, {"name": "tyk-gateway", "namespace": "tykio", "star_count": 42}
    if path == "/emails":
        customer = json.loads(body)["customer_id"]
        return 200, {"customer_email": f"{customer}@example.com"}
    return 404, {"message": "not found"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    service = Upstream(outside_services).start()
    yield service
    service.stop()


def install(defs: Path, name: str, upstream: Upstream) -> None:
    """An example into the served directory, its outside URLs pointed at the loopback service."""
    text = (EXAMPLES / name).read_text()
    for outside in ("https://hub.docker.com", "http://customer-api.local"):
        text = text.replace(outside, upstream.base)
    (defs / name).write_text(text)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Gunicorn]:
    tmp = tmp_path_factory.mktemp("tyk-doc-examples")
    defs = tmp / "apis"
    defs.mkdir()
    for name in RUNNABLE:
        install(defs, name, upstream)
    # The JSON Schema page's schema, where its file://path_to_schema.json finds it.
    shutil.copy(EXAMPLES / ".schemas" / "path_to_schema.json", defs / "path_to_schema.json")
    (defs / "feeder.yaml").write_text(FEEDER % feeder_stream("orders"))
    gunicorn = start_gunicorn(tmp, workers=WORKERS, env={"STREAMS_DEFINITIONS_DIR": str(defs)})
    yield gunicorn
    gunicorn.stop()


def post(server: Gunicorn, path: str, document: object) -> requests.Response:
    return requests.post(server.url(path), data=json.dumps(document), timeout=30, headers={"Connection": "close"})


def test_http_branched_request(server: Gunicorn, upstream: Upstream) -> None:
    answer = post(server, "/doc-http-branch/repo", {"id": 7})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": 7, "repo": {"status": {"name": "tyk-gateway", "namespace": "tykio", "star_count": 42}}}
    assert ("GET", "/v2/repositories/tykio/tyk-gateway", b"") in upstream.seen


def test_json_schema_with_catch(server: Gunicorn) -> None:
    good = {"firstName": "John", "lastName": "Doe", "age": 21}
    kept = post(server, "/doc-json-schema/people", good)
    assert (kept.status_code, kept.json()) == (200, good)
    dropped = post(server, "/doc-json-schema/people", {"firstName": "John", "lastName": "Doe", "age": -21})
    assert (dropped.status_code, dropped.content) == (200, b"")  # the catch's mapping deleted it
    deadline = time.monotonic() + 30
    while "Schema validation failed due to: age must be greater than or equal to 0" not in server.log():
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.1)


def test_complex_event_processing(server: Gunicorn, upstream: Upstream) -> None:
    for order in ({"order_id": 1, "order_value": 500, "customer_id": "c1"}, {"order_id": 2, "order_value": 5000, "customer_id": "c2"}):
        assert post(server, "/feeder/orders", order).status_code == 200
    deadline = time.monotonic() + 60
    while True:
        got = requests.get(server.url("/doc-cep/high-value-orders"), timeout=30)
        if got.status_code != 408 or time.monotonic() > deadline:
            break
    assert got.status_code == 200, got.text
    assert got.json() == {
        "order_id": 2, "order_value": 5000, "customer_id": "c2", "customer_email": "c2@example.com", "high_value_order": True,
    }
    assert ("POST", "/emails", b'{"customer_id":"c2"}') in upstream.seen
    assert not any(body == b'{"customer_id":"c1"}' for _, _, body in upstream.seen)


@pytest.fixture(scope="module")
def stdout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    files = {
        NEEDS_STDOUT: (EXAMPLES / NEEDS_STDOUT).read_text(),
        "feeder.yaml": FEEDER % (feeder_stream("instrument.json.AMZN") + feeder_stream("instrument.json.GOOG")),
    }
    gunicorn = serve_definitions(tmp_path_factory.mktemp("tyk-doc-stdout"), files, workers=WORKERS)
    yield gunicorn
    gunicorn.stop()


def test_dashboard_example_lints_clean() -> None:
    done = lint(NEEDS_STDOUT)
    assert (done.returncode, done.stdout) == (0, "")


def test_dashboard_example_writes_records_to_the_log(stdout_server: Gunicorn) -> None:
    assert post(stdout_server, "/feeder/instrument.json.AMZN", {"symbol": "AMZN", "price": 181.5}).status_code == 200
    deadline = time.monotonic() + 60
    while '{"symbol": "AMZN", "price": 181.5}' not in stdout_server.log():
        assert time.monotonic() < deadline, stdout_server.log()[-3000:]
        time.sleep(0.1)


def test_dashboard_example_serves_its_http_server_output(stdout_server: Gunicorn) -> None:
    assert post(stdout_server, "/feeder/instrument.json.GOOG", {"symbol": "GOOG", "price": 170.25}).status_code == 200
    deadline = time.monotonic() + 60
    seen = []
    while not seen or seen[-1] != {"symbol": "GOOG", "price": 170.25}:
        got = requests.get(stdout_server.url("/user-test-six/one"), timeout=30)
        assert got.status_code in (200, 408) and time.monotonic() < deadline, (got.status_code, got.text, seen)
        if got.status_code == 200:
            seen.append(got.json())
    # The group's records in order: an AMZN record an earlier test pushed comes first.
    assert seen[:-1] in ([], [{"symbol": "AMZN", "price": 181.5}]), seen
