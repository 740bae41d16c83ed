"""``ganbench eval SOURCE --reference DATASET``: score samples from anywhere against reference
statistics, and write the result with its provenance (docs/evaluation.md)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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
  nvidia-pickle  an NVIDIA StyleGAN2/3 network-snapshot-*.pkl (.pkl): read by a restricted
               unpickler, NOTHING IN IT RUNS; rebuilt as ganbench's own StyleGAN2/3
               (--network G_ema|G, --truncation-psi, --noise-mode)
  run          a ganbench run folder (record.json + checkpoints/); best.pt else last.pt,
               EMA weights when present
With a translation dataset as --reference (e.g. fmnist-edges2garment), SOURCE is a translator
(a TorchScript file or module:factory) applied to that dataset's held-out A images
(docs/translation.md).
"""


# Python API keyword -> this command's flag: errors raised inside ganbench.evaluate name the flag the
# user typed (``--range=0,1``), not the keyword argument it became (``value_range``).
FLAGS = {
    "value_range": "--range",
    "z_dim": "--z-dim",
    "num_classes": "--num-classes",
    "key": "--key",
    "labels_key": "--labels-key",
    "layout": "--layout",
    "labels": "--labels",
    "checkpoint": "--checkpoint",
    "network": "--network",
    "truncation_psi": "--truncation-psi",
    "noise_mode": "--noise-mode",
    "use_ema": "--ema",  # only --no-ema exists: see flag_name
    "kind": "--kind",
    "real": "--reference",
    "split": "--split",
    "root": "--root",
    "resolution": "--resolution",
    "n": "--n",
    "n_real": "--n-real",
    "seed": "--seed",
    "metrics": "--metrics",
    "metric_params": "--metric-param",
    "bootstrap": "--bootstrap",
    "extractor": "--extractor",
    "mode": "--mode",
    "weights": "--weights",
    "resize": "--resize",
    "batch_size": "--batch-size",
    "device": "--device",
}


def flag_name(name: str, value: Any = None) -> str:
    """How ``name`` (set to ``value``) is written on this command line: ``--range=0,1``, ``--labels``,
    ``--no-labels``, ``--no-ema``; an option that is not a flag of ours keeps its name."""
    flag = FLAGS.get(name, name)
    if name == "use_ema":
        return "--no-ema"
    if value is None or value is True:
        return flag
    if value is False:
        return f"--no-{flag.removeprefix('--')}"
    return f"{flag}={value}"  # '=' always: --range=-1,1 would otherwise read as an option


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Warnings raised during the evaluation (e.g. a contradicted --range) as one line each on
    stderr, each said once, instead of Python's file:line form."""
    from ganbench.evaluation.sources.base import RangeWarning  # imports torch: not at the top

    said: set[str] = set()

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        text = str(message)
        if text not in said:
            said.add(text)
            print(f"ganbench eval: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", RangeWarning)  # each evaluation says it, not just the first
        warnings.showwarning = show
        yield


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
        "--kind",
        metavar="KIND",
        # not argparse choices: the SOURCES registry names the valid kinds (a plugin's included)
        help="source kind, when detection is not wanted (the kinds below, or a registered plugin's)",
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
    g.add_argument(
        "--bootstrap",
        type=int,
        metavar="N",
        help="95%% percentile bootstrap CIs over N resamples of the generated samples (>= 10)",
    )
    g.add_argument("--extractor", help="feature extractor (default: the dataset's)")
    g.add_argument("--mode", help="extractor mode (inception: clean, legacy_tensorflow, legacy_pytorch)")
    g.add_argument("--weights", help="extractor weights file (or model folder: dinov2, clip)")
    g.add_argument(
        "--extractor-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other extractor option, e.g. model=vitb14 for dinov2 (repeatable)",
    )
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
    g.add_argument("--network", help="NVIDIA .pkl: the generator to evaluate, G_ema (default) or G")
    g.add_argument("--truncation-psi", type=float, help="NVIDIA .pkl: truncation psi (default 1: none)")
    g.add_argument(
        "--noise-mode", help="NVIDIA .pkl: noise inputs random (default, as NVIDIA's metrics), const or none"
    )
    g.add_argument("--resize", action="store_true", help="resize/convert images to the reference shape")
    g = p.add_argument_group("running")
    g.add_argument("--batch-size", type=int, default=250)
    g.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    g.add_argument(
        "--out",
        help="write the result record (JSON) here; '-' prints it on stdout (the table goes to stderr)",
    )
    g.add_argument("--json", action="store_true", help="print the result record as JSON instead of a table")
    g.add_argument(
        "--as-run",
        metavar="DIR",
        help="also write DIR/record.json, a run record that ganbench leaderboard ranks beside ganbench's "
        "runs (an 'external' row; the file's sha256 in its config and provenance)",
    )
    g.add_argument(
        "--pairs-figure",
        metavar="PNG",
        help="draw the closest generated-training pairs the memorisation metric found (needs --metrics ... "
        "memorisation; one more pass over the source)",
    )
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


