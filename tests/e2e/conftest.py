"""End-to-end fixtures: the seed demo served by a real ``gunicorn wsgi:app -w 4``.

``seed_server`` is parametrized over the two brokers a user can run on: the embedded one (the
default) and real Apache Kafka (``STREAMS_KAFKA_BROKERS`` pointing at the broker that
``deploy/kafka/run.sh start`` runs). Each variant is one gunicorn for the whole module.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.server import Gunicorn, start_gunicorn

WORKERS = 4


@pytest.fixture(scope="module", params=["embedded", "kafka"])
def seed_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Gunicorn:
    env = {}
    if request.param == "kafka":
        env["STREAMS_KAFKA_BROKERS"] = request.getfixturevalue("kafka_bootstrap")
    server = start_gunicorn(tmp_path_factory.mktemp(f"gunicorn-{request.param}"), workers=WORKERS, env=env)
    server.broker = request.param  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def user() -> str:
    """A user name no earlier run has used, so old results on a shared broker never match."""
    return f"user-{uuid.uuid4().hex[:12]}"


def push(server: Gunicorn, user: str, payload: Any) -> requests.Response:
    return requests.post(
        server.url("/stream-demo/push-event"),
        params={"user": user},
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def get_result(server: Gunicorn, user: str, deadline_s: float = 60.0) -> requests.Response:
    """GET get-event until it answers with a message. A 408 only means "nothing yet": the
    Worker stream may still be processing the job."""
    deadline = time.monotonic() + deadline_s
    while True:
        resp = requests.get(server.url("/stream-demo/get-event"), params={"user": user}, timeout=30)
        if resp.status_code != 408 or time.monotonic() > deadline:
            return resp
