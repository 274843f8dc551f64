"""The ``nats`` input and output and their client against a real ``nats-server`` (the ``nats``
fixture, or one of the test's own): metadata from subjects and headers, once per host without a
queue group and once per message with one, replies to a publisher's reply subject, reconnection,
credentials in the URL, and the errors a user sees."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.server
import pytest

from streams.brokers.base import BrokerError
from streams.brokers.embedded import EmbeddedBroker
from streams.connectors.nats_client import NatsClient
from streams.connectors.nats_options import NatsOptions
from streams.connectors.nats_protocol import Msg
from streams.contracts import ConfigError
from streams.definitions import load_text
from streams.engine.testing import Gateways, read_topic, wait_until
from streams.message import Message
from tests.e2e.server import free_port
from tests.e2e.tyk_suite.suite import lint
from tests.message_brokers import nats_publish, nats_server
from tests.stream_definitions import one_component_definition
from tests.webhook import Hook


class Log:
    """Collects what a client logs, for the assertions on it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append(msg)


class Subscriber:
    """A test's own NATS connection that keeps what its subscriptions receive."""

    def __init__(self, url: str) -> None:
        self.received: list[Msg] = []
        self.client = NatsClient(NatsOptions.from_config({"urls": [url]}, "test"), Log(), on_message=self.received.append)
        self.client.connect()

    def subscribe(self, subject: str) -> None:
        self.client.subscribe(subject)
        self.client.flush(10)


@pytest.fixture
def subscriber(nats: str) -> Iterator[Subscriber]:
    s = Subscriber(nats)
    yield s
    s.client.close()


def subject_name() -> str:
    return f"t.{uuid.uuid4().hex[:10]}"


def written(broker: EmbeddedBroker, topic: str) -> list[bytes]:
    """The records of ``topic`` apart from the probes ``wait_subscribed`` published."""
    return [r.value for r in read_topic(broker, topic) if b"probe" not in r.value]


def wait_subscribed(url: str, broker: EmbeddedBroker, subject: str, out: str) -> None:
    """The input subscribes a moment after its gateway starts and core NATS keeps nothing
    published before that: publish probes (of this call's own) until one comes through."""
    probe = json.dumps({"probe": uuid.uuid4().hex}).encode()
    token = json.loads(probe)["probe"].encode()

    def probe_seen() -> bool:
        if any(token in r.value for r in read_topic(broker, out)):
            return True
        nats_publish(url, subject, [probe])
        return False

    wait_until(probe_seen, "the input's subscription")


def test_input_writes_each_message_in_order_with_bento_metadata(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, nats: str
) -> None:
    subject = subject_name()
    stream = {
        "input": {"nats": {"urls": [nats], "subject": f"{subject}.*"}},
        "pipeline": {"processors": [{"mapping": 'root = this.merge({"subject": @nats_subject, "reply": @nats_reply_subject})'}]},
        "output": {"kafka": {"topic": "nq"}},
    }
    gateways(tmp_path, {"n": stream})
    wait_subscribed(nats, broker, f"{subject}.a", "nq")
    nats_publish(nats, f"{subject}.a", [json.dumps({"n": n}).encode() for n in range(20)])
    wait_until(lambda: len(written(broker, "nq")) >= 20, "twenty messages in the topic")
    values = [json.loads(v) for v in written(broker, "nq")]
    assert [v["n"] for v in values] == list(range(20))
    assert values[3] == {"n": 3, "subject": f"{subject}.a", "reply": ""}


def test_output_headers_and_selected_metadata_reach_the_input_as_metadata(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, nats: str
) -> None:
    """http_server → nats output (interpolated subject, ``headers``, ``metadata`` filter) →
    nats input → topic: header fields come back as metadata, unselected metadata does not."""
    subject = subject_name()
    consume = {
        "input": {"nats": {"urls": [nats], "subject": f"{subject}.>"}},
        "pipeline": {
            "processors": [
                {"mapping": 'root = {"body": content().string(), "subject": @nats_subject, "room": @Room, '
                            '"kept": @k_kept, "other": @other}'}
            ]
        },
        "output": {"kafka": {"topic": "hq"}},
    }
    publish = {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"mapping": 'meta k_kept = "yes"\nmeta other = "no"\nroot = this'}]},
        "output": {
            "nats": {
                "urls": [nats],
                "subject": subject + '.${! json("room") }',
                "headers": {"Room": '${! json("room") }'},
                "metadata": {"include_prefixes": ["k_"]},
            }
        },
    }
    gateways(tmp_path, {"c": consume})
    _, api = gateways(tmp_path / "p", {"p": publish})
    wait_subscribed(nats, broker, f"{subject}.probe", "hq")
    inst = api.open("p", {})
    try:
        results = [inst.push(Message(json.dumps({"room": r}).encode()), 10.0) for r in "ab"]
    finally:
        inst.release()
    assert [r.status for r in results] == [200, 200]
    wait_until(lambda: len(written(broker, "hq")) >= 2, "both messages")
    assert [json.loads(v) for v in written(broker, "hq")] == [
        {"body": '{"room":"a"}', "subject": f"{subject}.a", "room": "a", "kept": "yes", "other": None},
        {"body": '{"room":"b"}', "subject": f"{subject}.b", "room": "b", "kept": "yes", "other": None},
    ]


