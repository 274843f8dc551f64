"""Hostile clients against a real ``gunicorn wsgi:app -w 4`` on the seed (embedded broker):
oversize and fragmented WebSocket messages, frame floods, request smuggling, slowloris, idle
keep-alive connections and WebSocket upgrades to paths without a WebSocket.

The server runs with short limits so the attacks end quickly: headers within 2 s
(``STREAMS_HEADER_TIMEOUT``), 2 s of keep-alive silence (gunicorn ``--keep-alive``), 20 frames a
second (``STREAMS_WS_FRAMES_PER_SECOND``); the message limit is the default body limit (1 MiB).
"""

from __future__ import annotations

import json
import socket
import struct
import time
import uuid

import gevent
import pytest
import requests
import websocket  # websocket-client

from tests.e2e.clients import WSReader
from tests.e2e.conftest import get_result, push
from tests.e2e.server import Gunicorn, start_gunicorn

pytestmark = pytest.mark.timeout(240)

HEADER_TIMEOUT = 2.0
KEEPALIVE = 2
FRAMES_PER_SECOND = 20
LIMIT = 1048576
UPGRADE_HEADERS = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Gunicorn:
    env = {
        "STREAMS_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "STREAMS_WS_FRAMES_PER_SECOND": str(FRAMES_PER_SECOND),
        "GUNICORN_CMD_ARGS": f"--keep-alive {KEEPALIVE}",
    }
    server = start_gunicorn(tmp_path_factory.mktemp("gunicorn-hostile"), workers=4, env=env)
    yield server
    server.stop()


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def connect(server: Gunicorn, timeout: float = 20.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, bool]:
    """Everything the server sends, and whether it closed the connection (recv returned b"")
    before the socket's timeout."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except TimeoutError:
        return data, False


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def json_body(reply: bytes) -> dict:
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


def close_code(ws: websocket.WebSocket) -> tuple[int, str]:
    """Read frames until the server's close frame; its code and reason."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0], data[2:].decode()


def assert_next_result_is(server: Gunicorn, user: str, marker: str) -> None:
    """The user's next GET result is ``marker``: nothing pushed before it (a refused message)
    was stored, since a user's GETs return results in order."""
    resp = get_result(server, user)
    assert resp.status_code == 200, resp.text
    assert resp.json()["marker"] == marker


# -- item 5: WebSocket messages over the body limit, frame floods ---------------------------------
def test_10mb_websocket_message_is_closed_1009_nothing_stored_others_unaffected(server, user):
    bystander = f"{user}-b"
    reader = WSReader(server.ws_url(f"/stream-demo/ws-in?user={bystander}")).start()
    attacker = websocket.create_connection(server.ws_url(f"/stream-demo/ws-out?user={user}"), timeout=60)
    try:
        big = json.dumps({"marker": "big", "blob": "x" * (10 * 1024 * 1024)})
        started = time.monotonic()
        attacker.send(big)
        code, reason = close_code(attacker)
        elapsed = time.monotonic() - started
        print(f"10 MB message: close {code} after {elapsed:.2f}s")
        assert (code, reason) == (1009, f"message too big (limit {LIMIT} bytes)")

        assert push(server, bystander, {"marker": "for-bystander"}).status_code == 200
        frames = reader.wait(1, 60)
        assert [json.loads(f)["marker"] for f in frames] == ["for-bystander"]

        assert push(server, user, {"marker": "after"}).status_code == 200
        assert_next_result_is(server, user, "after")
    finally:
        attacker.close()
        reader.close()


def test_oversize_frame_on_the_output_websocket_is_closed_1009(server, user):
    """Frames a client sends on ``ws-in`` are not messages, but the limit holds there too."""
    ws = websocket.create_connection(server.ws_url(f"/stream-demo/ws-in?user={user}"), timeout=60)
    try:
        ws.send_binary(b"z" * (LIMIT + 1))
        assert close_code(ws) == (1009, f"message too big (limit {LIMIT} bytes)")
    finally:
        ws.close()


