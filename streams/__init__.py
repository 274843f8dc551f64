"""streams: an event gateway that runs Tyk Streams API definitions on Gunicorn, gevent and Falcon."""

__version__ = "0.1.0"
