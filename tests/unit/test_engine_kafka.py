"""The engine's delivery promises on real Apache Kafka (``deploy/kafka/run.sh start``): the same
flows as the embedded-broker tests, so nothing in the engine is embedded-only. Topic and group
names are unique per test, so runs against a long-lived broker never see each other's data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams import brokers
from streams.engine.testing import DEADLINE, wait_until

pytestmark = pytest.mark.kafka


@pytest.fixture
def kafka(kafka_bootstrap: str) -> Any:
    b = brokers.connect(kafka_bootstrap, data_dir=".")
    yield b
    b.close()


def out_stream(topic: str) -> dict[str, Any]:
    return {
        "input": {"kafka": {"topics": [topic], "consumer_group": "$tyk_context.request_data_user"}},
        "pipeline": {
            "processors": [{"mapping": 'root = if this.user_id != "$tyk_context.request_data_user" { deleted() }'}]
        },
        "output": {"http_server": {}},
    }


def produce(kafka: Any, topic: str, who: str, ns: range) -> None:
    for i in ns:
        kafka.produce(topic, json.dumps({"user_id": who, "n": i}).encode())


def test_sequential_gets_across_workers_on_kafka(
    tmp_path: Any, gateways: Any, kafka: Any, kafka_bootstrap: str, unique_name: str
) -> None:
    topic, alice, bob = unique_name, f"{unique_name}-alice", f"{unique_name}-bob"
    produce(kafka, topic, alice, range(4))
    produce(kafka, topic, bob, range(2))
    _, api1 = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,))
    _, api2 = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,))
    got = []
    for i in range(4):
        inst = (api1 if i % 2 else api2).open("out", {"request_data_user": alice})
        delivery = inst.pull(10.0)
        inst.release()
        assert delivery is not None
        if i == 1:
            delivery.nack()  # handed back: the next GET (other worker) gets it again
            inst = api2.open("out", {"request_data_user": alice})
            delivery = inst.pull(10.0)
            inst.release()
        delivery.ack()
        got.append(json.loads(delivery.content)["n"])
    assert got == [0, 1, 2, 3]
    inst = api1.open("out", {"request_data_user": alice})
    assert inst.pull(0.5) is None
    inst.release()


def test_broadcast_and_resume_on_kafka(
    tmp_path: Any, gateways: Any, kafka: Any, kafka_bootstrap: str, unique_name: str
) -> None:
    topic, alice = unique_name, f"{unique_name}-alice"
    kafka.partitions(topic)  # create it before readers start at its end
    _, api1 = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,))
    _, api2 = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,))
    i1, i2 = api1.open("out", {"request_data_user": alice}), api2.open("out", {"request_data_user": alice})
    s1, s2 = i1.subscribe(), i2.subscribe()
    produce(kafka, topic, alice, range(3))
    seen = {}
    for name, sub in (("s1", s1), ("s2", s2)):
        seen[name] = []
        for _ in range(3):
            d = sub.get(DEADLINE)
            assert d is not None, sub.closed_reason
            d.ack()
            seen[name].append(d)
    assert [json.loads(d.content)["n"] for d in seen["s1"]] == [0, 1, 2]
    assert [d.event_id for d in seen["s1"]] == [d.event_id for d in seen["s2"]]
    s1.close()
    produce(kafka, topic, alice, range(3, 5))
    resumed = i1.subscribe(seen["s1"][-1].event_id)
    rest = [resumed.get(DEADLINE) for _ in range(2)]
    assert [json.loads(d.content)["n"] for d in rest if d] == [3, 4]
    resumed.close()
    s2.close()
    i1.release()
    i2.release()


def test_worker_on_kafka_processes_each_job_once(
    tmp_path: Any, gateways: Any, kafka: Any, kafka_bootstrap: str, unique_name: str
) -> None:
    jobs, done = f"{unique_name}-jobs", f"{unique_name}-done"
    worker = {
        "input": {"kafka": {"topics": [jobs], "consumer_group": f"{unique_name}-worker"}},
        "pipeline": {"processors": [{"mapping": 'root = this.merge({"result": "bar"})'}]},
        "output": {"kafka": {"topic": done}},
    }
    for i in range(10):
        kafka.produce(jobs, json.dumps({"id": i}).encode())
    gateways(tmp_path, {"Worker": worker}, kafka_brokers=(kafka_bootstrap,))
    gateways(tmp_path, {"Worker": worker}, kafka_brokers=(kafka_bootstrap,))
    reader = kafka.reader(done, kafka.beginning_offsets(done))
    records: list[Any] = []
    try:
        wait_until(lambda: records.extend(reader.fetch(0.5)) or len(records) >= 10, "ten results")
    finally:
        reader.close()
    assert sorted(json.loads(r.value)["id"] for r in records) == list(range(10))


def test_gets_of_two_users_alternating_on_one_worker_on_kafka(
    tmp_path: Any, gateways: Any, kafka: Any, kafka_bootstrap: str, unique_name: str
) -> None:
    topic, alice, bob = unique_name, f"{unique_name}-alice", f"{unique_name}-bob"
    produce(kafka, topic, alice, range(3))
    produce(kafka, topic, bob, range(3))
    _, api = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,))
    got: dict[str, list[int]] = {alice: [], bob: []}
    for _ in range(3):
        for who in (alice, bob):
            inst = api.open("out", {"request_data_user": who})
            delivery = inst.pull(10.0)
            inst.release()
            assert delivery is not None
            delivery.ack()
            got[who].append(json.loads(delivery.content)["n"])
    assert got == {alice: [0, 1, 2], bob: [0, 1, 2]}


def test_many_new_users_connecting_at_once_share_catch_up_readers_on_kafka(
    tmp_path: Any, gateways: Any, kafka: Any, kafka_bootstrap: str, unique_name: str
) -> None:
    """300 users with history in the topic (each user's group starts at the oldest record)
    subscribe at once on one worker: every one gets exactly its own messages, old then new, in
    order, while the worker holds a handful of broker readers instead of one per user."""
    import gevent
    from gevent.pool import Pool

    from streams.engine.feed import MAX_SCANS

    topic = unique_name
    users = [f"{unique_name}-u{i}" for i in range(300)]
    pool = Pool(50)

    def produce_round(n: int) -> None:
        pool.map(lambda who: kafka.produce(topic, json.dumps({"user_id": who, "n": n}).encode()), users)

    produce_round(0)
    produce_round(1)
    gw, api = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,), client_queue=10)
    instances = [api.open("out", {"request_data_user": who}) for who in users]
    subs = pool.map(lambda inst: inst.subscribe(), instances)
    got: dict[str, list[int]] = {who: [] for who in users}

    def collect(who: str, sub: Any) -> None:
        while len(got[who]) < 3:
            d = sub.get(DEADLINE)
            assert d is not None, sub.closed_reason
            d.ack()
            got[who].append(json.loads(d.content)["n"])

    clients = [gevent.spawn(collect, who, sub) for who, sub in zip(users, subs)]
    wait_until(lambda: all(len(v) >= 2 for v in got.values()) or any(c.dead for c in clients), "every user's history")
    readers_during_catch_up = gw.broker().open_consumers()
    produce_round(2)
    for client in clients:
        client.get(timeout=DEADLINE)
    assert got == {who: [0, 1, 2] for who in users}
    # The tap and at most MAX_SCANS catch-up scans: no broker reader per user.
    assert readers_during_catch_up <= MAX_SCANS + 1
    assert gw.broker().open_consumers() <= 1 + MAX_SCANS
    for sub, inst in zip(subs, instances):
        sub.close()
        inst.release()


def test_many_waiting_gets_on_kafka_hold_no_consumer_each(
    tmp_path: Any, gateways: Any, kafka: Any, kafka_bootstrap: str, unique_name: str
) -> None:
    """200 users each wait on a GET at the topic's end on one worker: they wait on the worker's
    live feed of the topic, not on a Kafka consumer each (the broker caps consumers: 503), and
    each then gets its own message, committed."""
    import gevent
    from gevent.pool import Pool

    topic = unique_name
    users = [f"{unique_name}-u{i}" for i in range(200)]
    kafka.produce(topic, json.dumps({"user_id": "nobody", "n": 0}).encode())  # the topic exists
    gw, api = gateways(tmp_path, {"out": out_stream(topic)}, kafka_brokers=(kafka_bootstrap,))
    instances = {who: api.open("out", {"request_data_user": who}) for who in users}
    gets = {who: gevent.spawn(inst.pull, 20.0) for who, inst in instances.items()}
    # Every GET has looked up its offsets (at the end) before anything is produced; a fixed
    # 3 s pause assumed the 200 lookups take less, which a loaded machine need not honour.
    wait_until(lambda: all(inst.hub.waiting_live for inst in instances.values()), "every GET waiting live")
    waiting_consumers = gw.broker().open_consumers()
    pool = Pool(50)
    pool.map(lambda who: produce(kafka, topic, who, range(1)), users)
    gevent.joinall(list(gets.values()), timeout=DEADLINE, raise_error=True)
    for who, job in gets.items():
        assert job.value is not None, who
        assert json.loads(job.value.content) == {"user_id": who, "n": 0}
        job.value.ack()
    assert waiting_consumers <= 1 + 4  # the live reader (and readers the pool keeps idle)
    for inst in instances.values():
        inst.release()


def test_a_reader_gets_a_record_larger_than_its_fetch_size_whole(kafka: Any, unique_name: str) -> None:
    from streams.brokers.kafka import READER_FETCH_BYTES  # noqa: PLC0415 - only this test needs it

    big = b"x" * (READER_FETCH_BYTES + 300 * 1024)
    kafka.produce(unique_name, big)
    kafka.produce(unique_name, b"after")
    reader = kafka.reader(unique_name, kafka.beginning_offsets(unique_name))
    try:
        got: list[bytes] = []
        wait_until(lambda: got.extend(r.value for r in reader.fetch(1.0)) or len(got) >= 2, "both records")
        assert got == [big, b"after"]
    finally:
        reader.close()
