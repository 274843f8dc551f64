"""At-least-once for template-free Kafka streams: a failed write is retried, never committed past;
a worker stopped mid-failure leaves the record for the next one. The webhook target is a real
HTTP server on loopback that fails while told to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.engine.testing import wait_until
from tests.webhook import Hook


@pytest.fixture
def hook() -> Any:
    h = Hook()
    yield h
    h.stop()


def worker_stream(url: str) -> dict[str, Any]:
    return {
        "input": {"kafka": {"topics": ["jobs"], "consumer_group": "worker", "commit_period": "10ms"}},
        "output": {"http_client": {"url": url, "retries": 0, "timeout": "2s"}},
    }


def test_failed_writes_are_retried_and_committed_only_after_success(
    tmp_path: Any, gateways: Any, broker: Any, hook: Hook
) -> None:
    broker.produce("jobs", json.dumps({"id": 1}).encode())
    gateways(tmp_path, {"Worker": worker_stream(hook.url)})
    wait_until(lambda: hook.refused >= 2, "two refused attempts")
    assert broker.committed("worker", "jobs") == {}  # nothing delivered, nothing committed
    hook.failing = False
    wait_until(lambda: hook.accepted, "the retried delivery")
    assert [json.loads(b) for b in hook.accepted] == [{"id": 1}]
    wait_until(lambda: broker.committed("worker", "jobs") == {0: 1}, "the commit after delivery")


def test_a_worker_stopped_while_failing_leaves_the_record_for_the_next(
    tmp_path: Any, gateways: Any, broker: Any, hook: Hook
) -> None:
    broker.produce("jobs", json.dumps({"id": 7}).encode())
    first, _ = gateways(tmp_path, {"Worker": worker_stream(hook.url)})
    wait_until(lambda: hook.refused >= 1, "a refused attempt")
    first.drain(5.0)
    assert first.health()["status"] == "draining"
    assert broker.committed("worker", "jobs") == {}
    hook.failing = False
    gateways(tmp_path, {"Worker": worker_stream(hook.url)})  # the next worker process
    wait_until(lambda: hook.accepted, "delivery by the next worker")
    assert [json.loads(b) for b in hook.accepted] == [{"id": 7}]
