"""What the Kafka client costs this process per request, on a real broker: the floor under every
push and every Worker transaction, whatever the gateway around it does.

  send, one at a time      one record, wait for its ack (acks=all, idempotent), then the next:
                           CPU and wall time per send (each send is a produce request of its own)
  send, N side by side     N greenlets sending and waiting: sends/s, CPU per send and records per
                           produce request (records sent while a request is out share the next)
  send, paced              one greenlet sending R records/s, each waited for: the cost of a push
                           that arrives alone (the seed at 100-1000 msg/s), CPU per send and share
                           of a core, and the passes of the producer's I/O loop per send
  transaction cycle        what the Worker does per fetched batch (KafkaPartitionTransaction):
                           begin, K sends, offsets and commit, back to back, for each retry backoff
                           given: CPU and wall time per cycle. A transaction begun right after a
                           commit finds the coordinator still writing the last one's markers and
                           is retried after the backoff (``streams.brokers.kafka``).

CPU is this process's user+system time (``time.process_time``: every greenlet and thread), so
it includes the client's own I/O loop. Prints a table; asserts nothing; leaves its topics behind
(names carry a random tag).

    deploy/kafka/run.sh start
    python bench/kafka_client.py --brokers 127.0.0.1:9093
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import functools  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import kafka  # noqa: E402
import kafka.producer.sender as kafka_sender  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streams.brokers.kafka as kafka_broker  # noqa: E402
from streams.brokers.group import GroupTimeouts  # noqa: E402
from streams.brokers.kafka import KafkaBroker, KafkaGroupConsumer, KafkaPartitionTransaction  # noqa: E402

VALUE = b'{"job_id":"53a354ed-f837-46cb-abd7-70b2e429539d","message":"hello","user_id":"alice"}'


class RequestCount:
    """Counts produce requests and the records they carry (kafka-python's sender, patched)."""

    def __init__(self) -> None:
        self.requests = 0
        self.records = 0
        self.passes = 0  # runs of the sender's loop (kafka_sender.Sender.run_once)
        original = kafka_sender.Sender._produce_request
        original_pass = kafka_sender.Sender.run_once

        def counted_pass(sender: object) -> object:
            self.passes += 1
            return original_pass(sender)

        kafka_sender.Sender.run_once = counted_pass

        def counted(sender: object, node_id: int, acks: int, timeout: int, batches: list) -> object:
            self.requests += 1
            self.records += sum(batch.record_count for batch in batches)
            return original(sender, node_id, acks, timeout, batches)

        kafka_sender.Sender._produce_request = counted

    def reset(self) -> None:
        self.requests = self.records = self.passes = 0


def timed(count: int, step: Callable[[int], object]) -> tuple[float, float]:
    """(CPU µs, wall ms) per call of ``step`` over ``count`` calls."""
    cpu, wall = time.process_time(), time.monotonic()
    for i in range(count):
        step(i)
    return 1e6 * (time.process_time() - cpu) / count, 1e3 * (time.monotonic() - wall) / count


def transaction_cycle(txn: KafkaPartitionTransaction, topic: str, records: int, _: int) -> None:
    """One Worker cycle: begin, ``records`` sends waited for, the offset and the commit."""
    txn.begin()
    for pending in [txn.send(topic, VALUE) for _ in range(records)]:
        pending.wait(10)
    txn.commit(1)  # the same offset every time: what is measured is the cycle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", default="127.0.0.1:9093")
    ap.add_argument("--sends", type=int, default=2000, help="sends per measure")
    ap.add_argument("--side-by-side", type=int, default=32, help="concurrent senders")
    ap.add_argument("--paced-rate", type=float, default=300, help="records/s of the paced sender")
    ap.add_argument("--paced-seconds", type=float, default=5, help="how long the paced sender runs")
    ap.add_argument("--cycles", type=int, default=300, help="transaction cycles per measure")
    ap.add_argument("--backoffs", default="10,2", help="transaction retry backoffs to compare, ms")
    args = ap.parse_args()

    counts = RequestCount()
    tag = uuid.uuid4().hex[:8]
    source, target = f"bench-client-src-{tag}", f"bench-client-dst-{tag}"
    broker = KafkaBroker(args.brokers.split(","), client_id="bench-client")
    rows: list[tuple[str, str]] = []
    try:
        broker.ensure_topic(source, 1)
        broker.ensure_topic(target, 1)
        print("warming up (the broker's and the client's first requests) ...", flush=True)
        for _ in range(200):
            broker.produce(target, VALUE)

        counts.reset()
        cpu_us, wall_ms = timed(args.sends, lambda _: broker.produce(target, VALUE))
        rows.append(("send, one at a time", f"{cpu_us:6.0f} µs CPU, {wall_ms:5.2f} ms wall per send, "
                     f"{counts.records / max(1, counts.requests):.1f} records/request"))

        counts.reset()
        per_sender = max(1, args.sends // args.side_by_side)
        cpu, wall = time.process_time(), time.monotonic()
        gevent.joinall([gevent.spawn(lambda: [broker.produce(target, VALUE) for _ in range(per_sender)])
                        for _ in range(args.side_by_side)], raise_error=True)
        total = per_sender * args.side_by_side
        elapsed = time.monotonic() - wall
        rows.append((f"send, {args.side_by_side} side by side",
                     f"{1e6 * (time.process_time() - cpu) / total:6.0f} µs CPU per send, {total / elapsed:,.0f} sends/s, "
                     f"{counts.records / max(1, counts.requests):.1f} records/request"))

        counts.reset()
        sent, cpu, wall = 0, time.process_time(), time.monotonic()
        while time.monotonic() - wall < args.paced_seconds:
            broker.produce(target, VALUE)
            sent += 1
            gevent.sleep(max(0.0, wall + sent / args.paced_rate - time.monotonic()))
        used, elapsed = time.process_time() - cpu, time.monotonic() - wall
        rows.append((f"send, paced {args.paced_rate:g}/s one at a time",
                     f"{1e6 * used / sent:6.0f} µs CPU per send, {100 * used / elapsed:.0f}% of a core, "
                     f"{counts.passes / sent:.1f} sender loop passes per send"))

        for backoff in (int(b) for b in args.backoffs.split(",")):
            # NOTE: read when a transaction's producer is made; each backoff gets a group of its own.
            kafka_broker._TXN_RETRY_BACKOFF_MS = backoff
            consumer = broker.group_consumer(f"bench-client-{tag}-{backoff}", [source], True, GroupTimeouts())
            assert isinstance(consumer, KafkaGroupConsumer)
            try:
                broker.produce(source, VALUE)
                deadline = time.monotonic() + 60
                while not consumer.assignment() and time.monotonic() < deadline:
                    consumer.fetch(0.5)
                txn = consumer.transaction(source, 0)
                for records in (1, 10):
                    step = functools.partial(transaction_cycle, txn, target, records)
                    timed(20, step)
                    cpu_us, wall_ms = timed(args.cycles, step)
                    rows.append((f"transaction cycle, {records} record(s), backoff {backoff} ms",
                                 f"{cpu_us / 1000:6.2f} ms CPU, {wall_ms:5.2f} ms wall per cycle"))
            finally:
                consumer.close()
    finally:
        broker.close()

    print(f"\nbench/kafka_client.py: Kafka {args.brokers}, kafka-python {kafka.__version__}\n")
    width = max(len(name) for name, _ in rows)
    for name, figures in rows:
        print(f"{name:<{width}}  {figures}")


if __name__ == "__main__":
    main()
