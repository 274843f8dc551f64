"""Tyk's ``gateway/mw_streaming_test.go`` against a real ``gunicorn -w 2`` of this gateway.

Each test names the Go test (and subtest) it replays. Where Tyk hands several WebSocket clients
of one stream its messages in turn (round-robin), this gateway gives every client every message
(DESIGN §10, kept on purpose); those tests assert the broadcast and say so. Unsafe components
are refused with the reason instead of being cut out of the config (DESIGN §10).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket  # websocket-client

from tests.e2e.clients import WSReader
from tests.e2e.server import Gunicorn
from tests.e2e.tyk_suite.brokers import kafka_produce, kafka_topic, nats_publish, nats_server
from tests.e2e.tyk_suite.suite import DEFINITIONS, lint, serve

GATEWAY_APIS = [
    "get-paths.yaml", "get-paths-broker.yaml", "no-http-server.yaml", "test-api.yaml",
    "nats-single.yaml", "nats-multiple.yaml", "async-api.yaml",
]
KAFKA_APIS = ["streaming-api-default.yaml", "streaming-api-dynamic.yaml"]


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


@pytest.fixture(scope="module")
def subject() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, nats_url: str, subject: str) -> Iterator[Gunicorn]:
    tmp = tmp_path_factory.mktemp("tyk-mw-streaming")
    output_file = tmp / "test-output.txt"
    server = serve(tmp, GATEWAY_APIS, NATS_URL=nats_url, SUBJECT=subject, FILE_PATH=str(output_file))
    server.output_file = output_file  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def topic() -> str:
    """The static group's topic; the dynamic groups read ``<topic>-dynamic`` (a group of its own
    starts from the oldest record, so a shared topic would hand it the other test's records)."""
    return f"tyk-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def kafka_gateway(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, topic: str) -> Iterator[Gunicorn]:
    kafka_topic(kafka_bootstrap, topic)
    kafka_topic(kafka_bootstrap, f"{topic}-dynamic")
    tmp = tmp_path_factory.mktemp("tyk-mw-streaming-kafka")
    server = serve(tmp, KAFKA_APIS, env={"STREAMS_KAFKA_BROKERS": kafka_bootstrap}, TOPIC=topic)
    server.tmp = tmp  # type: ignore[attr-defined]
    yield server
    server.stop()


# --- TestGetHTTPPaths ---------------------------------------------------------------------------

HTTP_SERVER_PATHS = ["/subscribe", "/post", "/stream", "/post/ws"]
"""TestGetHTTPPaths's expected list, less ``/get/stream``: the Go helper adds that default of the
output's ``stream_path`` even where the config sets ``stream_path: /stream``, and Bento serves
nothing there; the four paths left are what the stream's two ``http_server``s serve."""


def _served(server: Gunicorn, api: str, path: str) -> None:
    """The path is an endpoint of the stream: a WebSocket path upgrades, the input's path takes a
    POST, the output's stream path opens a stream."""
    if path.endswith(("/ws", "/subscribe")):
        ws = websocket.create_connection(server.ws_url(f"/{api}{path}"), timeout=10)
        ws.close()
    elif path == "/post":
        resp = requests.post(server.url(f"/{api}{path}"), data=b'{"probe": true}', timeout=10)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
    else:
        with requests.get(server.url(f"/{api}{path}"), stream=True, timeout=(5, 5)) as resp:
            assert resp.status_code == 200, (path, resp.status_code)


@pytest.mark.parametrize("path", HTTP_SERVER_PATHS)
def test_get_http_paths_should_get_paths(gateway: Gunicorn, path: str) -> None:
    """TestGetHTTPPaths/should_get_paths: an ``http_server`` input (path /post, its ws_path
    default /post/ws) and output (ws_path /subscribe, stream_path /stream) serve those paths."""
    _served(gateway, "get-paths", path)


