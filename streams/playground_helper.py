"""The playground's helper process: ``python -m streams.playground_helper MEMORY OUTPUT``.

A fresh interpreter that a worker starts (``streams.playground_runner``) to run playground
mappings away from its own process. It caps its address space at what it holds after start-up
plus MEMORY bytes, says ``ready``, then answers one JSON request a line (``{"mapping", "input",
"metadata"}``) with one JSON answer a line (``streams.playground.evaluate``), until its stdin
closes: the worker that started it is gone. A mapping that exhausts the memory gets an "out of
memory" answer and the helper goes on; one that runs too long is killed by the worker.
"""

from __future__ import annotations

import resource
import sys
from typing import BinaryIO

import orjson

from streams.playground import Limits, Run, evaluate, failed

READY = b"ready\n"


def serve(memory_bytes: int, output_bytes: int, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer requests from ``stdin`` on ``stdout`` until ``stdin`` closes."""
    cap_memory(memory_bytes)
    limits = Limits(output_bytes=output_bytes, memory_bytes=memory_bytes)
    stdout.write(READY)
    stdout.flush()
    for line in stdin:
        try:
            request = orjson.loads(line)
            answer = orjson.dumps(evaluate(Run(request["mapping"], request["input"], request["metadata"]), limits))
        except MemoryError:
            answer = orjson.dumps(failed("failed assignment (line 1): out of memory"))
        except Exception as exc:  # noqa: BLE001 - the worker gets the reason, the helper goes on
            answer = orjson.dumps(failed(f"the playground could not run the mapping: {type(exc).__name__}: {exc}"))
        stdout.write(answer + b"\n")
        stdout.flush()


def cap_memory(extra: int) -> None:
    """Limit this process's address space to what it holds now plus ``extra``."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            current = int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return
    limit = current + extra
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), sys.stdin.buffer, sys.stdout.buffer)
