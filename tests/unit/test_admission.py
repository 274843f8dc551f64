"""``Admission``: a rate limit taken as this host's share, the refusal's words and Retry-After,
and streaming connections held and given back; on a real host state file, one process. Also
who a streaming client is (``Api.client_identity``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.engine.admission import Admission, Refusal, StreamingSlot, shown_identity
from streams.engine.gateway import Api
from streams.engine.host import HostState
from streams.ratelimits import RateLimit


@pytest.fixture
def host(tmp_path: Path) -> Any:
    state = HostState(str(tmp_path))
    yield state
    state.close()


def test_one_host_admits_the_whole_rate(host: HostState) -> None:
    admission = Admission(lambda: host, lambda: 1, 10)
    outcomes = [admission.take(RateLimit("ratelimit/api", 3, 60.0)) for _ in range(4)]
    assert outcomes[:3] == [None, None, None]
    refusal = outcomes[3]
    assert refusal is not None
    assert refusal.message == "API rate limit exceeded: 3 requests per 60s"
    assert 1 <= refusal.retry_after <= 60


def test_with_two_hosts_this_host_admits_its_share_and_says_so(host: HostState) -> None:
    admission = Admission(lambda: host, lambda: 2, 10)
    outcomes = [admission.take(RateLimit("ratelimit/api", 5, 10.0)) for _ in range(4)]
    assert outcomes[:3] == [None, None, None]  # ceil(5 / 2)
    assert outcomes[3] == Refusal(
        "API rate limit exceeded: 5 requests per 10s (3 on each of 2 gateway hosts)", outcomes[3].retry_after
    )


def test_streaming_slots_are_limited_and_given_back_once(host: HostState) -> None:
    admission = Admission(lambda: host, lambda: 1, 2)
    first, second = admission.open_streaming("user:a"), admission.open_streaming("user:a")
    assert isinstance(first, StreamingSlot) and isinstance(second, StreamingSlot)
    refused = admission.open_streaming("user:a")
    assert refused == Refusal("too many streaming connections: at most 2 open at once per client", 1)
    first.close()
    first.close()  # a second close gives nothing more back
    assert isinstance(admission.open_streaming("user:a"), StreamingSlot)
    assert isinstance(admission.open_streaming("user:a"), Refusal)


STREAMS = {
    "per_user": {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"mapping": 'root.user = "$tyk_context.request_data_user"'}]},
        "output": {"http_server": {"path": "/out"}},
    },
    "shared": {"input": {"http_server": {"path": "/shared"}}, "output": {"sync_response": {}}},
}


def test_a_streaming_client_is_the_user_its_stream_is_opened_for() -> None:
    api = Api(None, "demo", "/demo/", False, False, True, STREAMS)  # type: ignore[arg-type]
    alice = api.client_identity("per_user", {"request_data_user": "alice"})
    assert alice is not None and "alice" in alice
    assert alice == api.client_identity("per_user", {"request_data_user": "alice", "remote_addr": "10.0.0.9"})
    assert alice != api.client_identity("per_user", {"request_data_user": "bob"})
    assert api.client_identity("per_user", {"request_data_user": ""}) is None  # no user: by address
    assert api.client_identity("shared", {"request_data_user": "alice"}) is None  # the stream uses none


def test_without_context_variables_no_stream_tells_users_apart() -> None:
    api = Api(None, "demo", "/demo/", False, False, False, STREAMS)  # type: ignore[arg-type]
    assert api.client_identity("per_user", {"request_data_user": "alice"}) is None


def test_logs_show_an_address_but_only_a_digest_of_a_user() -> None:
    assert shown_identity("addr:10.0.0.9") == "addr:10.0.0.9"
    shown = shown_identity('user:["demo", {"token": "secret"}]')
    assert shown.startswith("user#") and "secret" not in shown
