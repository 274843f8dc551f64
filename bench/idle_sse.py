"""Idle SSE connections: how many a gateway holds and what each one costs in worker memory.

Opens N SSE connections (each its own user, the costly case: one stream instance per user, or
--users K to share K users) and keeps them idle; prints connections per worker and the growth of
the workers' resident memory per connection. Raise the open-file limit for large N (ulimit -n).

On Kafka the users are consumer groups that outlive the run: a user the broker has seen before
starts from where its group got to, a new one from the topic's oldest record, and catching up on
a backlog is part of what is measured. ``--fresh`` names the users anew for each run (as
bench/peer.py does), so runs against a long-lived broker compare like with like.

    python bench/idle_sse.py --connections 2000 --workers 2
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
from common import gateway, open_sse, worker_pids  # noqa: E402
from gevent.pool import Pool  # noqa: E402


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--users", type=int, default=0, help="distinct users (default: one per connection)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--brokers", default="embedded")
    ap.add_argument("--fresh", action="store_true", help="user names unique to this run (see above)")
    ap.add_argument("--idle", type=float, default=5.0, help="seconds the connections idle before the measure")
    ap.add_argument("--app", default=None, help="serve this WSGI app instead of wsgi:app (one wrapped with probes)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.connections * 2 + 256)), hard))

    server = gateway(args.workers, args.brokers, args.app)
    try:
        pids = worker_pids(server.process.pid)
        gevent.sleep(2)
        before = {pid: rss_kib(pid) for pid in pids}
        users = args.users or args.connections
        prefix = f"idle-{uuid.uuid4().hex[:6]}" if args.fresh else "idle"
        pool = Pool(100)
        print(f"opening {args.connections} SSE connections for {users} users ...", flush=True)
        started = time.monotonic()
        socks = [s for s in pool.imap(lambda n: open_sse(server.port, f"{prefix}-{n % users}"), range(args.connections)) if s]
        print(f"opened {len(socks)} in {time.monotonic() - started:.1f}s; idling {args.idle:g}s ...", flush=True)
        gevent.sleep(args.idle)
        after = {pid: rss_kib(pid) for pid in pids}
        grown = sum(after[p] - before[p] for p in pids)
        print(f"\nworkers={len(pids)} brokers={args.brokers} connections={len(socks)} users={users}")
        print(f"connections per worker: {len(socks) / max(1, len(pids)):.0f}")
        for pid in pids:
            print(f"  worker {pid}: RSS {before[pid] / 1024:.1f} -> {after[pid] / 1024:.1f} MiB")
        print(f"memory per idle connection: {grown / max(1, len(socks)):.1f} KiB")
        for s in socks:
            s.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
