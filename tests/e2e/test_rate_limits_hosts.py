"""Two gateway hosts on one real Kafka share an API's rate limit (and a ``rate_limit_resources``
limit): each learns from the other's
heartbeats (topic ``_streams.hosts``) that there are two, and admits its share,
``ceil(rate / hosts)``, so the two together stay within the README's bound of
``rate + hosts - 1`` per window.

The two hosts are two ``gunicorn wsgi:app -w 2`` with data directories of their own (what makes
them two hosts) and ``STREAMS_KAFKA_BROKERS`` pointing at the test broker.
"""

from __future__ import annotations

from typing import Any

import gevent.pool
import pytest
import requests

from streams.ratelimits import host_share
from tests.e2e.server import Gunicorn, serve_definitions, wait_until_every_worker_sees_hosts

pytestmark = pytest.mark.timeout(240)

WORKERS = 2
RATE = 10
HOSTS = 2

API = f"""
openapi: 3.0.3
info:
  title: shared-limit
  version: 1.0.0
paths: {{}}
x-tyk-streaming:
  streams:
    push:
      input:
        http_server:
          path: /push
      output:
        sync_response: {{}}
x-tyk-api-gateway:
  info:
    name: shared-limit
    state:
      active: true
  server:
    listenPath:
      value: /shared-limit/
  upstream:
    rateLimit:
      enabled: true
      rate: {RATE}
      per: 1m
"""

RESOURCE_COUNT = 4

RESOURCE_API = f"""
openapi: 3.0.3
info:
  title: shared-resource
  version: 1.0.0
paths: {{}}
x-tyk-streaming:
  streams:
    limited:
      input:
        http_server:
          path: /limited
          rate_limit: four
      rate_limit_resources:
        - label: four
          local:
            count: {RESOURCE_COUNT}
            interval: 60s
      output:
        sync_response: {{}}
x-tyk-api-gateway:
  info:
    name: shared-resource
    state:
      active: true
  server:
    listenPath:
      value: /shared-resource/
      strip: true
"""

@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Any:
    started: list[Gunicorn] = []
    try:
        for n in range(HOSTS):
            files = {"shared-limit.yaml": API, "shared-resource.yaml": RESOURCE_API}
            env = {"STREAMS_KAFKA_BROKERS": kafka_bootstrap}
            started.append(serve_definitions(tmp_path_factory.mktemp(f"host-{n}"), files, workers=WORKERS, env=env))
        yield started
    finally:
        for server in started:
            server.stop()


def push_from_new_connections(server: Gunicorn, count: int, path: str = "/shared-limit/push") -> list[requests.Response]:
    def one(_: int) -> requests.Response:
        with requests.Session() as session:
            return session.post(server.url(path), data=b"{}", timeout=30)

    return list(gevent.pool.Pool(count).map(one, range(count)))


def test_two_hosts_on_one_kafka_admit_within_the_documented_bound(hosts: list[Gunicorn]) -> None:
    wait_until_every_worker_sees_hosts(hosts, WORKERS)

    pool = gevent.pool.Pool(HOSTS)
    replies = pool.map(lambda server: push_from_new_connections(server, 2 * RATE), hosts)

    share = host_share(RATE, HOSTS)
    admitted = [[r.status_code for r in per_host].count(200) for per_host in replies]
    assert admitted == [share] * HOSTS  # exact on each host
    assert sum(admitted) <= RATE + HOSTS - 1  # the bound across hosts (README, "Rate limits")
    refused = [r for per_host in replies for r in per_host if r.status_code != 200]
    assert len(refused) == 2 * RATE * HOSTS - sum(admitted)
    for resp in refused:
        assert resp.status_code == 429
        assert resp.json() == {
            "error": f"API rate limit exceeded: {RATE} requests per 60s ({share} on each of {HOSTS} gateway hosts)",
            "status": 429,
        }


def test_two_hosts_share_a_rate_limit_resource_the_same_way(hosts: list[Gunicorn]) -> None:
    # Bento's `local` limit, counted for each host exactly; with two hosts each takes its share.
    wait_until_every_worker_sees_hosts(hosts, WORKERS)
    pool = gevent.pool.Pool(HOSTS)
    replies = pool.map(lambda server: push_from_new_connections(server, RESOURCE_COUNT, "/shared-resource/limited"), hosts)
    statuses = [[r.status_code for r in per_host] for per_host in replies]
    admitted = [codes.count(200) for codes in statuses]
    assert admitted == [host_share(RESOURCE_COUNT, HOSTS)] * HOSTS, statuses
    assert sum(admitted) <= RESOURCE_COUNT + HOSTS - 1
    assert all(code in (200, 429) for codes in statuses for code in codes), statuses
    assert all(r.headers.get("Retry-After") for per_host in replies for r in per_host if r.status_code == 429)
