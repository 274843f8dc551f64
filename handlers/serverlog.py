"""The HTTP server's own error output as JSON log lines, without client input.

gevent's WSGI server writes invalid requests to its ``error_log`` (a file, stderr by default)
and hands unexpected handler errors to the hub, which prints a multi-line traceback followed by
the request's environ (headers and all). :func:`install` (called from gunicorn.conf.py's
``post_worker_init``, before the worker builds its server) sends both through ``logging``, so
they come out in the gateway's format: a client's bad request is one ``warning`` line without
traceback, query values or credentials; a server failure is one ``error`` line with the
exception summarised.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import gevent

from streams.logformat import exception_frames, exception_summary, redact

log = logging.getLogger("streams.http.server")


_SOCKET_REPR = re.compile(r"<[^<>]*socket[^<>]*>:?\s*")


class ServerErrorLog:
    """A file-like ``error_log`` for gevent's WSGI server: every write is one warning line."""

    def write(self, text: str) -> None:
        text = _SOCKET_REPR.sub("", text.strip())
        if text:
            log.warning("invalid request: %s", redact(text))

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


def print_exception(context: Any, kind: type[BaseException], value: BaseException | None, tb: Any) -> None:
    """The hub's ``print_exception``: one error line naming the request (method and path, no
    query, no headers) instead of a traceback and a dump of the environ."""
    fields: dict[str, Any] = {}
    if isinstance(context, dict):
        fields = {"method": context.get("REQUEST_METHOD", ""), "path": context.get("PATH_INFO", "")}
    elif context is not None:
        fields = {"context": type(context).__name__}
    exc = value if value is not None else kind()
    log.error(
        "unhandled error in the server",
        extra={**fields, "exc": exception_summary(exc), "exc_at": exception_frames(tb)},
    )


def install(worker: Any) -> None:
    """Make ``worker`` (a gunicorn gevent pywsgi worker, before ``run``) log as described above."""
    gevent.get_hub().print_exception = print_exception
    base = worker.server_class
    if base is None or getattr(base, "_streams_error_log", False):
        return

    class Server(base):  # type: ignore[misc, valid-type]
        _streams_error_log = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["error_log"] = ServerErrorLog()
            super().__init__(*args, **kwargs)

    worker.server_class = Server
