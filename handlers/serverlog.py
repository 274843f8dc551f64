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
from gevent import pywsgi

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


_QUIET_CLIENT_ERRORS = (ValueError, getattr(pywsgi, "_InvalidClientInput", ValueError))
_BAD_REQUEST = getattr(pywsgi, "_BAD_REQUEST_RESPONSE", b"")


def install(worker: Any) -> None:
    """Make ``worker`` (a gunicorn gevent pywsgi worker, before ``run``) log as described above:
    its server gets a :class:`ServerErrorLog`, its handler class reports every unreadable
    request as one line (gevent prints a traceback for those that are not a ``ValueError``),
    and the hub reports failures through :func:`print_exception`. Subclasses whatever classes
    the worker names, so a handler of our own keeps working."""
    gevent.get_hub().print_exception = print_exception
    base = worker.server_class
    if base is not None and not getattr(base, "_streams_error_log", False):

        class Server(base):  # type: ignore[misc, valid-type]
            _streams_error_log = True

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["error_log"] = ServerErrorLog()
                super().__init__(*args, **kwargs)

        worker.server_class = Server
    handler = getattr(worker, "wsgi_handler", None)
    if handler is not None and not getattr(handler, "_streams_client_errors", False):

        class Handler(handler):  # type: ignore[misc, valid-type]
            _streams_client_errors = True

            def _handle_client_error(self, ex: BaseException) -> Any:
                if isinstance(ex, _QUIET_CLIENT_ERRORS):
                    return super()._handle_client_error(ex)
                self.log_error("Invalid request (from %s): %s", self.client_address, exception_summary(ex))
                return ("400", _BAD_REQUEST)

        worker.wsgi_handler = Handler
