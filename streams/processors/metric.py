"""``metric`` processor: records a custom metric for each message into the gateway's
Prometheus metrics (``streams_<name>``, labelled with the API, the stream and the interpolated
``labels``). ``counter`` adds 1; ``counter_by`` adds ``value``, ``gauge`` sets it and ``timing``
records it as nanoseconds (as Bento takes them). A value that is not a whole number of 0 or more
is logged and skipped, as Bento does; messages always pass on unchanged.

A name of one of the gateway's own metrics is refused, so a stream cannot skew them.
"""

from __future__ import annotations

import re
from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.observability import COUNTERS, GAUGES, HISTOGRAMS, METRICS
from streams.registry import Field

TYPES = ("counter", "counter_by", "gauge", "timing")
_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset({"api", "stream"})


class MetricProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.type = conf["type"]
        self.name = conf["name"]
        if not _NAME.match(self.name):
            raise ConfigError(f"{res.path}.name: {self.name!r} is not a metric name (letters, digits and _)")
        if self.name in (*COUNTERS, *GAUGES, *HISTOGRAMS):
            raise ConfigError(f"{res.path}.name: {self.name!r} is one of the gateway's own metrics")
        labels = conf["labels"] or {}
        clash = RESERVED_LABELS & set(labels)
        if clash:
            raise ConfigError(f"{res.path}.labels: {', '.join(sorted(clash))} is set by the gateway")
        self.labels = {k: res.interpolation(str(v)) for k, v in labels.items()}
        self.value = res.interpolation(conf["value"])
        self.res = res
        self.log = res.logger()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            labels = {k: v.render(msg, batch, index) for k, v in self.labels.items()}
            if self.type == "counter":
                self._record("incr", 1, labels)
                return msg
            number = self._number(self.value.render(msg, batch, index))
        except (MappingError, ValueError) as exc:
            self.log.error(f"metric {self.name}: {exc}")
            return msg
        if self.type == "counter_by":
            self._record("incr", number, labels)
        elif self.type == "gauge":
            self._record("gauge", number, labels)
        else:
            self._record("timing", number / 1e9, labels)
        return msg

    def _record(self, kind: str, value: float, labels: dict[str, str]) -> None:
        try:
            METRICS.record(kind, self.name, value, {**labels, "api": self.res.api, "stream": self.res.stream})
        except Exception as exc:  # e.g. the name is already another kind of metric
            self.log.error(f"metric {self.name} not recorded: {exc}")

    @staticmethod
    def _number(text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"value {text!r} is not an integer") from None
        if number < 0:
            raise ValueError(f"value {number} is negative")
        return number


def _factory(conf: dict[str, Any], res: Resources) -> MetricProcessor:
    return MetricProcessor(conf, res)


SPEC = registry.processor(
    "metric",
    _factory,
    Field("type", "string", doc="The kind of metric.", options=TYPES),
    Field("name", "string", doc="The metric's name (exported as streams_<name>)."),
    Field("labels", "object", {}, "Interpolated label values by label name."),
    Field("value", "string", "", "Interpolated number (counter_by, gauge, timing in ns)."),
    doc="Record a custom metric per message.",
)
