"""An API's ``rateLimit`` (Tyk's ``upstream.rateLimit`` and
``middleware.operations.<operationId>.rateLimit``) and the limits against abuse, on a real
``gunicorn wsgi:app -w 4`` with real HTTP, SSE and WebSocket clients.

Every request of a burst goes on a connection of its own, opened (with a ``/hello``) before the
burst starts, so the burst reaches the workers as the kernel spreads connections and all of it
arrives within a moment. A window opens with the first request it counts (after the previous
one ended), so a burst sent into an idle limit falls in one window whatever its ``per``.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

import gevent
import gevent.pool
import pytest
import requests
import websocket  # websocket-client

from tests.e2e.clients import SSEClient
from tests.e2e.server import Gunicorn, serve_definitions

pytestmark = pytest.mark.timeout(240)

WORKERS = 4
MAX_CLIENT_STREAMS = 2
MAX_REQUEST_LINE = 1024
MAX_HEADER_BYTES = 2048
MAX_QUERY_PARAMS = 10

LIMITED_API = """
openapi: 3.0.3
info:
  title: limited
  version: 1.0.0
paths:
  /ten-seconds:
    post:
      operationId: tenSeconds
  /one-second:
    post:
      operationId: oneSecond
  /ws:
    get:
      operationId: wsPush
  /unlimited-op:
    post:
      operationId: noLimitOfItsOwn
  /feed:
    get:
      operationId: feedPoll
  /feed-stream:
    get:
      operationId: feedStream
x-tyk-streaming:
  streams:
    ten_seconds:
      input:
        http_server:
          path: /ten-seconds
      output:
        sync_response: {}
    one_second:
      input:
        http_server:
          path: /one-second
      output:
        sync_response: {}
    api_wide:
      input:
        http_server:
          path: /api-wide
      output:
        sync_response: {}
    unlimited_op:
      input:
        http_server:
          path: /unlimited-op
      output:
        sync_response: {}
    ws_push:
      input:
        http_server:
          path: /ws-post
          ws_path: /ws
      pipeline:
        processors:
          # One instance per user: each connection below is another client (the streaming
          # connection limit counts by user).
          - mapping: meta user = "$tyk_context.request_data_user"
      output:
        sync_response: {}
    feed:
      input:
        http_server:
          path: /feed-in
      pipeline:
        processors:
          - mapping: meta user = "$tyk_context.request_data_user"
      output:
        http_server:
          path: /feed
          stream_path: /feed-stream
          timeout: 1s
x-tyk-api-gateway:
  info:
    name: limited
    state:
      active: true
  server:
    listenPath:
      value: /limited/
      strip: false
  upstream:
    rateLimit:
      enabled: true
      rate: 3
      per: 1m
  middleware:
    global:
      contextVariables:
        enabled: true
    operations:
      tenSeconds:
        rateLimit:
          enabled: true
          rate: 5
          per: 10s
      oneSecond:
        rateLimit:
          enabled: true
          rate: 5
          per: 1s
      feedPoll:
        rateLimit:
          enabled: true
          rate: 2
          per: 1m
      feedStream:
        rateLimit:
          enabled: true
          rate: 1
          per: 1m
      wsPush:
        rateLimit:
          enabled: true
          rate: 4
          per: 5s
"""

STREAMING_API = """
openapi: 3.0.3
info:
  title: streaming
  version: 1.0.0
paths: {}
x-tyk-streaming:
  streams:
    pipe:
      input:
        http_server:
          path: /in
      pipeline:
        processors:
          - mapping: |
              root = this
              root.user = "$tyk_context.request_data_user"
      output:
        http_server:
          path: /out
          stream_path: /sse
          ws_path: /ws
x-tyk-api-gateway:
  info:
    name: streaming
    state:
      active: true
  middleware:
    global:
      contextVariables:
        enabled: true
  server:
    listenPath:
      value: /streaming/
      strip: false
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    files = {"limited.yaml": LIMITED_API, "streaming.yaml": STREAMING_API}
    env = {
        "STREAMS_MAX_CLIENT_STREAMS": str(MAX_CLIENT_STREAMS),
        "STREAMS_MAX_REQUEST_LINE": str(MAX_REQUEST_LINE),
        "STREAMS_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "STREAMS_MAX_QUERY_PARAMS": str(MAX_QUERY_PARAMS),
    }
    server = serve_definitions(tmp_path_factory.mktemp("rate-limits"), files, workers=WORKERS, env=env)
    yield server
    server.stop()


def user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def burst(server: Gunicorn, path: str, count: int) -> list[requests.Response]:
    """POST ``path`` ``count`` times at once, each on a connection of its own opened first."""
    sessions = [requests.Session() for _ in range(count)]
    try:
        for session in sessions:
            assert session.get(server.url("/hello"), timeout=30).status_code == 200
        pool = gevent.pool.Pool(count)
        return pool.map(lambda s: s.post(server.url(path), data=b"{}", timeout=30), sessions)
    finally:
        for session in sessions:
            session.close()


