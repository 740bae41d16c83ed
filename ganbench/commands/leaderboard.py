"""``ganbench leaderboard RESULTS_DIR``: aggregate run records into tables and figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.commands import print_written
from ganbench.errors import GanbenchError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard", help="aggregate run records into Markdown/CSV/JSON/HTML tables and figures"
    )
    p.add_argument("results", help="results folder (searched recursively for record.json)")
    p.add_argument("--out", help="output folder (default: RESULTS/leaderboard)")
    p.add_argument("--title", help="title of the table (Markdown and HTML)")
    p.add_argument(
        "--rows",
        nargs="+",
        metavar="KEY",
        help="config keys that define a row (default: those that vary, less keys the others determine)",
    )
    p.add_argument("--metrics", nargs="+", metavar="NAME", help="metrics to show (default: all recorded)")
    p.add_argument("--no-figure", action="store_true", help="skip the sample figure and the curves")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ganbench.reporting.search import search_frame, write_search_leaderboard
    from ganbench.reporting.writers import write_leaderboard

    out = Path(args.out) if args.out else Path(args.results) / "leaderboard"
    try:
        paths = write_leaderboard(args.results, out, args.title, args.rows, args.metrics, not args.no_figure)
        if not search_frame(args.results).empty:  # a protocol: search grid: best-of-N and its trials too
            found = write_search_leaderboard(args.results, out, args.metrics)
            paths.update({f"search {kind}": path for kind, path in found.items()})
    except (FileNotFoundError, ValueError) as e:
        raise GanbenchError(str(e)) from e
    print_written(paths)
    return 0