@pytest.mark.parametrize("path", HTTP_SERVER_PATHS)
def test_get_http_paths_should_get_paths_with_broker(gateway: Gunicorn, path: str) -> None:
    """TestGetHTTPPaths/should_get_paths_with_broker: an ``http_server`` inside a ``broker``
    input serves its paths as a plain one does."""
    _served(gateway, "get-paths-broker", path)


def test_get_http_paths_no_http_server(gateway: Gunicorn) -> None:
    """TestGetHTTPPaths/no_http_server: a stream without ``http_server`` has no HTTP paths.

    Its output is ``test``, which is no component: Tyk's path helper never looks at it, this
    gateway refuses the definition naming it (DESIGN §10: a component we do not run is an error),
    so nothing is served under its listen path either (404 JSON)."""
    result = lint(DEFINITIONS / "no-http-server.yaml")
    assert result.returncode == 1
    assert "streams.test.output.test: unknown output 'test'" in result.stdout, result.stdout
    for path in ("/post", "/post/ws", "/get", "/get/stream", "/get/ws"):
        resp = requests.get(gateway.url(f"/no-http-server{path}"), timeout=10)
        assert resp.status_code == 404, (path, resp.status_code)
        assert resp.headers["Content-Type"].startswith("application/json")
    assert "no-http-server.yaml" in gateway.log()


# --- TestStreamingAPISingleClient / MultipleClients (NATS input) -------------------------------


def test_streaming_api_single_client(gateway: Gunicorn, nats_url: str, subject: str) -> None:
    """TestStreamingAPISingleClient: three NATS messages reach the WebSocket client of
    ``/get/ws`` through a ``bloblang`` processor, each once."""
    reader = WSReader(gateway.ws_url("/nats-single/get/ws")).start()
    try:
        nats_publish(nats_url, f"{subject}.single", [f"Hello {i}".encode() for i in range(3)])
        frames = reader.wait(3, 30)
        assert sorted(frames) == [json.dumps({"id": "stub", "message": f"Hello {i}"}, separators=(",", ":")) for i in range(3)]
    finally:
        reader.close()


def test_streaming_api_multiple_clients(gateway: Gunicorn, nats_url: str, subject: str) -> None:
    """TestStreamingAPIMultipleClients: three WebSocket clients, three NATS messages.

    Tyk deals the messages out round-robin (three in all across the clients); this gateway gives
    each client all three (DESIGN §10: broadcast to every connection, kept on purpose)."""
    readers = [WSReader(gateway.ws_url("/nats-multiple/get/ws")).start() for _ in range(3)]
    try:
        nats_publish(nats_url, f"{subject}.multiple", [f"Hello {i}".encode() for i in range(3)])
        for reader in readers:
            assert sorted(reader.wait(3, 30)) == ["Hello 0", "Hello 1", "Hello 2"]
    finally:
        for reader in readers:
            reader.close()


# --- TestAsyncAPI --------------------------------------------------------------------------------


def test_async_api(gateway: Gunicorn) -> None:
    """TestAsyncAPI (skipped in Tyk): ``generate`` into a ``file`` output.

    Tyk cuts the unsafe ``file`` output out of the config and runs the rest; this gateway refuses
    the definition with the reason (DESIGN §10), logs it, and writes no file."""
    result = lint(DEFINITIONS / "async-api.yaml")
    assert result.returncode == 1
    assert "streams.test.output.file: output 'file' is not allowed: it reaches the host's files" in result.stdout, result.stdout
    assert "output 'file' is not allowed" in gateway.log()
    assert requests.get(gateway.url("/async-api/"), timeout=10).status_code == 404
    assert not gateway.output_file.exists()  # type: ignore[attr-defined]


# --- TestStreamingAPI*_Input_HTTPServer ----------------------------------------------------------


def _post(server: Gunicorn, message: str) -> None:
    resp = requests.post(server.url("/test-api/post"), data=message.encode(), headers={"Content-Type": "application/json"}, timeout=30)
    assert resp.status_code == 200, (resp.status_code, resp.text)


