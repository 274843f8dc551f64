"""The stream engine: API definitions become routes and running stream instances (DESIGN §1, §4)."""

from streams.engine.components import ConfigError, OutputError, Transaction
from streams.engine.delivery import Delivery, PushResult, Subscription
from streams.engine.gateway import Api, Gateway, Route
from streams.engine.instance import StreamInstance

__all__ = [
    "Api",
    "ConfigError",
    "Delivery",
    "Gateway",
    "OutputError",
    "PushResult",
    "Route",
    "StreamInstance",
    "Subscription",
    "Transaction",
]
