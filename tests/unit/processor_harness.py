"""Processors built from config as a stream instance builds them (its resources in scope), run
on a batch through the pipeline's batch runner: what the processor tests feed and read."""

from __future__ import annotations

import json
from typing import Any

from streams.contracts import Processor, Transaction
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.pipeline import run_batches
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.stream_resources import with_stream_resources
from streams.engine.testing import make_settings
from streams.message import Message


class Harness:
    """One worker's view of a stream declaring ``resources`` (``cache_resources``, ...)."""

    def __init__(self, data_dir: Any, key: str = "k", **resources: Any) -> None:
        settings = make_settings(str(data_dir))
        self.services = WorkerServices(settings, StreamLog())
        res = Resources(settings, "api", "s", "streams.s", self.services, BUILDER)
        self.res = with_stream_resources(res, resources, "s", f"api/s/{key}")

    def build(self, procs: list[Any]) -> list[Processor]:
        return self.res.build_processors(procs, "streams.s.pipeline.processors")

    def batches(self, procs: list[Any] | list[Processor], batch: list[Message]) -> list[list[Message]]:
        built = procs if procs and isinstance(procs[0], Processor) else self.build(procs)
        return run_batches(built, batch, Transaction())  # type: ignore[arg-type]

    def run(self, procs: list[Any], batch: list[Message]) -> list[Message]:
        return [m for part in self.batches(procs, batch) for m in part]


def msgs(*contents: str | bytes, **meta: Any) -> list[Message]:
    return [Message(c.encode() if isinstance(c, str) else c, meta) for c in contents]


def jmsgs(*values: Any) -> list[Message]:
    return [Message(json.dumps(v, separators=(",", ":")).encode()) for v in values]


def contents(batch: list[Message]) -> list[bytes]:
    return [m.content for m in batch]


def errors(batch: list[Message]) -> list[str | None]:
    return [m.error for m in batch]
