"""Compare-and-set of a user's position on real Kafka, through the positions log.

Two ``KafkaBroker`` objects are two hosts (each folds the log on its own); their greenlets race
to claim positions of one group as GETs do. Every test uses its own group and topic names.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator

import gevent
import pytest

from streams.brokers.kafka import KafkaBroker

pytestmark = pytest.mark.kafka

DEADLINE = 60.0


@pytest.fixture
def hosts(kafka_bootstrap: str) -> Iterator[list[KafkaBroker]]:
    brokers = [KafkaBroker([kafka_bootstrap], client_id=f"host{n}") for n in range(2)]
    yield brokers
    for b in brokers:
        b.close()


def test_two_hosts_racing_for_each_position_win_it_exactly_once(hosts: list[KafkaBroker], unique_name: str) -> None:
    group, topic, total = f"{unique_name}-user", unique_name, 40
    hosts[0].create_topic(topic, 1)
    won: list[tuple[int, int]] = []  # (position, host)
    lost = 0
    latencies: list[float] = []

    def claimer(host: int) -> None:
        nonlocal lost
        broker = hosts[host]
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            now = broker.committed(group, topic).get(0)
            if now is not None and now >= total:
                return
            start = time.perf_counter()
            ok = broker.compare_and_commit(group, topic, {0: now}, {0: (now or 0) + 1})
            latencies.append(time.perf_counter() - start)
            if ok:
                won.append((now or 0, host))
            else:
                lost += 1

    racers = [gevent.spawn(claimer, n % 2) for n in range(6)]
    gevent.joinall(racers, timeout=DEADLINE + 10, raise_error=True)
    positions = Counter(p for p, _ in won)
    print(
        f"\n{len(won)} claims won, {lost} lost; by host {Counter(h for _, h in won)}; "
        f"compare_and_commit median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p90 {statistics.quantiles(latencies, n=10)[-1] * 1000:.1f} ms"
    )
    assert sorted(positions) == list(range(total)), "a position never claimed"
    assert all(n == 1 for n in positions.values()), {p: n for p, n in positions.items() if n > 1}
    assert lost > 0, "the claimers never raced: the test proves nothing"
    assert hosts[1].committed(group, topic) == {0: total} == hosts[0].committed(group, topic)


def test_a_rollback_loses_once_the_position_moved_on(hosts: list[KafkaBroker], unique_name: str) -> None:
    group, topic = f"{unique_name}-user", unique_name
    a, b = hosts
    a.create_topic(topic, 1)
    assert a.compare_and_commit(group, topic, {0: None}, {0: 5})
    assert b.compare_and_commit(group, topic, {0: 5}, {0: 6})  # host b's GET claims 5
    assert a.compare_and_commit(group, topic, {0: 6}, {0: 7})  # host a's next GET claims 6
    assert not b.compare_and_commit(group, topic, {0: 6}, {0: 5})  # b's client left: too late
    assert a.committed(group, topic) == b.committed(group, topic) == {0: 7}
    assert b.compare_and_commit(group, topic, {0: 7}, {0: 6})  # a's client left: handed back
    assert a.committed(group, topic) == {0: 6}


def test_positions_start_from_and_are_mirrored_to_the_group_offsets(hosts: list[KafkaBroker], unique_name: str) -> None:
    group, topic = f"{unique_name}-user", unique_name
    a, b = hosts
    a.create_topic(topic, 1)
    a.commit_group_offsets(group, topic, {0: 3})  # a position from before the positions log
    assert b.committed(group, topic) == {0: 3}
    a.commit(group, topic, {0: 4})
    assert a.group_offsets(group, topic) == {0: 4}  # a plain commit is mirrored before it returns
    assert b.compare_and_commit(group, topic, {0: 4}, {0: 5})
    deadline = time.monotonic() + DEADLINE
    while b.group_offsets(group, topic) != {0: 5}:
        assert time.monotonic() < deadline, "the winner's position never reached the group's offsets"
        gevent.sleep(0.1)
