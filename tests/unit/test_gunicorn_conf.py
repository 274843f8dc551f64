"""What ``gunicorn.conf.py`` tells gunicorn, read the way gunicorn reads it (the file executed in
a fresh interpreter with the gateway's environment): one control socket per gateway instance,
or none, and the Prometheus directory that makes ``/metrics`` sum all workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, runpy
conf = runpy.run_path("gunicorn.conf.py")
print(json.dumps({
    "control_socket": conf.get("control_socket"),
    "control_socket_disable": conf.get("control_socket_disable", False),
    "own_metrics_dir": conf.get("OWN_METRICS_DIR"),
    "env_metrics_dir": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
}))
"""


def read_conf(**env: str) -> dict[str, object]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMS_", "PROMETHEUS_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env={**full, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_control_socket_lives_in_the_data_dir(tmp_path: Path) -> None:
    conf = read_conf(STREAMS_DATA_DIR=str(tmp_path))
    assert conf["control_socket"] == str(tmp_path / "gunicorn.ctl")
    assert conf["control_socket_disable"] is False


def test_control_socket_off_or_elsewhere(tmp_path: Path) -> None:
    off = read_conf(STREAMS_DATA_DIR=str(tmp_path), STREAMS_CONTROL_SOCKET="off")
    assert (off["control_socket"], off["control_socket_disable"]) == (None, True)
    there = read_conf(STREAMS_CONTROL_SOCKET="/run/streams/gw.ctl")
    assert there["control_socket"] == "/run/streams/gw.ctl"


def test_metrics_dir_made_by_the_gateway_unless_the_operator_set_one(tmp_path: Path) -> None:
    own = read_conf(STREAMS_DATA_DIR=str(tmp_path))
    assert own["own_metrics_dir"] == own["env_metrics_dir"] == str(tmp_path / "prometheus")
    theirs = read_conf(STREAMS_DATA_DIR=str(tmp_path), PROMETHEUS_MULTIPROC_DIR="/srv/prom")
    assert (theirs["own_metrics_dir"], theirs["env_metrics_dir"]) == (None, "/srv/prom")
    off = read_conf(STREAMS_DATA_DIR=str(tmp_path), STREAMS_METRICS="false")
    assert (off["own_metrics_dir"], off["env_metrics_dir"]) == (None, None)
    # Empty would put prometheus-client's files in the working directory: treated as unset.
    empty_off = read_conf(STREAMS_DATA_DIR=str(tmp_path), STREAMS_METRICS="false", PROMETHEUS_MULTIPROC_DIR="")
    assert (empty_off["own_metrics_dir"], empty_off["env_metrics_dir"]) == (None, None)
    empty_on = read_conf(STREAMS_DATA_DIR=str(tmp_path), PROMETHEUS_MULTIPROC_DIR="")
    assert empty_on["env_metrics_dir"] == str(tmp_path / "prometheus")


def test_a_bad_setting_stops_gunicorn_with_its_name() -> None:
    full = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env={**full, "STREAMS_TRUSTED_PROXIES": "nope"},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "streams: STREAMS_TRUSTED_PROXIES='nope': 'nope' is not an IP address or CIDR network\n"
