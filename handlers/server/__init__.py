"""The gateway's own gunicorn worker: gevent + WebSocket, with the HTTP framing and shutdown
behaviour a gateway exposed to the internet needs."""
