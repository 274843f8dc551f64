"""Where an idle SSE connection's memory goes: tracemalloc, greenlet stacks and gc counts, in one process.

Serves the gateway's WSGI app with the worker's own handler (``GatewayHandler`` under gevent's
pywsgi, greenlets spawned as ``StreamsWorker`` spawns them) inside this process, warms it up with
a few connections per user, then opens N more idle SSE connections from the same process and
prints their growth per connection: Python allocations by source line (``--frames`` for whole
tracebacks), the C stack each connection's greenlet keeps copied aside, objects by type, and the
handler's attribute count. The client sockets are counted too (a few hundred bytes each), and
tracemalloc's own bookkeeping inflates the process's RSS: ``bench/idle_sse.py`` measures the
real figure under gunicorn; this one says what it is made of.

Not traced by tracemalloc: each greenlet's Python frames live in a data stack of its own (CPython
3.11+), mapped in 16 KiB chunks of which the touched pages stay resident, one page (4 KiB) for an
idle SSE client. ``--datastack`` checks that with ``mincore`` (CPython 3.11 on Linux only).

    python bench/idle_trace.py --connections 500 --users 10 [--brokers 127.0.0.1:9193]
    python bench/idle_trace.py --connections 300 --users 300 --warm 0 --chains 4   # a new user's cost, by path
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import tracemalloc  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import greenlet  # noqa: E402
from gevent.pool import Pool  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from idle_sse import open_sse, rss_kib  # noqa: E402


def open_batch(port: int, users: int, start: int, count: int) -> list[socket.socket]:
    made = Pool(50).imap(lambda n: open_sse(port, f"idle-{n % users}"), range(start, start + count))
    return [s for s in made if s]


def type_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


# -- the data stack of the running greenlet (diagnosis only) ---------------------------------------
PAGE = mmap.PAGESIZE


def datastack() -> tuple[int, int, int] | None:
    """(chunk, top, limit) of the running thread state's frame data stack: three consecutive
    pointers of ``PyThreadState`` that look like them (found, not assumed at an offset)."""
    ctypes.pythonapi.PyThreadState_Get.restype = ctypes.c_void_p
    words = [w or 0 for w in (ctypes.c_void_p * 80).from_address(ctypes.pythonapi.PyThreadState_Get())]
    for chunk, top, limit in zip(words, words[1:], words[2:], strict=False):
        if chunk and chunk % PAGE == 0 and chunk < top <= limit and PAGE <= limit - chunk <= 1 << 22:
            return chunk, top, limit
    return None


def resident_pages(start: int, end: int) -> int:
    pages = (end - start + PAGE - 1) // PAGE
    vec = (ctypes.c_ubyte * pages)()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mincore(ctypes.c_void_p(start), ctypes.c_size_t(end - start), vec) != 0:
        return -1
    return sum(v & 1 for v in vec)


def probe_datastacks() -> dict[int, tuple[int, int, int]]:
    """Where each stream client's greenlet keeps its frames, noted at its first wait."""
    from streams.engine import delivery  # noqa: PLC0415

    probes: dict[int, tuple[int, int, int]] = {}
    original_get = delivery.Subscription.get

    def probed_get(self: Any, timeout: float | None = None) -> Any:
        found = datastack()
        if found is not None:
            probes.setdefault(id(greenlet.getcurrent()), found)
        return original_get(self, timeout)

    delivery.Subscription.get = probed_get  # type: ignore[method-assign]
    return probes


# -- the report -------------------------------------------------------------------------------------


ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def own_frames(traceback: tracemalloc.Traceback) -> list[str]:
    """The traceback's frames in the project's own code (not its virtualenv), outermost first,
    as ``path:line`` relative to the checkout."""
    return [
        f"{f.filename[len(ROOT):]}:{f.lineno}"
        for f in traceback
        if f.filename.startswith(ROOT) and "/.venv/" not in f.filename and "/bench/" not in f.filename
    ]


def print_chains(args: argparse.Namespace, n: int, snap0: tracemalloc.Snapshot, snap1: tracemalloc.Snapshot) -> None:
    """Growth by the first ``--chains`` frames of each allocation's path through the project's
    code, outermost first (the request's handler, then the engine call that built what stayed):
    a per-user cost shows as one branch, however many lines its objects were made on.
    ``--under path:line`` lists only the allocations made below that frame, from there on."""
    groups: Counter[str] = Counter()
    for stat in snap1.compare_to(snap0, "traceback"):
        chain = own_frames(stat.traceback)
        if args.under:
            if args.under not in chain:
                continue
            chain = chain[chain.index(args.under) + 1 :]
        groups[" > ".join(chain[: args.chains]) or "(outside the project's code)"] += stat.size_diff
    print(f"\nby path through the project's code{' below ' + args.under if args.under else ''}:")
    for chain, size in groups.most_common(args.top):
        print(f"{size / n:8.0f} B  {chain}")


