"""Embedded broker throughput and latency; prints numbers, asserts nothing.

    python bench/embedded_broker.py [--records 5000] [--sync FULL|NORMAL]

* produce rate with 1 greenlet (one transaction per record: the per-call latency),
  with 200 greenlets in one process (group commit), and with 4 processes x 200 greenlets;
* produce -> fetch latency for a reader in the same process (woken directly) and in another
  process (woken by the data_version poller), as p50/p99 over single records sent one by one.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import gevent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from streams.brokers.embedded import EmbeddedBroker

CHILD = r"""
from gevent import monkey; monkey.patch_all()
import json, sys, time, gevent
from streams.brokers.embedded import EmbeddedBroker
a = json.loads(sys.argv[1])
b = EmbeddedBroker(a["dir"], synchronous=a["sync"])
b.create_topic(a["topic"])
print("{}", flush=True)  # ready
if a["mode"] == "produce":
    sys.stdin.readline()
    per = a["n"] // a["greenlets"]
    def run(): [b.produce(a["topic"], b"x" * 100) for _ in range(per)]
    t = time.perf_counter(); gevent.joinall([gevent.spawn(run) for _ in range(a["greenlets"])])
    print(json.dumps({"seconds": time.perf_counter() - t, "n": per * a["greenlets"]}), flush=True)
else:  # ping: one record at a time, carrying its send time
    sys.stdin.readline()
    for _ in range(a["n"]):
        b.produce(a["topic"], repr(time.time()).encode()); gevent.sleep(0.01)
    print("{}", flush=True)
b.close()
"""


def child(args: dict) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--sync", default="FULL")
    opts = ap.parse_args()
    d = tempfile.mkdtemp(prefix="embedded-bench-")
    b = EmbeddedBroker(d, synchronous=opts.sync)
    n = opts.records
    payload = b"x" * 100
    print(f"synchronous={opts.sync}, 100-byte records, data dir {d}")

    k = min(n, 500)
    t = time.perf_counter()
    for _ in range(k):
        b.produce("seq", payload)
    dt = time.perf_counter() - t
    print(f"produce, 1 greenlet:            {k / dt:9.0f} rec/s  ({dt / k * 1000:.2f} ms per produce)")

    per = n // 200
    t = time.perf_counter()
    gevent.joinall([gevent.spawn(lambda: [b.produce("conc", payload) for _ in range(per)]) for _ in range(200)])
    dt = time.perf_counter() - t
    print(f"produce, 200 greenlets:         {per * 200 / dt:9.0f} rec/s")

    t = time.perf_counter()
    gevent.joinall([gevent.spawn(lambda i=i: [b.commit(f"user-{i}", "conc", {0: k}) for k in range(per)])
                    for i in range(200)])
    dt = time.perf_counter() - t
    print(f"offset commits, 200 greenlets:  {per * 200 / dt:9.0f} commits/s")

    procs = [child({"dir": d, "sync": opts.sync, "mode": "produce", "topic": "multi", "n": n, "greenlets": 200})
             for _ in range(4)]
    for p in procs:
        p.stdout.readline()  # ready: imported and opened the database
    t = time.perf_counter()
    for p in procs:
        p.stdin.write(b"go\n")
        p.stdin.flush()
    results = [json.loads(p.stdout.readline()) for p in procs]
    dt = time.perf_counter() - t
    for p in procs:
        p.wait()
    total = sum(r["n"] for r in results)
    print(f"produce, 4 processes x 200 gl:  {total / dt:9.0f} rec/s  ({total} records)")

    # Same-process latency: produce from one greenlet, a reader blocked in fetch in another.
    reader = b.reader("lat", {})
    lat: list[float] = []
    for _ in range(300):
        waiting = gevent.spawn(reader.fetch, 5.0)
        gevent.sleep(0)
        sent = time.perf_counter()
        b.produce("lat", payload)
        waiting.get()
        lat.append((time.perf_counter() - sent) * 1000)
    print(f"produce->fetch same process:    p50 {pct(lat, .5):6.2f} ms  p99 {pct(lat, .99):6.2f} ms")

    reader = b.reader("xlat", {})
    p = child({"dir": d, "sync": opts.sync, "mode": "ping", "topic": "xlat", "n": 300})
    p.stdout.readline()
    p.stdin.write(b"go\n")
    p.stdin.flush()
    xlat: list[float] = []
    while len(xlat) < 300:
        for r in reader.fetch(timeout=5.0):
            xlat.append((time.time() - float(r.value)) * 1000)
    p.stdout.readline()
    p.wait()
    print(f"produce->fetch other process:   p50 {pct(xlat, .5):6.2f} ms  p99 {pct(xlat, .99):6.2f} ms"
          f"  (mean {statistics.mean(xlat):.2f}; includes the produce itself; poll interval {b.poll_interval * 1000:.0f} ms)")
    b.close()


if __name__ == "__main__":
    main()
