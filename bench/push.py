"""Push throughput: POST /stream-demo/push-event on the gateway vs a Falcon hello-world.

Both run under the same gunicorn settings (gunicorn.conf.py, gevent-websocket workers, -w N);
wrk drives them with keep-alive connections. The gateway's number includes the `in` stream's
mapping and the acked produce to the broker (embedded by default; pass --brokers host:port for
Kafka).

Besides requests/s, each row gives the workers' CPU per request (user + system over the measured
run, from /proc): what the gateway spends on a push beyond the hello-world's HTTP handling, whatever
the machine's other load does to requests/s. With --brokers it leaves out the broker's own CPU.

    python bench/push.py --workers 2 --seconds 10 --connections 32
"""

from __future__ import annotations

import argparse
import json

from common import gateway, post_script, worker_pids, wrk


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--brokers", default="embedded")
    args = ap.parse_args()
    script = post_script(json.dumps({"message": "hello world"}))
    rows = []
    for name, app in (("falcon hello-world", "bench.hello_app:app"), ("gateway push-event", None)):
        print(f"starting {name} ...", flush=True)
        server = gateway(args.workers, args.brokers, app)
        try:
            url = server.url("/stream-demo/push-event?user=bench")
            wrk(url, seconds=2, connections=4, script=script)  # warm-up: imports, first produce
            print(f"measuring {name} for {args.seconds}s ...", flush=True)
            workers = worker_pids(server.process.pid)
            rows.append((name, wrk(url, seconds=args.seconds, connections=args.connections, script=script, cpu_of=workers)))
        finally:
            server.stop()
    print(f"\nworkers={args.workers} connections={args.connections} brokers={args.brokers}")
    print(f"{'target':<22}{'req/s':>10}{'p50':>10}{'p99':>10}{'non-2xx':>9}{'worker CPU/req':>16}")
    for name, r in rows:
        cpu = f"{r['cpu_us']:.0f} µs"
        print(f"{name:<22}{r['rps']:>10.0f}{r['p50']:>10}{r['p99']:>10}{r['errors']:>9}{cpu:>16}")
    print(f"gateway / hello-world: {rows[1][1]['rps'] / rows[0][1]['rps']:.2%}")


if __name__ == "__main__":
    main()
