"""The HTTP side of a stopping worker, without a server: which requests are still in flight,
``Connection: close`` while stopping, ``max_requests``, and how the engine's going-away reason
reaches the wire (SSE ``retry:`` line, WebSocket 1001)."""

from __future__ import annotations

from typing import Any

from handlers import streaming, websocket
from handlers.server.inflight import InflightRequests, TrackedApp
from streams.engine.shutdown import GOING_AWAY
from streams.engine.testing import DEADLINE
from tests.unit.engine_helpers import OUT, user


def _app(chunks: list[bytes]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "keep-alive")])
        return iter(chunks)

    return app


def _call(app: TrackedApp, environ: dict[str, Any] | None = None) -> tuple[list[Any], Any]:
    started: list[Any] = []
    body = app(environ or {}, lambda status, headers, exc_info=None: started.append((status, headers)))
    return started, body


def test_a_request_counts_until_its_body_is_closed() -> None:
    inflight = InflightRequests()
    app = TrackedApp(_app([b"a", b"b"]), inflight, lambda: None)
    _, first = _call(app)
    _, second = _call(app)
    assert (inflight.active, inflight.served, inflight.idle) == (2, 2, False)
    assert list(first) == [b"a", b"b"]
    assert inflight.active == 2  # iterated, not yet closed: the server may still be writing
    first.close()
    first.close()  # the server closes once; a second close must not count twice
    assert inflight.active == 1
    second.close()
    assert inflight.idle


def test_a_websocket_session_ends_when_the_app_call_returns() -> None:
    inflight = InflightRequests()
    app = TrackedApp(_app([]), inflight, lambda: None)
    _call(app, {"wsgi.websocket": object()})  # the handler never closes this body
    assert inflight.idle and inflight.served == 1


def test_a_failing_app_does_not_stay_in_flight() -> None:
    def broken(environ: Any, start_response: Any) -> Any:
        raise RuntimeError("boom")

    inflight = InflightRequests()
    app = TrackedApp(broken, inflight, lambda: None)
    try:
        _call(app)
    except RuntimeError:
        pass
    assert inflight.idle


def test_responses_close_their_connection_while_stopping() -> None:
    inflight = InflightRequests()
    app = TrackedApp(_app([b"x"]), inflight, lambda: None)
    [(_, headers)], body = _call(app)
    body.close()
    assert ("Connection", "keep-alive") in headers
    inflight.stopping = True
    [(_, headers)], body = _call(app)
    body.close()
    assert [v for k, v in headers if k.lower() == "connection"] == ["close"]


def test_max_requests_asks_for_a_restart_once_reached() -> None:
    inflight = InflightRequests(max_requests=3)
    reached: list[int] = []
    app = TrackedApp(_app([]), inflight, lambda: reached.append(inflight.served))
    for _ in range(4):
        _call(app)[1].close()
    assert reached == [3, 4]  # the worker acts on the first; later ones change nothing
    unlimited = InflightRequests()
    assert not any(unlimited.started() for _ in range(1000))


def test_going_away_maps_to_close_1001_anything_else_to_1013() -> None:
    assert websocket.close_code(GOING_AWAY) == 1001
    assert websocket.close_code("slow client") == 1013
    assert websocket.close_code("stream reader failed") == 1013


def _ended_body(tmp_path: Any, gateways: Any, *, sse: bool) -> list[bytes]:
    gw, api = gateways(tmp_path, {"out": OUT})
    inst = api.open("out", user("carol"))
    body = iter(streaming.subscription_body(inst.subscribe(), inst, sse=sse, heartbeat=DEADLINE))
    opening = next(body)
    gw.begin_shutdown()
    return [opening, *body]


def test_an_sse_stream_ends_with_a_retry_line_on_shutdown(tmp_path: Any, gateways: Any) -> None:
    chunks = _ended_body(tmp_path, gateways, sse=True)
    assert chunks == [b"retry: %d\n\n" % streaming.SSE_RETRY_MS, b"retry: %d\n\n" % streaming.SSE_DRAIN_RETRY_MS]


def test_an_ndjson_stream_just_ends_on_shutdown(tmp_path: Any, gateways: Any) -> None:
    assert _ended_body(tmp_path, gateways, sse=False) == [b"\n"]
