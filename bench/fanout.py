"""Fan-out: what one message costs a worker that holds many users' streams.

Every user's ``out`` instance on a worker is offered every record of ``completed`` and keeps
only its own. Opens N SSE connections, a user each, then pushes M messages for one of them and
waits until that user's stream has them all, first with only that user's stream open, then
with N-1 other users' streams open too; prints the workers' CPU time per message for both and
what each other user's stream adds to it. Raise the open-file limit for large N (ulimit -n).

    python bench/fanout.py --users 1000 --messages 300 --workers 1
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import requests  # noqa: E402
from common import cpu_seconds, gateway, open_sse, worker_pids  # noqa: E402
from gevent.pool import Pool  # noqa: E402


def count_events(sock: socket.socket, wanted: int, deadline_s: float) -> int:
    """Read ``sock`` until ``wanted`` SSE events have come (or the deadline); how many did."""
    sock.settimeout(1.0)
    seen, data = 0, b""
    deadline = time.monotonic() + deadline_s
    while seen < wanted and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
        seen = data.count(b"\ndata: ") + data.startswith(b"data: ")
    return seen


def push_and_wait(server, user: str, target: socket.socket, messages: int, pids: list[int]) -> tuple[float, int]:
    """Push ``messages`` for ``user`` one after another and wait until ``target`` (the user's
    stream) has them all: the workers' CPU seconds meanwhile, and how many arrived."""
    url = server.url(f"/stream-demo/push-event?user={user}")
    before = cpu_seconds(pids)
    with requests.Session() as http:
        for n in range(messages):
            resp = http.post(url, data=json.dumps({"message": "hello", "n": n}), timeout=30)
            resp.raise_for_status()
    arrived = count_events(target, messages, deadline_s=120)
    return cpu_seconds(pids) - before, arrived


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--brokers", default="embedded")
    args = ap.parse_args()
    server = gateway(args.workers, args.brokers)
    socks: list[socket.socket | None] = []
    try:
        pids = worker_pids(server.process.pid)
        run = uuid.uuid4().hex[:8]
        users = [f"fan-{run}-{n}" for n in range(args.users)]
        target = open_sse(server.port, users[0])
        assert target is not None, "the first user's stream did not open"
        socks.append(target)
        time.sleep(1)
        print(f"pushing {args.messages} with one user's stream open ...", flush=True)
        alone, got_alone = push_and_wait(server, users[0], target, args.messages, pids)
        print(f"opening {args.users - 1} more SSE connections, a user each ...", flush=True)
        socks += Pool(100).map(lambda u: open_sse(server.port, u), users[1:])
        others = sum(s is not None for s in socks) - 1
        print(f"  {others} open; settling 3 s ...", flush=True)
        time.sleep(3)
        print(f"pushing {args.messages} again ...", flush=True)
        crowded, got_crowded = push_and_wait(server, users[0], target, args.messages, pids)
        per = 1e3 / args.messages
        print(f"\nworkers={args.workers} brokers={args.brokers} messages={args.messages} for one user")
        print(f"alone:       {alone * per:.2f} ms worker CPU per message ({got_alone} arrived)")
        print(f"{others} others: {crowded * per:.2f} ms worker CPU per message ({got_crowded} arrived)")
        print(f"each other user's stream adds {(crowded - alone) * per / max(1, others) * 1e3:.2f} us per message")
    finally:
        for sock in socks:
            if sock is not None:
                sock.close()
        server.stop()


if __name__ == "__main__":
    main()
