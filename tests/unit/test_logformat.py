"""Log lines: one JSON object per event, exceptions on one line, nothing a client hid in a request."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import gevent
import pytest
from gevent import pywsgi

from handlers import serverlog
from streams.logformat import (
    JsonFormatter,
    RateLimitFilter,
    TextFormatter,
    gunicorn_logconfig,
    redact,
)


def _record(msg: str = "m", name: str = "x", level: int = logging.ERROR, exc: BaseException | None = None):
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException as caught:  # noqa: BLE001 - building a record with a traceback
            exc_info = (type(caught), caught, caught.__traceback__)
    return logging.LogRecord(name, level, __file__, 1, msg, (), exc_info)


def test_an_exception_is_summarised_on_one_line() -> None:
    line = JsonFormatter().format(_record(exc=ValueError("bad\nthing " + "x" * 1000)))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["exc"].startswith("ValueError: bad thing xx") and entry["exc"].endswith("...")
    assert len(entry["exc"]) < 330
    assert "test_logformat.py:" in entry["exc_at"] and "Traceback" not in line
    text = TextFormatter().format(_record(exc=RuntimeError("boom")))
    assert "\n" not in text and "RuntimeError: boom" in text


def test_rate_limit_lets_one_line_per_logger_and_level_through_per_interval() -> None:
    now = [0.0]
    limit = RateLimitFilter(30.0, prefix="kafka", clock=lambda: now[0])
    records = [_record(f"backoff {i}", "kafka.conn", logging.WARNING) for i in range(50)]
    passed = [r for r in records if limit.filter(r)]
    assert len(passed) == 1
    assert limit.filter(_record("other", "kafka.conn", logging.ERROR))  # another level
    assert limit.filter(_record("mine", "streams.engine", logging.WARNING))  # not kafka
    assert all(limit.filter(_record("mine", "streams.engine", logging.WARNING)) for _ in range(5))
    now[0] = 31.0
    later = _record("backoff again", "kafka.conn", logging.WARNING)
    assert limit.filter(later) and later.suppressed == 49


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Invalid http version: 'POST /p?user=bob&api_key=SECRET HTTP/9'", "SECRET"),
        ("GET /x;token=SECRET HTTP/1.1", "SECRET"),
        ("Authorization: Bearer SECRET", "SECRET"),
        ("cookie=SECRET", "SECRET"),
        ("Invalid HTTP method: '" + "A" * 40 + "SECRET'", "SECRET"),
        ("line one\nline two\r\nline three", "\n"),
    ],
)
def test_redact_hides_what_a_client_sent(text: str, hidden: str) -> None:
    out = redact(text)
    assert hidden not in out
    assert out  # something is left to read


def test_redact_keeps_query_keys() -> None:
    assert redact("/p?user=bob&api_key=s") == "/p?user=…&api_key=…"


def test_gunicorn_loggers_write_json_through_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logging.config.dictConfig(gunicorn_logconfig("json", "INFO"))
        logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 1)
        try:
            raise OSError("socket\nclosed")
        except OSError:
            logging.getLogger("gunicorn.error").exception("Error handling request")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    entries = [json.loads(line) for line in lines]
    assert [e["logger"] for e in entries] == ["gunicorn.error", "gunicorn.error"]
    assert entries[1]["exc"] == "OSError: socket closed"


def test_the_servers_error_output_is_one_warning_line_without_client_data() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("streams.http.server")
    logger.addHandler(handler)
    try:
        serverlog.ServerErrorLog().write(
            "<gevent._socket3.socket at 0x1 object, fd=17>: (from ('127.0.0.1', 1)) "
            "Invalid http version: 'POST /p?api_key=SECRET HTTP/9'\n"
        )
        try:
            raise KeyError("boom")
        except KeyError as exc:
            environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/p", "QUERY_STRING": "k=SECRET",
                       "HTTP_AUTHORIZATION": "Bearer SECRET"}
            serverlog.print_exception(environ, KeyError, exc, exc.__traceback__)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "SECRET" not in stream.getvalue() and "socket" not in lines[0]
    warning, error = (json.loads(line) for line in lines)
    assert warning["level"] == "WARNING" and warning["msg"].startswith("invalid request: (from")
    assert error["level"] == "ERROR" and error["path"] == "/p" and error["exc"] == "KeyError: 'boom'"


def test_install_routes_the_hubs_reports_through_logging() -> None:
    class Worker:
        server_class = type("Base", (), {"__init__": lambda self, *a, **kw: setattr(self, "kw", kw)})
        wsgi_handler = pywsgi.WSGIHandler

    hub = gevent.get_hub()
    had = "print_exception" in vars(hub)
    worker = Worker()
    try:
        serverlog.install(worker)
        assert hub.print_exception is serverlog.print_exception
        server = worker.server_class(None, log=None)
        assert isinstance(server.kw["error_log"], serverlog.ServerErrorLog)
        # A request gevent cannot read for a reason other than a ValueError: one line, no traceback.
        written: list[str] = []
        handler = worker.wsgi_handler.__new__(worker.wsgi_handler)
        handler.client_address = ("127.0.0.1", 1)
        handler.server = type("S", (), {"error_log": type("L", (), {"write": lambda self, t: written.append(t)})()})()
        status, _ = handler._handle_client_error(KeyError("odd header"))
        assert status == "400" and written == ["Invalid request (from ('127.0.0.1', 1)): KeyError: 'odd header'\n"]
    finally:
        if not had:
            del hub.print_exception


def test_quoted_values_are_hidden_but_names_stay() -> None:
    from streams.logformat import exception_summary, hide_values

    text = "failed assignment (line 1): field `this.n`: parsing \"SECRET \\\" more\": invalid syntax in 'jobs'"
    out = hide_values(text)
    assert "SECRET" not in out and "more" not in out and "'jobs'" in out and "this.n" in out
    assert "SECRET" not in exception_summary(ValueError(text))
