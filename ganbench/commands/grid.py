"""``ganbench grid FILE``: expand a grid, skip finished runs, resume partial ones, run the rest."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Any

from ganbench.commands import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="run a grid of configs (idempotent: finished runs are skipped)")
    p.add_argument("grid", help="grid YAML file")
    p.add_argument("--results", help="results folder (default: the grid's, else results/<grid name>)")
    p.add_argument("--workers", type=int, help="parallel runs (default: 1)")
    p.add_argument("--executor", default="local", help="local (default) or ray")
    p.add_argument("--address", help="Ray cluster address (with --executor ray)")
    p.add_argument("--retries", type=int, help="retries of a run whose worker died (ray; default: 2)")
    p.add_argument("--cpus-per-run", type=float, help="CPUs Ray reserves per run (default: runtime.cpus, 1)")
    p.add_argument(
        "--gpus-per-run",
        type=float,
        help="GPUs Ray reserves per run, e.g. 0.25 to share a GPU (default: runtime.gpus, 0)",
    )
    add_set_option(p, "in every run")
    p.add_argument("--dry-run", action="store_true", help="list the runs and what would be done")
    p.add_argument("--leaderboard", action="store_true", help="write the leaderboard when the grid is done")
    p.add_argument(
        "--restart-corrupt",
        action="store_true",
        help="start runs whose checkpoints/last.pt cannot be read over from step 0 "
        "(the file is kept as last.pt.corrupt-<time>)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: building the parser for --help must not import torch (startup latency)
    from ganbench.registries import EXECUTORS, load_all
    from ganbench.runners.grid import EXECUTOR_FLAGS, executor_options, load_grid
    from ganbench.runners.run import check_results_dir

    load_all()
    if args.workers is not None and args.workers < 1:
        from ganbench.errors import ConfigError

        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    executor = EXECUTORS.get(args.executor, "--executor")
    given = {k: getattr(args, f.lstrip("-").replace("-", "_")) for k, f in EXECUTOR_FLAGS.items()}
    options = executor_options(executor, args.executor, {k: v for k, v in given.items() if v is not None})
    grid = load_grid(args.grid, args.sets)
    results = grid.results_dir(args.results)
    if not args.dry_run:
        check_results_dir(results, "--results" if args.results else f"results folder of {args.grid}")
    failed = _run_stage(args, grid.name, grid.runs, results, executor, options)
    if grid.search is not None:  # protocol: search: the best trial per method, re-run over the seeds
        stage2 = grid.followups(results)
        print(
            f"search: best of {grid.search.trials} trials per method, re-run at seeds "
            f"{list(grid.search.rerun_seeds)}: {len(stage2.runs)} runs for {len(stage2.best)} methods"
            + (f"; {len(stage2.waiting)} methods still wait for their trials" if stage2.waiting else "")
        )
        if stage2.runs:
            failed += _run_stage(args, f"{grid.name} re-runs", stage2.runs, results, executor, options)
        if stage2.waiting:
            print(
                f"  waiting: {', '.join(stage2.waiting[:5])}{' …' if len(stage2.waiting) > 5 else ''}: "
                f"their trials have no records yet; run `ganbench grid {args.grid}` again when they finish"
            )
    if args.leaderboard:
        from ganbench.reporting.writers import write_leaderboard

        paths = write_leaderboard(
            results, results / "leaderboard", title=f"{grid.name} leaderboard", row_keys=grid.row_keys()
        )
        print(f"leaderboard: {paths['markdown']}")
        if grid.search is not None:
            from ganbench.reporting.search import write_search_leaderboard

            search_paths = write_search_leaderboard(results, results / "leaderboard")
            print(f"search leaderboard: {search_paths['markdown']}")
    return 1 if failed else 0


def _run_stage(
    args: argparse.Namespace, name: str, runs: list, results: Any, executor: Any, options: dict
) -> int:
    """Run ``runs`` (skipping finished ones) with a progress bar and a summary; returns the number
    of failed runs."""
    from tqdm.auto import tqdm

    from ganbench.runners.driver import run_grid
    from ganbench.runners.grid import accepts
    from ganbench.runners.lock import describe
    from ganbench.runners.run import is_done, run_dir_for
    from ganbench.training.checkpoint import set_aside_corrupt

    options = dict(options)
    todo = [cfg for cfg in runs if not is_done(cfg, results)]
    skipped = len(runs) - len(todo)
    print(f"grid {name}: {len(runs)} runs, {skipped} already done, {len(todo)} to run -> {results}")
    if args.restart_corrupt and not args.dry_run:
        for cfg in todo:
            aside = set_aside_corrupt(run_dir_for(cfg, results))
            if aside is not None:
                print(f"  restart  {cfg.run_id}: unreadable last.pt kept as {aside.name}; from step 0")
    if args.dry_run:
        for cfg in runs:
            print(f"  {'skip' if cfg not in todo else 'run '}  {cfg.run_id}")
        return 0
    counts: Counter = Counter()
    failures: list[dict] = []
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), desc=f"grid {name}", unit="run", file=sys.stdout, dynamic_ncols=True)

    live: dict = {}  # running / queued counts, from executors that report them
    retried: list[dict] = []

    def on_result(res: dict) -> None:
        if res["status"] == "held":  # another driver trains it: the driver comes back to it
            bar.write(f"  held     {res['run_id']}: by {describe(res['holder'])}; waiting for it")
            return
        counts["elsewhere" if res["status"] == "skipped" else res["status"]] += 1
        if res.get("attempt", 1) > 1:  # the ray executor re-ran it after its worker died
            retried.append(res)
        if res["status"] == "skipped":
            bar.write(f"  skipped  {res['run_id']}: done by another driver")
        elif res["status"] != "finished":
            failures.append(res)
            bar.write(f"  {res['status']}: {res['run_id']}: {res['error']}")
        bar.set_postfix({**counts, **live})
        bar.update(1)

    def on_wait(held: list) -> None:
        bar.write(f"  waiting for {len(held)} run(s) held by another driver (run here if left unfinished)")

    def on_progress(state: dict) -> None:
        live.update(state)
        bar.set_postfix({**counts, **live})

    if accepts(executor, "on_progress"):
        options["on_progress"] = on_progress
    run_grid(executor, todo, results, on_result=on_result, on_wait=on_wait, **options)
    bar.close()
    elsewhere = f", {counts['elsewhere']} done by another driver" if counts["elsewhere"] else ""
    print(
        f"grid {name} in {time.perf_counter() - t0:.0f}s: {counts['finished']} finished, "
        f"{skipped} skipped, {counts['diverged']} diverged, {counts['failed']} failed{elsewhere}"
    )
    for res in retried:
        print(f"  retried  {res['run_id']}: {res['status']} on attempt {res['attempt']} (worker died before)")
    for res in failures:
        print(f"  {res['status']:8s} {res['run_id']}: {res['error']}")
    if failures:
        print(f"  each run's log: {results}/<run id>/run.log")
    return counts["failed"]
