"""The seed demo (shared/seed/streams-demo.yaml) end to end in-process, on two workers.

Real parts only: the embedded broker (SQLite in a tmp dir), the real Bloblang compiler. Two
``Gateway`` objects over one data dir behave as two gunicorn workers. Waits are bounded by
generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.engine.gateway import Gateway
from streams.engine.testing import DEADLINE
from tests.unit.engine_helpers import jmsg, pull, user

# --- the seed demo, in-process ---------------------------------------------------------------------

SEED = "/work/shared/seed/streams-demo.yaml"


def seed_gateway(tmp_path: Any, made: list[Gateway]) -> Gateway:
    import shutil

    from streams.engine.testing import make_settings

    defs = tmp_path / "apis"
    defs.mkdir(exist_ok=True)
    shutil.copy(SEED, defs / "streams-demo.yaml")
    gw = Gateway.from_settings(make_settings(str(tmp_path / "data"), definitions_dir=str(defs)))
    made.append(gw)
    gw.start()
    return gw


@pytest.fixture
def seed(tmp_path: Any) -> Any:
    made: list[Gateway] = []
    yield lambda: seed_gateway(tmp_path, made)
    for gw in made:
        gw.drain(5.0)


def test_seed_routes(seed: Any) -> None:
    gw = seed()
    assert gw.problems == []
    routes = {(r.stream, r.kind): (r.path, r.methods) for r in gw.routes()}
    assert routes == {
        ("in", "push"): ("/stream-demo/push-event", ("POST",)),
        ("in", "push_ws"): ("/stream-demo/ws-out", ("GET",)),
        ("out", "pull"): ("/stream-demo/get-event", ("GET",)),
        ("out", "stream"): ("/stream-demo/get/stream", ("GET",)),
        ("out", "pull_ws"): ("/stream-demo/ws-in", ("GET",)),
    }
    [api] = gw.apis
    assert api.templates == {"in", "out"}  # Worker is template-free: it runs from start()
    assert [i.name for i in gw.instances()] == ["Worker"]


def test_seed_end_to_end_push_worker_pull(seed: Any) -> None:
    gw1, gw2 = seed(), seed()  # two workers
    [api1], [api2] = gw1.apis, gw2.apis
    inst = api1.open("in", user("alice"))
    pushed = inst.push(jmsg({"foo": "hello"}), 5.0)
    inst.release()
    assert pushed.status == 200
    echo = json.loads(pushed.body)
    assert echo["user_id"] == "alice" and echo["foo"] == "hello" and echo["job_id"]
    got = pull(api2, "alice", timeout=DEADLINE)
    assert got is not None
    result = json.loads(got.content)
    assert result == {**echo, "result": "bar"}
    assert pull(api1, "bob", timeout=0.5) is None  # bob gets nothing of alice's
    assert pull(api1, "alice", timeout=0.3) is None  # and alice's job came once
