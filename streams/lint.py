"""``python -m streams lint PATH...``: check API definitions before they reach a gateway.

The rule: lint says exactly what the gateway would say. Every file goes through the gateway's own
loader (``streams.definitions``: YAML/JSON with positions, nesting limits, the component tables,
Bloblang parsed and compiled), a directory is loaded as the gateway loads its definitions
directory, and listen paths and API names are claimed across everything named on the command
line with the gateway's table (``streams.listenpaths``), so two files that could not serve side
by side are reported here. Output is one line per problem, ``file:line:column: config.path:
problem`` (DESIGN §11; editors jump to it), or a JSON array with ``--format json``. Exit status 1
means at least one problem, 0 clean, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from streams.definitions import (
    EXTENSIONS,
    ApiDefinition,
    Problem,
    display_path,
    error_summary,
    load_directory,
    load_file,
)
from streams.listenpaths import ListenPaths, ListenPathTaken, claim_order
from streams.settings import Settings, SettingsError

USAGE_ERROR = 2


@dataclass
class LintResult:
    """What one lint run found: files read, APIs that would serve, problems in file order."""

    files: int = 0
    apis: list[ApiDefinition] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def definition_files(directory: str) -> list[str]:
    """The files the gateway would load from ``directory`` (name order), without recursing."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    out = []
    for name in names:
        full = os.path.join(directory, name)
        if name.endswith(EXTENSIONS) and not name.startswith(".") and os.path.isfile(full):
            out.append(full)
    return out


def directories(root: str) -> list[str]:
    """``root`` and every directory below it, skipping dot-directories (a Kubernetes ConfigMap
    volume keeps its data in ``..data``: the visible files are links into it)."""
    found = []
    for current, subdirs, _files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.append(current)
    return found


def lint(paths: Iterable[str], *, allow_impure_bloblang: bool = False) -> LintResult:
    """Validate files and directories exactly as the gateway would load them; a file reached
    twice (named, and inside a named directory) is read once."""
    result = LintResult()
    dirs: list[str] = []
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            dirs.extend(directories(path))
        elif os.path.exists(path):
            files.append(path)
        else:
            result.problems.append(Problem(display_path(path), None, "", "no such file or directory"))
    dirs = _unique(dirs)
    covered = {os.path.realpath(f) for d in dirs for f in definition_files(d)}
    for directory in dirs:
        apis, problems = load_directory(directory, allow_impure_bloblang=allow_impure_bloblang)
        result.files += len(definition_files(directory))
        result.apis.extend(apis)
        result.problems.extend(problems)
    for path in _unique(files):
        if os.path.realpath(path) in covered:
            continue
        result.files += 1
        try:
            api, problems = load_file(path, allow_impure_bloblang=allow_impure_bloblang)
        except Exception as err:  # noqa: BLE001 - reported as that file's problem, like the gateway
            api, problems = None, [Problem(display_path(path), None, "", f"cannot load the file: {error_summary(err)}")]
        result.problems.extend(problems)
        if api is not None and api.active and not api.internal:
            result.apis.append(api)
    result.problems.extend(_collisions(result.apis))
    return result


def _unique(paths: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append(path)
    return out


def _collisions(apis: list[ApiDefinition]) -> list[Problem]:
    """Listen paths and names two of the given files would both claim (within one directory the
    loader has already reported them, so only clashes across arguments are new here)."""
    mtimes = {}
    for api in apis:
        try:
            mtimes[api.source] = os.stat(api.source).st_mtime
        except OSError:
            mtimes[api.source] = 0.0
    table = ListenPaths()
    problems = []
    for api in claim_order(apis, lambda _path: None, mtimes):
        try:
            table.claim(display_path(api.source), api.listen_path, api.name)
        except ListenPathTaken as err:
            where = "x-tyk-api-gateway.server.listenPath.value"
            if err.what != "listen path":
                where = "x-tyk-api-gateway.info.name"
            problems.append(
                Problem(display_path(api.source), api.listen_path_line, where, str(err), api.listen_path_column)
            )
    return problems


def format_text(problem: Problem) -> str:
    """``file:line:column: config.path: problem`` (an unknown line or column is 0)."""
    where = f"{problem.file}:{problem.line or 0}:{problem.column or 0}"
    return f"{where}: {problem.path}: {problem.message}" if problem.path else f"{where}: {problem.message}"


def as_json(problem: Problem) -> dict[str, object]:
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "path": problem.path,
        "message": problem.message,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m streams lint",
        description=(
            "Validate Tyk Streams API definitions (files, or directories searched for *.yaml, *.yml "
            "and *.json) with the gateway's own checks. Prints file:line:column: config.path: problem "
            "per problem; exit status 1 when there is any, 0 when clean."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a definition file or a directory of them")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="text (one line per problem, the default) or json (an array of {file, line, column, path, message})",
    )
    parser.add_argument(
        "--allow-impure-bloblang", action="store_true", default=None,
        help="accept env(), file(), hostname() in mappings (default: STREAMS_ALLOW_IMPURE_BLOBLANG)",
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    allow_impure = args.allow_impure_bloblang
    if allow_impure is None:
        try:
            allow_impure = Settings.from_env().allow_impure_bloblang
        except SettingsError as exc:
            print(f"lint: {exc}", file=err)
            return USAGE_ERROR
    result = lint(args.paths, allow_impure_bloblang=allow_impure)
    if args.format == "json":
        json.dump([as_json(p) for p in result.problems], out, indent=2)
        out.write("\n")
    else:
        for problem in result.problems:
            print(format_text(problem), file=out)
    files = "file" if result.files == 1 else "files"
    found = "problem" if len(result.problems) == 1 else "problems"
    print(f"{result.files} {files}, {len(result.problems)} {found}", file=err)
    return 1 if result.problems else 0
