"""Build the Bento peer once per source: the binary is cached under a hash of the source files.

The peer's source (``main.go``, ``go.mod``, ``go.sum``, the streams config) lives read-only in the
shared folder, so it is copied to a build directory first; ``go build`` fetches modules from the
Go module proxy the machine is configured with. A rebuild takes minutes, hence the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SOURCE_FILES = ("main.go", "go.mod", "go.sum")


def source_hash(src: Path) -> str:
    """Hash of the files that decide the binary (and the Go version that builds it)."""
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        digest.update(name.encode() + b"\0" + (src / name).read_bytes() + b"\0")
    go = shutil.which("go")
    if go:
        digest.update(subprocess.run([go, "version"], capture_output=True, text=True).stdout.encode())
    return digest.hexdigest()[:16]


def build_peer(src: Path, cache_dir: Path) -> Path:
    """Return the path of a ``benthos-peer`` built from ``src``, building it only when missing."""
    for name in SOURCE_FILES:
        if not (src / name).is_file():
            raise SystemExit(f"peer source incomplete: {src / name} is missing")
    key = source_hash(src)
    binary = cache_dir / f"benthos-peer-{key}"
    if binary.is_file() and os.access(binary, os.X_OK):
        print(f"peer: cached binary {binary}", file=sys.stderr, flush=True)
        return binary
    go = shutil.which("go")
    if not go:
        raise SystemExit("building the peer needs Go (go build) on PATH")
    build_dir = cache_dir / "peer-src"
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    for path in src.iterdir():
        if path.is_file():
            shutil.copyfile(path, build_dir / path.name)  # copyfile: the copies are writable
    env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "") + " -mod=mod"}
    print(f"peer: building {src} in {build_dir} (first time takes minutes) ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    tmp = build_dir / "benthos-peer"
    with subprocess.Popen(
        [go, "build", "-trimpath", "-o", str(tmp), "."],
        cwd=build_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # progress: module downloads as they happen
            lines.append(line)
            print(f"peer:   {line.rstrip()}", file=sys.stderr, flush=True)
        proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"go build failed ({proc.returncode}):\n{''.join(lines[-30:])}")
    os.replace(tmp, binary)
    print(f"peer: built {binary} in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return binary
