"""Structural processors and cache resources behind a real ``gunicorn wsgi:app -w 2``.

One stream reshapes a pushed JSON array with unarchive, group_by_value, split, group_by and
archive; another keeps values in a ``memory`` cache, set through a request one worker
serves and read (by ``cache get`` and by ``cached``) through a request the other serves. Which
worker served a request is asked on the same keep-alive connection (``/shared/whoami``).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.server import Gunicorn, serve_definitions
from tests.e2e.test_host_shared_state import on_a_new_connection

WORKERS = 2

API = """
openapi: 3.0.3
info:
  title: structural
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
    reshape:
      input:
        http_server:
          path: /reshape
      pipeline:
        processors:
          - unarchive:
              format: json_array
          - group_by_value:
              value: ${! json("kind") }
          - split:
              size: 2
          - group_by:
              - check: this.kind == "b"
                processors:
                  - mutation: root.seen_by_b_group = batch_size()
          - archive:
              format: json_array
      output:
        sync_response: {}
    cache:
      input:
        http_server:
          path: /cache
      cache_resources:
        - label: shared
          memory:
            default_ttl: 5m
      pipeline:
        processors:
          - switch:
              - check: this.op == "set"
                processors:
                  - cache:
                      resource: shared
                      operator: set
                      key: ${! json("key") }
                      value: ${! json("value") }
              - check: this.op == "get"
                processors:
                  - cache:
                      resource: shared
                      operator: get
                      key: ${! json("key") }
              - check: this.op == "cached"
                processors:
                  - cached:
                      cache: shared
                      key: computed-${! json("key") }
                      processors:
                        - mapping: root.computed_by = file("/proc/self/stat").string().split(" ").index(0)
          - catch:
              - mapping: root.error = error()
      output:
        sync_response: {}
x-tyk-api-gateway:
  info:
    name: structural
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
        tmp_path_factory.mktemp("structural"),
        {"structural.yaml": API},
        workers=WORKERS,
        # ``file("/proc/self/stat")`` names the serving worker: impure.
        env={"STREAMS_ALLOW_IMPURE_BLOBLANG": "true"},
    )
    yield server
    server.stop()


def parts_of(resp: requests.Response) -> list[Any]:
    """The JSON documents of a multipart reply (one part per message)."""
    head = f"Content-Type: {resp.headers['Content-Type']}\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + resp.content)
    return [json.loads(part.get_payload(decode=True)) for part in parsed.iter_parts()]


def test_a_pushed_array_is_grouped_split_and_archived_per_batch(server: Gunicorn) -> None:
    items = [{"kind": k, "n": n} for n, k in enumerate("abaab")]
    resp = requests.post(server.url("/shared/reshape"), data=json.dumps(items), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("multipart/mixed")
    assert parts_of(resp) == [
        [{"kind": "a", "n": 0}, {"kind": "a", "n": 2}],  # kind a, split in twos
        [{"kind": "a", "n": 3}],
        [{"kind": "b", "n": 1, "seen_by_b_group": 2}, {"kind": "b", "n": 4, "seen_by_b_group": 2}],
    ]


def test_a_pushed_non_array_is_flagged_not_a_traceback(server: Gunicorn) -> None:
    resp = requests.post(server.url("/shared/reshape"), data=b'{"not": "an array"}', timeout=30)
    assert resp.status_code == 400
    assert "failed to parse message into JSON array: invalid type 'map[string]interface {}'" in resp.text
    assert "Traceback" not in resp.text


def on_other_worker(server: Gunicorn, not_pid: str, body: dict[str, Any]) -> tuple[str, requests.Response]:
    """POST ``body`` to ``/shared/cache`` on new connections until one is served by a worker
    other than ``not_pid``."""
    for _ in range(200):
        pid, resp = on_a_new_connection(server, "/shared/cache", json.dumps(body).encode())
        if pid != not_pid:
            return pid, resp
    raise AssertionError(f"every connection went to worker {not_pid}")


def test_a_memory_cache_is_shared_by_both_workers(server: Gunicorn) -> None:
    key = uuid.uuid4().hex
    setter, resp = on_a_new_connection(server, "/shared/cache", json.dumps({"op": "set", "key": key, "value": "hello"}).encode())
    assert resp.status_code == 200, resp.text
    reader, got = on_other_worker(server, setter, {"op": "get", "key": key})
    assert reader != setter
    assert got.status_code == 200 and got.content == b"hello"

    missing = requests.post(server.url("/shared/cache"), data=json.dumps({"op": "get", "key": key + "x"}), timeout=30)
    assert json.loads(missing.content)["error"] == f"operator failed for key '{key}x': key does not exist"

    computer, first = on_a_new_connection(server, "/shared/cache", json.dumps({"op": "cached", "key": key}).encode())
    assert json.loads(first.content)["computed_by"] == computer
    other, second = on_other_worker(server, computer, {"op": "cached", "key": key})
    assert json.loads(second.content)["computed_by"] == computer  # the first worker's result, not recomputed
