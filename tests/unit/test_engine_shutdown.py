"""Shutdown's first step: stream clients told to leave, waiting GETs answered, nothing lost.

``ClientRoster`` alone (plain bookkeeping), then real gateways on the embedded broker: two
``Gateway`` objects over one data dir behave as a stopping worker and the one that serves next.
"""

from __future__ import annotations

import json
import time
from typing import Any

import gevent
import pytest

from streams.engine.resources import Resources
from streams.engine.shutdown import GOING_AWAY, ClientRoster, Draining
from streams.engine.testing import DEADLINE
from tests.unit.engine_helpers import ECHO, OUT, produce_for, pull, user

# --- ClientRoster -------------------------------------------------------------------------------


def test_roster_hands_back_every_attached_client_once() -> None:
    roster = ClientRoster()
    told: list[tuple[str, str]] = []
    roster.join(lambda r: told.append(("a", r)))
    b = roster.join(lambda r: told.append(("b", r)))
    roster.join(lambda r: told.append(("c", r)))
    roster.forget(b)
    assert len(roster) == 2 and not roster.closing
    for leave in roster.begin_shutdown(GOING_AWAY):
        leave(GOING_AWAY)
    assert told == [("a", GOING_AWAY), ("c", GOING_AWAY)]
    assert roster.closing and roster.reason == GOING_AWAY and len(roster) == 0
    assert roster.begin_shutdown(GOING_AWAY) == []  # a second call tells nobody again


def test_roster_refuses_clients_once_closing() -> None:
    roster = ClientRoster()
    roster.begin_shutdown()
    with pytest.raises(Draining) as caught:
        roster.join(lambda r: None)
    assert caught.value.http_status == 503


def test_forgetting_an_unknown_token_is_harmless() -> None:
    roster = ClientRoster()
    roster.forget(42)
    assert len(roster) == 0


# --- gateways -------------------------------------------------------------------------------------


def test_subscriptions_end_with_the_going_away_reason(tmp_path: Any, gateways: Any) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("alice"))
    subs = [inst.subscribe() for _ in range(3)]
    told = gw.begin_shutdown()
    assert told == 3
    assert [(s.closed, s.closed_reason) for s in subs] == [(True, GOING_AWAY)] * 3
    assert [s.get(DEADLINE) for s in subs] == [None, None, None]  # no wait: they return at once
    assert gw.health()["status"] == "draining"
    with pytest.raises(Draining):
        inst.subscribe()
    inst.release()


def test_a_stopping_worker_refuses_new_requests_even_on_existing_instances(tmp_path: Any, gateways: Any) -> None:
    gw, api = gateways(tmp_path, {"echo": ECHO, "out": OUT})
    api.open("out", user("alice")).release()
    gw.begin_shutdown()
    with pytest.raises(Draining):
        api.open("out", user("alice"))
    with pytest.raises(Draining):
        api.open("echo", {})


def test_a_waiting_get_is_answered_at_once_and_no_message_is_lost(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    produce_for(broker, "alice", range(2))
    assert json.loads(pull(api, "alice").content)["n"] == 0
    assert json.loads(pull(api, "alice").content)["n"] == 1
    inst = api.open("out", user("alice"))
    waiting = gevent.spawn(inst.pull, DEADLINE)
    gevent.sleep(0.3)  # the GET is caught up and waits on the feed
    started = time.monotonic()
    gw.begin_shutdown()
    with pytest.raises(Draining):
        waiting.get(timeout=DEADLINE)
    woke_in = time.monotonic() - started
    assert woke_in < DEADLINE / 2, woke_in  # answered at once, not after the GET's timeout
    inst.release()
    gw.drain(5.0)
    # The next message goes to the next worker's GET: the woken one claimed nothing.
    produce_for(broker, "alice", range(2, 3))
    _, after = gateways(tmp_path, {"out": OUT})
    assert json.loads(pull(after, "alice").content)["n"] == 2
    assert pull(after, "alice", timeout=0.3) is None


def test_acknowledged_stream_messages_are_committed_on_shutdown(tmp_path: Any, gateways: Any, broker: Any) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("bob"))
    sub = inst.subscribe()
    gevent.sleep(0.3)
    produce_for(broker, "bob", range(3))
    got = []
    for _ in range(3):
        delivery = sub.get(DEADLINE)
        assert delivery is not None
        delivery.ack()
        got.append(json.loads(delivery.content)["n"])
    assert got == [0, 1, 2]
    gw.begin_shutdown()
    inst.release()
    gw.drain(5.0)
    produce_for(broker, "bob", range(3, 4))
    _, after = gateways(tmp_path, {"out": OUT})
    assert json.loads(pull(after, "bob").content)["n"] == 3  # none of 0..2 again


def test_a_push_session_is_told_to_leave_and_can_be_forgotten(tmp_path: Any, gateways: Any) -> None:
    gw, api = gateways(tmp_path, {"echo": ECHO})
    inst = api.open("echo", {})
    told: list[str] = []
    inst.on_shutdown(told.append)
    gone = inst.on_shutdown(lambda r: told.append("forgotten " + r))
    inst.forget(gone)
    gw.begin_shutdown()
    assert told == [GOING_AWAY]
    with pytest.raises(Draining):
        inst.on_shutdown(told.append)
    inst.release()


def test_a_client_that_left_is_counted_out_and_not_told_again(
    tmp_path: Any, gateways: Any, broker: Any, monkeypatch: Any
) -> None:
    sent: list[tuple[str, str, float]] = []
    record = lambda kind, name, value, **tags: sent.append((kind, name, value))  # noqa: E731
    monkeypatch.setattr("streams.engine.instance.metric", record)
    monkeypatch.setattr("streams.engine.resources.metric", record)
    # A component's untagged metrics go through its bound recorders instead.
    monkeypatch.setattr(Resources, "_record", lambda _res, kind, name, value: sent.append((kind, name, value)))
    gw, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("carol"))
    leaving, staying = inst.subscribe(), inst.subscribe()
    gevent.sleep(0.3)
    produce_for(broker, "carol", range(1))
    delivery = leaving.get(DEADLINE)
    assert delivery is not None
    delivery.ack()
    leaving.close()
    counted = [s for s in sent if s[1] in ("connections_active", "output_sent")]
    assert counted == [
        ("gauge_add", "connections_active", 1),
        ("gauge_add", "connections_active", 1),
        ("incr", "output_sent", 1),
        ("gauge_add", "connections_active", -1),
    ]
    assert gw.begin_shutdown() == 1  # only the client still attached is told to leave
    assert (leaving.closed_reason, staying.closed_reason) == (None, GOING_AWAY)
    inst.release()
