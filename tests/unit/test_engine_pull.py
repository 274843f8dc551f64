"""The stream engine, GET side: per-user positions in the consumer group across workers.

Real parts only: the embedded broker (SQLite in a tmp dir), the real Bloblang compiler. Two
``Gateway`` objects over one data dir behave as two gunicorn workers. Waits are bounded by
generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
from typing import Any

import gevent
import pytest

from streams.brokers.base import BrokerError
from streams.engine.hub import BrokerHub
from streams.engine.logs import StreamLog
from streams.engine.readers import IDLE_READERS
from streams.engine.services import BrokerServices
from streams.engine.testing import DEADLINE, wait_until
from streams.message import Message
from tests.unit.engine_helpers import OUT, CountingReaders, produce_for, pull, user

# --- pull: per-user position in the consumer group, across workers ----------------------------

def test_sequential_gets_on_two_workers_are_in_order_none_twice_none_skipped(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    for i in range(6):
        broker.produce("completed", json.dumps({"user_id": "alice", "n": i}).encode())
        broker.produce("completed", json.dumps({"user_id": "bob", "n": i}).encode())
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    got = [json.loads(pull(api1 if i % 2 else api2, "alice").content)["n"] for i in range(6)]
    assert got == [0, 1, 2, 3, 4, 5]
    assert pull(api1, "alice", timeout=0.3) is None
    assert pull(api2, "alice", timeout=0.3) is None
    # bob's position is his own, and he never sees alice's messages
    bobs = [json.loads(pull(api2, "bob").content) for _ in range(6)]
    assert [b["n"] for b in bobs] == [0, 1, 2, 3, 4, 5] and {b["user_id"] for b in bobs} == {"bob"}


def test_get_waits_for_the_next_message(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT})
    job = gevent.spawn(pull, api, "alice", 10.0)
    gevent.sleep(0.2)
    broker.produce("completed", json.dumps({"user_id": "bob", "n": 1}).encode())
    broker.produce("completed", json.dumps({"user_id": "alice", "n": 2}).encode())
    delivery = job.get(timeout=DEADLINE)
    assert json.loads(delivery.content) == {"user_id": "alice", "n": 2}
    assert delivery.event_id == "0-1"
    assert delivery.metadata["kafka_topic"] == "completed" and delivery.metadata["kafka_offset"] == 1


def test_nack_hands_the_message_back_to_the_next_get_on_another_worker(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    for i in range(2):
        broker.produce("completed", json.dumps({"user_id": "alice", "n": i}).encode())
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    first = pull(api1, "alice", ack=False)
    assert json.loads(first.content)["n"] == 0
    first.nack()  # the client went away before the body was written
    again = pull(api2, "alice")
    assert json.loads(again.content)["n"] == 0
    assert json.loads(pull(api1, "alice").content)["n"] == 1


def test_nack_after_a_later_get_moved_on_does_not_rewind(tmp_path: Any, gateways: Any, broker: Any) -> None:
    for i in range(3):
        broker.produce("completed", json.dumps({"user_id": "alice", "n": i}).encode())
    _, api = gateways(tmp_path, {"out": OUT})
    first = pull(api, "alice", ack=False)
    second = pull(api, "alice")
    first.nack()
    assert (json.loads(first.content)["n"], json.loads(second.content)["n"]) == (0, 1)
    assert json.loads(pull(api, "alice").content)["n"] == 2


def test_messages_deleted_by_the_mapping_are_committed_past(tmp_path: Any, gateways: Any, broker: Any) -> None:
    for i in range(5):
        broker.produce("completed", json.dumps({"user_id": "bob", "n": i}).encode())
    _, api = gateways(tmp_path, {"out": OUT})
    assert pull(api, "alice", timeout=0.5) is None
    assert broker.committed("alice", "completed") == {0: 5}


def test_a_record_the_filter_fails_on_reaches_nobody(tmp_path: Any, gateways: Any, broker: Any) -> None:
    broker.produce("completed", b"not json at all")
    produce_for(broker, "alice", range(1))
    _, api = gateways(tmp_path, {"out": OUT})
    assert pull(api, "bob", timeout=0.5) is None
    assert json.loads(pull(api, "alice").content) == {"user_id": "alice", "n": 0}
    inst = api.open("out", user("carol"))
    sub = inst.subscribe()
    assert sub.get(0.5) is None
    sub.close()
    inst.release()


def test_gets_of_many_users_share_a_bounded_set_of_readers(tmp_path: Any, gateways: Any, broker: Any) -> None:
    names = [f"u{i}" for i in range(8)]
    for name in names:
        produce_for(broker, name, range(2))
    gw, api = gateways(tmp_path, {"out": OUT})
    jobs = [gevent.spawn(pull, api, name) for name in names]  # concurrent GETs of different users
    gevent.joinall(jobs, timeout=DEADLINE, raise_error=True)
    assert all(json.loads(j.value.content) == {"user_id": n, "n": 0} for j, n in zip(jobs, names))
    assert len(gw.services.for_broker(gw.broker()).readers("completed")._free) <= IDLE_READERS
    # a reader used for one user and lent to another starts at the other's position
    for name in reversed(names):
        assert json.loads(pull(api, name).content) == {"user_id": name, "n": 1}


def test_a_reader_that_failed_a_get_is_closed_not_lent_again(broker: Any) -> None:
    class BrokenReaders:
        def __init__(self, broker: Any) -> None:
            self.broker = broker
            self.closed = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(self.broker, name)

        def reader(self, topic: str, start: dict[int, int]) -> Any:
            outer = self
            inner = self.broker.reader(topic, start)

            class Broken:
                def fetch(self, timeout: float, max_records: int = 500) -> Any:
                    raise BrokerError("connection reset")

                def seek(self, offsets: dict[int, int]) -> None:
                    inner.seek(offsets)

                def positions(self) -> dict[int, int]:
                    return inner.positions()

                def close(self) -> None:
                    outer.closed += 1
                    inner.close()

            return Broken()

    broker.create_topic("t")
    broker.produce("t", b"x")  # a backlog: the GET borrows a reader to read it
    wrapped = BrokenReaders(broker)
    hub = BrokerHub(BrokerServices(wrapped, StreamLog()), "g", ["t"], True, lambda m: [m], StreamLog(), 10)
    with pytest.raises(BrokerError):
        hub.pull(1.0)
    assert wrapped.closed == 1 and not hub._pool("t")._free  # the next GET gets a fresh reader
    hub.close()


def test_a_get_of_a_record_the_processors_split_gets_every_message(broker: Any) -> None:
    broker.create_topic("t")
    broker.produce("t", b"a")
    broker.produce("t", b"b")
    services = BrokerServices(broker, StreamLog())
    split = BrokerHub(services, "g", ["t"], True, lambda m: [m, Message(m.content + b"2")], StreamLog(), 10)
    first = split.pull(1.0)
    assert first is not None and first.parts == (b"a", b"a2") and first.event_id == "0-0"
    first.ack()
    second = split.pull(1.0)
    assert second is not None and second.parts == (b"b", b"b2")
    second.ack()
    assert broker.committed("g", "t") == {0: 2}
    split.close()
    services.close()


def test_closing_the_hub_wakes_a_waiting_get_at_once(broker: Any) -> None:
    broker.create_topic("t")
    services = BrokerServices(broker, StreamLog())
    hub = BrokerHub(services, "g", ["t"], True, lambda m: [m], StreamLog(), 10)
    waiting = gevent.spawn(hub.pull, 30.0)
    gevent.sleep(0.3)
    hub.close()
    assert waiting.get(timeout=2.0) is None  # not after its 30 s
    services.close()




def test_many_waiting_gets_share_the_live_feed_instead_of_holding_a_reader_each(broker: Any) -> None:
    # Each waiting GET held a reader borrowed from the pool: a thousand waiting GETs per worker
    # were a thousand Kafka consumers, over the broker's cap (503).
    broker.create_topic("t")
    counting = CountingReaders(broker)
    services = BrokerServices(counting, StreamLog())
    names = [f"u{i}" for i in range(300)]

    def only(name: str) -> Any:
        return lambda m: [m] if m.content == name.encode() else []

    hubs = {name: BrokerHub(services, name, ["t"], False, only(name), StreamLog(), 10) for name in names}
    for hub in hubs.values():
        hub.pin_start()
    gets = {name: gevent.spawn(hub.pull, DEADLINE) for name, hub in hubs.items()}
    wait_until(lambda: services.feed("t").live == len(names), "every GET waiting on the live feed")
    for name in reversed(names):
        broker.produce("t", name.encode())
    gevent.joinall(list(gets.values()), timeout=DEADLINE, raise_error=True)
    for name, job in gets.items():
        assert job.value is not None and job.value.content == name.encode()
        job.value.ack()
        assert broker.committed(name, "t") == {0: len(names) - names.index(name)}
    assert counting.most <= 2 and counting.opened <= 2
    for hub in hubs.values():
        hub.close()
    services.close()


def test_a_get_waiting_on_the_feed_moves_past_other_users_records_when_it_times_out(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    _, api = gateways(tmp_path, {"out": OUT})
    pull(api, "alice", timeout=0.1)  # pins alice's position at the (empty) end
    job = gevent.spawn(pull, api, "alice", 1.5)
    gevent.sleep(0.3)
    produce_for(broker, "bob", range(3))
    assert job.get(timeout=DEADLINE) is None
    assert broker.committed("alice", "completed") == {0: 3}  # bob's records count as done for her
    produce_for(broker, "alice", range(1))
    assert json.loads(pull(api, "alice").content) == {"user_id": "alice", "n": 0}


def test_a_stream_client_attaching_while_a_get_waits_rides_the_same_feed(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    pull(api, "alice", timeout=0.1)
    job = gevent.spawn(pull, api, "alice", 10.0)
    gevent.sleep(0.3)
    inst = api.open("out", user("alice"))
    sub = inst.subscribe()
    gevent.sleep(0.1)
    produce_for(broker, "alice", range(2))
    assert json.loads(job.get(timeout=DEADLINE).content)["n"] == 0
    got = [sub.get(DEADLINE) for _ in range(2)]
    assert [json.loads(d.content)["n"] for d in got if d is not None] == [0, 1]
    for d in got:
        d.ack()
    sub.close()
    wait_until(lambda: broker.committed("alice", "completed") == {0: 2}, "the stream client's commit")
    feed = gw.services.for_broker(gw.broker()).feed("completed")
    wait_until(lambda: feed.live == 0, "the hub off the feed once nobody waits on it")
    inst.release()
