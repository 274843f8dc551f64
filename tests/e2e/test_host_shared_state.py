"""One host, one gateway: ``dedupe`` and ``rate_limit_resources`` count over every gunicorn
worker of the host (DESIGN §10), not per worker process.

A real ``gunicorn wsgi:app -w 4`` serves a small API. Each request goes on a connection of its
own, opened with a ``/whoami`` request that answers the serving worker's process id, so the
test knows which worker served every request and that several did.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import gevent.pool
import pytest
import requests

from tests.e2e.server import Gunicorn, serve_definitions

WORKERS = 4

API = """
openapi: 3.0.3
info:
  title: host-shared
  version: 1.0.0
paths: {}
x-tyk-streaming:
  streams:
    whoami:
      input:
        http_server:
          path: /whoami
      pipeline:
        processors:
          - mapping: root = file("/proc/self/stat").string().split(" ").index(0)
      output:
        sync_response: {}
    dedupe:
      input:
        http_server:
          path: /dedupe
      cache_resources:
        - label: seen
          memory:
            default_ttl: 5m
      pipeline:
        processors:
          - dedupe:
              cache: seen
              key: ${! json("id") }
      output:
        sync_response: {}
    limited:
      input:
        http_server:
          path: /limited
          rate_limit: five
      rate_limit_resources:
        - label: five
          local:
            count: 5
            interval: 60s
      output:
        sync_response: {}
x-tyk-api-gateway:
  info:
    name: host-shared
    state:
      active: true
  server:
    listenPath:
      value: /shared/
      strip: true
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = serve_definitions(
        tmp_path_factory.mktemp("host-shared"),
        {"host-shared.yaml": API},
        workers=WORKERS,
        # ``file("/proc/self/stat")`` in the whoami mapping is impure.
        env={"STREAMS_ALLOW_IMPURE_BLOBLANG": "true"},
    )
    yield server
    server.stop()


def on_a_new_connection(server: Gunicorn, path: str, body: bytes) -> tuple[str, requests.Response]:
    """POST ``body`` to ``path`` on a connection of its own: the serving worker's pid (asked first
    on the same keep-alive connection) and the response."""
    with requests.Session() as session:
        whoami = session.post(server.url("/shared/whoami"), data=b"{}", timeout=30)
        assert whoami.status_code == 200, whoami.text
        resp = session.post(server.url(path), data=body, timeout=30)
        again = session.post(server.url("/shared/whoami"), data=b"{}", timeout=30)
        assert again.text == whoami.text, "the connection stayed on one worker"
    return whoami.text, resp


def all_at_once(server: Gunicorn, path: str, bodies: list[bytes]) -> list[tuple[str, requests.Response]]:
    pool = gevent.pool.Pool(len(bodies))
    return pool.map(lambda body: on_a_new_connection(server, path, body), bodies)


def test_dedupe_lets_each_key_through_once_per_host(server: Gunicorn) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(10)]
    bodies = [json.dumps({"id": ids[n % 10], "n": n}).encode() for n in range(40)]
    results = all_at_once(server, "/shared/dedupe", bodies)

    assert len({pid for pid, _ in results}) >= 2, "requests reached several workers"
    assert all(resp.status_code == 200 for _, resp in results), [r.text for _, r in results]
    passed = [json.loads(resp.content)["id"] for _, resp in results if resp.content]
    assert sorted(passed) == sorted(ids)  # every key once, whichever worker saw it first
    dropped = [resp for _, resp in results if not resp.content]
    assert len(dropped) == 30


def test_a_local_rate_limit_counts_every_worker_of_the_host(server: Gunicorn) -> None:
    results = all_at_once(server, "/shared/limited", [b"{}"] * 20)

    assert len({pid for pid, _ in results}) >= 2, "requests reached several workers"
    statuses = sorted(resp.status_code for _, resp in results)
    assert statuses == [200] * 5 + [429] * 15
    for _, resp in results:
        if resp.status_code == 429:
            assert 1 <= int(resp.headers["Retry-After"]) <= 60
