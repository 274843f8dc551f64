"""The side-by-side bench's own parts (bench/sidebyside): what it feeds the peer, how it reads
streams and how it turns numbers into ratios, checked without building or starting the peer."""

from __future__ import annotations

import http.server
import os
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from sidebyside import build, load, procs, table  # noqa: E402

# The peer's real config where the shared folder sits beside the checkout (or one level up for a
# worktree); a copy of its shape otherwise.
SEED_STREAMS = next(
    (p for p in (b / "shared" / "peer" / "bento" / "seed-streams.yaml" for b in (ROOT.parent, ROOT.parent.parent)) if p.is_file()),
    ROOT / "missing-seed-streams.yaml",
)
SAMPLE = """
in:
  input: {http_server: {path: /push-event}}
  output:
    broker:
      outputs:
        - kafka: {addresses: [KAFKA_ADDRESS], topic: jobs}
        - sync_response: {}
Worker:
  input: {kafka: {addresses: [KAFKA_ADDRESS], consumer_group: worker, topics: [jobs]}}
  output: {kafka: {addresses: [KAFKA_ADDRESS], topic: completed}}
out:
  input: {kafka: {addresses: [KAFKA_ADDRESS], consumer_group: alice, topics: [completed]}}
  output: {http_server: {path: /get-event}}
"""


def test_peer_config_gets_the_broker_and_topics_of_its_own(tmp_path: Path) -> None:
    template = SEED_STREAMS if SEED_STREAMS.is_file() else tmp_path / "seed.yaml"
    if template != SEED_STREAMS:
        template.write_text(SAMPLE)
    text = procs.bento_config(template, "127.0.0.1:9999", "bento-")
    assert "KAFKA_ADDRESS" not in text
    streams = yaml.safe_load(text)
    assert set(streams) == {"in", "Worker", "out"}
    assert streams["in"]["output"]["broker"]["outputs"][0]["kafka"] == {"addresses": ["127.0.0.1:9999"], "topic": "bento-jobs"}
    worker_in = streams["Worker"]["input"]["kafka"]
    assert (worker_in["consumer_group"], worker_in["topics"]) == ("bento-worker", ["bento-jobs"])
    assert streams["Worker"]["output"]["kafka"]["topic"] == "bento-completed"
    out_in = streams["out"]["input"]["kafka"]
    assert (out_in["consumer_group"], out_in["topics"]) == ("bento-alice", ["bento-completed"])
    assert text.count("127.0.0.1:9999") == 4


def test_ratio_reads_as_better_when_at_least_one() -> None:
    faster = table.Row("push req/s", 1000.0, 1500.0, higher_is_better=True)
    slower_latency = table.Row("p50", 10.0, 40.0, higher_is_better=False, unit="ms")
    missing = table.Row("p99", None, 5.0, higher_is_better=False)
    assert faster.ratio == pytest.approx(1.5)
    assert slower_latency.ratio == pytest.approx(0.25)
    assert missing.ratio is None
    lines = table.render([faster, slower_latency, missing]).splitlines()
    assert len(lines) == 5
    assert "1.50×" in lines[2] and "streams/Bento" in lines[2]
    assert "0.25×" in lines[3] and "Bento/streams" in lines[3]
    assert "–" in lines[4]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert load.percentile(values, 0.5) == 51.0
    assert load.percentile(values, 0.99) == 100.0
    assert load.percentile([7.0], 0.99) == 7.0


def test_cached_peer_binary_is_reused_and_keyed_by_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in build.SOURCE_FILES:
        (src / name).write_text(f"// {name}\n")
    key = build.source_hash(src)
    cached = tmp_path / "cache" / f"benthos-peer-{key}"
    cached.parent.mkdir()
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)
    assert build.build_peer(src, tmp_path / "cache") == cached  # no go build: it is cached
    (src / "main.go").write_text("// changed\n")
    assert build.source_hash(src) != key


def test_process_tree_and_its_memory() -> None:
    # The child says when its interpreter is up: measured any sooner (a busy machine), it may
    # still be the few hundred KiB of a process that has only just been exec'd.
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        tree = procs.process_tree(os.getpid())
        assert child.pid in tree and tree[0] == os.getpid()
        assert procs.rss_kib([child.pid]) > 1000  # a Python interpreter holds megabytes
        assert procs.rss_kib(tree) > procs.rss_kib([child.pid])
    finally:
        child.kill()
        child.wait()


class _Streamer(http.server.BaseHTTPRequestHandler):
    """Sends three messages, chunked like the gateway and the peer do, a little apart."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        sse = self.headers.get("Accept") == "text/event-stream"
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(3):
            body = f'{{"n": {n}, "sent_at": {time.time():.6f}}}'
            data = (f"id: {n}\ndata: {body}\n\n" if sse else body + "\n").encode()
            if n == 1:
                data = (": comment\n\n" if sse else "\n").encode() + data
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            time.sleep(0.05)
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("fmt", ["sse", "lines"])
def test_reader_process_records_each_message_once(tmp_path: Path, fmt: str) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Streamer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    reader = load.Reader(f"http://127.0.0.1:{server.server_address[1]}/s", fmt, tmp_path / "out.txt")
    try:
        assert reader.wait_for(lambda: "# closed" in reader.lines(), 20), reader.lines()
    finally:
        reader.stop()
        server.shutdown()
        server.server_close()
    arrivals = reader.arrivals()
    assert sorted(arrivals) == [0, 1, 2]
    assert all(len(v) == 1 and 0 <= v[0] < 5000 for v in arrivals.values())
    assert "# status 200" in reader.lines()
