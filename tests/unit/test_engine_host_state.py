"""Host state shared by a host's worker processes: caches (Bento's ``Add`` semantics) and fixed-
window rate limits with exact counts across real processes, expiry by TTL, and connections
that never cross a fork.

The cross-process tests start real Python processes on the same data directory; each waits on
a start line so that all of them hammer the same keys at once.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from streams.engine.host import STATE_FILE, HostState

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4


def run_together(data_dir: Path, body: str, processes: int = PROCESSES) -> list[Any]:
    """Run ``body`` in ``processes`` fresh Python processes at once; ``host`` (a ``HostState``
    on ``data_dir``) and ``n`` (the process's number) are defined for it, and it must print one
    JSON value, which is returned per process."""
    script = textwrap.dedent(
        """
        import json, sys
        from streams.engine.host import HostState
        host = HostState(sys.argv[1])
        n = int(sys.argv[2])
        host.cache_get("warm-up", "")  # open the connection before the start line
        print("ready", flush=True)
        sys.stdin.readline()
        """
    ) + textwrap.dedent(body)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(data_dir), str(n)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture
def host(tmp_path: Path) -> Any:
    state = HostState(str(tmp_path))
    yield state
    state.close()


# -- caches ------------------------------------------------------------------------------------


def test_cache_add_of_the_same_keys_from_four_processes_stores_each_key_once(tmp_path: Path) -> None:
    results = run_together(
        tmp_path,
        """
        import random
        keys = [f"k{i}" for i in range(50)]
        random.Random(n).shuffle(keys)
        added = [key for key in keys if host.cache_add("ids", key, str(n).encode(), ttl=300)]
        print(json.dumps(added))
        """,
    )
    added = [key for per_process in results for key in per_process]
    assert len(added) == 50
    assert sorted(added) == sorted(f"k{i}" for i in range(50))


def test_cache_add_refuses_a_live_key_and_keeps_its_value(host: HostState) -> None:
    assert host.cache_add("c", "k", b"first", ttl=300) is True
    assert host.cache_add("c", "k", b"second", ttl=300) is False
    assert host.cache_get("c", "k") == b"first"


def test_caches_are_separate_namespaces(host: HostState) -> None:
    assert host.cache_add("a", "k", b"1") is True
    assert host.cache_add("b", "k", b"2") is True
    assert (host.cache_get("a", "k"), host.cache_get("b", "k")) == (b"1", b"2")


def test_cache_set_replaces_and_cache_delete_forgets(host: HostState) -> None:
    host.cache_set("c", "k", b"1")
    host.cache_set("c", "k", b"2")
    assert host.cache_get("c", "k") == b"2"
    host.cache_delete("c", "k")
    assert host.cache_get("c", "k") is None
    assert host.cache_add("c", "k", b"3") is True
    host.cache_delete("c", "missing")


def test_a_cache_entry_expires_after_its_ttl_and_can_be_added_again(host: HostState) -> None:
    assert host.cache_add("c", "k", b"old", ttl=0.3) is True
    assert host.cache_add("c", "k", b"new", ttl=0.3) is False
    time.sleep(0.4)
    assert host.cache_get("c", "k") is None
    assert host.cache_add("c", "k", b"new", ttl=0.3) is True
    assert host.cache_get("c", "k") == b"new"


def test_entries_without_a_ttl_do_not_expire(host: HostState) -> None:
    host.cache_set("c", "forever", b"1")
    host.cache_add("c", "short", b"1", ttl=0.05)
    time.sleep(0.1)
    assert host.cache_get("c", "forever") == b"1"
    assert host.cache_get("c", "short") is None


def test_expired_entries_are_purged_from_the_file(tmp_path: Path, host: HostState) -> None:
    for i in range(20):
        host.cache_add("c", f"k{i}", ttl=0.05)
    host.cache_set("c", "kept", b"1", ttl=300)
    time.sleep(0.1)
    other = HostState(str(tmp_path))  # a process's first write purges what expired
    other.cache_set("c", "trigger", b"")
    other.close()
    with sqlite3.connect(tmp_path / "host" / STATE_FILE) as conn:
        keys = sorted(row[0] for row in conn.execute("SELECT key FROM cache"))
    assert keys == ["kept", "trigger"]


# -- rate limits -------------------------------------------------------------------------------


def test_rate_take_from_four_processes_lets_exactly_count_through(tmp_path: Path) -> None:
    results = run_together(
        tmp_path,
        """
        print(json.dumps([host.rate_take("api/s/key/lim", 5, 60) for _ in range(10)]))
        """,
    )
    waits = [w for per_process in results for w in per_process]
    assert len(waits) == 40
    assert waits.count(0.0) == 5
    assert all(0 < w <= 60 for w in waits if w != 0.0)


def test_rate_take_answers_the_time_until_the_window_resets_then_lets_calls_through(host: HostState) -> None:
    assert [host.rate_take("lim", 2, 0.3) for _ in range(2)] == [0.0, 0.0]
    wait = host.rate_take("lim", 2, 0.3)
    assert 0 < wait <= 0.3
    time.sleep(wait + 0.05)
    assert host.rate_take("lim", 2, 0.3) == 0.0


def test_rate_peek_shows_the_open_window_without_counting(host: HostState) -> None:
    assert host.rate_peek("quota") is None
    assert [host.rate_take("quota", 2, 60) for _ in range(2)] == [0.0, 0.0]
    used, resets = host.rate_peek("quota")
    assert used == 2 and 59 < resets - time.time() <= 60
    assert host.rate_peek("quota")[0] == 2 and host.rate_take("quota", 3, 60) == 0.0


def test_rate_limits_are_counted_by_name(host: HostState) -> None:
    assert host.rate_take("a", 1, 60) == 0.0
    assert host.rate_take("b", 1, 60) == 0.0
    assert host.rate_take("a", 1, 60) > 0


def test_rate_take_refuses_a_count_or_interval_that_is_not_positive(host: HostState) -> None:
    with pytest.raises(ValueError, match="count and interval must be positive"):
        host.rate_take("x", 0, 1)
    with pytest.raises(ValueError, match="count and interval must be positive"):
        host.rate_take("x", 1, 0)


# -- processes and forks -----------------------------------------------------------------------

FORK_SCRIPT = """
import ctypes, json, os, sys
from streams.engine import host as host_module
from streams.engine.host import HostState

host = HostState(sys.argv[1])
host.cache_add("c", "parent-before")
before = host._conn
fork = ctypes.CDLL(None).fork if sys.argv[2] == "libc" else os.fork
read, write = os.pipe()
pid = fork()
if pid == 0:
    report = {
        "added": host.cache_add("c", "child"),
        "sees_parent": host.cache_get("c", "parent-before") == b"",
        "new_connection": host._conn is not None and host._conn is not before,
        "inherited_kept_open": any(c is before for c in host_module._INHERITED),
    }
    os.write(write, json.dumps(report).encode())
    os._exit(0)
os.close(write)
os.waitpid(pid, 0)
child = json.loads(os.read(read, 4096))
child["parent_still_works"] = host.cache_add("c", "parent-after") and host.cache_get("c", "child") == b""
child["parent_kept_its_connection"] = host._conn is before
print(json.dumps(child))
"""


def run_fork(tmp_path: Path, how: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, str(tmp_path), how],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_after_os_fork_the_child_opens_its_own_connection(tmp_path: Path) -> None:
    report = run_fork(tmp_path, "os")
    assert report["added"] and report["sees_parent"] and report["new_connection"]
    assert report["parent_still_works"]


def test_a_connection_that_crossed_a_fork_is_never_used_nor_closed_by_the_child(tmp_path: Path) -> None:
    # libc's fork skips Python's at-fork hooks, so the parent's open connection reaches the child;
    # the process id check must set it aside.
    report = run_fork(tmp_path, "libc")
    assert report == {
        "added": True,
        "sees_parent": True,
        "new_connection": True,
        "inherited_kept_open": True,
        "parent_still_works": True,
        "parent_kept_its_connection": True,
    }


# -- streaming connections per client ----------------------------------------------------------


def test_streaming_open_from_four_processes_admits_exactly_the_limit(tmp_path: Path) -> None:
    results = run_together(
        tmp_path,
        f"""
        import os, time
        opened = [host.streaming_open("user:alice", 6) for _ in range(5)]
        # Stay alive until every process has opened: a process that exited early would have its
        # rows dropped as a dead process's, and the others could open more than the limit.
        open(os.path.join(sys.argv[1], f"opened-{{n}}"), "w").close()
        while sum(name.startswith("opened-") for name in os.listdir(sys.argv[1])) < {PROCESSES}:
            time.sleep(0.01)
        print(json.dumps(opened))
        """,
    )
    opened = [ok for per_process in results for ok in per_process]
    # The processes have exited: their rows are a dead process's and stop counting.
    assert opened.count(True) == 6
    state = HostState(str(tmp_path))
    try:
        assert state.streaming_open("user:alice", 1) is True
    finally:
        state.close()


def test_streaming_close_gives_a_connection_back(host: HostState) -> None:
    assert [host.streaming_open("user:bob", 2) for _ in range(3)] == [True, True, False]
    host.streaming_close("user:bob")
    assert host.streaming_open("user:bob", 2) is True
    assert host.streaming_open("user:bob", 2) is False


def test_streaming_connections_are_counted_by_identity(host: HostState) -> None:
    assert host.streaming_open("user:a", 1) is True
    assert host.streaming_open("user:b", 1) is True
    assert host.streaming_open("user:a", 1) is False


def test_streaming_rows_of_an_earlier_gateway_run_do_not_count(tmp_path: Path) -> None:
    first = HostState(str(tmp_path))
    assert first.streaming_open("addr:10.0.0.1", 1) is True
    first.close()
    # A row another process of an earlier run left (the same pid may be alive again by now).
    with sqlite3.connect(tmp_path / "host" / STATE_FILE) as conn:
        conn.execute("UPDATE streaming SET pid = 1, run = 'an-earlier-run'")
    again = HostState(str(tmp_path))
    try:
        assert again.streaming_open("addr:10.0.0.1", 1) is True
    finally:
        again.close()
