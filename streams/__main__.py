"""``python -m streams <command>``: command-line tools. ``blobl`` runs a Bloblang mapping over
stdin lines (see ``streams.bloblang.cli``)."""

from __future__ import annotations

import sys

from streams.bloblang.cli import main as blobl_main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m streams blobl [-f FILE] [-i INPUT] [-r] [-p] [MAPPING]")
        return 0 if argv else 2
    if argv[0] == "blobl":
        return blobl_main(argv[1:])
    print(f"unknown command: {argv[0]}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
