"""The console on a real ``gunicorn wsgi:app -w 2`` started without a configured secret.

The host makes one secret for all its workers and logs the console URL with it once; every
console JSON endpoint refuses a wrong secret with 403 on any worker; and the whole console is
driven by ``tests/browser/console_walkthrough.mjs`` in headless Chromium (playwright-core) and
headless Firefox ESR (puppeteer-core over WebDriver BiDi), the same steps in both: sign in, the
seed API and its streams, an error marked at its line in the editor, a fix saved and served, an
API created and deleted, a push seen in the live tail, the playground with the exact error text
our compiler gives, a phone-sized screen, and the main flows with the keyboard only. Screenshots
go to ``tests/artifacts/console/<browser>/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from streams.playground import Run, evaluate
from tests.e2e.clients import SSEClient
from tests.e2e.conftest import get_result, push
from tests.e2e.server import ROOT, Gunicorn, serve_definitions
from tests.unit.test_console_api import DENIED
from tests.unit.test_console_api import JSON_ENDPOINTS as CONSOLE_JSON_ENDPOINTS

WORKERS = 2
SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
BROWSER_DIR = ROOT / "tests" / "browser"
ARTIFACTS = ROOT / "tests" / "artifacts" / "console"
PLAYGROUND_MAPPING = "root = this\nroot.user = this.user.uppercase("


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Gunicorn:
    server = serve_definitions(tmp_path_factory.mktemp("console"), {"streams-demo.yaml": SEED.read_text()}, workers=WORKERS)
    yield server
    server.stop()


def definitions(server: Gunicorn) -> Path:
    assert server.definitions_dir is not None
    return server.definitions_dir


def made_secret(server: Gunicorn) -> str:
    return (server.data_dir / "management-secret").read_text().strip()


def test_the_host_makes_one_secret_and_logs_the_console_url_once(console_server: Gunicorn) -> None:
    secret = made_secret(console_server)
    url = f"http://127.0.0.1:{console_server.port}/tyk/console/#secret={secret}"
    assert console_server.log().count(url) == 1, console_server.log()[-3000:]
    assert console_server.log().count("console: ") == 1
    # Fresh connections reach both workers: each accepts the one secret.
    for _ in range(WORKERS * 10):
        resp = requests.get(console_server.url("/tyk/console/apis"), headers={"x-tyk-authorization": secret}, timeout=10)
        assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("method, path, body", CONSOLE_JSON_ENDPOINTS)
def test_a_wrong_secret_is_403_on_every_console_endpoint(console_server: Gunicorn, method: str, path: str, body: str | None) -> None:
    for headers in ({}, {"x-tyk-authorization": "wrong"}, {"x-tyk-authorization": made_secret(console_server)[:-1]}):
        resp = requests.request(method, console_server.url(path), data=body, headers=headers, timeout=10)
        assert (resp.status_code, resp.json()) == (403, DENIED), (method, path, headers)


def console_counters(server: Gunicorn) -> dict[str, dict[str, Any]]:
    """The seed API's counters per stream, from the first event of ``/tyk/console/events``."""
    events = SSEClient(server.url("/tyk/console/events"), max_events=1,
                       headers={"x-tyk-authorization": made_secret(server)}).start()
    try:
        [event] = events.wait(1, timeout=30)
    finally:
        events.close()
    return {s["stream"]: s for s in event.json()["streams"] if s["api"] == "stream-demo"}


def test_the_out_stream_counts_what_it_received_once_per_host(console_server: Gunicorn) -> None:
    """The hubs of every worker read ``completed`` for the out stream's GETs: the console's
    "received" is each record once, not once per worker (nor per user)."""
    pushed = 6
    user = f"count-{uuid.uuid4().hex[:8]}"
    before = console_counters(console_server)
    for n in range(pushed):
        assert push(console_server, user, {"n": n}).status_code == 200
    # Each GET on a new connection: the two workers share the reading of the topic.
    for _ in range(pushed):
        got = get_result(console_server, user)
        assert got.status_code == 200 and got.json()["user_id"] == user, got.text
    deadline = time.monotonic() + 30
    while True:
        now = console_counters(console_server)
        worker_sent = now["Worker"]["sent"]  # the records the Worker stream wrote to completed
        if now["out"]["received"] == worker_sent or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert worker_sent - before.get("Worker", {}).get("sent", 0) == pushed
    # A new user's position starts at the topic's oldest record: the GETs read all of it, ours last.
    assert now["out"]["received"] == worker_sent, (before, now)
    assert now["out"]["received"] - before.get("out", {}).get("received", 0) >= pushed
    assert now["out"]["sent"] - before.get("out", {}).get("sent", 0) == pushed


