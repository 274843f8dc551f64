"""Host state (caches and rate limits shared by a host's workers): cost per call; prints
numbers, asserts nothing.

    python bench/host_state.py [--calls 20000] [--procs 4] [--dir DIR]

* ``cache_add`` of fresh keys, ``cache_add`` of a key that exists, ``cache_get``, ``rate_take``,
  a streaming connection counted and given back (``streaming_open`` + ``streaming_close``), each
  from one process (µs per call);
* the same ``cache_add``/``rate_take`` from ``--procs`` processes at once on the same file, where
  the write lock is contended: µs per call (mean, p50, p99, max: how long a call holds a
  gevent worker's event loop) and the host's calls per second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from streams.engine.host import HostState  # noqa: E402

WORKER = """
import json, sys, time
sys.path.insert(0, {root!r})
from streams.engine.host import HostState
host = HostState({data!r})
op, calls, tag = {op!r}, {calls}, {tag!r}
host.cache_add("warm", "up")
sys.stdout.write("ready\\n"); sys.stdout.flush(); sys.stdin.readline()
times = []
clock = time.perf_counter
for i in range(calls):
    t0 = clock()
    if op == "cache_add":
        host.cache_add("bench", f"{{tag}}-{{i}}", ttl=300)
    else:
        host.rate_take("bench", 10**9, 3600)
    times.append(clock() - t0)
print(json.dumps(times))
"""


def per_call(fn, calls: int) -> float:
    t0 = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - t0) / calls * 1e6


def single(data: str, calls: int) -> None:
    host = HostState(data)
    host.cache_add("warm", "up")
    print(f"1 process   cache_add new key     {per_call(lambda i: host.cache_add('solo', str(i), ttl=300), calls):7.1f} µs/call")
    print(f"1 process   cache_add existing    {per_call(lambda i: host.cache_add('solo', '0', ttl=300), calls):7.1f} µs/call")
    print(f"1 process   cache_get             {per_call(lambda i: host.cache_get('solo', str(i)), calls):7.1f} µs/call")
    print(f"1 process   rate_take             {per_call(lambda i: host.rate_take('solo', 10**9, 3600), calls):7.1f} µs/call")

    def open_and_close(i: int) -> None:
        host.streaming_open("user:solo", 10**9)
        host.streaming_close("user:solo")

    print(f"1 process   streaming open+close  {per_call(open_and_close, calls):7.1f} µs/pair")
    host.close()


def contended(data: str, op: str, calls: int, procs: int) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER.format(root=ROOT, data=data, op=op, calls=calls, tag=f"p{n}")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(procs)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    times = sorted(t for child in children for t in json.loads(child.communicate()[0]))
    wall = time.perf_counter() - t0

    def pct(q: float) -> float:
        return times[min(len(times) - 1, int(q * len(times)))] * 1e6

    print(
        f"{procs} processes {op:<20} {sum(times) / len(times) * 1e6:7.1f} µs/call mean, p50 {pct(0.5):.0f} µs,"
        f" p99 {pct(0.99):.0f} µs, max {times[-1] * 1e6:.0f} µs; {len(times) / wall:.0f} calls/s for the host"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--dir", default=None, help="data directory (default: a new temporary one)")
    args = parser.parse_args()
    data = args.dir or tempfile.mkdtemp(prefix="host-state-bench-")
    print(f"state file: {os.path.join(data, 'host', 'state.sqlite3')}")
    single(data, args.calls)
    contended(data, "cache_add", args.calls, args.procs)
    contended(data, "rate_take", args.calls, args.procs)


if __name__ == "__main__":
    main()
