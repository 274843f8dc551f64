"""Gateway life: drain lets accepted pushes finish, health, context variables switched off,
bad streams reported without stopping the others."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from streams.engine.testing import DEADLINE, Gateways
from streams.message import Message


@pytest.fixture
def gateways() -> Any:
    made = Gateways()
    yield made
    made.drain_all()


def test_drain_lets_an_accepted_push_finish(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"sleep": {"duration": "300ms"}}, {"mapping": 'root = "done"'}]},
        "output": {"sync_response": {}},
    }
    gw, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    job = gevent.spawn(inst.push, Message(b"x"), DEADLINE)
    gevent.sleep(0.05)
    gw.drain(DEADLINE)
    result = job.get(timeout=DEADLINE)
    assert (result.status, result.body) == (200, b"done")
    assert gw.health()["status"] == "draining"


def test_health_counts_instances_and_clients(tmp_path: Any, gateways: Any) -> None:
    stream = {"input": {"http_server": {"path": "/in"}}, "output": {"http_server": {"path": "/out"}}}
    gw, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    sub = inst.subscribe()
    health = gw.health()
    assert health["status"] == "pass" and health["instances"] == 1 and health["clients"] == 1
    sub.close()
    inst.release()
    assert gw.health()["clients"] == 0


def test_disabled_context_variables_substitute_empty_strings(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"mapping": 'root = "user=$tyk_context.request_data_user"'}]},
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream}, context_variables=False)
    a, b = api.open("s", {"request_data_user": "alice"}), api.open("s", {"request_data_user": "bob"})
    assert a is b
    assert a.push(Message(b""), 5.0).body == b"user="
    a.release()
    b.release()


def test_hostile_variable_values_stay_inside_the_string(tmp_path: Any, gateways: Any) -> None:
    stream = {
        "input": {"http_server": {}},
        "pipeline": {"processors": [{"mapping": 'root = "$tyk_context.request_data_user"'}]},
        "output": {"sync_response": {}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    hostile = 'a"\nroot = "pwned'
    inst = api.open("s", {"request_data_user": hostile})
    assert inst.push(Message(b""), 5.0).body == hostile.encode()
    inst.release()


def test_a_broken_stream_does_not_stop_the_others(tmp_path: Any, gateways: Any) -> None:
    streams = {
        "bad": {"input": {"generate": {"mapping": "root = ", "count": 1}}, "output": {"drop": {}}},
        "good": {"input": {"http_server": {}}, "output": {"sync_response": {}}},
    }
    gw, api = gateways(tmp_path, streams)
    assert [i.name for i in gw.instances()] == ["good"]
    from streams.bloblang import ParseError

    with pytest.raises(ParseError):
        api.open("bad", {})
    inst = api.open("good", {})
    assert inst.push(Message(b"ok"), 5.0).body == b"ok"
    inst.release()


def test_unknown_stream_and_output_less_stream(tmp_path: Any, gateways: Any) -> None:
    """A stream without ``output`` writes to ``stdout`` (Bento's default); an unknown stream
    name is an error."""
    _, api = gateways(tmp_path, {"s": {"input": {"http_server": {}}}}, start=False)
    with pytest.raises(KeyError):
        api.open("nope", {})
    instance = api.open("s", {})
    try:
        assert instance.output_type == "stdout"
    finally:
        instance.release()


def test_a_draining_worker_creates_no_new_instances(tmp_path: Any, gateways: Any) -> None:
    from streams.engine.gateway import Draining

    stream = {"input": {"http_server": {}}, "pipeline": {"processors": [{"mapping": 'root = "$tyk_context.request_data_user"'}]},
              "output": {"sync_response": {}}}
    gw, api = gateways(tmp_path, {"s": stream})
    gw.drain(5.0)
    with pytest.raises(Draining):
        api.open("s", {"request_data_user": "late"})


def test_a_failing_input_is_restarted_not_left_dead(
    tmp_path: Any, gateways: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from streams.engine.testing import wait_until

    caplog.set_level(logging.ERROR, logger="streams.engine")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("the broker cannot live here")
    worker = {"input": {"kafka": {"topics": ["jobs"], "consumer_group": "w"}}, "output": {"drop": {}}}
    gw, _ = gateways(not_a_dir, {"Worker": worker})
    wait_until(
        lambda: sum(r.getMessage().startswith("input failed") for r in caplog.records) >= 2, "two restarts"
    )
    [inst] = gw.instances()
    assert not all(g.dead for g in inst._runners)  # still trying


def test_an_input_stopped_before_it_started_never_runs(tmp_path: Any, gateways: Any) -> None:
    """An instance makes its stop signal when its input's runner starts: a stop asked for
    before that still holds, and the runner ends at once (a ``generate`` input runs forever)."""
    stream = {"input": {"generate": {"mapping": 'root = "x"', "interval": "1ms"}}, "output": {"drop": {}}}
    gw, api = gateways(tmp_path, {"s": {"input": {"http_server": {}}, "output": {"drop": {}}}})
    inst = gw.build_instance(api, "s", stream, "stopped-early")
    inst.stop_input()
    inst.start()
    assert inst._runners and inst.join(DEADLINE)
    inst.close()
    running = gw.build_instance(api, "s", stream, "running")
    running.start()
    assert not running.join(0.2)  # the same input, not stopped, keeps running
    running.close(timeout=DEADLINE)
