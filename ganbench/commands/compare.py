"""``ganbench compare RESULTS --a KEY=VAL ... --b KEY=VAL ...``: two sets of runs over training seeds."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two sets of runs over training seeds: effect size, 95%% CI, p-value, seeds needed",
    )
    p.add_argument("results", help="results folder (searched recursively for record.json)")
    p.add_argument("--a", nargs="+", required=True, metavar="KEY=VAL", help="config keys selecting arm a")
    p.add_argument("--b", nargs="+", required=True, metavar="KEY=VAL", help="config keys selecting arm b")
    p.add_argument("--metric", help="metric to compare (default: the one the leaderboard ranks by)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the reporting layer imports pandas and scipy: only when the command runs, not for --help
    from ganbench.reporting.compare import compare_runs, compare_text, parse_selection

    result = compare_runs(
        args.results, parse_selection("--a", args.a), parse_selection("--b", args.b), args.metric
    )
    print(json.dumps(result, indent=2) if args.json else compare_text(result))
    return 0
