"""Input components; importing this package registers every one of them."""

from streams.inputs import broker, generate, http_server, kafka  # noqa: F401
