"""Broken or colliding definition files next to the seed never stop the gateway.

A real ``gunicorn wsgi:app -w 4`` reads a definitions directory holding the seed plus files
nested 600 and 5000 levels deep (YAML and JSON), a Bloblang mapping nested 2000 parentheses
deep, and a second API on the seed's listen path. Every worker boots, the seed keeps serving
(push -> result), and each problem is logged naming its file. A newcomer on the seed's path,
added while the seed serves, never takes it over, also not in workers started afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import get_result, push
from tests.e2e.server import ROOT, Gunicorn, start_gunicorn

WORKERS = 4
SEED = ROOT / "deploy" / "apis" / "streams-demo.yaml"
SEED_MAPPING = 'root.job_id = uuid_v4()'


def hijacker(name: str) -> str:
    """The seed under another API name with a push mapping that marks its replies."""
    text = SEED.read_text().replace("name: stream-demo", f"name: {name}")
    assert SEED_MAPPING in text
    return text.replace(SEED_MAPPING, SEED_MAPPING + "\n              root.hijacked = true")


def write_bad_files(directory: Path) -> list[str]:
    names = []
    for depth in (600, 5000):
        # Block style for 600 levels; flow style for 5000 (block style would be 25 MB).
        block = "a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth if depth <= 600 else 0))
        yaml_text = block + "  " * (depth + 1) + "x: 1\n" if depth <= 600 else "a: " + "[" * depth + "]" * depth + "\n"
        (directory / f"deep-{depth}.yaml").write_text(yaml_text)
        (directory / f"deep-{depth}.json").write_text('{"a": ' + '{"b": ' * depth + "1" + "}" * depth + "}")
        names += [f"deep-{depth}.yaml", f"deep-{depth}.json"]
    deep_mapping = SEED.read_text().replace("name: stream-demo", "name: deep-mapping").replace(
        "value: /stream-demo/", "value: /deep-mapping/"
    ).replace(SEED_MAPPING, SEED_MAPPING + "\n              root.x = " + "(" * 2000 + "1" + ")" * 2000)
    (directory / "deep-mapping.yaml").write_text(deep_mapping)
    names.append("deep-mapping.yaml")
    return names


def workers_of(server: Gunicorn) -> list[int]:
    """The pids whose parent is gunicorn's master."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid:
                pids.append(int(entry))
    return pids


def restart_workers(server: Gunicorn) -> None:
    """Kill every worker; the master starts new ones, which load the definitions afresh."""
    old = set(workers_of(server))
    assert len(old) == WORKERS, old
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = set(workers_of(server))
        if len(now) == WORKERS and not now & old:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"workers not replaced: {old} -> {workers_of(server)}")
    # A worker accepts requests once its app has loaded and its streams started.
    while time.monotonic() < deadline:
        started = server.log()
        if all(f"streams started in worker {pid}" in started for pid in now):
            return
        time.sleep(0.2)
    pytest.fail(f"new workers {now} did not start")


def assert_seed_serves(server: Gunicorn, user: str, pushes: int = 12) -> None:
    """Fresh connections land on different workers: each push answers the seed's echo."""
    for i in range(pushes):
        resp = push(server, user, {"message": f"m{i}"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["user_id"] == user and "job_id" in body and "hijacked" not in body, body
    result = get_result(server, user)
    assert result.status_code == 200 and result.json()["result"] == "bar", result.text


def problems(server: Gunicorn) -> list[str]:
    lines = []
    for line in server.log().splitlines():
        entry = json.loads(line)
        if entry["msg"].startswith("definition problem:"):
            lines.append(entry["msg"])
    return lines


def start(tmp: Path, defs: Path, watch: bool = True) -> Gunicorn:
    env = {"STREAMS_DEFINITIONS_DIR": str(defs), "STREAMS_LOG_FORMAT": "json"}
    if not watch:
        # Only restarted workers may read the newcomer (a watching worker would report it too).
        env["STREAMS_WATCH_INTERVAL"] = "0"
    return start_gunicorn(tmp, workers=WORKERS, env=env)


def test_deep_and_colliding_files_next_to_the_seed(tmp_path, user):
    defs = tmp_path / "apis"
    defs.mkdir()
    shutil.copy(SEED, defs / "streams-demo.yaml")
    os.utime(defs / "streams-demo.yaml", (1_600_000_000, 1_600_000_000))
    bad = write_bad_files(defs)
    # Sorts before the seed (it would win in name order) but is the newer file.
    (defs / "a-collide.yaml").write_text(hijacker("collider"))
    server = start(tmp_path / "run", defs)
    try:
        assert_seed_serves(server, user)
        found = problems(server)
    finally:
        server.stop()
    for name in bad:
        mine = [p for p in found if name in p]
        assert len(mine) == WORKERS, (name, found)  # each worker reports it once
        assert all("nest" in p for p in mine), mine
    collide = [p for p in found if "a-collide.yaml" in p]
    assert len(collide) == WORKERS and all("streams-demo.yaml" in p for p in collide), collide
    assert all("/stream-demo/" in p and "not served" in p for p in collide)


def test_a_newcomer_never_takes_over_a_served_listen_path(tmp_path, user):
    defs = tmp_path / "apis"
    defs.mkdir()
    shutil.copy(SEED, defs / "streams-demo.yaml")
    server = start(tmp_path / "run", defs, watch=False)
    try:
        assert_seed_serves(server, user, pushes=4)
        # Older than the seed by mtime and first by name: only the stored owner keeps the seed's path.
        newcomer = defs / "0-newcomer.yaml"
        newcomer.write_text(hijacker("newcomer"))
        os.utime(newcomer, (1_000_000_000, 1_000_000_000))
        restart_workers(server)
        assert_seed_serves(server, user)
        found = [p for p in problems(server) if "0-newcomer.yaml" in p]
    finally:
        server.stop()
    assert len(found) == WORKERS and all("streams-demo.yaml" in p for p in found), found
