"""Scanners: how fast each one cuts a body fed in 64 KiB chunks (as the ``http_client`` input
reads a streamed response); prints numbers, asserts nothing.

    python bench/scanners.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from streams.scanners import catalog  # noqa: E402

CHUNK = 64 * 1024


def measure(label: str, conf: Any, data: bytes) -> None:
    scanner = catalog.make(conf)("/bench")
    started = time.perf_counter()
    count = 0
    for i in range(0, len(data), CHUNK):
        count += len(scanner.feed(data[i : i + CHUNK]))
    count += len(scanner.end())
    took = time.perf_counter() - started
    print(f"{label:28} {len(data) / 1e6:6.1f} MB {count:8d} messages {took * 1000:7.0f} ms {len(data) / took / 1e6:7.1f} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    ndjson = b"".join(b'{"n":%d,"v":"abcdefghij"}\n' % i for i in range(rows))
    csv = b"a,b,c\n" + b"".join(b'%d,x%d,"y, y"\n' % (i, i) if i % 10 == 0 else b"%d,x%d,yy\n" % (i, i) for i in range(rows))
    measure("lines", {"lines": {}}, ndjson)
    measure("re_match (?m)^{", {"re_match": {"pattern": "(?m)^\\{"}}, ndjson)
    measure("json_documents", {"json_documents": {}}, ndjson)
    measure("csv (a tenth quoted)", {"csv": {}}, csv)
    xml = b"".join(b'<item n="%d"><v>abcdefghij</v><t>a</t><t>b</t></item>\n' % i for i in range(rows))
    measure("xml_documents", {"xml_documents": {"operator": "to_json"}}, xml)
    big = b"<items>" + xml + b"</items>"  # one document over many chunks: read again as they arrive
    measure("xml_documents (one doc)", {"xml_documents": {"operator": "to_json"}}, big)
    measure("chunker 100", {"chunker": {"size": 100}}, ndjson)
    measure("decompress gzip into lines", {"decompress": {"algorithm": "gzip", "into": {"lines": {}}}}, gzip.compress(ndjson))


if __name__ == "__main__":
    main()