def assert_refused(resp: requests.Response, limit: str, per: float) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == {"error": f"API rate limit exceeded: {limit}", "status": 429}
    assert 1 <= int(resp.headers["Retry-After"]) <= per


def accepted_after_window(server: Gunicorn, path: str, deadline_s: float) -> requests.Response:
    """POST until one is accepted (the window ended), for at most ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while True:
        resp = requests.post(server.url(path), data=b"{}", timeout=30)
        if resp.status_code != 429 or time.monotonic() > deadline:
            return resp
        time.sleep(min(float(resp.headers["Retry-After"]), 0.5))


# -- rate limits -----------------------------------------------------------------------------


def test_ten_requests_against_5_per_10s_on_4_workers_admit_exactly_5(server: Gunicorn) -> None:
    results = burst(server, "/limited/ten-seconds", 10)

    assert sorted(r.status_code for r in results) == [200] * 5 + [429] * 5
    for resp in results:
        if resp.status_code == 429:
            assert_refused(resp, "5 requests per 10s", 10)


def test_ten_requests_against_5_per_1s_admit_exactly_5_and_the_next_window_admits_again(server: Gunicorn) -> None:
    results = burst(server, "/limited/one-second", 10)

    assert sorted(r.status_code for r in results) == [200] * 5 + [429] * 5
    for resp in results:
        if resp.status_code == 429:
            assert_refused(resp, "5 requests per 1s", 1)
    assert accepted_after_window(server, "/limited/one-second", 30).status_code == 200


def test_a_path_without_an_operation_limit_counts_against_the_api_limit(server: Gunicorn) -> None:
    results = burst(server, "/limited/api-wide", 5)

    assert sorted(r.status_code for r in results) == [200] * 3 + [429] * 2
    for resp in results:
        if resp.status_code == 429:
            assert_refused(resp, "3 requests per 60s", 60)
    # An operation without a rateLimit of its own is under the API's limit, now used up.
    assert_refused(requests.post(server.url("/limited/unlimited-op"), data=b"{}", timeout=30), "3 requests per 60s", 60)


def test_an_operation_limit_replaces_the_api_limit_as_in_tyk(server: Gunicorn) -> None:
    burst(server, "/limited/api-wide", 4)  # the API's limit (3 per minute) is used up
    assert requests.post(server.url("/limited/api-wide"), data=b"{}", timeout=30).status_code == 429

    # The operation counts against its own limit only: the spent API limit does not refuse it
    # (its own window, spent by the first test, ends within 10 s; the API's only in a minute).
    resp = accepted_after_window(server, "/limited/ten-seconds", 30)
    assert resp.status_code == 200, resp.text


def test_websocket_messages_over_the_limit_get_an_error_frame_and_the_connection_stays(server: Gunicorn) -> None:
    # rate 4 per 5s: the upgrade is one request, each message another.
    ws = websocket.create_connection(server.ws_url(f"/limited/ws?user={user()}"), timeout=30)
    try:
        replies = []
        for n in range(6):
            ws.send(json.dumps({"n": n}))
            replies.append(json.loads(ws.recv()))
        accepted = [r for r in replies if "n" in r]
        refused = [r for r in replies if "error" in r]
        assert accepted == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert len(refused) == 3
        for reply in refused:
            assert reply["status"] == 429
            assert reply["error"] == "API rate limit exceeded: 4 requests per 5s"
            assert 1 <= reply["retry_after"] <= 5

        # Same connection, once the window is over: accepted again.
        deadline = time.monotonic() + 30
        while True:
            ws.send(json.dumps({"again": True}))
            reply = json.loads(ws.recv())
            if reply == {"again": True} or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert reply == {"again": True}
        assert ws.connected
    finally:
        ws.close()


def test_the_websocket_upgrade_itself_is_refused_with_429_once_the_limit_is_spent(server: Gunicorn) -> None:
    sockets = []
    try:
        refused = None
        for _ in range(6):  # 4 per 5s: at most 4 upgrades in one window
            try:
                sockets.append(websocket.create_connection(server.ws_url(f"/limited/ws?user={user()}"), timeout=30))
            except websocket.WebSocketBadStatusException as exc:
                refused = exc
                break
        assert refused is not None, "every upgrade was accepted"
        assert refused.status_code == 429
        assert json.loads(refused.resp_body)["error"] == "API rate limit exceeded: 4 requests per 5s"
        assert int(refused.resp_headers["retry-after"]) >= 1
    finally:
        for ws in sockets:
            ws.close()


def test_long_poll_gets_count_against_their_operation_limit(server: Gunicorn) -> None:
    def poll(_: int) -> requests.Response:
        with requests.Session() as session:
            return session.get(server.url(f"/limited/feed?user={user()}"), timeout=30)

    replies = gevent.pool.Pool(3).map(poll, range(3))

    # Two are let through and wait for a message (none comes: 408 after the output's 1 s).
    assert sorted(r.status_code for r in replies) == [408, 408, 429]
    for resp in replies:
        if resp.status_code == 429:
            assert_refused(resp, "2 requests per 60s", 60)


def test_opening_an_sse_stream_counts_against_its_operation_limit(server: Gunicorn) -> None:
    first = SSEClient(server.url(f"/limited/feed-stream?user={user()}")).start()
    try:
        assert first.opened.wait(30) and first.status == 200
        second = requests.get(
            server.url(f"/limited/feed-stream?user={user()}"), headers={"Accept": "text/event-stream"}, timeout=30
        )
        assert_refused(second, "1 request per 60s", 60)
    finally:
        first.close()


# -- streaming connections per client ------------------------------------------------------


def test_streaming_connections_of_one_user_are_limited_over_every_worker(server: Gunicorn) -> None:
    alice, bob = user(), user()
    sse = [SSEClient(server.url(f"/streaming/sse?user={alice}")).start() for _ in range(MAX_CLIENT_STREAMS)]
    others: list[Any] = []
    try:
        for client in sse:
            assert client.opened.wait(30) and client.status == 200

        over = requests.get(
            server.url(f"/streaming/sse?user={alice}"), headers={"Accept": "text/event-stream"}, timeout=30
        )
        assert over.status_code == 429
        assert over.json() == {
            "error": f"too many streaming connections: at most {MAX_CLIENT_STREAMS} open at once per client",
            "status": 429,
        }
        assert over.headers["Retry-After"] == "1"
        # A waiting GET and a WebSocket count as well.
        assert requests.get(server.url(f"/streaming/out?user={alice}"), timeout=30).status_code == 429
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(server.ws_url(f"/streaming/ws?user={alice}"), timeout=30)
        assert refused.value.status_code == 429

        # Another user is not affected.
        others.append(SSEClient(server.url(f"/streaming/sse?user={bob}")).start())
        assert others[0].opened.wait(30) and others[0].status == 200

        # One of alice's connections ends: she may open another.
        sse.pop().close()
        deadline = time.monotonic() + 30
        while True:
            ws = None
            try:
                ws = websocket.create_connection(server.ws_url(f"/streaming/ws?user={alice}"), timeout=30)
            except websocket.WebSocketBadStatusException:
                assert time.monotonic() < deadline, "the closed connection was never given back"
                time.sleep(0.2)
                continue
            ws.close()
            break
    finally:
        for client in sse + others:
            client.close()


# -- limits against abuse ---------------------------------------------------------------------


def raw_request(server: Gunicorn, data: bytes) -> tuple[int, dict[str, Any], bool]:
    """Send ``data``; the reply's status and JSON body, and whether the server closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(data)
        reply = b""
        closed = False
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                reply += chunk
        except TimeoutError:
            pass
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"application/json" in head, head
    return int(head.split(b" ", 2)[1]), json.loads(body), closed


