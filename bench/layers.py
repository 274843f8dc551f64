"""Where a push's CPU goes: the seed's push path measured layer by layer on real Kafka.

Each layer is the one before with one more part of the seed pipeline, served by the same
gunicorn settings and driven by the same wrk load (POST /stream-demo/push-event):

1. HTTP: a Falcon hello-world (bench/hello_app.py), the floor of any Falcon app under gevent;
2. push endpoint: the seed's ``in`` stream with no processors, writing nowhere (``drop``) but
   answering through ``sync_response``: routing, the request's ``$tyk_context``, the stream's
   input, hand-off and metrics;
3. in mapping: the seed's ``in`` mapping added;
4. Kafka write: the seed without its ``Worker`` stream (the ``in`` stream's acked write to
   ``jobs``; ``out`` has no clients, so it reads nothing);
5. Worker: the whole seed (the ``Worker`` consumes each record and writes it to ``completed`` in
   a Kafka transaction, in the same worker processes).

Each row gives requests/s and the workers' CPU per push (user + system, from /proc) as the
median of ``--rounds`` runs, the layers taken in turn in every round so that the machine's
drift falls on all of them alike, and what the layer adds to the one before. Every run writes
to topics and a consumer group of its own, so the Worker never starts on a backlog another run
left behind. The CPU column is the one to read on a busy machine: requests/s moves with the
machine's other load, CPU per push much less.

    python bench/layers.py                          # a private Kafka, started and stopped here
    python bench/layers.py --brokers 127.0.0.1:9093 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from common import ROOT, gateway, post_script, worker_pids, wrk
from sidebyside.procs import PrivateKafka, create_topics, log

from tests.e2e.server import free_port

SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
HELLO_APP = "bench.hello_app:app"


@dataclass
class Layer:
    """One row of the table: what is served (the seed changed, or the hello-world app) and what
    it adds to the row before."""

    name: str
    adds: str
    document: dict[str, Any] | None  # None: the hello-world app instead of the gateway


def layers(seed: dict[str, Any]) -> list[Layer]:
    """The five layers of the module doc, each an API document derived from ``seed``."""

    def variant(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        doc = copy.deepcopy(seed)
        change(doc["x-tyk-streaming"]["streams"])
        return doc

    def endpoint_only(streams: dict[str, Any]) -> None:
        in_only(streams)
        streams["in"]["pipeline"]["processors"] = []

    def in_only(streams: dict[str, Any]) -> None:
        for name in ("Worker", "out"):
            streams.pop(name)
        outputs = streams["in"]["output"]["broker"]["outputs"]
        outputs[:] = [{"drop": {}} if "kafka" in out else out for out in outputs]

    return [
        Layer("HTTP", "Falcon hello-world", None),
        Layer("push endpoint", "in stream, no processors, output drop", variant(endpoint_only)),
        Layer("in mapping", "the seed's in mapping", variant(in_only)),
        Layer("Kafka write", "in's acked write to jobs (seed without Worker)", variant(lambda s: s.pop("Worker"))),
        Layer("Worker", "Worker consumes and writes each record (whole seed)", copy.deepcopy(seed)),
    ]


def with_own_topics(document: dict[str, Any], tag: str) -> tuple[dict[str, Any], list[str]]:
    """``document`` with its topics and the Worker's consumer group renamed with ``tag``, and
    the topic names it now uses."""
    renamed = {"jobs": f"jobs-{tag}", "completed": f"completed-{tag}"}
    doc = copy.deepcopy(document)
    streams = doc["x-tyk-streaming"]["streams"]
    for stream in streams.values():
        for side in ("input", "output"):
            _rename(stream.get(side), renamed, tag)
    return doc, sorted(renamed.values())


def _rename(component: Any, renamed: dict[str, str], tag: str) -> None:
    if isinstance(component, dict):
        kafka = component.get("kafka")
        if isinstance(kafka, dict):
            if "topic" in kafka:
                kafka["topic"] = renamed.get(kafka["topic"], kafka["topic"])
            if "topics" in kafka:
                kafka["topics"] = [renamed.get(t, t) for t in kafka["topics"]]
            if kafka.get("consumer_group") == "worker":
                kafka["consumer_group"] = f"worker-{tag}"
        for value in component.values():
            _rename(value, renamed, tag)
    elif isinstance(component, list):
        for item in component:
            _rename(item, renamed, tag)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", default=None, help="a running Kafka (host:port); default: a private one")
    ap.add_argument("--kafka-port", type=int, default=9096, help="the private Kafka's listener")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    ap.add_argument("--rounds", type=int, default=2, help="runs of every layer, taken in turn")
    return ap.parse_args()


def measure(layer: Layer, brokers: str, args: argparse.Namespace, script: str) -> dict:
    """One wrk run against ``layer``, on topics of its own."""
    if layer.document is None:
        server = gateway(args.workers, brokers, HELLO_APP)
    else:
        doc, topics = with_own_topics(layer.document, uuid.uuid4().hex[:8])
        create_topics(brokers, topics)
        server = gateway(args.workers, brokers, definitions={SEED.name: yaml.safe_dump(doc, sort_keys=False)})
    try:
        url = server.url("/stream-demo/push-event?user=bench")
        wrk(url, seconds=3, connections=4, script=script)  # warm-up: imports, connections, first write
        result = wrk(url, seconds=args.seconds, connections=args.connections, script=script,
                     cpu_of=worker_pids(server.process.pid))
    finally:
        server.stop()
    log(f"  {layer.name}: {result['rps']:.0f} req/s, {result['cpu_us']:.0f} µs CPU per push, "
        f"p50 {result['p50']} p99 {result['p99']}, non-2xx {result['errors']}")
    return result


def render(measured: list[tuple[Layer, list[dict]]]) -> str:
    lines = [f"{'layer':<15}{'req/s':>8}{'CPU/push':>11}{'adds':>9}  {'range of CPU/push':<19} what the layer adds"]
    before = None
    for layer, runs in measured:
        cpu = statistics.median(r["cpu_us"] for r in runs)
        rps = statistics.median(r["rps"] for r in runs)
        adds = "" if before is None else f"{cpu - before:+.0f}"
        spread = f"{min(r['cpu_us'] for r in runs):.0f}-{max(r['cpu_us'] for r in runs):.0f} µs"
        errors = sum(r["errors"] for r in runs)
        note = layer.adds + (f" ({errors} non-2xx!)" if errors else "")
        lines.append(f"{layer.name:<15}{rps:>8.0f}{cpu:>8.0f} µs{adds:>9}  {spread:<19} {note}")
        before = cpu
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    seed = yaml.safe_load(SEED.read_text())
    plan = layers(seed)
    script = post_script(json.dumps({"message": "hello world"}))
    runs: dict[str, list[dict]] = {layer.name: [] for layer in plan}
    with contextlib.ExitStack() as stack:
        brokers = args.brokers
        if brokers is None:
            kafka = PrivateKafka(args.kafka_port, free_port())
            stack.callback(kafka.stop)
            kafka.start()
            brokers = kafka.bootstrap
        for round_no in range(1, args.rounds + 1):
            log(f"round {round_no} of {args.rounds}: {args.connections} connections, {args.seconds}s per layer")
            for layer in plan:
                runs[layer.name].append(measure(layer, brokers, args, script))
    print(f"\nbench/layers.py: gateway -w {args.workers}, wrk {args.connections} connections, Kafka {brokers}, "
          f"median of {args.rounds} rounds; CPU is the workers' (not Kafka's, not wrk's)")
    print(render([(layer, runs[layer.name]) for layer in plan]))


if __name__ == "__main__":
    main()
