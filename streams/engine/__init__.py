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

Import from the modules themselves (``streams.engine.gateway.Gateway``, ...): this package
imports none of them, so a component importing ``streams.engine.resources`` does not load the
gateway (and, through it, the definitions and the catalog of components) in a cycle.

Module map: ``gateway`` (APIs, routes, instance tables, idle reaping), ``instance`` (one running
stream; chooses its hub), ``hub`` (http_server output fed by a topic: GET claims, broadcast,
commits), ``feed`` (one topic's records from any offset on for every hub of a worker: shared
catch-up scans, one live reader), ``ledger`` (the hub's bookkeeping, free of I/O), ``services``
(what a worker shares: brokers, feeds, readers, the host bus), ``host`` and ``singleton`` (what a
host shares: leases, caches, rate limits), ``readers`` (readers lent to GETs), ``delivery``
(PushResult, Delivery, Subscription, the Hub protocol), ``components`` (building components from
config), ``restart``, ``pipeline``, ``records``, ``ratelimit``, ``logs``, ``resources``,
``lookups``, ``testing``. Component contracts are in ``streams.contracts``.
"""
