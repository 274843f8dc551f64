"""The stream engine, stream clients: broadcast, Last-Event-ID resume, slow clients.

Real parts only: the embedded broker (SQLite in a tmp dir), the real Bloblang compiler. Two
``Gateway`` objects over one data dir behave as two gunicorn workers. Waits are bounded by
generous deadlines; nothing asserts on timings."""

from __future__ import annotations

import json
from typing import Any

import gevent

from streams.engine import feed as feed_module
from streams.engine import hub as hub_module
from streams.engine.delivery import Delivery, Subscription
from streams.engine.hub import BrokerHub
from streams.engine.logs import StreamLog
from streams.engine.records import record_to_message
from streams.engine.services import BrokerServices
from streams.engine.testing import DEADLINE, wait_until
from tests.unit.engine_helpers import OUT, produce_for, pull, user

# --- broadcast to stream clients ----------------------------------------------------------------


def drain_sub(sub: Any, n: int, ack: bool = True) -> list[Any]:
    out = []
    while len(out) < n:
        d = sub.get(DEADLINE)
        assert d is not None, f"subscription ended after {len(out)} of {n}: {sub.closed_reason}"
        if ack:
            d.ack()
        out.append(d)
    return out


def test_every_stream_client_of_the_user_on_every_worker_gets_every_message(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    insts = [api1.open("out", user("alice")), api1.open("out", user("alice")), api2.open("out", user("alice"))]
    subs = [inst.subscribe() for inst in insts]
    bob = api2.open("out", user("bob")).subscribe()
    produce_for(broker, "alice", range(3))
    produce_for(broker, "bob", range(1))
    for sub in subs:
        assert [json.loads(d.content)["n"] for d in drain_sub(sub, 3)] == [0, 1, 2]
    assert [json.loads(d.content) for d in drain_sub(bob, 1)] == [{"user_id": "bob", "n": 0}]
    assert bob.get(0.3) is None  # nothing of alice's
    for sub in subs:
        sub.close()
    # everything acknowledged by every client is committed
    wait_until(lambda: broker.committed("alice", "completed").get(0) == 4, "alice's commit")


def test_last_event_id_resumes_without_loss_or_repeat(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api1 = gateways(tmp_path, {"out": OUT})
    _, api2 = gateways(tmp_path, {"out": OUT})
    inst1 = api1.open("out", user("alice"))
    first = inst1.subscribe()
    produce_for(broker, "alice", range(4))
    got = drain_sub(first, 2)
    first.close()  # connection dropped after two messages
    produce_for(broker, "alice", range(4, 6))
    inst2 = api2.open("out", user("alice"))
    resumed = inst2.subscribe(got[-1].event_id)  # reconnect lands on the other worker
    rest = drain_sub(resumed, 4)
    assert [json.loads(d.content)["n"] for d in got + rest] == [0, 1, 2, 3, 4, 5]
    # and it is now on the shared reader: new messages still arrive, once
    produce_for(broker, "alice", range(6, 7))
    assert [json.loads(d.content)["n"] for d in drain_sub(resumed, 1)] == [6]
    assert resumed.get(0.3) is None
    resumed.close()


def test_slow_client_is_cut_off_and_others_get_everything(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT}, client_queue=2)
    inst = api.open("out", user("alice"))
    slow = inst.subscribe()
    fast = inst.subscribe()
    received: list[Any] = []

    def reader() -> None:
        received.extend(drain_sub(fast, 6))

    job = gevent.spawn(reader)
    produce_for(broker, "alice", range(6))
    job.get(timeout=DEADLINE)
    assert [json.loads(d.content)["n"] for d in received] == list(range(6))
    assert slow.closed_reason == "slow client"
    assert slow.get(0.1) is None


def test_waiting_get_takes_the_next_broadcast_message(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("alice"))
    sub = inst.subscribe()
    gevent.sleep(0.1)
    job = gevent.spawn(pull, api, "alice", 10.0)
    gevent.sleep(0.1)
    produce_for(broker, "alice", range(1))
    assert json.loads(job.get(timeout=DEADLINE).content)["n"] == 0
    assert json.loads(drain_sub(sub, 1)[0].content)["n"] == 0
    sub.close()


def test_users_share_one_topic_reader_and_a_late_user_catches_up_first(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    alice_inst = api.open("out", user("alice"))
    alice = alice_inst.subscribe()
    for i in range(4):
        produce_for(broker, "alice", range(i, i + 1))
        produce_for(broker, "bob", range(i, i + 1))
    assert [json.loads(d.content)["n"] for d in drain_sub(alice, 4)] == [0, 1, 2, 3]
    # bob's position is the topic's beginning, behind the shared reader: he catches up first
    bob_inst = api.open("out", user("bob"))
    bob = bob_inst.subscribe()
    assert [json.loads(d.content)["n"] for d in drain_sub(bob, 4)] == [0, 1, 2, 3]
    wait_until(lambda: gw.services.for_broker(gw.broker()).feed("completed").live == 2, "bob on the shared reader")
    produce_for(broker, "bob", range(4, 5))
    produce_for(broker, "alice", range(4, 5))
    assert [json.loads(d.content)["n"] for d in drain_sub(bob, 1)] == [4]
    assert [json.loads(d.content)["n"] for d in drain_sub(alice, 1)] == [4]
    assert bob.get(0.3) is None and alice.get(0.1) is None
    for sub in (alice, bob):
        sub.close()
    wait_until(lambda: gw.services.for_broker(gw.broker()).feed("completed").live == 0, "both off the shared reader")
    alice_inst.release()
    bob_inst.release()


def test_a_first_client_behind_the_topic_end_catches_up_then_rides_the_shared_reader(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    produce_for(broker, "alice", range(5))  # waiting for alice since before she connected
    gw, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("alice"))
    sub = inst.subscribe()
    assert [json.loads(d.content)["n"] for d in drain_sub(sub, 5)] == [0, 1, 2, 3, 4]
    wait_until(lambda: gw.services.for_broker(gw.broker()).feed("completed").live == 1, "the caught-up instance on the shared reader")
    produce_for(broker, "alice", range(5, 6))
    assert [json.loads(d.content)["n"] for d in drain_sub(sub, 1)] == [5]
    assert sub.get(0.3) is None
    sub.close()
    inst.release()


def test_last_event_id_of_a_multi_partition_topic_resumes_every_partition(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    """The id names every partition, so a client resuming on another worker continues each one
    where it was, even after the user's other client moved the committed offsets on."""
    broker.create_topic("completed", 3)
    out = json.loads(json.dumps(OUT))
    out["input"]["kafka"]["commit_period"] = "50ms"
    _, api1 = gateways(tmp_path, {"out": out})
    _, api2 = gateways(tmp_path, {"out": out})
    inst1 = api1.open("out", user("alice"))
    leaving, staying = inst1.subscribe(), inst1.subscribe()

    def produce(ns: range) -> None:
        for n in ns:
            broker.produce("completed", json.dumps({"user_id": "alice", "n": n}).encode(), partition=n % 3)

    produce(range(3))
    got = drain_sub(leaving, 3)
    drain_sub(staying, 3)
    leaving.close()
    last = got[-1].event_id
    assert len(last.split(".")) == 3, last  # e.g. "0-0.1-0.2-0"
    produce(range(3, 6))
    drain_sub(staying, 3)
    ends = broker.end_offsets("completed")
    wait_until(lambda: broker.committed("alice", "completed") == ends, "the other client's commits")
    resumed = api2.open("out", user("alice")).subscribe(last)
    rest = drain_sub(resumed, 3)
    assert sorted(json.loads(d.content)["n"] for d in rest) == [3, 4, 5]
    assert resumed.get(0.3) is None
    resumed.close()
    staying.close()


def test_single_partition_event_ids_stay_partition_dash_offset(tmp_path: Any, gateways: Any, broker: Any) -> None:
    _, api = gateways(tmp_path, {"out": OUT})
    sub = api.open("out", user("alice")).subscribe()
    produce_for(broker, "alice", range(2))
    assert [d.event_id for d in drain_sub(sub, 2)] == ["0-0", "0-1"]
    sub.close()


def test_a_failed_topic_reader_also_closes_clients_still_catching_up(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    # Without a feed to merge into, a resuming client would read privately forever, holding one of
    # the worker's catch-up slots; closed, it reconnects with Last-Event-ID like the others.
    _, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("alice"))
    live = inst.subscribe()
    produce_for(broker, "alice", range(3))
    first = drain_sub(live, 1)
    resuming = inst.subscribe(first[0].event_id)
    inst.hub.feed_failed("completed")  # what the topic's reader does when it fails
    assert live.closed_reason == "stream reader failed"
    assert resuming.closed_reason == "stream reader failed"
    wait_until(lambda: inst.clients == 0, "no client left on the hub")
    inst.release()


class SlowFirstCommit:
    """The broker, but the first ``commit`` is slow to arrive (an overloaded admin connection)."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.delays = [0.3]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        gevent.sleep(self.delays.pop(0) if self.delays else 0)
        self.broker.commit(group, topic, offsets)


def test_overlapping_broadcast_commits_never_move_the_position_back(broker: Any) -> None:
    # A leaving client's commit (its lower position) and the periodic one overlap: committed in
    # the wrong order, the user's position went back and a next GET repeated messages (promise 4).
    broker.create_topic("t")
    broker.commit("g", "t", {0: 5})
    hub = BrokerHub(BrokerServices(SlowFirstCommit(broker), StreamLog()), "g", ["t"], True, lambda m: [m], StreamLog(), 10)
    hub._ledger.start({("t", 0): 12})
    leaving = Subscription(10)
    leaving.offer(object(), ("t", 0), 10)  # had offset 10 queued, unacknowledged, when it left
    hub._subs.add(Subscription(10))  # a client that stays, with everything acknowledged
    first = gevent.spawn(hub._commit_broadcast, leaving)  # -> 10
    gevent.sleep(0.05)
    second = gevent.spawn(hub._commit_broadcast)  # the one left acknowledged up to 12
    gevent.joinall([first, second], timeout=5)
    assert broker.committed("g", "t") == {0: 12}
    hub.close()


class SlowEnds:
    """The broker, but ``end_offsets`` is slow to answer (an overloaded admin connection): a
    hub's feed starts late, so a resuming client stays on its private catch-up reader."""

    def __init__(self, broker: Any, delay: float) -> None:
        self.broker = broker
        self.delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    def end_offsets(self, topic: str) -> dict[int, int]:
        gevent.sleep(self.delay)
        return self.broker.end_offsets(topic)


def test_what_a_resuming_client_acknowledged_while_catching_up_is_committed(broker: Any) -> None:
    # Its catch-up deliveries had no ack callback: after it acked them and left, the user's
    # position stayed where it was and the next GET repeated them (promise 4).
    for n in range(6):
        broker.produce("t", str(n).encode())
    broker.commit("g", "t", {0: 2})  # a first connection had 0 and 1
    services = BrokerServices(SlowEnds(broker, 1.0), StreamLog())
    hub = BrokerHub(services, "g", ["t"], True, lambda m: [m], StreamLog(), 10)
    resumed = hub.subscribe("0-1")
    assert [d.content for d in drain_sub(resumed, 4)] == [b"2", b"3", b"4", b"5"]
    resumed.close()
    wait_until(lambda: broker.committed("g", "t") == {0: 6}, "the resumed client's acknowledgements committed")
    assert hub.pull(0.3) is None  # nothing repeated
    hub.close()
    services.close()


def test_a_resuming_client_holds_the_commit_at_what_it_has_not_acknowledged(broker: Any) -> None:
    for n in range(6):
        broker.produce("t", str(n).encode())
    broker.commit("g", "t", {0: 2})
    services = BrokerServices(SlowEnds(broker, 1.0), StreamLog())
    hub = BrokerHub(services, "g", ["t"], True, lambda m: [m], StreamLog(), 10)
    resumed = hub.subscribe("0-1")
    got = drain_sub(resumed, 4, ack=False)
    got[0].ack()
    got[1].ack()  # 4 and 5 were queued, never written
    resumed.close()
    wait_until(lambda: broker.committed("g", "t") == {0: 4}, "the commit up to the first unacknowledged")
    gevent.sleep(0.3)
    assert broker.committed("g", "t") == {0: 4}
    hub.close()
    services.close()


def test_a_shared_record_becomes_a_message_once_for_every_users_hub(broker: Any, monkeypatch: Any) -> None:
    # Each hub parsed every record again: 2000 users were 2000 conversions per record.
    calls: list[int] = []

    def counting(record: Any) -> Any:
        calls.append(record.offset)
        return record_to_message(record)

    monkeypatch.setattr(hub_module, "record_to_message", counting)
    monkeypatch.setattr(feed_module, "record_to_message", counting, raising=False)
    broker.create_topic("t")
    services = BrokerServices(broker, StreamLog())

    def tagging(name: str) -> Any:
        def process(msg: Any) -> list[Any]:
            msg.metadata["user"] = name  # a hub's processors change only its own copy
            return [msg]

        return process

    hubs = [BrokerHub(services, f"g{i}", ["t"], False, tagging(f"u{i}"), StreamLog(), 10) for i in range(20)]
    for hub in hubs:
        hub.pin_start()
    subs = [hub.subscribe() for hub in hubs]
    wait_until(lambda: services.feed("t").live == 20, "every hub on the live reader")
    for n in range(5):
        broker.produce("t", str(n).encode())
    for i, sub in enumerate(subs):
        got = drain_sub(sub, 5)
        assert [(d.content, d.metadata["user"], d.metadata["kafka_offset"]) for d in got] == [
            (str(n).encode(), f"u{i}", n) for n in range(5)
        ]
    assert sorted(calls) == [0, 1, 2, 3, 4]
    for hub in hubs:
        hub.close()
    services.close()


def test_an_attached_client_is_committed_every_period_and_an_idle_user_holds_no_committer(broker: Any) -> None:
    services = BrokerServices(broker, StreamLog())
    hub = BrokerHub(services, "g", ["t"], True, lambda m: [m], StreamLog(), 10, commit_period=0.05)
    sub = hub.subscribe()
    wait_until(lambda: hub._listening, "the feed started")
    assert hub._committer is None  # nothing acknowledged yet: no greenlet per idle user
    broker.produce("t", b"0")
    drain_sub(sub, 1)
    # the client stays attached: the periodic commit, not a leaving client's, moves the position
    wait_until(lambda: broker.committed("g", "t") == {0: 1}, "the periodic commit")
    wait_until(lambda: hub._committer is not None and hub._committer.dead, "the committer ends when idle")
    broker.produce("t", b"1")
    drain_sub(sub, 1)
    wait_until(lambda: broker.committed("g", "t") == {0: 2}, "a new acknowledgement starts it again")
    sub.close()
    hub.close()
    services.close()


def test_a_subscription_hands_queued_messages_in_order_and_wakes_a_waiting_get_on_close() -> None:
    sub = Subscription(3)
    assert sub.get(0.05) is None  # nothing within the timeout
    deliveries = [Delivery(str(n).encode(), {}, f"0-{n}", None, None) for n in range(3)]
    assert all(sub.offer(d) for d in deliveries)
    assert [sub.get(1).content for _ in range(3)] == [b"0", b"1", b"2"]
    waiting = gevent.spawn(sub.get, DEADLINE)
    gevent.sleep(0.05)
    sub.offer(deliveries[0])
    assert waiting.get(timeout=DEADLINE) is deliveries[0]
    waiting = gevent.spawn(sub.get, DEADLINE)
    gevent.sleep(0.05)
    sub.close("bye")
    assert waiting.get(timeout=DEADLINE) is None and sub.closed_reason == "bye"
    assert not sub.offer(deliveries[1])


def test_a_subscription_that_falls_its_limit_behind_is_closed_as_a_slow_client() -> None:
    sub = Subscription(2)
    assert sub.offer(Delivery(b"a", {}, "0-0", None, None))
    assert sub.offer(Delivery(b"b", {}, "0-1", None, None))
    assert not sub.offer(Delivery(b"c", {}, "0-2", None, None))
    assert sub.closed and sub.closed_reason == "slow client"
    assert sub.get(1) is None


def test_a_users_hub_skips_its_processors_for_other_users_records_and_commits_past_them(
    tmp_path: Any, gateways: Any, broker: Any
) -> None:
    # Every user's hub ran its filter mapping on every record of the shared topic; the seed's
    # filter now says "not mine" without a run (streams.bloblang.filters).
    _, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("alice"))
    assert inst.hub._deletes is not None
    processed: list[bytes] = []
    process = inst.hub.process

    def counting(msg: Any) -> Any:
        processed.append(msg.content)
        return process(msg)

    inst.hub.process = counting
    sub = inst.subscribe()
    wait_until(lambda: inst.hub._listening, "alice's hub listens")
    produce_for(broker, "bob", range(3))
    produce_for(broker, "alice", range(2))
    produce_for(broker, "bob", range(3, 4))
    produce_for(broker, "alice", range(2, 3))
    assert [json.loads(d.content)["n"] for d in drain_sub(sub, 3)] == [0, 1, 2]
    assert [json.loads(c)["user_id"] for c in processed] == ["alice"] * 3
    sub.close()
    wait_until(lambda: broker.committed("alice", "completed").get(0) == 7, "alice's commit past bob's records")
    # a GET reads the backlog through the same check: nothing of bob's, nothing twice
    produce_for(broker, "bob", range(4, 6))
    produce_for(broker, "alice", range(3, 4))
    got = pull(api, "alice")
    assert got is not None and json.loads(got.content) == {"user_id": "alice", "n": 3}
    assert [json.loads(c)["user_id"] for c in processed] == ["alice"] * 4
    assert broker.committed("alice", "completed").get(0) == 10
    inst.release()


def test_a_shared_record_is_offered_only_to_the_hubs_that_keep_it(tmp_path: Any, gateways: Any, broker: Any) -> None:
    # One record cost a worker one check per user's hub; now one lookup (streams.engine.listeners).
    _, api = gateways(tmp_path, {"out": OUT})
    names = [f"u{n}" for n in range(50)]
    insts = {name: api.open("out", user(name)) for name in names}
    offered: dict[str, list[int]] = {name: [] for name in names}
    for name, inst in insts.items():
        feed = inst.hub.feed

        def counting(topic: str, record: Any, message: Any, name: str = name, feed: Any = feed) -> None:
            offered[name].append(record.offset)
            feed(topic, record, message)

        inst.hub.feed = counting
    subs = {name: inst.subscribe() for name, inst in insts.items()}
    hub = insts["u0"].hub
    wait_until(lambda: hub.services.feed("completed").live == 50, "every user's hub on the live reader")
    produce_for(broker, "u7", range(2))  # offsets 0, 1
    broker.produce("completed", b"not json")  # 2: nobody can tell; every hub's mapping fails on it
    produce_for(broker, "nobody", range(1))  # 3: no connected user keeps it
    produce_for(broker, "u9", range(1))  # 4
    assert [json.loads(d.content)["n"] for d in drain_sub(subs["u7"], 2)] == [0, 1]
    assert [json.loads(d.content)["n"] for d in drain_sub(subs["u9"], 1)] == [0]
    for name in names:
        assert offered[name] == {"u7": [0, 1, 2], "u9": [2, 4]}.get(name, [2]), name
        assert subs[name].get(0.01 if name not in ("u7", "u9") else 0.3) is None
    # the stream still counts every record it read, kept by a connected user or not
    stream = (insts["u0"].res.api, "out")
    wait_until(lambda: hub.services.read_tally.records(stream) == 5, "the read count")
    # a user who kept nothing still moves past what was not hers when her client leaves
    subs["u3"].close()
    wait_until(lambda: broker.committed("u3", "completed").get(0) == 5, "u3's commit")
    for name, sub in subs.items():
        sub.close()
        insts[name].release()
