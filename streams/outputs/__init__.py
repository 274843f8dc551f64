"""Output components; importing this package registers every one of them."""

from streams.outputs import broker, drop, http_client, http_server, kafka, sync_response  # noqa: F401
