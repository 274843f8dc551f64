"""The shipped nginx site (deploy/nginx/streams.conf) in front of gunicorn, with Debian's nginx.

The site file is used as written except for the addresses: its upstream points at the test's
gunicorn and it listens on a free loopback port. REST, SSE and WebSocket must all pass through:
SSE events must arrive one by one (no proxy buffering) and the WebSocket upgrade must reach the
gateway.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import SSEClient, WSReader
from tests.e2e.conftest import get_result, push
from tests.e2e.server import ROOT, free_port, start_gunicorn

SITE = ROOT / "deploy" / "nginx" / "streams.conf"


def nginx_config(site: str, upstream_port: int, listen_port: int, prefix: Path) -> str:
    site = re.sub(r"(upstream streams_gateway \{)(.*?)(\n\s*keepalive)", lambda m: (
        f"{m.group(1)}\n    server 127.0.0.1:{upstream_port};{m.group(3)}"
    ), site, flags=re.S)
    site = re.sub(r"listen \[::\]:80;\n", "", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    return f"""
user root;
worker_processes 1;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{site}
}}
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed (apt-get install nginx-light); .ci/run installs it", pytrace=False)
    gunicorn = start_gunicorn(tmp_path_factory.mktemp("gunicorn-nginx"), workers=2)
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(SITE.read_text(), gunicorn.port, port, prefix))
    subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(prefix)], check=True, capture_output=True)
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/hello", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((prefix / "error.log").read_text())
            time.sleep(0.1)
        gunicorn.nginx_port = port  # type: ignore[attr-defined]
        yield gunicorn
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        gunicorn.stop()


class ThroughNginx:
    """Address helper that points the shared client helpers at nginx instead of gunicorn."""

    def __init__(self, port: int) -> None:
        self.port = port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


def test_rest_push_and_get_through_nginx(proxied, user):
    front = ThroughNginx(proxied.nginx_port)
    job_id = push(front, user, {"message": "via nginx"}).json()["job_id"]
    result = get_result(front, user)
    assert result.status_code == 200, result.text
    assert result.json()["job_id"] == job_id


def test_sse_events_pass_through_unbuffered(proxied, user):
    front = ThroughNginx(proxied.nginx_port)
    sse = SSEClient(front.url(f"/stream-demo/get-event?user={user}")).start()
    try:
        assert sse.opened.wait(10) and sse.status == 200
        first = push(front, user, {"n": 1}).json()["job_id"]
        # One event must arrive on its own, before anything else is pushed: a buffering proxy
        # would hold it back.
        events = sse.wait(1, timeout=30)
        assert [e.json()["job_id"] for e in events] == [first]
        second = push(front, user, {"n": 2}).json()["job_id"]
        events = sse.wait(2, timeout=30)
        assert [e.json()["job_id"] for e in events] == [first, second]
    finally:
        sse.close()


def test_websocket_upgrade_through_nginx(proxied, user):
    front = ThroughNginx(proxied.nginx_port)
    ws = WSReader(front.ws_url(f"/stream-demo/ws-in?user={user}")).start()
    try:
        job_id = push(front, user, {"n": 1}).json()["job_id"]
        frames = ws.wait(1, timeout=30)
        assert [json.loads(f)["job_id"] for f in frames] == [job_id]
    finally:
        ws.close()
