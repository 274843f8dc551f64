"""Gunicorn settings for the gateway: gevent workers with WebSocket support.

Command-line flags win over these (``gunicorn wsgi:app -b 127.0.0.1:9000 -w 4``). Streams start
in each worker after the fork (a Kafka client must never cross a fork) and drain on exit, so
in-flight pushes finish and delivered offsets are committed before the worker goes away.

Everything this gateway instance keeps on the host is under its ``STREAMS_DATA_DIR``, so two
gateways on one host (different ports and data dirs) never meet: gunicorn's control socket
(gunicorn >= 25 otherwise puts every instance on ``~/.gunicorn/gunicorn.ctl``, and a second one
takes it over from the first) and the Prometheus directory every worker counts into, which makes
``/metrics`` the sum over all workers.
"""

import multiprocessing
import os
import shutil
import sys

from streams.logformat import gunicorn_logconfig
from streams.settings import Settings, SettingsError

try:
    settings = Settings.from_env()
except SettingsError as err:
    sys.exit(f"streams: {err}")  # names the variable; no traceback

bind = os.environ.get("STREAMS_BIND", "0.0.0.0:8282")
worker_class = "handlers.server.worker.StreamsWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# SSE and WebSocket clients hold a connection each; gevent makes them cheap (about 19 KiB an
# idle one). A worker holds 10,000 idle streams with room to spare for pushes and health checks:
# at this many connections it stops accepting and new clients wait in the listen backlog. Each
# worker raises its open-file limit to the hard limit at start (handlers/server/worker.py).
worker_connections = 20000
# With gevent the arbiter's timeout is only a liveness heartbeat, not a request limit: long
# streams are not cut off.
timeout = 30
graceful_timeout = int(os.environ.get("STREAMS_GRACEFUL_TIMEOUT", "20"))
# Seconds a kept-alive connection may stay silent between requests before the worker closes it
# (enforced by handlers.server.handler.GatewayHandler; 0 closes after every response). The time
# allowed to send a request's headers is STREAMS_HEADER_TIMEOUT (a gateway setting, 10 s).
keepalive = 5
# gunicorn's limit_request_line / limit_request_fields / limit_request_field_size do not apply:
# the StreamsWorker's handler parses requests and holds them to STREAMS_MAX_REQUEST_LINE,
# STREAMS_MAX_HEADER_BYTES and STREAMS_MAX_QUERY_PARAMS, answering in the gateway's JSON.
accesslog = None  # trafficLogs in the API definitions decide what is logged per request
# gunicorn's own lines (boot, worker exits, errors) in the gateway's format: one per line.
logconfig_dict = gunicorn_logconfig(settings.log_format, settings.log_level)

# gunicornc's socket: one per gateway instance (STREAMS_CONTROL_SOCKET, or off).
if settings.control_socket_path is None:
    control_socket_disable = True
else:
    control_socket = settings.control_socket_path

# /metrics sums every worker: prometheus-client's multiprocess mode needs the directory in the
# environment before any worker imports it (workers load the app after the fork, so setting it
# here, in the master, is early enough). An operator's own PROMETHEUS_MULTIPROC_DIR is used as is.
OWN_METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Set but empty would make prometheus-client write its files into the working directory.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if settings.metrics_enabled:
        OWN_METRICS_DIR = os.path.join(os.path.abspath(settings.data_dir), "prometheus")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = OWN_METRICS_DIR


def on_starting(server):
    """Start the gateway's own metrics directory empty: counts of an earlier run (other pids)
    would otherwise be summed into this one's."""
    if OWN_METRICS_DIR is not None:
        shutil.rmtree(OWN_METRICS_DIR, ignore_errors=True)
        os.makedirs(OWN_METRICS_DIR, exist_ok=True)


def when_ready(server):
    """Once per host, before any worker: make the management secret when none is configured
    (every worker reads the same file) and log where the console is, with the secret in the
    URL fragment as Jupyter logs its token. A configured secret is never logged."""
    from streams.admin_secret import console_url, ensure_secret  # noqa: PLC0415 - only the master needs it

    binds = server.cfg.bind or ["127.0.0.1:8282"]
    if settings.secret:
        server.log.info("console: %s (sign in with STREAMS_SECRET)", console_url(binds[0]))
        return
    try:
        made = ensure_secret(settings.data_dir)
    except OSError as exc:
        server.log.error("no management secret: cannot keep one in %s (%s); /tyk/ is off", settings.data_dir, exc)
        return
    server.log.info("console: %s", console_url(binds[0], made.value))


def post_worker_init(worker):
    """Start this worker's streams (template-free ones such as a Kafka worker) right after fork."""
    import wsgi  # noqa: PLC0415 - the app loads in each worker after the fork, never in the master
    from handlers import serverlog  # noqa: PLC0415 - as above

    serverlog.install(worker)
    wsgi.runner.start()
    # On TERM/HUP/QUIT or max_requests the worker ends its stream clients through this first,
    # so its connections finish and the drain below runs at once (handlers/server/worker.py).
    worker.begin_shutdown = wsgi.runner.begin_shutdown
    worker.log.info("streams started in worker %s", worker.pid)


def worker_exit(server, worker):
    """Stop inputs, let in-flight messages finish and commit, then close broker connections;
    one log line per worker says how long its stop took, from the signal on."""
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    # Only a worker that loaded the app has something to drain (the master calls this hook
    # too when it reaps a worker, and must not load the app).
    wsgi = sys.modules.get("wsgi")
    asked = getattr(worker, "stop_requested_at", None)
    if wsgi is None or asked is None:
        return
    drain_seconds = wsgi.runner.drain()
    worker.log.info(
        "worker %s drained: %.2fs from stop signal (gateway drain %.2fs)",
        worker.pid,
        time.monotonic() - asked,
        drain_seconds,
    )


def child_exit(server, worker):
    """Drop a dead worker's files from the shared Prometheus directory (when one is used)."""
    from streams.observability import mark_process_dead  # noqa: PLC0415 - the master never loads the app

    mark_process_dead(worker.pid)
