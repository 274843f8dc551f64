"""The console: a single page served by the gateway at ``/tyk/console/`` and the JSON endpoints
it adds to the management API (``endpoints``, ``events``). The page signs in with the management
secret and calls only the gateway (the management API with ``x-tyk-authorization``, and the
streams' own endpoints for the live tail)."""

from __future__ import annotations

import falcon

from handlers.console.endpoints import ApiSource, ApisOverview, Bloblang, Examples, Validate
from handlers.console.events import ConsoleEvents
from handlers.console.static_files import ConsoleAsset, ConsolePage
from handlers.management import Management


def add_console_routes(app: falcon.App, mgmt: Management) -> None:
    """Register the page, its assets and its guarded endpoints."""
    page = ConsolePage()
    app.add_route("/tyk/console", page)
    app.add_route("/tyk/console/", page)
    app.add_route("/tyk/console/static/{name}", ConsoleAsset())
    app.add_route("/tyk/console/apis", ApisOverview(mgmt))
    app.add_route("/tyk/console/apis/{api_id}/source", ApiSource(mgmt))
    app.add_route("/tyk/console/validate", Validate(mgmt))
    app.add_route("/tyk/console/examples", Examples(mgmt))
    app.add_route("/tyk/console/bloblang", Bloblang(mgmt))
    app.add_route("/tyk/console/events", ConsoleEvents(mgmt))
