"""The gateway and the Bento peer side by side on one real Kafka, every figure a ratio to the peer.

Builds the peer (``shared/peer/bento``: Bento v1.20.0 with http_server, kafka, mapping, broker,
sync_response; cached by a hash of its source), starts a private Kafka with deploy/kafka/run.sh
(fresh data directory, --kafka-port), starts Bento with the seed as a streams config and the
gateway (gunicorn wsgi:app, the seed from deploy/apis) on it, then measures each in turn, never
both at once:

  push req/s        wrk, POST /push-event (gateway: /stream-demo/push-event?user=alice), 32 and 256 connections
  push -> stream    paced pushes stamped with their send time; one reader follows the gateway's SSE
                    (/stream-demo/get-event?user=alice) or the peer's newline-delimited /get/stream;
                    p50/p99/max, lost and duplicated messages, at 100 and 1000 msg/s, each server
                    first warmed up at the top rate (--warm-up seconds, not counted)
  idle connection   RSS of all the server's processes before and after N idle stream connections, / N
                    (gateway: a new user per connection, then 10 shared users; peer: one kind only)

Prints progress to stderr and one table to stdout; asserts nothing; stops all it started, also on
Ctrl-C or an error. The peer's topics and groups are renamed (bento-jobs, bento-completed,
bento-worker, bento-alice) since the gateway's seed uses jobs/completed and worker/alice as written.

    python bench/peer.py --quick          # tiny sizes, checks the harness in a couple of minutes
    python bench/peer.py                  # 15 s per measure, 2,000 idle connections
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from common import ROOT, gateway, post_script, wrk  # noqa: E402
from sidebyside.build import build_peer  # noqa: E402
from sidebyside.load import Latency, measure_latency, open_idle  # noqa: E402
from sidebyside.procs import Bento, PrivateKafka, bento_config, log, process_tree, rss_kib, settle  # noqa: E402
from sidebyside.table import Row, render  # noqa: E402

from tests.e2e.server import Gunicorn, free_port  # noqa: E402

BODY = {"message": "hello"}
PEER_PREFIX = "bento-"


def default_peer_src() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "peer" / "bento" / "main.go").is_file():
            return base / "shared" / "peer" / "bento"
    return ROOT.parent / "shared" / "peer" / "bento"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15, help="length of each wrk run and each paced push")
    ap.add_argument("--connections", default="32,256", help="wrk connection counts")
    ap.add_argument("--rates", default="100,1000", help="paced push rates, messages/s")
    ap.add_argument("--warm-up", type=float, default=30,
                    help="seconds of paced pushes at the top rate into each server before the latency runs, not counted")
    ap.add_argument("--idle", type=int, default=2000, help="idle stream connections per memory measure")
    ap.add_argument("--shared-users", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--kafka-port", type=int, default=9095, help="the private Kafka's listener (its controller takes a free port)")
    ap.add_argument("--peer-src", type=Path, default=default_peer_src())
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "streams-bench")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: 3 s runs, 100 idle connections")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.idle, args.warm_up = 3, min(args.idle, 100), min(args.warm_up, 3)
    args.connections = [int(c) for c in str(args.connections).split(",")]
    args.rates = [float(r) for r in str(args.rates).split(",")]
    return args


class Run:
    """One bench run: what it started (stopped in reverse order) and the rows it measured."""

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args = args
        self.stack = stack
        self.work = Path(tempfile.mkdtemp(prefix="streams-bench-peer-"))
        self.rows: list[Row] = []
        self.kafka: PrivateKafka | None = None
        self.bento: Bento | None = None
        self.gateway: Gunicorn | None = None

    def start_gateway(self) -> Gunicorn:
        self.stop_gateway()
        assert self.kafka is not None
        log(f"gateway: starting gunicorn wsgi:app -w {self.args.workers} on {self.kafka.bootstrap} ...")
        self.gateway = gateway(self.args.workers, self.kafka.bootstrap)
        log(f"gateway: up on {self.gateway.base}")
        return self.gateway

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            log("gateway: stopping ...")
            self.gateway.stop()
            self.gateway = None

    def settle(self) -> None:
        assert self.bento is not None and self.bento.process is not None
        roots = {"bento": self.bento.process.pid}
        if self.gateway is not None:
            roots["streams"] = self.gateway.process.pid
        settle(roots, sleep=gevent.sleep)

    # -- the three measures ------------------------------------------------------------------

    def latency(self) -> None:
        """Each server first carries ``--warm-up`` seconds of pushes at the top rate, not counted:
        a fresh broker runs its code interpreted until the JVM compiles it, and the transactions
        the gateway's Worker uses (the peer's do not) took about 45 s at 100 msg/s to get there
        (push -> SSE p50 68 ms in the first 3 s, 16 ms after 45 s, bench/stage_latency.py)."""
        assert self.bento is not None
        gw = self.start_gateway()
        servers = (
            ("bento", self.bento.base + "/push-event", self.bento.base + "/get/stream", "lines"),
            ("streams", gw.url("/stream-demo/push-event?user=alice"), gw.url("/stream-demo/get-event?user=alice"), "sse"),
        )
        if self.args.warm_up > 0:
            top = max(self.args.rates)
            for name, push, stream, fmt in servers:
                self.settle()
                log(f"warm-up {name} at {top:g} msg/s for {self.args.warm_up:g}s (not counted) ...")
                lat = measure_latency(push, stream, fmt, rate=top, seconds=self.args.warm_up,
                                      out=self.work / f"reader-{name}-warm-up.txt")
                log(f"  {name}: warm-up p50 {lat.p50} p99 {lat.p99} max {lat.max} {lat.note}")
        for rate in self.args.rates:
            found: dict[str, Latency] = {}
            for name, push, stream, fmt in servers:
                self.settle()
                log(f"latency {name} at {rate:g} msg/s for {self.args.seconds:g}s ...")
                found[name] = lat = measure_latency(push, stream, fmt, rate=rate, seconds=self.args.seconds,
                                                    out=self.work / f"reader-{name}-{rate:g}.txt")
                log(f"  {name}: sent {lat.sent} ok {lat.ok} received {lat.received} lost {lat.lost} dup {lat.duplicates} "
                    f"p50 {lat.p50} p99 {lat.p99} max {lat.max} {lat.note}")
            b, s = found["bento"], found["streams"]
            note = "; ".join(
                f"{k}: {v.received}/{v.ok} arrived, missing {v.lost} (after the 10 s quiet or 60 s wait), dup {v.duplicates}, sent {v.send_rate:.0f}/s"
                + (f", push errors {dict(v.failed)}" if v.failed else "") + (f", {v.note}" if v.note else "")
                for k, v in (("bento", b), ("streams", s))
            )
            for q in ("p50", "p99", "max"):
                self.rows.append(Row(f"push→stream latency {q} @ {rate:g} msg/s", getattr(b, q), getattr(s, q),
                                     higher_is_better=False, unit="ms", note=note if q == "p50" else ""))

    def idle_cost(self, name: str, root: int, port: int, paths: list[str], *, sse: bool, expect_head: bool) -> tuple[float | None, str]:
        self.settle()
        gevent.sleep(2)
        before = rss_kib(process_tree(root))
        log(f"idle {name}: opening {len(paths)} stream connections ...")
        started = time.monotonic()
        socks, problems = open_idle(port, paths, sse=sse, expect_head=expect_head)
        log(f"  opened {len(socks)} in {time.monotonic() - started:.1f}s; idling 5s ...")
        gevent.sleep(5)
        after = rss_kib(process_tree(root))
        for sock in socks:
            sock.close()
        note = f"{name}: {len(socks)}/{len(paths)} open, RSS {before / 1024:.0f}→{after / 1024:.0f} MiB"
        if problems:
            note += f", failed {dict(problems)}"
        log(f"  {note}")
        return ((after - before) / len(socks) if socks else None), note

    def memory(self) -> None:
        assert self.bento is not None and self.bento.process is not None
        n = self.args.idle
        tag = uuid.uuid4().hex[:6]
        self.stop_gateway()
        bento_kib, bento_note = self.idle_cost("bento", self.bento.process.pid, self.bento.port,
                                               ["/get/stream"] * n, sse=False, expect_head=False)
        for label, users in (("a new user each", n), (f"{self.args.shared_users} shared users", self.args.shared_users)):
            gw = self.start_gateway()
            paths = [f"/stream-demo/get-event?user=idle-{tag}-{i % users}" for i in range(n)]
            kib, note = self.idle_cost("streams", gw.process.pid, gw.port, paths, sse=True, expect_head=True)
            self.rows.append(Row(f"memory per idle stream connection, {n}, {label}", bento_kib, kib,
                                 higher_is_better=False, unit="KiB", note=f"{bento_note}; {note}"))
            self.stop_gateway()

    def throughput(self) -> None:
        assert self.bento is not None
        gw = self.start_gateway()
        script = post_script(json.dumps(BODY))
        targets = (("bento", self.bento.base + "/push-event"), ("streams", gw.url("/stream-demo/push-event?user=alice")))
        for _name, url in targets:  # warm-up: imports, connections, first produce
            wrk(url, seconds=2, connections=4, script=script)
        for conns in self.args.connections:
            found = {}
            for name, url in targets:
                self.settle()
                log(f"push {name}: wrk {conns} connections for {self.args.seconds:g}s ...")
                found[name] = r = wrk(url, seconds=int(self.args.seconds), connections=conns, script=script)
                log(f"  {name}: {r['rps']:.0f} req/s p50 {r['p50']} p99 {r['p99']} non-2xx {r['errors']}")
            note = "; ".join(f"{k}: p50 {v['p50']} p99 {v['p99']} non-2xx {v['errors']}" for k, v in found.items())
            self.rows.append(Row(f"push req/s, {conns} connections", found["bento"]["rps"], found["streams"]["rps"],
                                 higher_is_better=True, note=note))
        os.unlink(script)


def interrupted(signum: int, frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C: through the finally that stops everything."""
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle * 3 + 1024)), hard))
    signal.signal(signal.SIGTERM, interrupted)
    binary = build_peer(args.peer_src, args.cache_dir)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        run = Run(args, stack)
        try:
            run.kafka = PrivateKafka(args.kafka_port, free_port())
            stack.callback(run.kafka.stop)
            run.kafka.start()
            run.kafka.create_topics(["jobs", "completed", f"{PEER_PREFIX}jobs", f"{PEER_PREFIX}completed"])
            run.bento = Bento(binary, free_port(), run.work / "bento.log")
            stack.callback(run.bento.stop)
            run.bento.start(bento_config(args.peer_src / "seed-streams.yaml", run.kafka.bootstrap, PEER_PREFIX))
            stack.callback(run.stop_gateway)
            # Latency first (fresh topics, no backlog), throughput last (it leaves a backlog behind).
            run.latency()
            run.memory()
            run.throughput()
        except KeyboardInterrupt:
            log("interrupted: stopping everything ...")
        finally:
            stack.close()
            order = {"push": 0, "push→stream": 1, "memory": 2}
            rows = sorted(run.rows, key=lambda r: order.get(r.measure.split()[0], 9))
            print(f"\nbench/peer.py: {os.cpu_count()} cores, gateway -w {args.workers}, Kafka 127.0.0.1:{args.kafka_port} "
                  f"(private, fresh), {time.monotonic() - started:.0f}s"
                  f"{' (--quick)' if args.quick else ''}; measured one server at a time")
            print(f"peer topics/groups renamed {PEER_PREFIX}jobs, {PEER_PREFIX}completed, {PEER_PREFIX}worker, "
                  f"{PEER_PREFIX}alice (the gateway's seed keeps jobs, completed, worker, alice)")
            print("ratio ≥ 1.0 means streams is as good or better: streams/Bento for req/s, Bento/streams for ms and KiB\n")
            print(render(rows) if rows else "(nothing measured)")
            log(f"logs and reader files: {run.work}")


if __name__ == "__main__":
    main()
