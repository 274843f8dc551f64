"""The stream engine, GET side: GETs of one user on two workers at the same moment.

Two ``Gateway`` objects over one data dir behave as two gunicorn workers (the embedded broker,
real SQLite); both GETs wait on their worker's feed when the record arrives, both try to claim
it, and the compare-and-set lets one win. Waits are bounded; nothing asserts on timings."""

from __future__ import annotations

import json
from typing import Any

import gevent

from streams.engine.testing import DEADLINE
from tests.unit.engine_helpers import OUT, pull


def n_of(delivery: Any) -> int | None:
    return None if delivery is None else json.loads(delivery.content)["n"]


def test_two_waiting_gets_on_two_workers_one_record_one_gets_it(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    for round_ in range(5):
        gets = [gevent.spawn(pull, api, "alice", 2.0) for api in (api1, api2)]
        gevent.sleep(0.3)  # both wait on their feeds
        broker.produce("completed", json.dumps({"user_id": "alice", "n": round_}).encode())
        got = [n_of(g.get(timeout=DEADLINE)) for g in gets]
        assert sorted(got, key=lambda n: n is None) == [round_, None], got


def test_a_get_that_lost_the_claim_gets_the_record_when_the_winner_hands_it_back(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    gets = [gevent.spawn(pull, api, "alice", 6.0, False) for api in (api1, api2)]
    gevent.sleep(0.3)
    broker.produce("completed", json.dumps({"user_id": "alice", "n": 7}).encode())
    done = gevent.wait(gets, count=1, timeout=DEADLINE)
    assert done, "no GET returned"
    winner = done[0]
    loser = gets[1] if winner is gets[0] else gets[0]
    assert n_of(winner.get()) == 7
    assert not loser.ready()
    winner.get().nack()  # the winner's client went away
    assert n_of(loser.get(timeout=DEADLINE)) == 7  # the loser re-read the position in time
    assert pull(api1, "alice", timeout=0.3) is None  # and took it for good
