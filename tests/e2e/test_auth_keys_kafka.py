"""API keys shared across gateway hosts through real Kafka: two gateways (``gunicorn -w 2``
each, their own data directories, as two hosts) on one broker; a key made on one is accepted by
the other, and once deleted on one it is refused by the other; a key's quota is split between
the hosts."""

from __future__ import annotations

import pytest
import requests

from streams.ratelimits import host_share
from tests.e2e.clients import held_steady
from tests.e2e.server import Gunicorn, wait_until_every_worker_sees_hosts
from tests.e2e.test_auth_keys import ADMIN, call, create_key, rights, start_keys_gateway

WORKERS = 2


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> tuple[Gunicorn, Gunicorn]:
    env = {"STREAMS_KAFKA_BROKERS": kafka_bootstrap}
    first = start_keys_gateway(tmp_path_factory.mktemp("host-a"), workers=WORKERS, env=env)
    try:
        second = start_keys_gateway(tmp_path_factory.mktemp("host-b"), workers=WORKERS, env=env)
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def test_a_key_made_on_one_host_is_accepted_on_the_other_and_revoked_everywhere(hosts: tuple[Gunicorn, Gunicorn]) -> None:
    first, second = hosts
    key = create_key(first, alias="cross-host", access_rights=rights("keys-a"))
    held_steady("the other host accepts the key", lambda: call(second, "keys-a", key).status_code == 200, bound=5, settle=1)
    assert requests.get(second.url(f"/tyk/keys/{key}"), headers=ADMIN, timeout=10).json()["alias"] == "cross-host"
    assert requests.delete(first.url(f"/tyk/keys/{key}"), headers=ADMIN, timeout=10).json()["action"] == "deleted"
    took = held_steady("the other host refuses the deleted key",
                       lambda: call(second, "keys-a", key).status_code == 401, bound=2, settle=1.5)
    assert took <= 2
    assert call(first, "keys-a", key).status_code == 401


def test_a_keys_quota_is_shared_by_the_hosts_within_the_documented_bound(hosts: tuple[Gunicorn, Gunicorn]) -> None:
    wait_until_every_worker_sees_hosts(list(hosts), WORKERS)
    quota = 4
    key = create_key(hosts[0], alias="shared-quota", access_rights=rights("keys-a"), quota_max=quota, quota_renewal_rate=3600)
    held_steady("the other host accepts the key", lambda: requests.get(
        hosts[1].url(f"/tyk/keys/{key}"), headers=ADMIN, timeout=10).status_code == 200, bound=5, settle=0.5)
    statuses = {server.port: [call(server, "keys-a", key).status_code for _ in range(quota)] for server in hosts}
    admitted = {port: codes.count(200) for port, codes in statuses.items()}
    print(f"quota {quota} on 2 hosts, admitted per host: {admitted}")
    # Each host admits its share, ceil(quota / hosts); together at most quota + hosts - 1 (README).
    assert list(admitted.values()) == [host_share(quota, 2)] * 2, statuses
    assert sum(admitted.values()) <= quota + 2 - 1
    assert all(code in (200, 429) for codes in statuses.values() for code in codes), statuses
