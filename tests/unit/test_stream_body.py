"""``SubscriptionBody``, a stream client's reply body: written by ``write_to`` (the gateway's
server) or iterated (any WSGI server), a message counts as delivered once its chunk was
written, is handed back when the write failed, and the instance is let go of once."""

from __future__ import annotations

import json
from typing import Any

import gevent
import pytest

from handlers import streaming
from streams.engine.testing import DEADLINE
from tests.unit.engine_helpers import OUT, produce_for, pull, user


class ClientGone(OSError):
    pass


def _body(api: Any, who: str, heartbeat: float = DEADLINE) -> tuple[Any, Any]:
    inst = api.open("out", user(who))
    return inst, streaming.subscription_body(inst.subscribe(), inst, sse=True, heartbeat=heartbeat)


def _event_n(chunk: bytes) -> int:
    data = chunk.split(b"data: ", 1)[1].split(b"\n", 1)[0]
    return int(json.loads(data)["n"])


@pytest.mark.parametrize("driven_by", ["write_to", "iteration"])
def test_a_written_message_is_delivered_and_one_whose_write_failed_is_handed_back(
    tmp_path: Any, gateways: Any, driven_by: str
) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    inst, body = _body(api, "dana")
    written: list[bytes] = []

    def write(chunk: bytes) -> None:
        if b"data: " in chunk and written and b"data: " in written[-1]:
            raise ClientGone("the client left")  # the second message's write fails
        written.append(chunk)

    produce_for(gw.broker(), "dana", range(2))
    with pytest.raises(ClientGone):
        if driven_by == "write_to":
            body.write_to(write)
        else:
            for chunk in body:
                write(chunk)
    assert written[0] == b"retry: %d\n\n" % streaming.SSE_RETRY_MS
    assert [_event_n(c) for c in written[1:]] == [0]
    assert inst.refs == 0 and inst.clients == 0  # let go of
    # The first message was delivered; the second is the user's next one.
    delivery = pull(api, "dana")
    assert delivery is not None and json.loads(delivery.content)["n"] == 1


def test_a_body_closed_before_it_ran_lets_go_of_its_instance(tmp_path: Any, gateways: Any) -> None:
    """pywsgi closes a reply body it never ran (the head's write failed, say)."""
    _, api = gateways(tmp_path, {"out": OUT})
    inst, body = _body(api, "erin")
    assert inst.refs == 1 and inst.clients == 1
    body.close()
    body.close()
    assert inst.refs == 0 and inst.clients == 0


def test_write_to_sends_heartbeats_and_ends_with_the_retry_line_on_shutdown(tmp_path: Any, gateways: Any) -> None:
    gw, api = gateways(tmp_path, {"out": OUT})
    inst, body = _body(api, "fred", heartbeat=0.05)
    written: list[bytes] = []
    runner = gevent.spawn(body.write_to, written.append)
    gevent.sleep(0.3)
    gw.begin_shutdown()
    runner.get(timeout=DEADLINE)
    assert written[0] == b"retry: %d\n\n" % streaming.SSE_RETRY_MS
    assert written[-1] == b"retry: %d\n\n" % streaming.SSE_DRAIN_RETRY_MS
    assert set(written[1:-1]) == {b": keepalive\n\n"} and len(written) >= 4
    assert inst.refs == 0
