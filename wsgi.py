"""The WSGI entry point: ``gunicorn wsgi:app`` serves every API definition of the configured
directory (the seed demo by default). Settings come from ``STREAMS_*`` environment variables."""

from streams.engine import Gateway
from streams.observability import setup_logging
from streams.settings import Settings

from handlers.app import GatewayRunner, create_app

settings = Settings.from_env()
setup_logging(settings)
gateway = Gateway.from_settings(settings)
runner = GatewayRunner(gateway, settings.drain_timeout)
app = create_app(gateway, settings, runner)
