"""The Falcon layer over a real gateway (embedded broker in a temp dir), through Falcon's test client:
request facts becoming $tyk_context variables and metadata, JWT trust, and the JSON error replies."""

from __future__ import annotations

import json

import falcon.testing
import gevent
import jwt
import pytest

from handlers.app import create_app
from handlers.delivery_body import DeliveryBody
from streams.brokers.base import BrokerError
from streams.definitions import load_directory
from streams.engine.gateway import Gateway
from streams.engine.hub import BrokerHub
from streams.engine.testing import make_gateway, make_settings

ECHO = {
    "input": {"http_server": {"path": "/echo"}},
    "pipeline": {
        "processors": [
            {
                "mapping": "\n".join(
                    [
                        "root = this",
                        'root.user = "$tyk_context.request_data_user"',
                        'root.sub = "$tyk_context.jwt_claims_sub"',
                        'root.header = "$tyk_context.headers_X_User_Id"',
                        "root.verb = @http_server_verb",
                        "root.query_meta = @user",
                    ]
                )
            }
        ]
    },
    "output": {"sync_response": {}},
}
SECRET = "a-test-secret-of-thirty-two-bytes!"
QUEUE = {
    "input": {"http_server": {"path": "/in"}},
    "output": {"http_server": {"path": "/out", "timeout": "1s"}},
}


@pytest.fixture
def client(tmp_path):
    gateway, _ = make_gateway(
        str(tmp_path), {"echo": ECHO, "queue": QUEUE}, jwt_secret=SECRET, max_body_bytes=64
    )
    yield falcon.testing.TestClient(create_app(gateway, gateway.settings))
    gateway.drain(5.0)


def post_echo(client, headers=None, user="alice"):
    return client.simulate_post("/test/echo", params={"user": user}, body=json.dumps({"a": 1}), headers=headers)


