"""One module per ``ganbench`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

import argparse

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
