"""Per-message cost of Bloblang mappings: ours (compiled once, ``apply()`` per message) against the
Benthos v4 reference (tests/bloblang_ref, its ``bench`` request) in one run.

    python bench/bloblang.py [--seconds 0.5] [--repeat 3]

Both sides time the same path per message: bytes in, map, result bytes out (the reference builds
a message from the bytes and serialises the result just as the ``mapping`` processor would; ours
calls ``apply(content, metadata)`` and reads ``.content``). The mappings are the three of the seed
definition (with ``$tyk_context.request_data_user`` replaced by "alice") and ten varied cases of
the conformance corpus. Build the reference first: ``tests/bloblang_ref/build.sh``.

Both sides are timed in process CPU time (other work on the machine does not count against
it; the reference's includes its garbage collector's threads) and keep their best of
``--repeat`` runs; the spread of each over the runs is printed too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml

from tests.differential.ref import REF_BINARY, RefEvaluator, run_ours

# The shared seed beside the project, else the copy shipped in deploy/apis (the same file).
SEED = ROOT.parent / "shared" / "seed" / "streams-demo.yaml"
if not SEED.exists():
    SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
CORPUS = Path("/work/shared/conformance/bloblang/examples.jsonl")
CORPUS_IDS = [
    "map_each#1",  # lambda with deleted() elements
    "throw#1",  # match on conditions, exists()
    "apply#1",  # named map
    "format#1",  # fmt verbs
    "join#1",  # map_each over numbers, join
    "re_replace_all#2",  # regular expression
    "fold#3",  # fold with merge
    "squash#1",  # object keys from values
    "ts_format#2",  # timestamp parse and format with tz
    "TestMappings/test nested maps#1",  # maps calling maps, variables, deletes
]
SEED_EVENT = b'{"event":"signup","user_id":"alice","plan":"pro","items":[1,2,3],"amount":5.0}'


def seed_cases() -> list[tuple[str, str, bytes]]:
    doc = yaml.safe_load(SEED.read_text())
    cases = []
    for name, stream in doc["x-tyk-streaming"]["streams"].items():
        for i, proc in enumerate(stream.get("pipeline", {}).get("processors", [])):
            if "mapping" in proc:
                src = proc["mapping"].replace("$tyk_context.request_data_user", "alice")
                cases.append((f"seed:{name}.{i}", src, SEED_EVENT))
    return cases


def corpus_cases() -> list[tuple[str, str, bytes]]:
    by_id = {}
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        by_id[case["id"]] = case
    return [(f"corpus:{cid}", by_id[cid]["mapping"], (by_id[cid].get("input") or "").encode()) for cid in CORPUS_IDS]


def time_ours(mapping: str, content: bytes, metadata: dict[str, Any], seconds: float) -> float:
    """µs per message, or raises with our error text."""
    from streams import bloblang

    compiled = bloblang.parse(mapping)
    apply = compiled.apply
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            res = apply(content, metadata)
            if res is not None:
                res.content  # noqa: B018 - the serialised payload is part of the cost
        elapsed = time.process_time() - start
        if elapsed >= seconds or n >= 10_000_000:
            return elapsed / n * 1e6
        n = max(n * 2, int(n * seconds / max(elapsed, 1e-6) * 1.1))


def time_reference(ref: RefEvaluator, mapping: str, content: bytes, metadata: dict[str, Any], seconds: float) -> float:
    n = 1000
    while True:
        ns = ref.bench(mapping, content, metadata, n, cpu=True)
        if ns * n >= seconds * 1e9 or n >= 50_000_000:
            return ns / 1000
        n = max(n * 2, int(seconds * 1e9 / max(ns, 1.0) * 1.1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time spent per mapping, side and run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mapping and side; the best counts")
    args = parser.parse_args()
    if not REF_BINARY.exists():
        print(f"{REF_BINARY} is missing: run tests/bloblang_ref/build.sh", file=sys.stderr)
        return 2

    ref = RefEvaluator()
    metadata = {"http_server_request_path": "/stream-demo/push-event", "user": "alice"}
    rows = []
    try:
        for name, mapping, content in seed_cases() + corpus_cases():
            go_result = ref.run(mapping, content, metadata)
            try:
                ours_result: Any = run_ours(mapping, content, metadata)
            except AssertionError as err:  # the public contract is not there yet
                ours_result = err
            same = "-" if isinstance(ours_result, Exception) else "yes" if ours_result == go_result else "NO"
            if "seed:in" in name:
                same = "(uuid)"  # uuid_v4() differs between any two runs
            go_spread = "-"
            try:
                go_runs = [time_reference(ref, mapping, content, metadata, args.seconds) for _ in range(args.repeat)]
                go_us = f"{min(go_runs):.2f}"
                go_spread = f"{(max(go_runs) - min(go_runs)) / min(go_runs) * 100:.0f}%"
            except RuntimeError as err:
                go_us = f"error: {err}"[:40]
            spread = "-"
            try:
                runs = [time_ours(mapping, content, metadata, args.seconds) for _ in range(args.repeat)]
                ours_us = min(runs)
                spread = f"{(max(runs) - ours_us) / ours_us * 100:.0f}%"
                ratio = f"{ours_us / float(go_us):.2f}x" if go_us.replace(".", "", 1).isdigit() else "-"
                ours_text = f"{ours_us:.2f}"
            except Exception as err:  # noqa: BLE001 - a row per mapping, whatever went wrong
                ours_text, ratio = f"{type(err).__name__}: {err}"[:30], "-"
            rows.append((name, ours_text, spread, go_us, go_spread, ratio, same))
            print(".", end="", file=sys.stderr, flush=True)
    finally:
        ref.close()
    print(file=sys.stderr)

    header = ("mapping", "ours µs/msg", "spread", "benthos µs/msg", "spread", "ours/benthos", "same output")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    ratios = [float(r[5][:-1]) for r in rows if r[5].endswith("x")]
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"\ngeometric mean of ours/benthos over {len(ratios)} mappings: {geomean:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
