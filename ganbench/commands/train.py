"""``ganbench train RECIPE``: train and evaluate one run."""

from __future__ import annotations

import argparse
import json

from ganbench.commands import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one recipe (resumes from its checkpoint)")
    p.add_argument("recipe", help="recipe YAML file")
    add_set_option(p, "of the recipe")
    p.add_argument("--results", default="results/train", help="results folder (default: results/train)")
    p.add_argument(
        "--force",
        action="store_true",
        help="train again from step 0, even if the run has a record (replaced when the new one is "
        "written) or an unreadable checkpoint (kept as last.pt.corrupt-<time>)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: building the parser for --help must not import torch (startup latency)
    from ganbench.config import load_config
    from ganbench.records import read_record
    from ganbench.runners.lock import RunLock
    from ganbench.runners.run import check_results_dir, run_dir_for
    from ganbench.training.checkpoint import set_aside_corrupt
    from ganbench.training.trainers import trainer_for

    cfg = load_config(args.recipe, args.sets)
    check_results_dir(args.results)
    run_dir = run_dir_for(cfg, args.results)
    existing = read_record(run_dir, quarantine=True)
    if existing is not None and existing["status"] != "failed" and not args.force:
        print(f"{cfg.run_id}: already has a {existing['status']} record at {run_dir} (use --force to redo)")
    else:
        with RunLock(run_dir):  # a grid or another train on this run: refused, naming the holder
            if args.force:
                aside = set_aside_corrupt(run_dir)
                if aside is not None:
                    print(f"unreadable checkpoint kept as {aside}")
            # --force keeps the old record until the new one replaces it (atomically, at the end)
            print(f"training {cfg.run_id} {'from step 0 ' if args.force else ''}-> {run_dir}")
            existing = trainer_for(cfg)(cfg, run_dir, progress=not args.no_progress, fresh=args.force).run()
    print(
        json.dumps(
            {"status": existing["status"], "error": existing["error"], **existing["metrics"]}, indent=2
        )
    )
    return 0 if existing["status"] == "finished" else 1
