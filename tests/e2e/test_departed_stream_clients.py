"""A stream client that left is not handed messages: the next one goes to whoever asks next.

Against a real ``gunicorn wsgi:app -w 2`` on the seed (embedded broker). A client that closed
its SSE connection is only noticed by the server when a write fails, and the first write after
it left usually lands in the kernel's buffer: without a look at the socket first, that message
counted as delivered (and committed), and a GET for the user's next message never got it
(DESIGN §4, promises 2 and 5).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.e2e.clients import open_sse_socket, read_until
from tests.e2e.conftest import get_result, push
from tests.e2e.server import Gunicorn, start_gunicorn

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Gunicorn:
    server = start_gunicorn(tmp_path_factory.mktemp("gunicorn-departed"), workers=2)
    yield server
    server.stop()


@pytest.mark.parametrize("round_", range(5))
def test_a_message_after_the_stream_client_left_goes_to_the_next_get(server: Gunicorn, round_: int) -> None:
    user = f"departed-{uuid.uuid4().hex[:10]}"
    sock = open_sse_socket(server.port, user)
    read_until(sock, b"retry:")
    assert push(server, user, {"n": "first"}).status_code == 200
    read_until(sock, b'"first"')  # the client is attached and was handed the first message
    sock.close()
    time.sleep(0.5)  # its FIN has reached the server
    assert push(server, user, {"n": "second"}).status_code == 200
    got = get_result(server, user, deadline_s=30)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["n"] == "second" and body["user_id"] == user, body
    assert json.loads(got.text)["result"] == "bar"
