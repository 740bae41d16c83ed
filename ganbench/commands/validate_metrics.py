"""``ganbench validate-metrics --extractor X --reference DATASET``: the metric sanity suite."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    # defaults are read from ganbench.evaluation.sanity when the command runs (torch stays out of --help)
    p = sub.add_parser(
        "validate-metrics",
        help="corrupt real held-out images (noise, blur, mode dropping/collapse, duplicates, memorisation) "
        "and check that every metric moves the right way, monotonically",
    )
    p.add_argument("--extractor", required=True, help="feature extractor (e.g. fmnist-classifier, identity)")
    p.add_argument("--reference", required=True, help="reference dataset (e.g. fashion-mnist)")
    p.add_argument("--n", type=int, default=None, help="images per corrupted set (default 1000)")
    p.add_argument(
        "--n-real", type=int, default=None, help="first N images of the reference split (default 5000)"
    )
    p.add_argument("--seed", type=int, default=None, help="seed of the draws and the metrics (default 0)")
    p.add_argument("--split", default="train", help="reference split (default: train)")
    p.add_argument("--held-out", default=None, help="split the clean images come from (default: test)")
    p.add_argument(
        "--metrics", nargs="+", default=None, help="metrics to check (default: every one that applies)"
    )
    p.add_argument("--root", default=None, help="dataset root (default: the dataset's own lookup)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument(
        "--out",
        default=None,
        help="folder for validate_metrics.{json,csv,png} (default: validate-metrics/<reference>-<extractor>)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ganbench.evaluation import sanity

    result = sanity.validate_metrics(
        args.extractor,
        args.reference,
        n=sanity.DEFAULT_N if args.n is None else args.n,
        n_real=sanity.DEFAULT_N_REAL if args.n_real is None else args.n_real,
        seed=sanity.DEFAULT_SEED if args.seed is None else args.seed,
        split=args.split,
        held_out=args.held_out,
        metrics=args.metrics,
        root=args.root,
        device=args.device,
        progress=not args.no_progress,
    )
    out = args.out or f"validate-metrics/{args.reference}-{args.extractor}"
    paths = sanity.write_outputs(result, out)
    print(sanity.text_report(result))
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    return 0
