"""``ganbench eval SOURCE --reference DATASET``: score samples from anywhere against reference
statistics, and write the result with its provenance (docs/evaluation.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ganbench.errors import ConfigError

SOURCE_HELP = """\
SOURCE is one of (detected; --kind forces it):
  folder       a folder of PNG/JPEG images (recursive); class sub-folders give labels
  array        an .npy/.npz file: N×C×H×W, N×H×W×C or N×H×W; uint8, or float with --range;
               .npz keys 'images' (or --key) and optionally 'labels'; never unpickled
  torchscript  a TorchScript generator file (torch.jit.save), called as G(z) or G(z, y)
  callable     package.module:factory or path/to/file.py:factory; factory() returns the
               generator. THIS IMPORTS AND RUNS THAT PYTHON CODE: use it on code you trust
  run          a ganbench run folder (record.json + checkpoints/); best.pt else last.pt,
               EMA weights when present
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate images, arrays, generators or run folders against reference statistics",
        description="Evaluate samples from anywhere against the reference statistics of a dataset split.",
        epilog=SOURCE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="what to evaluate (see below)")
    p.add_argument(
        "--kind", choices=["folder", "array", "torchscript", "callable", "run"], help="source kind"
    )
    g = p.add_argument_group("reference")
    g.add_argument("--reference", metavar="DATASET", help="dataset name (default for a run folder: its own)")
    g.add_argument("--split", help="reference split (default: train)")
    g.add_argument("--root", help="reference dataset folder (data.root)")
    g.add_argument("--resolution", type=int, help="reference resolution (default: native)")
    g.add_argument("--n-real", type=int, help="first N real images of the split (default: all)")
    g = p.add_argument_group("metrics (a run folder's defaults are its recipe's eval settings)")
    g.add_argument("--metrics", nargs="+", metavar="NAME", help="metrics (default: fid)")
    g.add_argument(
        "--metric-param",
        action="append",
        default=[],
        metavar="METRIC.KEY=VALUE",
        help="metric option, e.g. kid.num_subsets=50 or is.splits=10 (repeatable)",
    )
    g.add_argument("--n", type=int, help="samples to score (default: all stored images; 10000 generated)")
    g.add_argument("--seed", type=int, help="evaluation seed: latents, subsets (default 2024)")
    g.add_argument("--extractor", help="feature extractor (default: the dataset's)")
    g.add_argument("--mode", help="extractor mode (inception: clean, legacy_tensorflow, legacy_pytorch)")
    g.add_argument("--weights", help="extractor weights file")
    g = p.add_argument_group("source options")
    g.add_argument("--num-classes", type=int, help="generator: class-conditional with this many classes")
    g.add_argument("--z-dim", type=int, help="generator: latent size (default: its z_dim attribute)")
    g.add_argument(
        "--range",
        dest="value_range",
        help="float value range LO,HI: write --range=-1,1 (default), 0,1 or 0,255",
    )
    g.add_argument("--key", help=".npz: the images array (default 'images')")
    g.add_argument("--labels-key", help=".npz: the labels array (default 'labels')")
    g.add_argument("--layout", choices=["nchw", "nhwc"], help="array layout when the shape is ambiguous")
    g.add_argument(
        "--labels",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="folder: class sub-folders are labels",
    )
    g.add_argument("--checkpoint", choices=["auto", "best", "last"], help="run folder: which checkpoint")
    g.add_argument("--no-ema", action="store_true", help="run folder: the raw G, not its EMA")
    g.add_argument("--resize", action="store_true", help="resize/convert images to the reference shape")
    g = p.add_argument_group("running")
    g.add_argument("--batch-size", type=int, default=250)
    g.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    g.add_argument("--out", help="write the result record (JSON) here")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _metric_params(items: list[str]) -> dict[str, dict[str, Any]]:
    from ganbench.schema import parse_override

    out: dict[str, dict[str, Any]] = {}
    for text in items:
        key, value = parse_override(text)
        metric, _, name = key.partition(".")
        if not metric or not name:
            raise ConfigError(f"--metric-param {text!r}: expected METRIC.KEY=VALUE, e.g. kid.num_subsets=50")
        out.setdefault(metric, {})[name] = value
    return out


def _reference(args: argparse.Namespace, source: Any, split: str) -> Any:
    from ganbench.config import DataConfig
    from ganbench.registries import DATASETS

    if args.reference is None:
        if args.root is not None or args.resolution is not None:
            raise ConfigError(
                "--root and --resolution describe the --reference dataset; name it with --reference"
            )
        data = source.default_reference()
        if data is None:
            raise ConfigError("--reference DATASET is required (e.g. --reference fashion-mnist)")
        return data
    cfg = DataConfig(name=args.reference, root=args.root, split=split, resolution=args.resolution)
    return DATASETS.get(args.reference, "--reference")(cfg)