def test_streaming_api_single_client_input_http_server(gateway: Gunicorn) -> None:
    """TestStreamingAPISingleClient_Input_HTTPServer: three POSTs to the ``http_server`` input
    reach the ``/subscribe`` WebSocket client in order, byte for byte."""
    reader = WSReader(gateway.ws_url("/test-api/subscribe")).start()
    try:
        sent = [f'{{"test": "message {i}"}}' for i in range(3)]
        for message in sent:
            _post(gateway, message)
        assert reader.wait(3, 30) == sent
    finally:
        reader.close()


def test_streaming_api_multiple_clients_input_http_server(gateway: Gunicorn) -> None:
    """TestStreamingAPIMultipleClients_Input_HTTPServer: three ``/subscribe`` clients, ten POSTs.

    Tyk deals the ten out round-robin (ten in all); this gateway gives every client all ten, in
    order (DESIGN §10: broadcast, kept on purpose).

    The stream is shared with the test before. A client that connects starts at the stream's
    committed position, and the previous test's client may have left a moment ago on another
    worker, before its last acknowledgements were committed there: what it was handed then
    comes to these clients first. So they connect, take whatever is replayed within two commit
    periods, and only then is the clock started."""
    readers = [WSReader(gateway.ws_url("/test-api/subscribe")).start() for _ in range(3)]
    try:
        time.sleep(2.0)
        for reader in readers:
            reader.frames.clear()
        sent = [f'{{"test": "message {i}"}}' for i in range(10)]
        for message in sent:
            _post(gateway, message)
        for reader in readers:
            assert reader.wait(10, 30) == sent
    finally:
        for reader in readers:
            reader.close()


# --- TestStreamingAPIGarbageCollection ----------------------------------------------------------


def test_streaming_api_garbage_collection(tmp_path_factory: pytest.TempPathFactory) -> None:
    """TestStreamingAPIGarbageCollection: the stream manager a request created is collected once
    nothing is active on it.

    Tyk keys a manager by each request's substituted config; here only a stream with
    ``$tyk_context`` placeholders has per-request instances (a stream without them runs for the
    worker's life, DESIGN §3.2), so the definition reads ``?user=``. A POST starts the user's
    instance; with no client attached it is closed after the idle period (1 s here)."""
    server = serve(tmp_path_factory.mktemp("tyk-gc"), ["test-api-gc.yaml"], env={"STREAMS_INSTANCE_IDLE_TIMEOUT": "1"})
    try:
        resp = requests.post(server.url("/test-api-gc/post"), params={"user": "gc-user"}, data=b"{}", timeout=30)
        assert resp.status_code == 200, resp.text
        deadline = time.monotonic() + 30
        while "idle instance closed" not in server.log():
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.2)
        started = server.log().count("instance started")
        closed = server.log().count("idle instance closed")
        assert started >= 1 and closed >= 1, server.log()[-3000:]
    finally:
        server.stop()


# --- TestStreaming_HttpOutputPaths ---------------------------------------------------------------


def test_streaming_http_output_paths_invalid_path_is_404(gateway: Gunicorn) -> None:
    """TestStreaming_HttpOutputPaths/should_fail_with_404_Not_Found_if_the_path_is_invalid: an
    event-stream request to ``get/steam`` (a typo of ``get/stream``) is 404."""
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive"}
    with requests.get(gateway.url("/test-api/get/steam"), headers=headers, stream=True, timeout=(5, 10)) as resp:
        assert resp.status_code == 404


