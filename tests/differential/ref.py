"""Run one mapping through both evaluators and put the two outcomes in one comparable shape.

``RefEvaluator`` drives ``tests/bloblang_ref/bloblang-ref`` (Benthos v4 through its public Go API,
see ``main.go`` there) over a pipe, one JSON line per request, one process for a whole session.
``run_ours`` runs ``streams.bloblang.parse(src).apply(content, metadata)``. Both produce a dict:

    {"parse_error": text} | {"exec_error": text} | {"deleted": True}
    | {"content": bytes, "metadata": {key: tagged value}}

plus ``{"crash": ...}`` on our side for an exception that is not a ``BloblangError``. Metadata
values are tagged with their type (``{"int": "5"}``, ``{"float": "2.5"}``, ``{"str": ...}``...)
because plain JSON would hide an int/float or bytes/string difference.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

REF_DIR = Path(__file__).resolve().parent.parent / "bloblang_ref"
REF_BINARY = Path(os.environ.get("STREAMS_BLOBLANG_REF", REF_DIR / "bloblang-ref"))


class RefEvaluator:
    """The Go reference process. Restarted if it dies (it should not: panics are caught in Go)."""

    def __init__(self, binary: Path = REF_BINARY) -> None:
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [str(self.binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
            )
        return self.proc

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        line = memoryview(json.dumps(req, ensure_ascii=False).encode() + b"\n")
        # NOTE: the pipe is unbuffered, and under gevent (tests/conftest.py) a write to it may
        # take only part of a request longer than the pipe's 64 KiB: write until all is taken.
        while line:
            written = proc.stdin.write(line)
            line = line[written or 0 :]
        proc.stdin.flush()
        reply = proc.stdout.readline()
        if not reply:
            self.close()
            raise RuntimeError(f"bloblang-ref exited while handling {req!r}")
        return json.loads(reply)

    def run(self, mapping: str, content: bytes, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self.request(_encode_request(mapping, content, metadata))
        for key in ("parse_error", "exec_error"):
            if key in reply:
                text = reply[key]
                if reply.get("error_b64"):
                    # Not UTF-8: bytes become surrogate escapes, as in our values (values.py).
                    text = base64.b64decode(text).decode("utf-8", "surrogateescape")
                return {key: text}
        if reply.get("ok"):
            if reply["deleted"]:
                return {"deleted": True}
            raw = reply["content"]
            body = base64.b64decode(raw) if reply["content_b64"] else raw.encode("utf-8")
            return {"content": body, "metadata": {k: _norm_go(v) for k, v in reply["metadata"].items()}}
        raise RuntimeError(f"bloblang-ref could not handle the request: {reply!r}")

    def bench(self, mapping: str, content: bytes, metadata: dict[str, Any] | None, n: int, cpu: bool = False) -> float:
        """ns per message for the whole path (message from bytes, map, serialise): wall time,
        or with ``cpu`` the reference process's CPU time."""
        req = _encode_request(mapping, content, metadata)
        req["bench"] = n
        reply = self.request(req)
        key = "cpu_ns_per_op" if cpu else "ns_per_op"
        if key not in reply:
            raise RuntimeError(f"reference bench failed: {reply!r}")
        return float(reply[key])

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.stdin:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None


def _encode_request(mapping: str, content: bytes, metadata: dict[str, Any] | None) -> dict[str, Any]:
    try:
        text, b64 = content.decode("utf-8"), False
    except UnicodeDecodeError:
        text, b64 = base64.b64encode(content).decode("ascii"), True
    return {"mapping": mapping, "input": text, "input_b64": b64, "metadata": metadata or {}}


def _float_key(f: float) -> str:
    # repr tells -0.0 from 0.0 and is exact; NaN/inf get fixed names.
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return repr(float(f))


def _norm_go(v: dict[str, Any]) -> Any:
    ((kind, val),) = v.items()
    if kind == "float":
        return {"float": _float_key(float(val))}
    if kind == "array":
        return {"array": [_norm_go(e) for e in val]}
    if kind == "object":
        return {"object": {k: _norm_go(e) for k, e in val.items()}}
    return {kind: val}


def tag_ours(value: Any) -> Any:
    """Our runtime value in the tagged shape the Go side produces."""
    from streams.bloblang import values as bv

    if value is None:
        return {"null": True}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Bytes that are not UTF-8 ride in a str as surrogate escapes (values.py).
            return {"str_bytes": base64.b64encode(value.encode("utf-8", "surrogateescape")).decode("ascii")}
        return {"str": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": _float_key(value)}
    if isinstance(value, bv.Timestamp):
        return {"time_ns": str(value.ns)}
    if isinstance(value, list):
        return {"array": [tag_ours(e) for e in value]}
    if isinstance(value, dict):
        return {"object": {k: tag_ours(e) for k, e in value.items()}}
    return {"other": f"{type(value).__name__} {value!r}"}


class ContractMissing(AssertionError):
    """``streams.bloblang`` does not offer the public contract of DESIGN §6 (yet)."""


def _contract() -> Any:
    from streams import bloblang

    for name in ("parse", "ParseError", "MappingError", "BloblangError"):
        if not hasattr(bloblang, name):
            raise ContractMissing(f"streams.bloblang has no {name!r} (DESIGN §6 public contract)")
    return bloblang


def run_ours(mapping: str, content: bytes, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    bloblang = _contract()
    try:
        compiled = bloblang.parse(mapping)
    except bloblang.ParseError as err:
        return {"parse_error": str(err)}
    except Exception as err:  # noqa: BLE001 - any other exception is a bug worth reporting as such
        return {"crash": f"parse: {type(err).__name__}: {err}"}
    try:
        result = compiled.apply(content, dict(metadata) if metadata else {})
    except bloblang.MappingError as err:
        return {"exec_error": str(err)}
    except Exception as err:  # noqa: BLE001
        return {"crash": f"apply: {type(err).__name__}: {err}"}
    if result is None:
        return {"deleted": True}
    return {
        "content": bytes(result.content),
        "metadata": {k: tag_ours(v) for k, v in (result.metadata or {}).items()},
    }
