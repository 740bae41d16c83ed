"""``ganbench rankings NAME=RESULTS NAME=RESULTS ...``: one set of methods ranked under several
comparison protocols (shared / paper / search), with Kendall's τ and a bump chart."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.commands import print_written
from ganbench.errors import ConfigError, GanbenchError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rankings",
        help="rank the same methods under several protocols (results folders): rank changes, Kendall's τ",
    )
    p.add_argument(
        "protocols",
        nargs="+",
        metavar="NAME=RESULTS",
        help="a protocol's name and its results folder, e.g. shared=results/toy-3seeds (at least two; "
        "the first is the one the others are compared with)",
    )
    p.add_argument("--out", required=True, help="output folder (rankings.md, rankings.json, rankings.png)")
    p.add_argument(
        "--rows", nargs="+", metavar="KEY", help="config keys of a method (default: the first's rows)"
    )
    p.add_argument("--metric", help="metric to rank by (default: the first protocol's ranking metric)")
    p.add_argument("--no-figure", action="store_true", help="skip the bump chart")
    p.set_defaults(func=run)


def parse_protocols(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"rankings: {item!r} is not NAME=RESULTS (e.g. shared=results/toy-3seeds)")
        if name in out:
            raise ConfigError(f"rankings: protocol name {name!r} given twice")
        if not Path(path).is_dir():
            raise ConfigError(f"rankings: {name}={path}: no such results folder")
        out[name] = path
    return out


def run(args: argparse.Namespace) -> int:
    from ganbench.reporting.rankings import write_rankings  # pandas / matplotlib only when it runs

    try:
        paths = write_rankings(
            parse_protocols(args.protocols), args.out, args.rows, args.metric, not args.no_figure
        )
    except (FileNotFoundError, ValueError) as e:
        raise GanbenchError(str(e)) from e
    print_written(paths)
    return 0