def restore_seed(server: Gunicorn) -> None:
    """Put the seed back as written (a walkthrough before saved its own edit) and wait until
    every worker serves it again: a push's reply no longer has the edit's field."""
    shutil.copy(SEED, definitions(server) / "streams-demo.yaml")
    deadline = time.monotonic() + 30
    served = [push(server, f"restore-{n}", {"m": n}).json() for n in range(4)]
    while any("via" in reply for reply in served):
        assert time.monotonic() < deadline, served
        time.sleep(0.5)
        served = [push(server, f"restore-{n}", {"m": n}).json() for n in range(4)]


BROWSERS = {
    "chromium": ("chromium", "playwright-core"),
    "firefox": ("firefox-esr", "puppeteer-core"),
}
"""Browser -> (its executable, the npm package that drives it)."""


@pytest.mark.parametrize("browser", sorted(BROWSERS))
def test_the_console_in_a_headless_browser(console_server: Gunicorn, browser: str) -> None:
    executable_name, driver = BROWSERS[browser]
    executable = shutil.which(executable_name)
    node = shutil.which("node")
    if executable is None or node is None or not (BROWSER_DIR / "node_modules" / driver).is_dir():
        pytest.fail(
            f"the browser test needs {executable_name} (apt-get install {executable_name}), Node.js and "
            "`npm ci` in tests/browser (.ci/run installs them)"
        )
    restore_seed(console_server)
    seed_lines = SEED.read_text().splitlines()
    error_line = next(i for i, line in enumerate(seed_lines, 1) if line.strip() == "path: /push-event")
    expected_error = evaluate(Run(PLAYGROUND_MAPPING, '{"message": "hi"}', {}))["parse_error"]
    assert expected_error.startswith("failed to parse mapping: line 2 char 33: ")
    artifacts = ARTIFACTS / browser
    shutil.rmtree(artifacts, ignore_errors=True)
    env = {
        **os.environ,
        "CONSOLE_BROWSER": browser,
        "CHROMIUM" if browser == "chromium" else "FIREFOX": executable,
        "CONSOLE_BASE": console_server.base,
        "CONSOLE_SECRET": made_secret(console_server),
        "CONSOLE_ARTIFACTS": str(artifacts),
        "CONSOLE_ERROR_LINE": str(error_line),
        "CONSOLE_USER": f"console-{uuid.uuid4().hex[:8]}",
        "CONSOLE_PG_MAPPING": PLAYGROUND_MAPPING,
        "CONSOLE_PG_ERROR": expected_error,
    }
    log_before = len(console_server.log())
    done = subprocess.run(
        [node, "console_walkthrough.mjs"], cwd=BROWSER_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\ngateway log:\n{console_server.log()[-3000:]}"
    assert f"console walkthrough passed in {browser}" in done.stdout
    for shot in ("01-apis", "02-editor-error", "04-live-tail", "05-playground-error", "06-phone-apis"):
        assert (artifacts / f"{shot}.png").stat().st_size > 1000, shot
    # The page calls the management API only signed in: the one refusal is the wrong secret's.
    refused = [line for line in console_server.log()[log_before:].splitlines() if " refused: " in line]
    assert [line.split("streams.management: ")[1] for line in refused] == [
        "GET /tyk/console/apis refused: invalid or missing x-tyk-authorization"
    ], refused

    # What the browser saved is on disk, still the YAML it edited (comments kept), and served.
    saved = (definitions(console_server) / "streams-demo.yaml").read_text()
    assert 'root.via = "console"' in saved and "# metrics:" in saved
    assert not (definitions(console_server) / "console-copy.yaml").exists()
    user = f"u-{uuid.uuid4().hex[:8]}"
    pushed = requests.post(console_server.url("/stream-demo/push-event"), params={"user": user},
                           data=json.dumps({"m": 1}), timeout=30)
    assert pushed.json()["via"] == "console"
