"""One module per ``ganbench`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

import argparse
from pathlib import Path

COMMANDS = (
    "train",
    "grid",
    "eval",
    "leaderboard",
    "compare",
    "rankings",
    "datasets",
    "weights",
    "recipes",
    "validate_metrics",
)


def add_set_option(parser: argparse.ArgumentParser, scope: str) -> None:
    """``--set KEY=VALUE`` (repeatable), the config override ``train`` and ``grid`` share."""
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config key {scope}, e.g. --set train.steps=500 (repeatable)",
    )


def print_written(paths: dict[str, Path]) -> None:
    """What a reporting command wrote: its Markdown page, then every output by kind."""
    print(paths["markdown"].read_text())
    for kind, path in paths.items():
        print(f"{kind}: {path}")