def _extractor_params(args: argparse.Namespace) -> dict[str, Any]:
    from ganbench.schema import parse_override

    params = dict(parse_override(text) for text in args.extractor_param)
    params.update({k: v for k, v in (("mode", args.mode), ("weights", args.weights)) if v is not None})
    return params


def run(args: argparse.Namespace) -> int:
    # Heavy imports here, not at the top: `ganbench --help` must not import torch.
    from tabulate import tabulate

    from ganbench.evaluation.api import evaluate
    from ganbench.io import write_json_atomic

    _check_pairs_figure(args)
    with _warnings_as_lines():
        result = _evaluate_translator(args) if _translates(args) else _evaluate(evaluate, args)
        if args.pairs_figure:
            _pairs_figure(args, result)
    record = result.to_record()
    to_stdout = args.out == "-"
    if args.json or to_stdout:
        print(json.dumps(record, indent=2, default=str))
    if not args.json:
        # with --out - stdout holds the JSON record alone (pipeable), so the table goes to stderr
        _print_table(tabulate, result, sys.stderr if to_stdout else sys.stdout)
    if args.out and not to_stdout:
        write_json_atomic(Path(args.out), record)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.as_run:
        from ganbench.evaluation.sources.as_run import run_record
        from ganbench.records import write_record

        print(f"wrote {write_record(Path(args.as_run), run_record(record))}", file=sys.stderr)
    if args.pairs_figure:
        print(f"wrote {args.pairs_figure}", file=sys.stderr)
    return 0


PAIRS_KEY = "memorisation_pairs"  # what the memorisation metric writes for the figure


def _check_pairs_figure(args: argparse.Namespace) -> None:
    """--pairs-figure's needs, before any work: the metric that finds the pairs, a writable PNG path."""
    if not args.pairs_figure:
        return
    from ganbench.io import folder_write_problem

    if "memorisation" not in (args.metrics or []):
        raise ConfigError(
            "--pairs-figure draws the pairs the memorisation metric finds: add it, e.g. "
            "--metrics fid memorisation"
        )
    path = Path(args.pairs_figure)
    if path.is_dir():
        raise ConfigError(f"--pairs-figure {path}: is a folder; give a PNG file name")
    probed, problem = folder_write_problem(path.parent)
    if problem is not None:
        raise ConfigError(f"--pairs-figure {path}: cannot write there ({probed}: {problem})")


def _pairs_figure(args: argparse.Namespace, result: Any) -> None:
    """The closest pairs' images (the source drawn again as evaluated, the reference read by index)."""
    from ganbench.evaluation.api import _reference, as_source
    from ganbench.evaluation.images import reference_data
    from ganbench.evaluation.memorisation import closest_pair_images
    from ganbench.reporting.figures import pairs_figure

    pairs = result.metrics.get(PAIRS_KEY) or []
    if not pairs:
        print("ganbench eval: warning: memorisation kept no pairs (pairs=0): no figure", file=sys.stderr)
        return
    cfg = result.settings
    source = as_source(args.source, args.kind, **_source_options(args)).to(result.compute["device"])
    # the reference split the evaluation read (a run folder's own dataset, opened on that split)
    data = reference_data(
        _reference(source, args.reference, cfg["split"], args.root, args.resolution), cfg["split"]
    )
    fake, train = closest_pair_images(
        pairs, source, data, cfg["n"], cfg["seed"], cfg["batch_size"], cfg["resize"]
    )
    pairs_figure(fake.numpy(), train.numpy(), pairs, Path(args.pairs_figure))


