"""The NATS client: what parsing and a round trip through a real nats-server cost; prints
numbers, asserts nothing.

    python bench/nats.py [--messages 50000] [--size 100]

1. ``NatsParser.feed`` alone: MSG frames of ``--size`` bytes fed in 16 KiB reads (messages/s).
2. One ``NatsClient`` publishing ``--messages`` messages, another subscribed receiving them,
   on a ``nats-server`` of its own (Debian package): messages/s end to end.
3. ``publish`` + ``flush`` (what one ``nats`` output write of one message waits for): p50/p99 µs.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from streams.connectors.nats_client import NatsClient  # noqa: E402
from streams.connectors.nats_options import NatsOptions  # noqa: E402
from streams.connectors.nats_protocol import Msg, NatsParser  # noqa: E402
from tests.e2e.tyk_suite.brokers import nats_server  # noqa: E402


class QuietLog:
    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        print(msg, file=sys.stderr)


def parser_rate(messages: int, size: int) -> float:
    payload = b"x" * size
    stream = b"".join(b"MSG bench.subject %d %d\r\n%s\r\n" % (i % 4, size, payload) for i in range(messages))
    chunks = [stream[i : i + 16384] for i in range(0, len(stream), 16384)]
    parser = NatsParser()
    started = time.perf_counter()
    count = sum(len(parser.feed(chunk)) for chunk in chunks)
    took = time.perf_counter() - started
    assert count == messages
    return messages / took


def client(url: str, on_message: object = None) -> NatsClient:
    made = NatsClient(NatsOptions.from_config({"urls": [url]}, "bench"), QuietLog(), on_message=on_message)  # type: ignore[arg-type]
    made.connect()
    return made


def round_trip_rate(url: str, messages: int, size: int) -> float:
    received: list[Msg] = []
    done = gevent.event.Event()

    def on_message(msg: Msg) -> None:
        received.append(msg)
        if len(received) == messages:
            done.set()

    subscriber, publisher = client(url, on_message), client(url)
    try:
        subscriber.subscribe("bench.rate")
        subscriber.flush(10)
        payload = b"x" * size
        started = time.perf_counter()
        for n in range(messages):
            publisher.publish("bench.rate", payload)
            if n % 1000 == 999:
                publisher.flush(30)  # keep the server's pending buffer for us bounded
        publisher.flush(30)
        done.wait(60)
        took = time.perf_counter() - started
        return len(received) / took
    finally:
        subscriber.close()
        publisher.close()


def flush_latency(url: str, rounds: int, size: int) -> tuple[float, float]:
    publisher = client(url)
    samples = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            publisher.publish("bench.latency", b"x" * size)
            publisher.flush(10)
            samples.append((time.perf_counter() - started) * 1e6)
    finally:
        publisher.close()
    return statistics.median(samples), statistics.quantiles(samples, n=100)[98]


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--messages", type=int, default=50000)
    args.add_argument("--size", type=int, default=100)
    opts = args.parse_args()
    print(f"parser: {parser_rate(opts.messages, opts.size):,.0f} MSG frames/s ({opts.size} B payloads)")
    with nats_server() as url:
        rate = round_trip_rate(url, opts.messages, opts.size)
        print(f"publish -> nats-server -> subscriber: {rate:,.0f} messages/s ({opts.messages} x {opts.size} B)")
        p50, p99 = flush_latency(url, 2000, opts.size)
        print(f"publish + flush (one output write): p50 {p50:.0f} µs, p99 {p99:.0f} µs")


if __name__ == "__main__":
    main()