def test_a_request_line_over_the_limit_is_414_json(server: Gunicorn) -> None:
    target = "/limited/api-wide?x=" + "a" * MAX_REQUEST_LINE
    status, body, closed = raw_request(server, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    assert (status, body) == (414, {"error": f"request line longer than {MAX_REQUEST_LINE} bytes", "status": 414})
    assert closed


def test_a_request_line_at_the_limit_is_served(server: Gunicorn) -> None:
    head = "GET /hello?x= HTTP/1.1"
    target = "/hello?x=" + "a" * (MAX_REQUEST_LINE - len(head))
    assert len(f"GET {target} HTTP/1.1") == MAX_REQUEST_LINE
    assert requests.get(server.url(target), timeout=30).status_code == 200


def test_headers_over_the_limit_are_431_json(server: Gunicorn) -> None:
    big = "X-Filler: " + "b" * MAX_HEADER_BYTES + "\r\n"
    status, body, closed = raw_request(server, f"GET /hello HTTP/1.1\r\nHost: x\r\n{big}\r\n".encode())

    assert (status, body) == (431, {"error": f"request header fields larger than {MAX_HEADER_BYTES} bytes", "status": 431})
    assert closed


def test_more_than_100_header_fields_are_431_json(server: Gunicorn) -> None:
    fields = "".join(f"X-{i}: 1\r\n" for i in range(120))
    status, body, _ = raw_request(server, f"GET /hello HTTP/1.1\r\nHost: x\r\n{fields}\r\n".encode())

    assert (status, body) == (431, {"error": "too many request header fields (at most 100)", "status": 431})


def test_too_many_query_parameters_are_400_json(server: Gunicorn) -> None:
    query = "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMS + 1))
    status, body, _ = raw_request(server, f"GET /hello?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    assert (status, body) == (
        400,
        {"error": f"too many query parameters: {MAX_QUERY_PARAMS + 1}, at most {MAX_QUERY_PARAMS} allowed", "status": 400},
    )
    ok = "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMS))
    assert requests.get(server.url(f"/hello?{ok}"), timeout=30).status_code == 200
