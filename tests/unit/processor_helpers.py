"""Building one processor from its config, as the engine does, and running a batch through it."""

from __future__ import annotations

from typing import Any

from streams.contracts import Processor, Transaction
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.testing import make_settings
from streams.message import Message


def build(conf: dict[str, Any], data_dir: Any) -> Processor:
    """The processor of ``conf`` (``{"grok": {...}}``), with ``data_dir`` as definitions directory."""
    settings = make_settings(str(data_dir))
    res = Resources(settings, "api", "s", "streams.s", WorkerServices(settings, StreamLog()), BUILDER)
    return BUILDER.processor(conf, res, "streams.s.pipeline.processors.0")


def run(processor: Processor, *payloads: bytes | str, metadata: dict[str, Any] | None = None) -> list[Message]:
    """The messages ``processor`` makes of one batch of ``payloads``."""
    batch = [Message(p.encode() if isinstance(p, str) else p, metadata) for p in payloads]
    return processor.process(batch, Transaction())