@pytest.mark.parametrize("queue", ["", "gw"])
def test_two_workers_write_each_message_once(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, nats: str, queue: str
) -> None:
    """Two workers of one host (two gateways on one data directory). Without a queue group the
    input runs in one of them (both subscribing would double every message); with one, both
    subscribe and the server hands each message to one member."""
    subject = subject_name()
    stream = {"input": {"nats": {"urls": [nats], "subject": subject, "queue": queue}}, "output": {"kafka": {"topic": "once"}}}
    gateways(tmp_path, {"n": stream})
    gateways(tmp_path, {"n": stream})
    wait_subscribed(nats, broker, subject, "once")
    nats_publish(nats, subject, [json.dumps({"n": n}).encode() for n in range(30)])
    wait_until(lambda: len(written(broker, "once")) >= 30, "thirty messages")
    gevent_settle()
    assert sorted(json.loads(v)["n"] for v in written(broker, "once")) == list(range(30))


def gevent_settle() -> None:
    """Room for a doubled message to arrive before the count is checked."""
    gevent.sleep(0.5)


def test_messages_beyond_prefetch_count_are_dropped_with_a_warning(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, nats: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A slow output (each write pauses) and a buffer of two: what does not fit is dropped, as
    NATS drops a slow consumer's messages, and the log says how many."""
    subject = subject_name()
    stream = {
        "input": {"nats": {"urls": [nats], "subject": subject, "prefetch_count": 2}},
        "pipeline": {"processors": [{"sleep": {"duration": '${! if content().string().contains("probe") { "0s" } else { "200ms" } }'}}]},
        "output": {"kafka": {"topic": "slow"}},
    }
    gateways(tmp_path, {"n": stream})
    wait_subscribed(nats, broker, subject, "slow")
    nats_publish(nats, subject, [json.dumps({"n": n}).encode() for n in range(20)])
    wait_until(lambda: "messages dropped (prefetch_count 2 or 64 MiB buffered)" in caplog.text, "the warning")
    wait_until(lambda: len(written(broker, "slow")) >= 2, "the messages that fit")
    gevent.sleep(1.0)  # room for the rest of what was kept (the one being written and two buffered)
    kept = [json.loads(v)["n"] for v in written(broker, "slow")]
    assert kept == sorted(kept) and 2 <= len(kept) <= 3, kept


def test_a_publisher_with_a_reply_subject_gets_ack_after_the_write(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, nats: str, subscriber: Subscriber
) -> None:
    subject, inbox = subject_name(), f"_INBOX.{uuid.uuid4().hex}"
    subscriber.subscribe(inbox)
    stream = {"input": {"nats": {"urls": [nats], "subject": subject}}, "output": {"kafka": {"topic": "acked"}}}
    gateways(tmp_path, {"n": stream})
    wait_subscribed(nats, broker, subject, "acked")
    subscriber.client.publish(subject, b'{"id":1}', reply=inbox)
    wait_until(lambda: subscriber.received, "the acknowledgement")
    assert [(m.subject, m.payload) for m in subscriber.received] == [(inbox, b"+ACK")]
    assert written(broker, "acked") == [b'{"id":1}']


def test_a_sync_response_answers_a_request(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, nats: str, subscriber: Subscriber
) -> None:
    """With ``sync_response`` the stream is a request-reply service: the reply subject gets the
    processed message and its metadata as header fields, instead of +ACK."""
    subject, inbox = subject_name(), f"_INBOX.{uuid.uuid4().hex}"
    subscriber.subscribe(inbox)
    stream = {
        "input": {"nats": {"urls": [nats], "subject": subject}},
        "pipeline": {"processors": [{"mapping": 'meta answered_by = "gateway"\nroot = content().uppercase()'}]},
        "output": {"sync_response": {}},
    }
    gateways(tmp_path, {"n": stream})

    def answered() -> bool:
        if any(not m.status for m in subscriber.received):  # 503 "no responders" until subscribed
            return True
        subscriber.client.publish(subject, b"ping?", reply=inbox)
        return False

    wait_until(answered, "the reply")
    reply = next(m for m in subscriber.received if not m.status)
    assert reply.payload == b"PING?"
    assert reply.headers["answered_by"] == ["gateway"]
    assert reply.headers["nats_subject"] == [subject]


def test_a_failed_write_without_replay_is_dropped_and_nak_sent_with_the_delay(
    tmp_path: Any, gateways: Gateways, nats: str, subscriber: Subscriber
) -> None:
    subject, inbox = subject_name(), f"_INBOX.{uuid.uuid4().hex}"
    subscriber.subscribe(inbox)
    hook = Hook()
    try:
        stream = {
            "input": {"nats": {"urls": [nats], "subject": subject, "auto_replay_nacks": False, "nak_delay": "1.5s"}},
            "output": {"http_client": {"url": hook.url, "retries": 0, "timeout": "2s"}},
        }
        gateways(tmp_path, {"n": stream})

        def nak_seen() -> bool:
            # Until the input subscribed, the server answers "no responders" (status 503).
            if any(not m.status for m in subscriber.received):
                return True
            subscriber.client.publish(subject, b"x", reply=inbox)
            return False

        wait_until(nak_seen, "a -NAK")
        replies = [m.payload for m in subscriber.received if not m.status]
        assert {m.status for m in subscriber.received if m.status} <= {"503"}
        assert replies[0] == b'-NAK {"delay": 1500000000}'
        assert hook.accepted == []
    finally:
        hook.stop()


def test_input_and_output_reconnect_after_the_server_restarts(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    subject = subject_name()
    streams = {
        "in": {"input": {"nats": {"urls": [url], "subject": subject}}, "output": {"kafka": {"topic": "back"}}},
        "out": {"input": {"http_server": {"path": "/in"}}, "output": {"nats": {"urls": [url], "subject": subject}}},
    }
    with nats_server(port=port):
        _, api = gateways(tmp_path, streams)
        wait_subscribed(url, broker, subject, "back")
    with nats_server(port=port):
        wait_subscribed(url, broker, subject, "back")  # the input's subscription is made again
        inst = api.open("out", {})
        try:

            def pushed() -> bool:  # the output's first write after the restart may find it reconnecting
                return inst.push(Message(b'{"after":"restart"}'), 10.0).status == 200

            wait_until(pushed, "a push through the output's new connection")
        finally:
            inst.release()
        wait_until(lambda: b'{"after":"restart"}' in written(broker, "back"), "the message after the restart")


def test_a_push_to_an_unreachable_server_fails_with_the_reason(tmp_path: Any, gateways: Gateways) -> None:
    port = free_port()
    stream = {"input": {"http_server": {"path": "/in"}}, "output": {"nats": {"urls": [f"nats://127.0.0.1:{port}"], "subject": "x"}}}
    _, api = gateways(tmp_path, {"p": stream})
    inst = api.open("p", {})
    try:
        result = inst.push(Message(b"x"), 10.0)
    finally:
        inst.release()
    assert result.status == 502
    assert f"no NATS server accepted the connection (127.0.0.1:{port}: " in (result.error or "")


@pytest.mark.parametrize(
    ("options", "good", "bad"),
    [
        (("--user", "gw", "--pass", "s3cret"), "nats://gw:s3cret@{}", "nats://gw:wrong@{}"),
        (("--auth", "t0ken"), "nats://t0ken@{}", "nats://other@{}"),
    ],
)
def test_credentials_in_the_url_are_sent_and_a_refusal_names_the_reason(options: tuple[str, ...], good: str, bad: str) -> None:
    with nats_server(*options) as url:
        where = url.removeprefix("nats://")
        accepted = NatsClient(NatsOptions.from_config({"urls": [good.format(where)]}, "in"), Log())
        accepted.connect()
        accepted.flush(10)
        accepted.close()
        refused = NatsClient(NatsOptions.from_config({"urls": [bad.format(where)]}, "in"), Log())
        with pytest.raises(BrokerError) as caught:
            refused.connect()
        assert str(caught.value) == f"no NATS server accepted the connection ({where}: the server refused: Authorization Violation)"


def test_the_servers_of_a_comma_list_are_tried_in_order(nats: str) -> None:
    dead = f"nats://127.0.0.1:{free_port()}"
    log = Log()
    client = NatsClient(NatsOptions.from_config({"urls": [f"{dead},{nats}"]}, "in"), log)
    client.connect()
    try:
        assert client.where == nats.removeprefix("nats://")
        assert client.headers_supported
    finally:
        client.close()


class SilentServer:
    """A server that completes the handshake (``INFO``, the ``PONG`` to the client's first
    ``PING``) and then never answers again, as a hung NATS server would; it keeps what each
    connection sent."""

    def __init__(self, info: bytes = b'{"server_id":"silent","headers":true,"max_payload":1048576}') -> None:
        self.info = info
        self.received: list[bytes] = []
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self._serve)
        self.server.start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.server.server_port}"

    def _serve(self, sock: Any, _address: Any) -> None:
        self.received.append(b"")
        sock.sendall(b"INFO " + self.info + b"\r\n")
        answered = False
        while data := sock.recv(65536):
            self.received[-1] += data
            if not answered and b"PING\r\n" in self.received[-1]:
                sock.sendall(b"PONG\r\n")
                answered = True


