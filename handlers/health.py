"""Health and metrics endpoints.

``/hello`` is the path Tyk's gateway answers health checks on, kept so existing load-balancer
checks work; ``/health`` is its plain alias. ``/metrics`` is the Prometheus text exposition of
the whole gateway: every worker's counts summed (``streams.observability.render_prometheus``).
"""

from __future__ import annotations

import falcon

from streams.engine.gateway import Gateway
from streams.observability import render_prometheus


class HealthResource:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        health = self.gateway.health()
        resp.media = health
        if health.get("status") not in (None, "pass", "ok"):
            resp.status = falcon.HTTP_503


class MetricsResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        body, content_type = render_prometheus()
        resp.content_type = content_type
        resp.data = body
