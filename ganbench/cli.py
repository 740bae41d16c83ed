"""``ganbench`` command line: each subcommand lives in ``ganbench.commands.<name>``."""

from __future__ import annotations

import argparse
import importlib
import sys

from ganbench import __version__
from ganbench.commands import COMMANDS
from ganbench.errors import GanbenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganbench", description="GAN benchmarking and evaluation suite")
    parser.add_argument("--version", action="version", version=f"ganbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"ganbench.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GanbenchError as e:
        print(f"ganbench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file-system failure outside ganbench's own checks: its cause, one line
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"ganbench {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished runs and checkpoints are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
