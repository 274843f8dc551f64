"""What a component may use from the gateway: settings, the broker, Bloblang, logs, metrics.

One ``Resources`` per component, carrying its config path (``streams.out.pipeline.processors.0``)
so mapping errors and log lines point at the component that produced them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from streams.brokers.base import Broker
from streams.engine.logs import StreamLog, metric
from streams.settings import Settings


@dataclass(frozen=True)
class Resources:
    settings: Settings
    api: str
    stream: str
    path: str
    broker_factory: Callable[[list[str]], Broker]
    fields: dict[str, Any] = field(default_factory=dict)  # added to every log line
    extras: dict[str, Any] = field(default_factory=dict)  # stream-wide resources (rate limits)

    def child(self, path: str) -> Resources:
        return replace(self, path=path)

    def broker(self, addresses: list[str] | None = None) -> Broker:
        """The worker's shared broker; ``STREAMS_KAFKA_BROKERS`` replaces the config's addresses."""
        return self.broker_factory(list(addresses or []))

    def mapping(self, source: str, field_name: str = "") -> Any:
        """Compile a Bloblang mapping once, named after this component's config path."""
        from streams import bloblang

        where = f"{self.path}.{field_name}" if field_name else self.path
        return bloblang.parse(
            source,
            allow_impure=self.settings.allow_impure_bloblang,
            filename=where,
            base_dir=self.settings.definitions_dir,
        )

    def interpolation(self, text: str) -> Any:
        """A ``${! ... }`` string; ``.render(msg, batch, index)`` and ``.is_static``."""
        from streams import bloblang

        return bloblang.parse_interpolation(text)

    def logger(self) -> StreamLog:
        return StreamLog(api=self.api, stream=self.stream, component=self.path, **self.fields)

    def incr(self, name: str, value: int = 1, **tags: str) -> None:
        metric("incr", name, value, stream=self.stream, **tags)

    def gauge(self, name: str, value: float, **tags: str) -> None:
        metric("gauge", name, value, stream=self.stream, **tags)

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        metric("timing", name, seconds, stream=self.stream, **tags)
