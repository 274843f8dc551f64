"""``python -m streams <command>``: command-line tools. ``blobl`` runs a Bloblang mapping over
stdin lines (see ``streams.bloblang.cli``); ``lint`` validates API definitions as the gateway
would (see ``streams.lint``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from streams import lint
from streams.bloblang.cli import main as blobl_main

COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "blobl": blobl_main,
    "lint": lint.main,
}

USAGE = """usage: python -m streams COMMAND ...

commands:
  blobl [-f FILE] [-i INPUT] [-r] [-p] [MAPPING]   run a Bloblang mapping over stdin lines
  lint [--format text|json] PATH...                validate API definition files or directories

python -m streams COMMAND -h shows a command's options."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"unknown command: {argv[0]}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return command(argv[1:])
    except SystemExit as exc:  # argparse's -h (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2


if __name__ == "__main__":
    sys.exit(main())
