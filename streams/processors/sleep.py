"""``sleep`` processor: pause (this greenlet only) before passing each batch on."""

from __future__ import annotations

from typing import Any

import gevent

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import Processor, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class SleepProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.duration = res.interpolation(conf["duration"])
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        try:
            text = self.duration.render(batch[0], batch, 0)
            gevent.sleep(max(0.0, parse_duration(text)))
        except (ValueError, MappingError) as exc:
            self.log.error(f"sleep: invalid duration: {exc}")
        return batch


def _factory(conf: dict[str, Any], res: Resources) -> SleepProcessor:
    return SleepProcessor(conf, res)


SPEC = registry.processor(
    "sleep",
    _factory,
    Field("duration", "string", doc="How long to pause (interpolated Go duration)."),
    doc="Pause before passing messages on.",
)