def test_request_facts_become_context_variables_and_metadata(client):
    resp = post_echo(client, headers={"X-User-Id": "u-42"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json == {
        "a": 1,
        "user": "alice",
        "sub": "",
        "header": "u-42",
        "verb": "POST",
        "query_meta": "alice",
    }
    assert resp.headers["X-Request-Id"]


def test_jwt_claims_only_from_a_verified_token(client):
    good = jwt.encode({"sub": "carol"}, SECRET, algorithm="HS256")
    forged = jwt.encode({"sub": "mallory"}, "another-secret-of-thirty-two-bytes!!", algorithm="HS256")
    assert post_echo(client, {"Authorization": f"Bearer {good}"}).json["sub"] == "carol"
    assert post_echo(client, {"Authorization": f"Bearer {forged}"}).json["sub"] == ""


def test_unknown_path_and_wrong_verb_are_json(client):
    resp = client.simulate_get("/test/nothing-here")
    assert resp.status_code == 404
    assert resp.json == {"error": "no stream endpoint at /test/nothing-here", "status": 404}
    resp = client.simulate_put("/test/echo")
    assert resp.status_code == 405
    assert resp.json["status"] == 405 and "PUT" in resp.json["error"]
    assert resp.headers["Allow"] == "POST"


def test_body_over_limit_is_413(client):
    resp = client.simulate_post("/test/echo", body=json.dumps({"blob": "x" * 100}))
    assert resp.status_code == 413
    assert "64 byte limit" in resp.json["error"]


def test_pull_times_out_with_408_then_takes_a_push(client):
    resp = client.simulate_get("/test/out")
    assert resp.status_code == 408
    assert resp.json == {"error": "no message for this request within 1s", "status": 408}
    # In-process delivery hands a pushed message to a waiting GET (and the push waits for one).
    waiting = gevent.spawn(client.simulate_get, "/test/out")
    gevent.sleep(0.1)
    assert client.simulate_post("/test/in", body=b"payload").status_code == 200
    resp = waiting.get(timeout=5)
    assert resp.status_code == 200
    assert resp.content == b"payload"


def test_plain_get_on_websocket_path_is_400(tmp_path):
    streams = {"ws": {"input": {"http_server": {"path": "/p", "ws_path": "/p/ws"}}, "output": {"drop": {}}}}
    gateway, _ = make_gateway(str(tmp_path), streams)
    try:
        resp = falcon.testing.TestClient(create_app(gateway, gateway.settings)).simulate_get("/test/p/ws")
        assert resp.status_code == 400
        assert "WebSocket" in resp.json["error"]
    finally:
        gateway.drain(5.0)


class RecordingDelivery:
    """Stands in for an engine delivery: records whether it was acked or handed back."""

    content = b"hello"

    def __init__(self) -> None:
        self.outcome: str | None = None

    def ack(self) -> None:
        self.outcome = "ack"

    def nack(self) -> None:
        self.outcome = "nack"


def test_delivery_body_acks_only_after_the_chunk_was_taken():
    written = RecordingDelivery()
    body = DeliveryBody(written)
    assert list(body) == [b"hello"]
    body.close()
    assert written.outcome == "ack"

    lost = RecordingDelivery()
    body = DeliveryBody(lost)
    iterator = iter(body)
    next(iterator)  # the server took the chunk but failed writing it: it closes without asking again
    body.close()
    assert lost.outcome == "nack"


def test_head_on_an_output_path_takes_no_message(client):
    # Falcon drops the body of a HEAD reply without closing it: a HEAD served like a GET would
    # take the user's next message (or a stream subscription) and never settle it.
    head = gevent.spawn(client.simulate_head, "/test/out")
    gevent.sleep(0.1)
    waiting = gevent.spawn(client.simulate_get, "/test/out")
    gevent.sleep(0.1)
    assert client.simulate_post("/test/in", body=b"kept").status_code == 200
    resp = waiting.get(timeout=5)
    assert resp.status_code == 200
    assert resp.content == b"kept"
    assert head.get(timeout=5).status_code == 405


def test_stream_heartbeat_follows_the_output_config(tmp_path):
    streams = {
        "beat": {
            "input": {"http_server": {"path": "/in"}},
            "output": {"http_server": {"stream_path": "/s", "stream_format": "event_source", "heartbeat": "50ms"}},
        }
    }
    gateway, _ = make_gateway(str(tmp_path), streams, sse_heartbeat=30.0)
    try:
        app = create_app(gateway, gateway.settings)
        body = app(falcon.testing.create_environ(path="/test/s"), lambda status, headers: None)
        try:
            chunks = iter(body)
            assert next(chunks).startswith(b"retry:")
            with gevent.Timeout(5):  # the output's 50ms, not the gateway's 30s
                assert next(chunks) == b": keepalive\n\n"
        finally:
            body.close()
    finally:
        gateway.drain(5.0)


def test_a_multipart_push_is_a_batch_of_its_parts(tmp_path):
    streams = {"batch": {"input": {"http_server": {"path": "/b"}}, "output": {"sync_response": {}}}}
    gateway, _ = make_gateway(str(tmp_path), streams)
    try:
        client = falcon.testing.TestClient(create_app(gateway, gateway.settings))
        body = b"--xyz\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--xyz\r\n\r\nsecond\r\n--xyz--\r\n"
        resp = client.simulate_post(
            "/test/b", body=body, headers={"Content-Type": "multipart/mixed; boundary=xyz"}
        )
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("multipart/mixed; boundary=")
        boundary = resp.headers["Content-Type"].split("boundary=")[1].encode()
        parts = [p for p in resp.content.split(b"--" + boundary) if p.strip(b"-\r\n")]
        assert [p.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n") for p in parts] == [b"first", b"second"]
        broken = client.simulate_post("/test/b", body=body, headers={"Content-Type": "multipart/mixed"})
        assert broken.status_code == 400
    finally:
        gateway.drain(5.0)


PER_USER_QUEUE = {
    "input": {"http_server": {"path": "/in"}},
    "pipeline": {"processors": [{"mapping": 'root = "$tyk_context.request_data_user"'}]},
    "output": {"http_server": {"path": "/out", "stream_path": "/out/stream", "ws_path": "/out/ws"}},
}


@pytest.mark.parametrize(
    ("path", "extras"),
    [("/test/out/ws", {"wsgi.websocket": "a socket the handler must not reach"}), ("/test/out/stream", {})],
    ids=["websocket", "event-stream"],
)
def test_a_failing_subscribe_releases_the_instance_so_it_is_idle_closed(tmp_path, monkeypatch, path, extras):
    """A subscription the engine refuses (here: the broker turns the reader away, as Kafka does
    at the consumer cap) answers 503 and leaves the user's instance unreferenced, so the idle
    reaper closes it like any other."""
    gateway, api = make_gateway(str(tmp_path), {"q": PER_USER_QUEUE}, instance_idle_timeout=0.0)
    try:
        def refuse(self, last_event_id=None):
            raise BrokerError("too many open Kafka consumers (1000, max 1000); idle readers must be closed")

        monkeypatch.setattr(BrokerHub, "subscribe", refuse)
        client = falcon.testing.TestClient(create_app(gateway, gateway.settings))
        resp = client.simulate_get(path, params={"user": "alice"}, extras=extras)
        assert resp.status_code == 503
        assert resp.json == {
            "error": "message broker unavailable: too many open Kafka consumers (1000, max 1000); "
            "idle readers must be closed",
            "status": 503,
        }
        [instance] = gateway.instances()
        assert instance.refs == 0
        assert gateway.reap() == 1
        assert gateway.instances() == []
    finally:
        gateway.drain(5.0)


REFLECT = {
    "input": {
        "http_server": {
            "path": "/reflect",
            "sync_response": {"metadata_headers": {"include_prefixes": ["X-"]}},
        }
    },
    "output": {"sync_response": {}},
}


def test_reply_headers_from_metadata_never_carry_line_breaks(tmp_path, caplog):
    """Query parameters become metadata, and ``metadata_headers`` copies them into the reply: a
    name or value with CR, LF or another control character must not reach the response head
    (header injection); the clean ones still do."""
    gateway, _ = make_gateway(str(tmp_path), {"r": REFLECT})
    try:
        client = falcon.testing.TestClient(create_app(gateway, gateway.settings))
        query = (
            "X-Ok=fine"
            "&X-Value=a%0D%0ASet-Cookie:%20admin=1"
            "&X-Name%0D%0ASet-Cookie:%20admin=2=v"
            "&X-Bell=ding%07"
        )
        for _ in range(2):
            resp = client.simulate_post("/test/reflect", query_string=query, body=b"hi")
            assert resp.status_code == 200, resp.text
            assert resp.content == b"hi"
            assert resp.headers["X-Ok"] == "fine"
            names = {name.lower() for name in resp.headers}
            assert "set-cookie" not in names
            assert not any(name.startswith(("x-value", "x-name", "x-bell")) for name in names), names
            assert all("\r" not in v and "\n" not in v for v in resp.headers.values())
        warnings = [r.getMessage() for r in caplog.records if "reply header" in r.getMessage()]
        assert len(warnings) == 3, warnings  # once per header name, not per request
    finally:
        gateway.drain(5.0)


def test_output_allowed_verbs_answer_on_path_and_stream_path(tmp_path):
    streams = {
        "verbs": {
            "input": {"http_server": {"path": "/in"}},
            "output": {
                "http_server": {"path": "/out", "stream_path": "/out/stream", "allowed_verbs": ["GET", "POST"], "timeout": "1s"}
            },
        }
    }
    gateway, _ = make_gateway(str(tmp_path), streams)
    try:
        client = falcon.testing.TestClient(create_app(gateway, gateway.settings))
        waiting = gevent.spawn(client.simulate_post, "/test/out")
        gevent.sleep(0.1)
        assert client.simulate_post("/test/in", body=b"for the POST").status_code == 200
        resp = waiting.get(timeout=5)
        assert resp.status_code == 200, resp.text
        assert resp.content == b"for the POST"

        for path in ("/test/out", "/test/out/stream"):
            resp = client.simulate_put(path)
            assert resp.status_code == 405
            assert resp.headers["Allow"] == "GET, POST"
            assert resp.json == {"error": f"PUT is not allowed on {path}", "status": 405}

        body = create_app(gateway, gateway.settings)(
            falcon.testing.create_environ(path="/test/out/stream", method="POST"), lambda status, headers: None
        )
        try:
            chunks = iter(body)
            assert next(chunks) == b"\n"  # the newline-delimited stream opened (a blank line)
            assert client.simulate_post("/test/in", body=b"streamed").status_code == 200
            with gevent.Timeout(5):
                assert next(chunks) == b"streamed\n"
        finally:
            body.close()
    finally:
        gateway.drain(5.0)


def test_output_path_answers_only_get_by_default(client):
    resp = client.simulate_post("/test/out")
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"


PATH_ECHO_API = """\
openapi: 3.0.3
info: {title: path-echo, version: 1.0.0}
paths: {}
x-tyk-streaming:
  streams:
    echo:
      input:
        http_server: {path: /echo}
      pipeline:
        processors:
          - mapping: |
              root.request_path = @http_server_request_path
              root.context_path = "$tyk_context.path"
      output:
        sync_response: {}
x-tyk-api-gateway:
  info: {name: path-echo, state: {active: true}}
  middleware: {global: {contextVariables: {enabled: true}}}
  server: {listenPath: {value: /svc/, strip: %s}}
"""


@pytest.mark.parametrize("strip", [True, False])
def test_listen_path_strip_does_not_change_stream_paths_or_request_path(tmp_path, strip):
    """As in Tyk, whose streaming middleware matches stream paths against the request path with
    the listen path always removed and hands the stream the request as it came: ``strip`` only
    concerns proxying to an upstream, which a streams API does not do. Stream paths are relative
    to the listen path, and the stream sees the full request path, whatever ``strip`` says."""
    (tmp_path / "apis").mkdir()
    (tmp_path / "apis" / "api.yaml").write_text(PATH_ECHO_API % ("true" if strip else "false"))
    definitions, problems = load_directory(str(tmp_path / "apis"))
    assert problems == []
    assert definitions[0].strip is strip
    gateway = Gateway(make_settings(str(tmp_path)))
    gateway.add_definition(definitions[0])
    gateway.start()
    try:
        client = falcon.testing.TestClient(create_app(gateway, gateway.settings))
        resp = client.simulate_post("/svc/echo", body=b"{}")
        assert resp.status_code == 200, resp.text
        assert resp.json == {"request_path": "/svc/echo", "context_path": "/svc/echo"}
        assert client.simulate_post("/echo", body=b"{}").json == {"error": "no stream endpoint at /echo", "status": 404}
    finally:
        gateway.drain(5.0)


def test_a_get_of_a_batch_is_a_multipart_body_with_one_part_per_message(client, monkeypatch):
    # Bento's http_server output answers a GET of a batch of several messages with a
    # multipart/form-data body, one application/octet-stream part per message.
    from email.parser import BytesParser
    from email.policy import HTTP

    from streams.engine.delivery import Delivery
    from streams.engine.instance import StreamInstance

    acked = []
    batch = Delivery(b"one", {}, "0-3", on_ack=lambda: acked.append(True), parts=(b"one", b"{\"two\":2}"))
    monkeypatch.setattr(StreamInstance, "pull", lambda self, timeout: batch)
    resp = client.simulate_get("/test/out")
    assert resp.status_code == 200
    content_type = resp.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1]
    assert resp.content.startswith(f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\none\r\n".encode())
    assert resp.content.endswith(f"\r\n--{boundary}--\r\n".encode())
    parsed = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + resp.content)
    assert [part.get_payload(decode=True) for part in parsed.iter_parts()] == [b"one", b'{"two":2}']
    assert resp.headers["X-Stream-Position"] == "0-3"
    assert acked == [True]
