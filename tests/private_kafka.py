"""A Kafka of one test module alone: ``deploy/kafka/run.sh`` on its own ports and data directory,
for tests that stop and start the broker under a client (the shared Kafka must stay up)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import free_port, port_free

ROOT = Path(__file__).resolve().parents[1]
RUN_SH = ROOT / "deploy" / "kafka" / "run.sh"


class PrivateKafka:
    """One broker; ``run("stop")`` and ``run("start")`` take it away and bring it back.
    ``port`` (with the next one for the controller) is found free unless given; ``env`` adds
    ``run.sh`` settings (``KAFKA_SECURITY``...)."""

    def __init__(self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port if port is not None else free_port_pair()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **(env or {}),
            "KAFKA_PORT": str(self.port),
            "KAFKA_DATA_DIR": str(data_dir),
            "PYTHON": sys.executable,
        }

    def run(self, command: str) -> str:
        """``run.sh command``; what it said on stderr."""
        done = subprocess.run(
            ["bash", str(RUN_SH), command], env=self.env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, f"run.sh {command} failed:\n{done.stdout}\n{done.stderr}"
        return done.stderr


def free_port_pair() -> int:
    """9095 (with 9096 for the controller) when free, else two free ports in a row."""
    for attempt in range(50):
        port = 9095 if attempt == 0 else free_port()
        if port_free(port) and port_free(port + 1):
            return port
    raise RuntimeError("no two free ports in a row")


def started_private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    """The body of a ``private_kafka`` fixture: skips where no Kafka can run, stops it at the end."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed: no private Kafka")
    if not list((ROOT / "deploy" / "kafka" / ".cache").glob("classpath-*.txt")):
        pytest.skip("Kafka jars are not fetched (deploy/kafka/.cache): run `deploy/kafka/run.sh start` once")
    kafka = PrivateKafka(tmp_path_factory.mktemp("private-kafka"))
    kafka.run("start")
    try:
        yield kafka
    finally:
        kafka.run("stop")