def _eval_config(args: argparse.Namespace, source: Any) -> Any:
    """The evaluation settings: the command line, else (a run folder) the run's recipe, else the
    defaults. So ``ganbench eval RUN_DIR`` alone repeats the run's reported evaluation."""
    from ganbench.config import EvalConfig

    recipe = getattr(getattr(source, "cfg", None), "eval", None)
    base = recipe or EvalConfig(metrics=["fid"])
    metrics = list(args.metrics) if args.metrics else list(base.metrics)
    if args.n is not None:
        n = args.n
    elif recipe is not None:
        n = recipe.n_samples
    else:
        n = source.size if source.size is not None else 10000
    extractor = args.extractor or base.extractor
    extractor_params = dict(base.extractor_params) if extractor == base.extractor else {}
    extractor_params.update(
        {k: v for k, v in (("mode", args.mode), ("weights", args.weights)) if v is not None}
    )
    cli_params = _metric_params(args.metric_param)
    metric_params = {
        m: {**base.metric_params.get(m, {}), **cli_params.get(m, {})}
        for m in dict.fromkeys([*base.metric_params, *cli_params])
        if m in metrics or m in cli_params
    }
    return EvalConfig(
        n_samples=n,
        seed=args.seed if args.seed is not None else base.seed,
        metrics=metrics,
        extractor=extractor,
        reference_split=args.split or base.reference_split,
        n_real=args.n_real if args.n_real is not None else base.n_real,
        extractor_params=extractor_params,
        metric_params=metric_params,
    )


def run(args: argparse.Namespace) -> int:
    import torch
    from tabulate import tabulate

    from ganbench.config import check_eval_config
    from ganbench.evaluation.images import evaluate_source
    from ganbench.evaluation.sources import open_source
    from ganbench.io import write_json_atomic
    from ganbench.records import versions
    from ganbench.training.device import resolve_device

    t0 = time.perf_counter()
    device = resolve_device(args.device)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    options = {
        "value_range": args.value_range,
        "z_dim": args.z_dim,
        "num_classes": args.num_classes,
        "key": args.key,
        "labels_key": args.labels_key,
        "layout": args.layout,
        "labels": args.labels,
        "checkpoint": args.checkpoint,
        "use_ema": False if args.no_ema else None,
    }
    source = open_source(args.source, args.kind, **options)
    eval_cfg = _eval_config(args, source)
    split, seed, n = eval_cfg.reference_split, eval_cfg.seed, eval_cfg.n_samples
    data = _reference(args, source, split)
    check_eval_config(eval_cfg, data.name, "ganbench eval")
    print(
        f"evaluating {source} against {data.name} ({split}) on {device}: {', '.join(eval_cfg.metrics)}",
        file=sys.stderr,
    )
    result = evaluate_source(
        source,
        data,
        eval_cfg,
        seed,
        device,
        batch_size=args.batch_size,
        resize=args.resize,
        progress=not args.no_progress,
    )
    rows = [[k, f"{v:.6g}" if isinstance(v, float) else v] for k, v in result.metrics.items()]
    print(tabulate(rows, headers=["metric", "value"], tablefmt="github"))
    prov = result.provenance
    ex, ref = prov["extractor"], prov["reference"] or {}
    print(
        f"\n{prov.get('n_fake', prov.get('n_fake_labelled'))} samples (seed {seed}) vs "
        f"{ref.get('n_real', '-')} real {data.name}/{split}; extractor {ex['extractor']} ({ex['mode']}, "
        f"weights {str(ex['weights_hash'])[:12]})"
    )
    if args.out:
        record = {
            "schema_version": 1,
            "kind": "eval",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "metrics": result.metrics,
            "config": {
                "source": args.source,
                "kind": source.kind,
                "reference": data.name,
                "split": split,
                "n": n,
                "n_real": eval_cfg.n_real,
                "seed": seed,
                "metrics": eval_cfg.metrics,
                "metric_params": eval_cfg.metric_params,
                "extractor": eval_cfg.extractor,
                "extractor_params": eval_cfg.extractor_params,
                "resize": args.resize,
                "batch_size": args.batch_size,
            },
            "provenance": {"versions": versions(), **prov},
            "compute": {
                "wall_time_s": time.perf_counter() - t0,
                "device": str(device),
                "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                "threads": torch.get_num_threads(),
            },
        }
        write_json_atomic(Path(args.out), record)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
