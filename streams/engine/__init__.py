"""The stream engine: API definitions become routes and running stream instances (DESIGN §1, §4).

What the HTTP layer uses::

    gateway = Gateway.from_settings(settings)     # loads definitions; .problems, .apis
    gateway.routes()                              # [Route(api, stream, path, kind, methods, timeout, ...)]
    gateway.start()                               # after fork: template-free streams (the seed's Worker)
    inst = route.api.open(route.stream, variables)  # shared per substituted config; ref-counted
    inst.push(message, timeout) -> PushResult     # 200 + sync response | 502 | 408 | 429 | 500
    inst.pull(timeout) -> Delivery | None         # GET; ack() once written, nack() if the client left
    inst.subscribe(last_event_id) -> Subscription # SSE/WS; .get(timeout), .closed_reason, .close()
    inst.release()                                # the client is done with the instance
    gateway.drain(timeout); gateway.health()

Module map: ``gateway`` (APIs, routes, instance tables, idle reaping), ``instance`` (one running
stream), ``hub`` (http_server output fed by a broker topic: GET positions, broadcast, commits),
``feed`` (one topic's records from any offset on for every hub of a worker: shared catch-up scans,
one live reader), ``ledger`` (the hub's bookkeeping, free of I/O), ``services`` (what a worker's
hubs share per broker), ``readers`` (readers lent to GETs), ``local_hub`` (in-process hand-over), ``delivery`` (PushResult, Delivery, Subscription),
``components`` (what inputs/outputs/processors implement, and building them from config),
``pipeline``, ``records``, ``ratelimit``, ``durations``, ``logs``, ``resources``, ``testing``.
"""

from streams.contracts import ConfigError, OutputError, Transaction
from streams.engine.delivery import Delivery, PushResult, Subscription
from streams.engine.gateway import Api, Draining, Gateway, Route
from streams.engine.instance import StreamInstance

__all__ = [
    "Api",
    "ConfigError",
    "Delivery",
    "Draining",
    "Gateway",
    "OutputError",
    "PushResult",
    "Route",
    "StreamInstance",
    "Subscription",
    "Transaction",
]
