"""Where push -> SSE time goes in the seed pipeline, stage by stage, on real Kafka.

Pushes for one user at a fixed rate, each stamped with its send time, while an SSE client
listens. Afterwards the ``jobs`` and ``completed`` topics are read back: each record's
CreateTime is the moment its producer was handed it, so the difference of neighbouring stamps
is the time a stage took:

* answer: POST sent -> 200 received (the ``in`` stream, its Kafka write and ack);
* in: POST sent -> ``jobs`` record created (HTTP handling and the ``in`` mapping);
* Worker: ``jobs`` created -> ``completed`` created (Kafka delivery to the group consumer,
  the Worker's mapping);
* out: ``completed`` created -> SSE event parsed (the Worker's write and transaction commit,
  the hub's read, the ``out`` mapping, the SSE write).

The last line gives the total's p50 by 3 s window: on a freshly started broker it falls for
about the first minute (68 -> 16 ms at 100 msg/s) while the JVM compiles the transaction code the
Worker's commits run through; measure the steady state on a broker that has carried that already.

    deploy/kafka/run.sh start
    python bench/stage_latency.py --rate 100 --seconds 15 --brokers 127.0.0.1:9093
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import requests  # noqa: E402
from common import gateway  # noqa: E402
from kafka import KafkaConsumer  # noqa: E402

from tests.e2e.clients import SSEClient  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def created_at(brokers: str, topic: str, user: str) -> dict[int, float]:
    """``n`` -> CreateTime (seconds) of this user's records in ``topic``."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=brokers.split(","), auto_offset_reset="earliest",
        enable_auto_commit=False, isolation_level="read_committed", consumer_timeout_ms=3000,
    )
    stamps: dict[int, float] = {}
    try:
        for record in consumer:
            try:
                body = json.loads(record.value)
            except ValueError:
                continue
            if isinstance(body, dict) and body.get("user_id") == user and isinstance(body.get("n"), int):
                stamps[body["n"]] = record.timestamp / 1000
    finally:
        consumer.close()
    return stamps


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<8} (none)"
    return (f"{name:<8} p50={percentile(values, .5):7.1f}  p90={percentile(values, .9):7.1f}  "
            f"p99={percentile(values, .99):7.1f}  max={max(values):7.1f} ms  (n={len(values)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rate", type=float, default=100.0, help="pushes per second")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--brokers", default="127.0.0.1:9093")
    ap.add_argument("--app", default=None, help="serve this WSGI app instead of wsgi:app (one wrapped with probes)")
    ap.add_argument("--keep-log", action="store_true", help="print where the gateway's log is")
    args = ap.parse_args()

    server = gateway(args.workers, args.brokers, app=args.app)
    user = f"bench-{uuid.uuid4().hex[:8]}"
    session = requests.Session()
    sse = SSEClient(server.url(f"/stream-demo/get-event?user={user}")).start()
    answered: dict[int, float] = {}
    sent: dict[int, float] = {}
    try:
        assert sse.opened.wait(10) and sse.status == 200, "SSE did not open"
        print("warming up (Worker group join) ...", flush=True)
        session.post(server.url("/stream-demo/push-event"), params={"user": user},
                     data=json.dumps({"n": -1, "sent_at": time.time()}), timeout=30).raise_for_status()
        if not sse.wait(1, timeout=300):
            raise SystemExit("warm-up message never arrived")
        sse.events.clear()
        total = int(args.rate * args.seconds)
        print(f"pushing {total} messages at {args.rate:g}/s ...", flush=True)
        start = time.monotonic()
        # Pushes overlap (a pool of connections) so the rate holds when one takes longer than
        # the gap between two.
        session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=64))
        pushers = gevent.pool.Pool(64)

        def push(n: int) -> None:
            sent[n] = time.time()
            session.post(server.url("/stream-demo/push-event"), params={"user": user},
                         data=json.dumps({"n": n, "sent_at": sent[n]}), timeout=30).raise_for_status()
            answered[n] = time.time()

        for n in range(total):
            gevent.sleep(max(0.0, start + n / args.rate - time.monotonic()))
            pushers.spawn(push, n)
        pushers.join(raise_error=True)
        print(f"pushed in {time.monotonic() - start:.1f}s", flush=True)
        events = sse.wait(total, timeout=60)
    finally:
        sse.close()
        server.stop()
        if args.keep_log:
            print(f"gateway log: {server.log_path}")
    arrived = {}
    for event in events:
        body = event.json()
        arrived[body["n"]] = event.received_at
    jobs = created_at(args.brokers, "jobs", user)
    completed = created_at(args.brokers, "completed", user)
    ms = 1000.0
    print(f"\nbrokers={args.brokers} workers={args.workers} rate={args.rate:g}/s "
          f"received {len(arrived)}/{len(sent)}")
    print(summary("answer", [(answered[n] - sent[n]) * ms for n in sent]))
    print(summary("in", [(jobs[n] - sent[n]) * ms for n in sent if n in jobs]))
    print(summary("Worker", [(completed[n] - jobs[n]) * ms for n in jobs if n in completed]))
    print(summary("out", [(arrived[n] - completed[n]) * ms for n in completed if n in arrived]))
    print(summary("total", [(arrived[n] - sent[n]) * ms for n in arrived]))
    window = max(1, int(args.rate * 3))
    print("total p50 by 3 s window:", " ".join(
        f"{percentile([(arrived[n] - sent[n]) * ms for n in range(i, i + window) if n in arrived] or [0.0], .5):.0f}"
        for i in range(0, total, window)))


if __name__ == "__main__":
    main()
