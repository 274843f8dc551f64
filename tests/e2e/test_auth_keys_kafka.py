"""API keys shared across gateway hosts through real Kafka: two gateways (``gunicorn -w 2``
each, their own data directories, as two hosts) on one broker; a key made on one is accepted by
the other, and once deleted on one it is refused by the other."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.clients import held_steady
from tests.e2e.server import Gunicorn
from tests.e2e.test_auth_keys import ADMIN, call, create_key, rights, start_keys_gateway


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> tuple[Gunicorn, Gunicorn]:
    env = {"STREAMS_KAFKA_BROKERS": kafka_bootstrap}
    first = start_keys_gateway(tmp_path_factory.mktemp("host-a"), workers=2, env=env)
    try:
        second = start_keys_gateway(tmp_path_factory.mktemp("host-b"), workers=2, env=env)
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