def _print_table(tabulate: Any, result: Any, file: Any) -> None:
    # numbers only: curves (PRD's precision/recall lists) are in the JSON record, not the table
    rows = [
        [k, f"{v:.6g}" if isinstance(v, float) else v]
        for k, v in result.metrics.items()
        if isinstance(v, (int, float))
    ]
    prov, cfg = result.provenance, result.settings
    if "translator" in prov:  # a translator's evaluation (evaluation/translation.py)
        base = prov.get("identity_baseline") or {}  # the do-nothing translator, beside each value
        rows = [[k, v, f"{base[k]:.6g}" if isinstance(base.get(k), float) else ""] for k, v in rows]
        print(tabulate(rows, headers=["metric", "value", "identity"], tablefmt="github"), file=file)
        print(
            f"\n{prov['n_translated']} {cfg['reference']}/{cfg['split']} A images translated "
            f"(seed {cfg['seed']}) vs {prov['n_reference']} B images; extractor {prov['extractor']}",
            file=file,
        )
        return
    print(tabulate(rows, headers=["metric", "value"], tablefmt="github"), file=file)
    ex, ref = prov["extractor"], prov["reference"] or {}
    print(
        f"\n{prov.get('n_fake', prov.get('n_fake_labelled'))} samples (seed {cfg['seed']}) vs "
        f"{ref.get('n_real', '-')} real {cfg['reference']}/{cfg['split']}; extractor {ex['extractor']} "
        f"({ex['mode']}, weights {str(ex['weights_hash'])[:12]})",
        file=file,
    )
    if prov["source"].get("range_warning"):
        print(f"warning: {prov['source']['range_warning']}", file=file)


def _translates(args: argparse.Namespace) -> bool:
    """Whether SOURCE is a translator: the reference is a translation dataset (asked of it)."""
    from ganbench.registries import DATASETS, load_all

    load_all()
    return bool(args.reference) and DATASETS.get(args.reference, "--reference").kind == "translation"


def _evaluate_translator(args: argparse.Namespace) -> Any:
    from ganbench.evaluation.translation import evaluate_translator_spec

    if args.pairs_figure or args.bootstrap:
        raise ConfigError("--pairs-figure and --bootstrap are not available for translators")
    return evaluate_translator_spec(
        args.source,
        args.reference,
        metrics=args.metrics,
        extractor=args.extractor,
        extractor_params=_extractor_params(args),
        n=args.n,
        seed=args.seed,
        split=args.split,
        n_real=args.n_real,
        root=args.root,
        resolution=args.resolution,
        device=args.device,
    )


def _evaluate(evaluate: Any, args: argparse.Namespace) -> Any:
    return evaluate(
        args.source,
        args.reference,
        metrics=args.metrics,
        extractor=args.extractor,
        n=args.n,
        seed=args.seed,
        split=args.split,
        n_real=args.n_real,
        root=args.root,
        resolution=args.resolution,
        extractor_params=_extractor_params(args),
        metric_params=_metric_params(args.metric_param),
        bootstrap=args.bootstrap,
        kind=args.kind,
        device=args.device,
        batch_size=args.batch_size,
        resize=args.resize,
        progress=not args.no_progress,
        names=flag_name,
        **_source_options(args),
    )


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    """The source kind's own options (``ganbench.evaluate``'s ``source_options``)."""
    return {
        "value_range": args.value_range,
        "z_dim": args.z_dim,
        "num_classes": args.num_classes,
        "key": args.key,
        "labels_key": args.labels_key,
        "layout": args.layout,
        "labels": args.labels,
        "checkpoint": args.checkpoint,
        "use_ema": False if args.no_ema else None,
        "network": args.network,
        "truncation_psi": args.truncation_psi,
        "noise_mode": args.noise_mode,
    }
