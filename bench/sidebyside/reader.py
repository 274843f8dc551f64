"""Stream reader run as its own process, so the pusher's CPU never delays an arrival stamp.

    python bench/sidebyside/reader.py URL sse|lines

Reads an SSE stream (``data:`` lines) or a newline-delimited one, and for every JSON message that
carries ``n`` and ``sent_at`` prints ``n sent_at arrived_at`` (seconds since the epoch, one line
each, flushed). Prints ``# open`` once the request is sent. Runs until killed or the stream ends.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    url, fmt = sys.argv[1], sys.argv[2]
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=3600)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Accept": "text/event-stream"} if fmt == "sse" else {}
    conn.request("GET", path, headers=headers)
    print("# open", flush=True)
    resp = conn.getresponse()  # the peer sends its headers only with the first message
    print(f"# status {resp.status}", flush=True)
    if resp.status != 200:
        return
    while True:
        line = resp.readline()
        if not line:
            print("# closed", flush=True)
            return
        arrived = time.time()
        line = line.strip()
        if fmt == "sse":
            if not line.startswith(b"data:"):
                continue
            line = line[5:].strip()
        if not line:
            continue
        try:
            body = json.loads(line)
            print(f"{int(body['n'])} {float(body['sent_at']):.6f} {arrived:.6f}", flush=True)
        except (ValueError, KeyError, TypeError):
            print(f"# unparsed {line[:200]!r}", flush=True)


if __name__ == "__main__":
    main()