def report(args: argparse.Namespace, n: int, before: tuple, after: tuple, probes: dict) -> None:
    (rss0, types0, snap0), (rss1, types1, snap1) = before, after
    stats = snap1.compare_to(snap0, "lineno")
    print(f"connections={n} users={args.users} brokers={args.brokers}")
    print(f"RSS per connection (with client sockets and tracemalloc's own): {(rss1 - rss0) / n:.1f} KiB")
    print(f"traced Python allocations per connection: {sum(s.size_diff for s in stats) / n / 1024:.2f} KiB\n")
    for s in stats[: args.top]:
        frame = s.traceback[0]
        print(f"{s.size_diff / n:8.0f} B {s.count_diff / n:6.2f} blocks  {frame.filename}:{frame.lineno}")
    if args.chains:
        print_chains(args, n, snap0, snap1)
    if args.frames:
        for s in snap1.compare_to(snap0, "traceback")[: args.top]:
            print(f"\n{s.size_diff / n:8.0f} B {s.count_diff / n:6.2f} blocks")
            for line in s.traceback.format()[-2 * args.frames :]:
                print("    " + line)
    stacks = [g._stack_saved for g in gc.get_objects() if isinstance(g, greenlet.greenlet)]
    print(f"\ngreenlet C stacks copied aside: {sum(stacks) / n:.0f} B per connection (largest {max(stacks)} B)")
    if probes:
        pages = Counter(resident_pages(c, limit) for c, _, limit in probes.values())
        used = sorted(top - c for c, top, _ in probes.values())
        print(f"frame data stack: resident pages per greenlet {dict(pages)}; {used[len(used) // 2]} B in use at the wait")
    print("\nobjects per connection:")
    for name, count in (types1 - types0).most_common(args.top):
        print(f"{count / n:6.2f}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=500)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--brokers", default="embedded")
    ap.add_argument("--warm", type=int, default=-1, help="warm-up connections (default: 2 per user, at least 50; 0 counts the users' own cost too)")
    ap.add_argument("--top", type=int, default=25, help="lines and types listed")
    ap.add_argument("--frames", type=int, default=0, help="also list the largest tracebacks, this deep")
    ap.add_argument("--datastack", action="store_true", help="count the resident pages of frame data stacks")
    ap.add_argument("--chains", type=int, default=0, help="also group by the first N frames in the project's code")
    ap.add_argument("--under", default="", help="with --chains: only below this frame (path:line, e.g. streams/engine/gateway.py:615)")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds between opening the connections and the measure")
    args = ap.parse_args()
    os.environ.setdefault("STREAMS_DATA_DIR", tempfile.mkdtemp(prefix="streams-trace-"))
    os.environ["STREAMS_KAFKA_BROKERS"] = args.brokers
    os.environ.setdefault("STREAMS_LOG_LEVEL", "WARNING")
    os.environ["STREAMS_MAX_CLIENT_STREAMS"] = "1000000"

    import wsgi  # noqa: PLC0415 - reads the environment set above
    from handlers.server.handler import GatewayHandler  # noqa: PLC0415
    from handlers.server.limits import ServerLimits  # noqa: PLC0415
    from handlers.server.worker import untrack_greenlet_tree  # noqa: PLC0415
    from streams.settings import Settings  # noqa: PLC0415

    untrack_greenlet_tree()  # as the gateway's worker does
    probes = probe_datastacks() if args.datastack else {}
    handler = GatewayHandler.configured(ServerLimits.from_settings(Settings.from_env(), keepalive=5.0))
    server = WSGIServer(("127.0.0.1", 0), wsgi.app, handler_class=handler, log=None, spawn=Pool())
    server.start()
    wsgi.runner.start()
    # Warm-up: the users' stream instances, code paths and caches, so what follows is per connection.
    warm = open_batch(server.server_port, args.users, 0, args.warm if args.warm >= 0 else max(args.users * 2, 50))
    gevent.sleep(2)
    probes.clear()
    gc.collect()
    tracemalloc.start(max(1, args.frames, 40 if args.chains else 1))
    before = (rss_kib(os.getpid()), type_counts(), tracemalloc.take_snapshot())
    socks = open_batch(server.server_port, args.users, len(warm), args.connections)
    gevent.sleep(args.settle)
    gc.collect()
    after = (rss_kib(os.getpid()), type_counts(), tracemalloc.take_snapshot())
    report(args, max(1, len(socks)), before, after, probes)
    handlers = [o for o in gc.get_objects() if isinstance(o, GatewayHandler)]
    print(f"\na handler's attributes: {len(vars(handlers[-1]))}")
    for s in socks + warm:
        s.close()
    server.stop(timeout=1)
    wsgi.runner.drain()


if __name__ == "__main__":
    main()