def test_a_server_that_stops_answering_pings_is_left_and_the_subscriptions_are_made_again() -> None:
    silent = SilentServer()
    log = Log()
    client = NatsClient(NatsOptions.from_config({"urls": [silent.url]}, "in"), log, ping_interval=0.1, max_pings_out=2)
    try:
        client.connect()
        client.subscribe("orders.>", "workers")
        wait_until(lambda: len(silent.received) >= 2, "a second connection")
        wait_until(lambda: b"SUB orders.> workers 1\r\n" in silent.received[1], "the subscription on it")
        assert any("did not answer 2 pings" in line for line in log.lines), log.lines
        assert silent.received[0].startswith(b'CONNECT {"verbose":false,"pedantic":false,"headers":true')
    finally:
        client.close()
        silent.server.stop()


def definition(component: str, block: str) -> str:
    return one_component_definition(component, block)


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("urls: [ws://h:1]\nsubject: a\n", "nats.urls: 'ws://h:1': scheme 'ws' is not supported (use nats:// or tls://)"),
        ("urls: [nats://h:1]\nsubject: a\nauth: {nkey_file: ./seed.nk}\n", "nats.auth.nkey_file: cannot read ./seed.nk: No such file"),
        ("urls: [nats://h:1]\nsubject: a\nqueue_group: q\n", "nats.queue_group: unknown field"),
        ("urls: [nats://h:1]\n", "nats.subject"),
    ],
)
def test_bad_configs_are_reported_at_load_with_the_field_named(block: str, problem: str) -> None:
    api, problems = load_text(definition("nats", block), "t.yaml")
    assert api is None
    assert len(problems) == 1 and problem in str(problems[0]), problems


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        ({"urls": ["nats://h:1"], "subject": "a b"}, "m.input.nats.subject: a subject without whitespace is required"),
        ({"urls": ["nats://h:1"], "subject": "a", "prefetch_count": -1}, "prefetch count must be greater than or equal to zero"),
    ],
)
def test_bad_values_stop_the_stream_with_the_reason(tmp_path: Any, gateways: Gateways, conf: dict[str, Any], problem: str) -> None:
    _, api = gateways(tmp_path, {"m": {"input": {"nats": conf}, "output": {"drop": {}}}}, start=False)
    with pytest.raises(ConfigError) as caught:
        api.open("m", {})
    assert problem in str(caught.value)


