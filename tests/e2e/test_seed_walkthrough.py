"""The seed walkthrough, as a user types it, against gunicorn with 4 workers on both brokers."""

from __future__ import annotations

import json
import uuid

import gevent
import requests
import websocket

from tests.e2e.clients import SSEClient, WSReader
from tests.e2e.conftest import get_result, push


def test_push_returns_enriched_echo(seed_server, user):
    resp = push(seed_server, user, {"message": "hello world"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["message"] == "hello world"
    assert body["user_id"] == user
    assert uuid.UUID(body["job_id"]).version == 4


def test_get_returns_own_result_with_same_job_id(seed_server, user):
    job_id = push(seed_server, user, {"message": "hello world"}).json()["job_id"]
    resp = get_result(seed_server, user)
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result == {"message": "hello world", "user_id": user, "job_id": job_id, "result": "bar"}


def test_ws_in_and_sse_receive_later_pushes(seed_server, user):
    ws = WSReader(seed_server.ws_url(f"/stream-demo/ws-in?user={user}")).start()
    sse = SSEClient(seed_server.url(f"/stream-demo/get-event?user={user}")).start()
    assert sse.opened.wait(10) and sse.status == 200
    try:
        job_ids = [push(seed_server, user, {"n": n}).json()["job_id"] for n in range(3)]
        frames = ws.wait(3, timeout=60)
        events = sse.wait(3, timeout=60)
        assert [json.loads(f)["job_id"] for f in frames] == job_ids, (frames, job_ids)
        assert [e.json()["job_id"] for e in events] == job_ids
        assert all(json.loads(f)["result"] == "bar" for f in frames)
        # SSE ids are broker positions: "partition-offset", increasing.
        offsets = [int(e.id.split("-")[1]) for e in events]
        assert offsets == sorted(offsets) and len(set(offsets)) == 3
    finally:
        ws.close()
        sse.close()


def test_sse_resumes_after_last_event_id(seed_server, user):
    first = SSEClient(seed_server.url(f"/stream-demo/get-event?user={user}"), max_events=1).start()
    assert first.opened.wait(10)
    job_ids = [push(seed_server, user, {"n": 0}).json()["job_id"]]
    [event] = first.wait(1, timeout=60)
    first.close()
    # Messages pushed while nobody listens are delivered on reconnect, after the last seen id.
    job_ids += [push(seed_server, user, {"n": n}).json()["job_id"] for n in (1, 2)]
    again = SSEClient(seed_server.url(f"/stream-demo/get-event?user={user}"), last_event_id=event.id).start()
    try:
        events = again.wait(2, timeout=60)
        assert [e.json()["job_id"] for e in events] == job_ids[1:]
    finally:
        again.close()


def test_ws_out_pushes_and_gets_sync_replies(seed_server, user):
    ws = websocket.create_connection(seed_server.ws_url(f"/stream-demo/ws-out?user={user}"), timeout=30)
    try:
        replies = []
        for n in range(3):
            ws.send(json.dumps({"n": n}))
            replies.append(json.loads(ws.recv()))
        assert [r["n"] for r in replies] == [0, 1, 2]
        assert all(r["user_id"] == user for r in replies)
        assert len({r["job_id"] for r in replies}) == 3
    finally:
        ws.close()
    # The pushed jobs went through Kafka and the Worker like REST pushes do.
    got = [get_result(seed_server, user).json()["job_id"] for _ in range(3)]
    assert got == [r["job_id"] for r in replies]


def test_isolation_many_users_across_transports(seed_server):
    users = [f"iso-{n}-{uuid.uuid4().hex[:8]}" for n in range(20)]
    per_user = 10
    readers = {}
    for n, user in enumerate(users):
        if n % 3 == 1:
            readers[user] = WSReader(seed_server.ws_url(f"/stream-demo/ws-in?user={user}")).start()
        elif n % 3 == 2:
            readers[user] = SSEClient(seed_server.url(f"/stream-demo/get-event?user={user}")).start()
    pushed: dict[str, list[str]] = {u: [] for u in users}

    def push_all(user):
        for i in range(per_user):
            resp = push(seed_server, user, {"i": i})
            assert resp.status_code == 200, resp.text
            pushed[user].append(resp.json()["job_id"])

    gevent.joinall([gevent.spawn(push_all, u) for u in users], raise_error=True)

    def rest_collect(user):
        return [get_result(seed_server, user).json() for _ in range(per_user)]

    rest_users = [u for n, u in enumerate(users) if n % 3 == 0]
    collectors = {u: gevent.spawn(rest_collect, u) for u in rest_users}
    gevent.joinall(list(collectors.values()), raise_error=True)
    received = {u: g.value for u, g in collectors.items()}
    try:
        for user, reader in readers.items():
            items = reader.wait(per_user, timeout=90)
            received[user] = [
                json.loads(x) if isinstance(x, str) else x.json() for x in items
            ]
        for user in users:
            got = received[user]
            assert all(r["user_id"] == user for r in got), f"{user} got another user's result"
            assert [r["job_id"] for r in got] == pushed[user]
    finally:
        for reader in readers.values():
            reader.close()


def test_sequential_gets_across_workers_keep_push_order(seed_server, user):
    job_ids = [push(seed_server, user, {"seq": n}).json()["job_id"] for n in range(30)]
    got = []
    for _ in range(30):
        # get_result opens a new connection per GET: gunicorn's workers share the listening
        # socket, so the requests spread over the 4 worker processes.
        resp = get_result(seed_server, user)
        assert resp.status_code == 200, resp.text
        got.append(resp.json()["job_id"])
    assert got == job_ids


def test_push_answered_200_is_in_the_broker(seed_server, user, request):
    """Promise 1: by the time the 200 arrives the record is stored; read it back with a plain
    consumer that knows nothing of the gateway."""
    job_id = push(seed_server, user, {"message": "durable"}).json()["job_id"]
    if seed_server.broker == "kafka":
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=request.getfixturevalue("kafka_bootstrap"), enable_auto_commit=False
        )
        try:
            tp = TopicPartition("jobs", 0)
            consumer.assign([tp])
            end = consumer.end_offsets([tp])[tp]
            consumer.seek(tp, max(0, end - 50))
            values = []
            for records in consumer.poll(timeout_ms=10000, max_records=100).values():
                values += [json.loads(r.value) for r in records]
        finally:
            consumer.close()
    else:
        from streams.brokers.embedded import EmbeddedBroker

        broker = EmbeddedBroker(str(seed_server.data_dir))
        try:
            end = broker.end_offsets("jobs")[0]
            reader = broker.reader("jobs", {0: max(0, end - 50)})
            values = [json.loads(r.value) for r in reader.fetch(timeout=5, max_records=100)]
            reader.close()
        finally:
            broker.close()
    assert {"message": "durable", "user_id": user, "job_id": job_id} in values


def out_sent(server) -> float:
    """``streams_output_sent_total`` of the seed's ``out`` stream, summed over the host's workers."""
    text = requests.get(server.url("/metrics"), timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("streams_output_sent_total{") and 'stream="out"' in line)


def test_the_out_stream_counts_what_it_hands_to_clients(seed_server, user):
    before = out_sent(seed_server)
    for n in range(2):
        job_id = push(seed_server, user, {"n": n}).json()["job_id"]
        got = get_result(seed_server, user)
        assert got.status_code == 200 and got.json()["job_id"] == job_id, got.text
    assert out_sent(seed_server) - before == 2
    sse = SSEClient(seed_server.url(f"/stream-demo/get-event?user={user}")).start()
    try:
        assert sse.opened.wait(10) and sse.status == 200
        for n in range(2, 5):
            push(seed_server, user, {"n": n})
        assert len(sse.wait(3, timeout=60)) == 3
    finally:
        sse.close()
    assert out_sent(seed_server) - before == 5
