"""What an operator sees of two gateways on one host: metrics per API and stream summed over
all workers, the client address behind trusted proxies only, and a control socket each.

Two real gunicorns run side by side (different ports and data dirs, one definitions directory):
``plain`` (-w 4, no trusted proxies) and ``proxied`` (-w 2, ``STREAMS_TRUSTED_PROXIES`` =
127.0.0.1). Both serve APIs ``alpha`` and ``beta``, each with a stream named ``in`` that echoes
the client address it was given.
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from gunicorn.ctl.client import ControlClient
from prometheus_client import multiprocess

from tests.e2e.server import Gunicorn, start_gunicorn

API = """\
openapi: 3.0.3
info: {{title: {name}, version: 1.0.0}}
paths: {{}}
x-tyk-api-gateway:
  info: {{name: {name}, state: {{active: true}}}}
  server: {{listenPath: {{value: /{name}/}}}}
  middleware: {{global: {{trafficLogs: {{enabled: true}}, contextVariables: {{enabled: true}}}}}}
x-tyk-streaming:
  streams:
    in:
      input:
        http_server: {{path: /push}}
      pipeline:
        processors:
          - mapping: |
              root.addr = "$tyk_context.remote_addr"
              root.ip = @http_server_remote_ip
              root.api = "{name}"
      output:
        sync_response: {{}}
"""


@pytest.fixture(scope="module")
def apis_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("apis")
    for name in ("alpha", "beta"):
        (directory / f"{name}.yaml").write_text(API.format(name=name))
    return directory


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, apis_dir: Path) -> Iterator[dict[str, Gunicorn]]:
    env = {"STREAMS_DEFINITIONS_DIR": str(apis_dir), "PROMETHEUS_MULTIPROC_DIR": ""}
    plain = start_gunicorn(tmp_path_factory.mktemp("plain"), workers=4, env=env)
    try:
        ctl = tmp_path_factory.mktemp("ctl") / "proxied.ctl"
        proxied = start_gunicorn(
            tmp_path_factory.mktemp("proxied"), workers=2,
            env={**env, "STREAMS_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "STREAMS_CONTROL_SOCKET": str(ctl)},
        )
        proxied.ctl = ctl  # type: ignore[attr-defined]
    except BaseException:
        plain.stop()
        raise
    yield {"plain": plain, "proxied": proxied}
    proxied.stop()
    plain.stop()


def push(server: Gunicorn, api: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    # A fresh connection per request: gunicorn's workers take them in turn at random.
    resp = requests.post(server.url(f"/{api}/push"), data=b"{}", headers=headers or {}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
            if got == labels:
                return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_per_api_summed_over_workers(servers: dict[str, Gunicorn]) -> None:
    server = servers["plain"]
    sent = {"alpha": 23, "beta": 11}
    for api, count in sent.items():
        for _ in range(count):
            assert push(server, api)["api"] == api
    # Any worker answers /metrics with the sum over all of them, per API.
    for _ in range(6):
        text = requests.get(server.url("/metrics"), timeout=10).text
        for api, count in sent.items():
            assert sample(text, "streams_input_received_total", api=api, stream="in") == count
            assert sample(text, "streams_output_sent_total", api=api, stream="in") == count
    # ... and the requests were really spread over several workers, each counting its own.
    files = glob.glob(str(server.data_dir / "prometheus" / "counter_*.db"))
    per_worker = []
    for path in files:
        for family in multiprocess.MultiProcessCollector.merge([path], accumulate=True):
            for s in family.samples:
                if s.name == "streams_input_received_total" and s.labels == {"api": "alpha", "stream": "in"}:
                    per_worker.append(s.value)
    assert sum(per_worker) == sent["alpha"]
    assert len([v for v in per_worker if v > 0]) >= 2, per_worker


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(servers: dict[str, Gunicorn]) -> None:
    server = servers["plain"]
    reply = push(server, "alpha", {"X-Forwarded-For": "6.6.6.6", "X-Request-Id": "forged-xff-check"})
    assert (reply["addr"], reply["ip"]) == ("127.0.0.1", "127.0.0.1")
    line = wait_for_log(server, "forged-xff-check")
    assert "remote_addr=127.0.0.1" in line and "6.6.6.6" not in line


def test_a_trusted_proxy_names_the_client(servers: dict[str, Gunicorn]) -> None:
    server = servers["proxied"]
    # The client forged the left part; the proxy (trusted 10.x) appended what it saw.
    reply = push(server, "beta", {"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.2.3", "X-Request-Id": "trusted-xff"})
    assert (reply["addr"], reply["ip"]) == ("203.0.113.9", "203.0.113.9")
    assert "remote_addr=203.0.113.9" in wait_for_log(server, "trusted-xff")
    assert push(server, "beta")["addr"] == "127.0.0.1"


def test_two_gateways_on_one_host_each_have_their_control_socket(servers: dict[str, Gunicorn]) -> None:
    sockets = {
        "plain": str(servers["plain"].data_dir / "gunicorn.ctl"),
        "proxied": str(servers["proxied"].ctl),  # type: ignore[attr-defined]
    }
    for name, path in sockets.items():
        server = servers[name]
        assert push(server, "alpha")["api"] == "alpha"
        assert f"Control socket listening at {path}" in server.log()
        with ControlClient(path, timeout=10) as client:
            stats = client.send_command("show stats")
        assert stats["pid"] == server.process.pid
        assert stats["workers_current"] == {"plain": 4, "proxied": 2}[name]


def wait_for_log(server: Gunicorn, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log().splitlines():
            if needle in line and "streams.traffic" in line:
                return line
        time.sleep(0.1)
    pytest.fail(f"no traffic log line with {needle!r}:\n{server.log()[-3000:]}")


def test_metrics_dir_starts_empty(tmp_path: Path) -> None:
    """Counts of an earlier run in the data dir are not summed into the next one."""
    data = tmp_path / "data" / "prometheus"
    data.mkdir(parents=True)
    (data / "counter_999999.db").write_bytes(b"stale")
    server = start_gunicorn(tmp_path, workers=1, env={"PROMETHEUS_MULTIPROC_DIR": ""})
    try:
        assert not (data / "counter_999999.db").exists()
        assert requests.get(server.url("/metrics"), timeout=10).status_code == 200
    finally:
        server.stop()
    assert data.is_dir()
