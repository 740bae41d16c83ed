"""``ganbench train RECIPE``: train and evaluate one run."""

from __future__ import annotations

import argparse
import contextlib
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
    from ganbench.errors import ConfigError
    from ganbench.records import read_record
    from ganbench.runners.lock import RunLock
    from ganbench.runners.run import check_results_dir, run_dir_for
    from ganbench.training import distributed
    from ganbench.training.checkpoint import set_aside_corrupt
    from ganbench.training.trainers import trainer_for

    cfg = load_config(args.recipe, args.sets)
    check_results_dir(args.results)
    run_dir = run_dir_for(cfg, args.results)
    # under torchrun every rank runs this command: rank 0 holds the lock, prints and writes
    world = distributed.init(cfg.runtime.device, cfg.runtime.dist_timeout_s)
    say = print if world.main else (lambda *a, **k: None)
    trainer_cls = trainer_for(cfg)
    if world.parallel and not getattr(trainer_cls, "data_parallel", False):
        raise ConfigError(
            f"{args.recipe}: model.name={cfg.model.name!r} is trained by {trainer_cls.__name__}, which "
            f"runs in one process only; launch it without torchrun (WORLD_SIZE={world.size})"
        )
    existing = read_record(run_dir, quarantine=world.main)
    if existing is not None and existing["status"] != "failed" and not args.force:
        say(f"{cfg.run_id}: already has a {existing['status']} record at {run_dir} (use --force to redo)")
    else:
        # a grid or another train on this run: refused, naming the holder
        with RunLock(run_dir) if world.main else contextlib.nullcontext():
            if args.force and world.main:
                aside = set_aside_corrupt(run_dir)
                if aside is not None:
                    say(f"unreadable checkpoint kept as {aside}")
            distributed.barrier(world)  # the other ranks start once rank 0 holds the lock
            # --force keeps the old record until the new one replaces it (atomically, at the end)
            say(f"training {cfg.run_id} {'from step 0 ' if args.force else ''}-> {run_dir}")
            existing = trainer_cls(cfg, run_dir, progress=not args.no_progress, fresh=args.force).run()
    say(
        json.dumps(
            {"status": existing["status"], "error": existing["error"], **existing["metrics"]}, indent=2
        )
    )
    return 0 if existing["status"] == "finished" else 1