def test_lint_names_the_line_and_column_of_each_nats_problem(tmp_path: Any) -> None:
    path = tmp_path / "nats.yaml"
    path.write_text(
        definition("nats", "urls: [ws://h:1]\nsubject: a\nauth:\n  user_jwt: abc\nprefetch_cnt: 3\n").replace(
            "drop: {}", "nats: {urls: [nats://h], subject: b, tls: {root_cas_file: /nonexistent/ca.pem}}"
        )
    )
    result = lint(path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:9:11: streams.m.input.nats.urls: 'ws://h:1': scheme 'ws' is not supported (use nats:// or tls://)",
        f"{path}:12:13: streams.m.input.nats.auth.user_jwt: needs the user's NKey seed in user_nkey_seed",
        f"{path}:13:11: streams.m.input.nats.prefetch_cnt: unknown field (did you mean 'prefetch_count'?)",
        f"{path}:15:52: streams.m.output.nats.tls.root_cas_file: file not found: /nonexistent/ca.pem",
    ]


def test_a_message_over_the_servers_max_payload_is_refused_before_it_is_sent() -> None:
    server = SilentServer(b'{"server_id":"small","headers":true,"max_payload":8}')
    client = NatsClient(NatsOptions.from_config({"urls": [server.url]}, "out"), Log())
    try:
        client.connect()
        client.publish("a", b"12345678")
        with pytest.raises(BrokerError) as caught:
            client.publish("a", b"123456789")
        assert str(caught.value) == "message of 9 bytes is over the server's max_payload of 8"
        wait_until(lambda: b"PUB a 8\r\n12345678\r\n" in server.received[0], "the message that fits")
        assert b"123456789" not in server.received[0]
    finally:
        client.close()
        server.server.stop()
