"""Garbage-collector passes in the gateway's workers under push load, frozen start-up heap or not.

Runs the seed under gunicorn (``bench/gc_probe_app.py`` wraps ``wsgi:app``), drives
``POST /stream-demo/push-event`` with wrk, and prints per worker the passes of each generation
over the measured window: how many, their total and the longest (a pass stops every request of
its worker). ``--unfreeze`` hands the start-up heap back to the collector, as before the worker
froze it, for an A/B comparison.

``--threshold a,b,c`` sets the collector's thresholds in the workers instead of theirs, for
another (``700,10,10`` is CPython's default).
The workers' CPU per request is printed beside req/s: what the collector costs shows there.

    python bench/gc_pauses.py --brokers 127.0.0.1:9093 [--unfreeze] [--threshold 700,10,10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import gateway, post_script, worker_pids, wrk


def snapshot(directory: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in directory.glob("*.json")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--brokers", default="embedded")
    ap.add_argument("--unfreeze", action="store_true", help="the start-up heap collected as before")
    ap.add_argument("--threshold", default="", help="gc.set_threshold in the workers, e.g. 700,10,10")
    args = ap.parse_args()
    probe_dir = Path(tempfile.mkdtemp(prefix="streams-gc-"))
    os.environ["GC_PROBE_DIR"] = str(probe_dir)
    os.environ["GC_PROBE_UNFREEZE"] = "1" if args.unfreeze else "0"
    os.environ["GC_PROBE_THRESHOLD"] = args.threshold
    script = post_script(json.dumps({"message": "hello world"}))
    server = gateway(args.workers, args.brokers, "bench.gc_probe_app:app")
    try:
        url = server.url("/stream-demo/push-event?user=bench")
        print("warming up ...", flush=True)
        wrk(url, seconds=3, connections=4, script=script)
        time.sleep(1.5)
        before = snapshot(probe_dir)
        print(f"measuring for {args.seconds}s ...", flush=True)
        workers = worker_pids(server.process.pid)
        result = wrk(url, seconds=args.seconds, connections=args.connections, script=script, cpu_of=workers)
        time.sleep(1.5)
        after = snapshot(probe_dir)
    finally:
        server.stop()
    heap = "unfrozen" if args.unfreeze else "frozen"
    threshold = args.threshold or "the gateway's"
    print(f"\nworkers={args.workers} connections={args.connections} brokers={args.brokers} start-up heap {heap}, "
          f"gc thresholds {threshold}")
    print(f"push: {result['rps']:.0f} req/s, p50 {result['p50']}, p99 {result['p99']}, non-2xx {result['errors']}, "
          f"worker CPU {result['cpu_us']:.0f} µs per request")
    print(f"{'worker':>8}{'tracked':>9}{'frozen':>8}" + "".join(f"{f'gen{g} n/total/max ms':>26}" for g in (0, 1, 2)))
    for pid, doc in sorted(after.items()):
        was = before.get(pid, {"passes": {str(g): {"n": 0, "total_ms": 0.0} for g in (0, 1, 2)}})["passes"]
        cells = []
        for g in ("0", "1", "2"):
            now = doc["passes"][g]
            cells.append(f"{now['n'] - was[g]['n']:>8}/{now['total_ms'] - was[g]['total_ms']:>8.0f}/{now['max_ms']:>7.1f}")
        print(f"{pid:>8}{doc['tracked']:>9}{doc['frozen']:>8}" + "".join(f"{c:>26}" for c in cells))
    print("(max is the longest pass since the worker started, the freeze's own collection included)")


if __name__ == "__main__":
    main()