def test_fragmented_message_over_the_limit_is_closed_1009_nothing_stored(server, user):
    ws = websocket.create_connection(server.ws_url(f"/stream-demo/ws-out?user={user}"), timeout=60)
    try:
        piece = "y" * (512 * 1024)
        ws.send_frame(websocket.ABNF.create_frame('{"marker": "fragmented", "blob": "' + piece, websocket.ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(websocket.ABNF.create_frame(piece, websocket.ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(websocket.ABNF.create_frame(piece + '"}', websocket.ABNF.OPCODE_CONT, fin=1))
        assert close_code(ws) == (1009, f"message too big (limit {LIMIT} bytes)")
    finally:
        ws.close()
    assert push(server, user, {"marker": "after"}).status_code == 200
    assert_next_result_is(server, user, "after")


def test_fragments_within_the_limit_are_one_message(server, user):
    ws = websocket.create_connection(server.ws_url(f"/stream-demo/ws-out?user={user}"), timeout=60)
    try:
        ws.send_frame(websocket.ABNF.create_frame('{"marker": ', websocket.ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(websocket.ABNF.create_frame('"joined"}', websocket.ABNF.OPCODE_CONT, fin=1))
        assert json.loads(ws.recv())["marker"] == "joined"
    finally:
        ws.close()
    assert_next_result_is(server, user, "joined")


def test_frame_flood_is_closed_1008_while_a_calm_client_stays(server, user):
    calm = websocket.create_connection(server.ws_url(f"/stream-demo/ws-in?user={user}"), timeout=60)
    flood = websocket.create_connection(server.ws_url(f"/stream-demo/ws-in?user={user}-flood"), timeout=60)
    try:
        for _ in range(FRAMES_PER_SECOND // 2):  # within the burst
            calm.ping(b"hi")
        # One write holding many frames: they reach the server together, well over the rate.
        ping = websocket.ABNF.create_frame(b"x", websocket.ABNF.OPCODE_PING).format()
        flood.sock.sendall(ping * (FRAMES_PER_SECOND * 3))
        assert close_code(flood) == (1008, f"more than {FRAMES_PER_SECOND} frames per second")

        assert push(server, user, {"marker": "calm"}).status_code == 200
        opcode, data = calm.recv_data()  # pongs are skipped; the next data frame is the message
        assert json.loads(data)["marker"] == "calm"
    finally:
        calm.close()
        flood.close()


# -- item 6: request smuggling ------------------------------------------------------------------
PUSH = "POST /stream-demo/push-event?user=smuggler HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
SMUGGLED = "GET /hello HTTP/1.1\r\nHost: gw\r\n\r\n"


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        (PUSH + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        (PUSH + "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n", "both Content-Length and Transfer-Encoding"),
        (PUSH + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ", "several differing Content-Length values"),
        (PUSH + "Content-Length: +2\r\n\r\n{}", "Content-Length must be digits only"),
        (PUSH + "Content-Length: 0_2\r\n\r\n{}", "Content-Length must be digits only"),
        (PUSH + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", "the final Transfer-Encoding must be chunked"),
        (PUSH + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "malformed header line"),
    ],
    ids=["cl-te", "te-cl", "two-lengths", "plus", "underscore", "te-not-final", "space-before-colon"],
)
def test_ambiguous_framing_is_400_and_closed(server, request_text, message):
    sock = connect(server)
    try:
        sock.sendall(request_text.encode())
        reply, closed = read_until_closed(sock)
    finally:
        sock.close()
    assert status_of(reply) == 400, reply
    assert json_body(reply) == {"error": json_body(reply)["error"], "status": 400}
    assert message in json_body(reply)["error"]
    assert closed, "the server kept the connection open"


def test_a_request_smuggled_after_cl_te_is_not_served(server):
    sock = connect(server)
    try:
        body = "0\r\n\r\n" + SMUGGLED
        sock.sendall((PUSH + f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n" + body).encode())
        reply, closed = read_until_closed(sock)
    finally:
        sock.close()
    assert reply.count(b"HTTP/1.1 ") == 1, reply
    assert status_of(reply) == 400 and closed
    assert b'"status": "pass"' not in reply  # /hello never answered


def test_identical_repeated_lengths_are_accepted(server):
    """The control: a well-framed request on the same path is served (200)."""
    sock = connect(server)
    try:
        sock.sendall((PUSH + "Content-Length: 2, 2\r\nConnection: close\r\n\r\n{}").encode())
        reply, closed = read_until_closed(sock)
    finally:
        sock.close()
    assert status_of(reply) == 200, reply


# -- item 6: slowloris and idle keep-alive ---------------------------------------------------------
def test_slowloris_connections_are_dropped_while_normal_requests_are_served(server):
    attackers = 50
    closed_after: list[float] = []
    replies: list[bytes] = []

    def slowloris() -> None:
        sock = connect(server, timeout=HEADER_TIMEOUT + 20)
        started = time.monotonic()
        received = b""
        try:
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: gw\r\n")
            for i in range(200):  # one header line every 0.25 s, never the blank line
                try:
                    sock.sendall(f"X-Slow-{i}: a\r\n".encode())
                except OSError:
                    break
                sock.settimeout(0.25)
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
            sock.settimeout(HEADER_TIMEOUT + 20)
            rest, _ = read_until_closed(sock)
            received += rest
            closed_after.append(time.monotonic() - started)
            replies.append(received)
        finally:
            sock.close()

    greenlets = [gevent.spawn(slowloris) for _ in range(attackers)]
    served = []
    deadline = time.monotonic() + HEADER_TIMEOUT + 30
    while not all(g.dead for g in greenlets) and time.monotonic() < deadline:
        served.append(requests.get(server.url("/hello"), timeout=10).status_code)
        gevent.sleep(0.1)
    gevent.joinall(greenlets, timeout=30)
    for g in greenlets:
        g.get(block=False)  # re-raise a client's own failure
    print(f"slowloris: {len(closed_after)} dropped after {min(closed_after):.2f}..{max(closed_after):.2f}s; "
          f"{len(served)} normal requests served meanwhile")
    assert len(closed_after) == attackers
    assert all(HEADER_TIMEOUT * 0.5 <= t <= HEADER_TIMEOUT + 15 for t in closed_after), closed_after
    assert all(status_of(r) == 408 for r in replies), replies[:3]
    assert served and set(served) == {200}


def test_an_idle_keepalive_connection_is_closed(server):
    sock = connect(server)
    try:
        for _ in range(2):  # the connection is kept alive between requests
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: gw\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
            head, body = head.split(b"\r\n\r\n", 1)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += sock.recv(4096)
            assert status_of(head) == 200
        started = time.monotonic()
        rest, closed = read_until_closed(sock)
        idle = time.monotonic() - started
    finally:
        sock.close()
    print(f"idle keep-alive connection closed after {idle:.2f}s")
    assert closed and rest == b""
    assert KEEPALIVE * 0.5 <= idle <= KEEPALIVE + 15


# -- item 10: upgrades only where there is a WebSocket --------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [("/stream-demo/nope", 404), ("/nowhere", 404), ("/stream-demo/get-event?user=u", 400)],
)
def test_upgrade_without_a_websocket_route_gets_no_101(server, path, status):
    sock = connect(server)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: gw\r\n{UPGRADE_HEADERS}\r\n".encode())
        reply, closed = read_until_closed(sock)
    finally:
        sock.close()
    assert b"101" not in reply.split(b"\r\n", 1)[0]
    assert status_of(reply) == status, reply
    assert json_body(reply)["status"] == status
    assert closed


def test_upgrade_on_a_websocket_route_gets_101(server):
    sock = connect(server)
    try:
        sock.sendall(f"GET /stream-demo/ws-in?user=u HTTP/1.1\r\nHost: gw\r\n{UPGRADE_HEADERS}\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
    finally:
        sock.close()
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head


def test_upgrade_with_an_unsupported_version_gets_426_not_101(server):
    sock = connect(server)
    try:
        headers = UPGRADE_HEADERS.replace("Version: 13", "Version: 8")
        sock.sendall(f"GET /stream-demo/ws-in?user=u HTTP/1.1\r\nHost: gw\r\n{headers}\r\n".encode())
        reply, closed = read_until_closed(sock)
    finally:
        sock.close()
    assert status_of(reply) == 426, reply
    assert b"Sec-WebSocket-Version: 13" in reply or b"sec-websocket-version: 13" in reply
    assert json_body(reply) == {"error": "unsupported WebSocket version", "status": 426}
