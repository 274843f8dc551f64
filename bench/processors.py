"""Structural processors and caches: messages per second through one processor chain in one
process; prints numbers, asserts nothing.

    python bench/processors.py [--messages 20000] [--batch 100]

* ``cache`` set then get against a ``memory`` cache (the host's shared one; per message);
* ``cached`` hits on a ``memory`` cache;
* ``split`` + ``archive`` (json_array) + ``unarchive`` (json_array) per batch;
* ``compress`` + ``decompress`` (gzip, lz4, snappy) of 1 KiB payloads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from streams.contracts import Transaction  # noqa: E402
from streams.engine.components import BUILDER  # noqa: E402
from streams.engine.logs import StreamLog  # noqa: E402
from streams.engine.pipeline import run_batches  # noqa: E402
from streams.engine.resources import Resources  # noqa: E402
from streams.engine.services import WorkerServices  # noqa: E402
from streams.engine.stream_resources import with_stream_resources  # noqa: E402
from streams.engine.testing import make_settings  # noqa: E402
from streams.message import Message  # noqa: E402

RESOURCES = {"cache_resources": [{"label": "mem", "memory": {}}]}

CHAINS: dict[str, list[Any]] = {
    "cache set+get (memory)": [
        {"cache": {"resource": "mem", "operator": "set", "key": '${! json("id") }', "value": "${! content() }"}},
        {"cache": {"resource": "mem", "operator": "get", "key": '${! json("id") }'}},
    ],
    "cached hit (memory)": [{"cached": {"cache": "mem", "key": "static", "processors": [{"mapping": "root.x = 1"}]}}],
    "split+archive+unarchive json_array": [
        {"split": {"size": 10}},
        {"archive": {"format": "json_array"}},
        {"unarchive": {"format": "json_array"}},
    ],
    "compress+decompress gzip": [{"compress": {"algorithm": "gzip"}}, {"decompress": {"algorithm": "gzip"}}],
    "compress+decompress lz4": [{"compress": {"algorithm": "lz4"}}, {"decompress": {"algorithm": "lz4"}}],
    "compress+decompress snappy": [{"compress": {"algorithm": "snappy"}}, {"decompress": {"algorithm": "snappy"}}],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = make_settings(data_dir)
        res = Resources(settings, "bench", "s", "streams.s", WorkerServices(settings, StreamLog()), BUILDER)
        res = with_stream_resources(res, RESOURCES, "s", "bench/s/k")
        payload = {"text": "x" * 1000}
        for name, conf in CHAINS.items():
            procs = res.build_processors(conf, "streams.s.pipeline.processors")
            started = time.perf_counter()
            for start in range(0, args.messages, args.batch):
                batch = [Message(json.dumps({"id": i, **payload}).encode()) for i in range(start, start + args.batch)]
                run_batches(procs, batch, Transaction())
            elapsed = time.perf_counter() - started
            print(f"{name:40s} {args.messages / elapsed:10.0f} msg/s")


if __name__ == "__main__":
    main()