def test_streaming_http_output_paths_sse_consumes_messages(gateway: Gunicorn) -> None:
    """TestStreaming_HttpOutputPaths/should_connect_to_SSE_endpoint_and_consume_messages_as_expected:
    a client of ``get/stream`` sending ``Accept: text/event-stream`` gets 200, and after a POST of
    ``{"test": "message"}`` (200) it receives that message as posted.

    The config sets no ``stream_format``. Tyk then streams Bento's raw lines whatever the client
    accepts; this gateway answers such a request with Server-Sent Events (DESIGN §3.1: content
    negotiation where the definition left the format open; a written ``stream_format`` wins), so
    the message is the data of the first event."""
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive"}
    with requests.get(gateway.url("/test-api/get/stream"), headers=headers, stream=True, timeout=(5, 30)) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        time.sleep(0.3)  # the stream client is attached before the push
        message = '{"test": "message"}'
        _post(gateway, message)
        lines = (line for line in resp.iter_lines(chunk_size=None, delimiter=b"\n") if line.startswith(b"data:"))
        assert next(lines).decode() == f"data: {message}"


# --- TestAsyncAPIHttp and TestWebSocketConnectionClosedOnAPIReload (Kafka input) ----------------


def _kafka_to_websockets(server: Gunicorn, bootstrap: str, topic: str, api: str) -> list[list[str]]:
    """testAsyncAPIHttp: two WebSocket clients of ``/get/ws``, two records produced to the
    topic; what each client received."""
    readers = [WSReader(server.ws_url(f"/{api}/get/ws")).start() for _ in range(2)]
    try:
        time.sleep(1)  # both attached (and, for per-request groups, their consumers assigned)
        kafka_produce(bootstrap, topic, [f"hello websocket {i + 1}".encode() for i in range(2)])
        deadline = time.monotonic() + 20
        for reader in readers:
            reader.wait(2, max(0.1, deadline - time.monotonic()))
        time.sleep(0.5)  # nothing more arrives
        return [list(reader.frames) for reader in readers]
    finally:
        for reader in readers:
            reader.close()


def test_async_api_http_static_group(kafka_gateway: Gunicorn, kafka_bootstrap: str, topic: str) -> None:
    """TestAsyncAPIHttp/StaticGroup: a Kafka input with ``consumer_group: static-group``, two
    WebSocket clients, two records.

    Tyk expects two messages in all (round-robin between the clients); this gateway gives each
    client both (DESIGN §10: broadcast, kept on purpose), so four in all."""
    received = _kafka_to_websockets(kafka_gateway, kafka_bootstrap, topic, "streaming-api-default")
    assert received == [["hello websocket 1", "hello websocket 2"]] * 2


def test_async_api_http_dynamic_group(kafka_gateway: Gunicorn, kafka_bootstrap: str, topic: str) -> None:
    """TestAsyncAPIHttp/DynamicGroup: ``consumer_group: $tyk_context.request_id`` makes a group
    per connection, so each of the two clients reads both records (four in all, as in Tyk)."""
    received = _kafka_to_websockets(kafka_gateway, kafka_bootstrap, f"{topic}-dynamic", "streaming-api-dynamic")
    assert received == [["hello websocket 1", "hello websocket 2"]] * 2


def test_websocket_connection_closed_on_api_reload(kafka_gateway: Gunicorn) -> None:
    """TestWebSocketConnectionClosedOnAPIReload (skipped in Tyk): a WebSocket client of an API
    that is loaded anew (its definition changed: ``consumer_group: test-group``) is disconnected
    with 1001 Going Away, and writing to it then fails."""
    ws = websocket.create_connection(kafka_gateway.ws_url("/streaming-api-default/get/ws"), timeout=30)
    try:
        path: Path = kafka_gateway.tmp / "apis" / "streaming-api-default.yaml"  # type: ignore[attr-defined]
        path.write_text(path.read_text().replace('consumer_group: "static-group"', 'consumer_group: "test-group"'))
        opcode, data = ws.recv_data(control_frame=True)
        while opcode == websocket.ABNF.OPCODE_PING:
            opcode, data = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1001, (opcode, data)
        with pytest.raises((websocket.WebSocketException, OSError)):
            # The first write still lands in the kernel's buffer; the reset that answers it
            # fails a later one. Bounded, so a connection left open fails the test.
            for _ in range(50):
                ws.send("test message")
                time.sleep(0.1)
    finally:
        ws.close()
