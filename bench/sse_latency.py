"""Push -> SSE latency through the whole seed pipeline (in -> jobs -> Worker -> completed -> out).

One SSE client listens for a user; pushes for that user go out at a fixed rate, each carrying its
send time; the client records arrival - send for every event. Prints p50/p99/max and how many of
the pushed messages arrived. Run against real Kafka (the default here) or the embedded broker:

    deploy/kafka/run.sh start
    python bench/sse_latency.py --rate 50 --seconds 20 --brokers 127.0.0.1:9093
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402
from common import gateway  # noqa: E402

from tests.e2e.clients import SSEClient  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rate", type=float, default=50.0, help="pushes per second")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--brokers", default="127.0.0.1:9093")
    args = ap.parse_args()

    server = gateway(args.workers, args.brokers)
    user = f"bench-{uuid.uuid4().hex[:8]}"
    session = requests.Session()
    sse = SSEClient(server.url(f"/stream-demo/get-event?user={user}")).start()
    try:
        assert sse.opened.wait(10) and sse.status == 200, "SSE did not open"
        # Warm-up: the Worker group must have joined and worked off any backlog that earlier runs
        # left in `jobs` before the clock means anything.
        print("warming up (Worker group join, backlog) ...", flush=True)
        warm = time.monotonic()
        session.post(server.url("/stream-demo/push-event"), params={"user": user},
                     data=json.dumps({"n": -1, "sent_at": time.time()}), timeout=30).raise_for_status()
        if not sse.wait(1, timeout=300):
            raise SystemExit("warm-up message never arrived")
        print(f"warm after {time.monotonic() - warm:.1f}s", flush=True)
        sse.events.clear()
        total = int(args.rate * args.seconds)
        print(f"pushing {total} messages at {args.rate:g}/s ...", flush=True)
        start = time.monotonic()
        for n in range(total):
            gevent.sleep(max(0.0, start + n / args.rate - time.monotonic()))
            resp = session.post(
                server.url("/stream-demo/push-event"),
                params={"user": user},
                data=json.dumps({"n": n, "sent_at": time.time()}),
                timeout=30,
            )
            resp.raise_for_status()
            if n and n % int(args.rate * 5) == 0:
                print(f"  {n}/{total} pushed, {len(sse.events)} received", flush=True)
        events = sse.wait(total, timeout=60)
    finally:
        sse.close()
        server.stop()
    # Arrival times are taken when the event is parsed; the client runs in this process.
    latencies = []
    for event in events:
        body = event.json()
        latencies.append((event.received_at - body["sent_at"]) * 1000)
    print(f"\nbrokers={args.brokers} workers={args.workers} rate={args.rate:g}/s")
    print(f"received {len(events)}/{total}")
    if latencies:
        print(
            f"push->SSE latency ms: p50={percentile(latencies, .5):.1f} p99={percentile(latencies, .99):.1f} "
            f"max={max(latencies):.1f} mean={statistics.mean(latencies):.1f}"
        )


if __name__ == "__main__":
    main()
