"""The WSGI entry point: ``gunicorn wsgi:app`` serves every API definition of the configured
directory (the seed demo by default). Settings come from ``STREAMS_*`` environment variables."""

import logging

from handlers.app import GatewayRunner, create_app
from streams import observability
from streams.engine.gateway import Gateway
from streams.settings import Settings

settings = Settings.from_env()
observability.setup_logging(settings)
observability.configure(settings)
# The server's own access line would repeat what trafficLogs records per API.
logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
gateway = Gateway.from_settings(settings)
runner = GatewayRunner(gateway, settings.drain_timeout)
app = create_app(gateway, settings, runner)
