"""Start and stop what the bench runs beside the gateway, and read their processes' cost.

Everything here is started so that it can be stopped for sure: Kafka through the project's own
``deploy/kafka/run.sh`` on a fresh data directory and port (never the shared broker), Bento in a
process group of its own (SIGTERM, then SIGKILL to the whole group).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
RUN_SH = ROOT / "deploy" / "kafka" / "run.sh"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class PrivateKafka:
    """A single-node Kafka of this bench alone: own port, own data directory, stopped at the end."""

    def __init__(self, port: int, controller_port: int) -> None:
        self.port = port
        self.controller_port = controller_port  # not port+1: that is often the shared broker's controller
        self.data_dir = Path(tempfile.mkdtemp(prefix="streams-bench-kafka-"))
        self.bootstrap = f"127.0.0.1:{port}"
        self.started = False

    def _run(self, command: str, timeout: float) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_DATA_DIR": str(self.data_dir),
            "PYTHON": sys.executable,
        }
        return subprocess.run(["bash", str(RUN_SH), command], env=env, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        log(f"kafka: starting a private broker on {self.bootstrap} (data {self.data_dir}) ...")
        self.started = True  # from here on stop() must run, even if start fails half-way
        done = self._run("start", timeout=300)
        if done.returncode != 0:
            raise SystemExit(f"kafka did not start on {self.bootstrap}:\n{done.stderr[-3000:]}")
        log("kafka: up")

    def create_topics(self, names: list[str]) -> None:
        create_topics(self.bootstrap, names)

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if not self.started:
            return
        log("kafka: stopping ...")
        self._run("stop", timeout=120)
        self.started = False


def create_topics(bootstrap: str, names: list[str]) -> None:
    """Create the topics up front, one partition each (the broker's default), as a deployment
    has them: consumers that join before their topic exists wait for a metadata refresh and a
    rebalance, which would show up as seconds of latency that no steady state has."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="streams-bench-peer")
    try:
        for name in names:
            try:
                admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    log(f"kafka: topics {', '.join(names)}")


def bento_config(template: Path, bootstrap: str, prefix: str) -> str:
    """The seed as a Bento streams body: broker address filled in, topics and groups renamed with
    ``prefix`` so the peer never shares a topic or consumer group with the gateway's seed."""
    streams = yaml.safe_load(template.read_text())

    def walk(node: object) -> None:
        if isinstance(node, dict):
            kafka = node.get("kafka")
            if isinstance(kafka, dict):
                kafka["addresses"] = [bootstrap]
                if "topic" in kafka:
                    kafka["topic"] = prefix + kafka["topic"]
                if "topics" in kafka:
                    kafka["topics"] = [prefix + t for t in kafka["topics"]]
                if "consumer_group" in kafka:
                    kafka["consumer_group"] = prefix + kafka["consumer_group"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(streams)
    return yaml.safe_dump(streams, sort_keys=False)


class Bento:
    """The peer in streams mode: one process, the seed's endpoints at the root of ``port``."""

    def __init__(self, binary: Path, port: int, log_path: Path) -> None:
        self.binary = binary
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, config: str) -> None:
        log(f"bento: starting on {self.base} ...")
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [str(self.binary), "-s", f"http.address=127.0.0.1:{self.port}", "-s", "logger.level=warn",
                 "-s", "shutdown_timeout=2s", "streams", "--prefix-stream-endpoints=false"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"bento exited with {self.process.returncode}: see {self.log_path}")
            try:
                if requests.get(self.base + "/ready", timeout=2).status_code in (200, 503):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"bento did not answer on {self.base}: see {self.log_path}")
            time.sleep(0.1)
        resp = requests.post(self.base + "/streams", data=config.encode(), timeout=30)
        if resp.status_code != 200:
            raise SystemExit(f"bento refused the streams ({resp.status_code}): {resp.text[:2000]}")
        log("bento: streams in, out, Worker created")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        log("bento: stopping ...")
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (e.g. a gunicorn master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_kib(pids: list[int]) -> int:
    """Resident memory of these processes together, in KiB."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def settle(roots: dict[str, int], *, below: float = 0.10, limit: float = 60.0, sleep=time.sleep) -> None:
    """Wait until each server tree uses under ``below`` of a core (backlogs worked off, groups
    joined), so one server's leftovers do not steal CPU from the other's measurement."""
    deadline = time.monotonic() + limit
    while True:
        trees = {name: process_tree(pid) for name, pid in roots.items()}
        before = {name: cpu_seconds(pids) for name, pids in trees.items()}
        sleep(1.0)
        busy = {name: cpu_seconds(trees[name]) - before[name] for name in trees}
        if all(v < below for v in busy.values()):
            return
        if time.monotonic() > deadline:
            log(f"  still busy after {limit:.0f}s, measuring anyway: " + ", ".join(f"{k} {v:.0%}" for k, v in busy.items()))
            return
