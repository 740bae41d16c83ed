"""``ganbench datasets``: list the registered datasets; ``ganbench datasets show NAME``: a sample grid."""

from __future__ import annotations

import argparse
import inspect
import json
import math
from pathlib import Path
from typing import Any

from ganbench.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list datasets (and whether their files are here), or show samples")
    p.add_argument("--root", help="data root to look in (default: <ganbench cache>/datasets)")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list registered datasets (the default)")
    s = actions.add_parser("show", help="save a grid of real samples as a PNG")
    s.add_argument("name", help="registered dataset name")
    s.add_argument("--split", default="train", help="split to draw from (default: train)")
    s.add_argument("--root", dest="show_root", help="data root (imagefolder: the image folder)")
    s.add_argument("--resolution", type=int, help="resolution (default: native)")
    s.add_argument("--channels", type=int, choices=(1, 3), help="channels (default: native)")
    s.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="a data.params entry (repeatable)"
    )
    s.add_argument("-n", type=int, default=64, help="number of images (default: 64)")
    s.add_argument("--seed", type=int, default=0, help="seed of the random draw (default: 0)")
    s.add_argument("--out", help="PNG path (default: ./<name>-<split>.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "show":
        return show(args)
    rows = list_datasets(args.root)
    print(format_table(rows))
    return 0


# --- list ----------------------------------------------------------------------------------------
def dataset_row(name: str, factory: Any, root: str | None) -> dict[str, Any]:
    """What ``ganbench datasets`` shows for one dataset, without loading image data."""
    from ganbench.config import DataConfig
    from ganbench.data.folder import ImageFiles
    from ganbench.data.stacked import NUM_MODES, StackedFashionMNIST, stacked_options
    from ganbench.data.vision import FashionMNIST, VisionDataset

    if isinstance(factory, type) and issubclass(factory, VisionDataset):
        c, h, w = factory.native
        return {
            "name": name,
            "kind": "images",
            "present": "yes" if factory.present(root) else "no",
            "splits": ", ".join(f"{s} {n}" for s, n in factory.sizes.items()),
            "classes": factory.classes or "-",
            "native": f"{c}×{h}×{w}",
        }
    if factory is StackedFashionMNIST:
        size = inspect.signature(stacked_options).parameters["size"].default
        return {
            "name": name,
            "kind": "images",
            "present": "yes" if FashionMNIST.present(root) else "no",
            "splits": f"train {size}, test {size} (data.params.size)",
            "classes": NUM_MODES,
            "native": "3×28×28",
        }
    if name == "imagefolder":
        row = {"name": name, "kind": "images", "classes": "sub-folders", "native": "first image"}
        if root is None:
            return {**row, "present": "needs data.root", "splits": "train (or sub-folders)"}
        try:
            files = ImageFiles(root)
        except ConfigError:
            return {**row, "present": "no", "splits": "-"}
        return {
            **row,
            "present": "yes",
            "splits": f"train {len(files)}",
            "classes": len(files.classes) or "-",
        }
    listing = getattr(factory, "listing", None)  # datasets that describe themselves unbuilt
    if listing is not None:
        return {"name": name, **listing(root)}
    # anything else (the 2-D toy mixtures): cheap to build, describe itself
    try:
        ds = factory(DataConfig(name=name))
    except Exception as e:  # noqa: BLE001 - a listing must not die on one entry
        return {
            "name": name,
            "kind": "?",
            "present": f"error: {e}",
            "splits": "-",
            "classes": "-",
            "native": "-",
        }
    info = ds.describe()
    return {
        "name": name,
        "kind": ds.kind,
        "present": "generated",
        "splits": "endless",
        "classes": info.get("modes", ds.num_classes) or "-",
        "native": "×".join(map(str, ds.sample_shape)),
    }


def list_datasets(root: str | None = None) -> list[dict[str, Any]]:
    from ganbench.registries import DATASETS, load_all

    load_all()
    return [dataset_row(name, DATASETS.get(name), root) for name in DATASETS.names()]


def format_table(rows: list[dict[str, Any]]) -> str:
    cols = ["name", "kind", "present", "classes", "native", "splits"]
    cells = [[str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths]), *map(line, cells)])


# --- show ----------------------------------------------------------------------------------------
def show(args: argparse.Namespace) -> int:
    from torchvision.utils import save_image

    from ganbench.config import DataConfig
    from ganbench.registries import DATASETS, load_all
    from ganbench.schema import parse_override

    load_all()
    params = dict(parse_override(text) for text in args.param)
    cfg = DataConfig(
        name=args.name,
        root=args.show_root or args.root,
        split=args.split,
        resolution=args.resolution,
        channels=args.channels,
        params=params,
    )
    ds = DATASETS.get(args.name, "ganbench datasets show NAME")(cfg)
    if ds.kind != "images":
        raise ConfigError(f"{args.name!r} is a {ds.kind} dataset; `datasets show` draws image grids only")
    if args.n <= 0:
        raise ConfigError(f"-n must be > 0, got {args.n}")
    n = min(args.n, len(ds))
    x, y = next(ds.stream(n, args.seed))
    out = Path(args.out or f"{args.name}-{args.split}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(x, out, nrow=math.ceil(math.sqrt(n)), normalize=True, value_range=(-1, 1))
    print(json.dumps(ds.describe(), indent=2, default=str))
    if y is not None:
        print(f"labels (row-major): {y.tolist()}")
    print(f"wrote {n} images to {out}")
    return 0
