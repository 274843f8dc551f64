"""``python -m streams blobl 'MAPPING'``: run a mapping over stdin lines, like ``benthos blobl``.

Each input line is one message; each result is printed on its own line (strings raw, other
values as JSON as Benthos's CLI prints them, i.e. with json.Marshal's HTML escaping; a deleted
message prints an empty line). Failures go to stderr as ``failed to execute map: ...`` and the
run continues. A mapping that does not parse is reported with its position and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

from streams import bloblang
from streams.bloblang import runtime
from streams.bloblang.values import DELETE, NOTHING, to_json
from streams.message import Message


def structured_error(source: str, err: bloblang.ParseError) -> str:
    """Benthos's ``ErrorAtPositionStructured``: the message, then the line with a caret."""
    lines = source.split("\n")
    line, col = err.line or 1, err.column or 1
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    char = col - 1
    if char < len(text) - 60:
        text = text[: char + 60]
    num = str(line)
    pad = " " * len(num)
    return f"line {line} char {col}: {err.message}\n{pad} |\n{num} | {text}\n{pad} | {' ' * char}^---"


def render(result: Any, pretty: bool) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, (bytes, bytearray)):
        return bytes(result).decode("utf-8", "surrogateescape")
    try:
        return to_json(result, escape_html=True, indent="  " if pretty else None)
    except ValueError:
        return "null"


def run_line(m: bloblang.Mapping, line: bytes, raw: bool, pretty: bool) -> str:
    """One input line through the mapping: the printed text, or raises ``MappingError``."""
    msg = Message(line)
    ctx = m._context([msg], 0, msg.metadata, NOTHING, line if raw else runtime._UNSET)
    m._run(ctx)
    result = ctx.root
    if result is DELETE:
        return ""
    if result is NOTHING:
        try:
            value = ctx.doc("")
        except bloblang.errors.ExecError:
            return line.decode("utf-8", "surrogateescape")
        return render(value, pretty)
    return render(result, pretty)


def main(argv: Sequence[str] | None = None, stdin: IO[bytes] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    ap = argparse.ArgumentParser(prog="python -m streams blobl", description="Execute a Bloblang mapping on documents read from stdin, one per line.")
    ap.add_argument("mapping", nargs="?", default="", help="the mapping (or use -f)")
    ap.add_argument("-f", "--file", help="execute a mapping from a file")
    ap.add_argument("-i", "--input", help="read input from a file instead of stdin")
    ap.add_argument("-r", "--raw", action="store_true", help="consume raw strings")
    ap.add_argument("-p", "--pretty", action="store_true", help="pretty-print output")
    ap.add_argument("--allow-impure", action="store_true", help="allow env(), file(), hostname()")
    args = ap.parse_args(argv)
    source = args.mapping
    base_dir = None
    if args.file:
        if source:
            print("invalid flags, unable to execute both a file mapping and an inline mapping", file=stderr)
            return 1
        try:
            with open(args.file, encoding="utf-8") as fh:
                source = fh.read()
        except OSError as exc:
            print(f"failed to read mapping file: {exc}", file=stderr)
            return 1
        base_dir = os.path.dirname(os.path.abspath(args.file))
    try:
        m = bloblang.parse(source, allow_impure=args.allow_impure, filename=args.file or "cli", base_dir=base_dir)
    except bloblang.ParseError as exc:
        print(f"failed to parse mapping: {structured_error(source, exc)}", file=stderr)
        return 1
    source_in: IO[bytes] = open(args.input, "rb") if args.input else stdin  # noqa: SIM115
    try:
        for raw_line in source_in:
            line = raw_line.rstrip(b"\n").rstrip(b"\r")
            try:
                out = run_line(m, line, args.raw, args.pretty)
            except bloblang.MappingError as exc:
                print(f"failed to execute map: {exc}", file=stderr)
                continue
            print(out, file=stdout)
            stdout.flush()
    finally:
        if args.input:
            source_in.close()
    return 0
