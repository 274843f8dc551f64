"""What a GET's claim costs: the position read and the commit past the record, before (plain
read and commit of the group's offsets) and now (compare-and-set); prints numbers, asserts nothing.

    python bench/claims.py [--kafka 127.0.0.1:9093] [--rounds 200]

Each round is what one GET does on an idle user: read the position, then move it one on. On the
embedded broker "before" is ``committed`` + ``commit`` and "now" is ``committed`` +
``compare_and_commit`` (one SQLite write transaction either way). On Kafka "before" is
OffsetFetch + OffsetCommit (``group_offsets`` + ``commit_group_offsets``) and "now" reads and
writes through the positions log (ListOffsets + fold, produce acks=all + fold).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from streams.brokers.embedded import EmbeddedBroker
from streams.brokers.kafka import KafkaBroker


def timed(rounds: int, step: Callable[[int], None]) -> list[float]:
    out = []
    for n in range(rounds):
        start = time.perf_counter()
        step(n)
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    p90 = statistics.quantiles(ms, n=10)[-1]
    print(f"{name:<34} median {statistics.median(ms):6.2f} ms   p90 {p90:6.2f} ms")


def embedded(rounds: int) -> None:
    broker = EmbeddedBroker(tempfile.mkdtemp(prefix="bench-claims-"))
    group, topic = "g", "t"
    broker.commit(group, topic, {0: 0})

    def before(n: int) -> None:
        broker.committed(group, topic)
        broker.commit(group, topic, {0: n + 1})

    def now(n: int) -> None:
        at = broker.committed(group, topic)[0]
        assert broker.compare_and_commit(group, topic, {0: at}, {0: at + 1})

    timed(20, before)
    report("embedded: read + commit", timed(rounds, before))
    report("embedded: read + compare_and_commit", timed(rounds, now))
    broker.close()


def kafka(bootstrap: str, rounds: int) -> None:
    broker = KafkaBroker([bootstrap], client_id="bench-claims")
    group, topic = f"bench-claims-{uuid.uuid4().hex[:8]}", f"bench-claims-{uuid.uuid4().hex[:8]}"
    broker.create_topic(topic, 1)
    broker.commit(group, topic, {0: 0})

    def before(n: int) -> None:
        broker.group_offsets(group, topic)
        broker.commit_group_offsets(group, topic, {0: n + 1})

    def now(n: int) -> None:
        at = broker.committed(group, topic)[0]
        assert broker.compare_and_commit(group, topic, {0: at}, {0: at + 1})

    timed(20, before)
    report("kafka: OffsetFetch + OffsetCommit", timed(rounds, before))
    report("kafka: log read + compare_and_commit", timed(rounds, now))
    broker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kafka", default=None, help="bootstrap address; without it, embedded only")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    embedded(args.rounds)
    if args.kafka:
        kafka(args.kafka, args.rounds)


if __name__ == "__main__":
    main()
