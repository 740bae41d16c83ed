"""``ganbench recipes``: the recipes and grids shipped with ganbench, listed and copied out.

After ``pip install ganbench`` the recipes are package data (``ganbench/recipes``, built from the
repository's ``recipes/`` folder, see setup.py); in a checkout or an editable install they are that
``recipes/`` folder. ``copy`` writes a recipe together with every file it names through ``base:``,
in the same layout, so the copy runs as it is (``ganbench train DEST/toy/ring8.yaml``) and can be
edited without touching the installed package.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import Any

import ganbench
from ganbench.errors import ConfigError, GanbenchError

KINDS = ("run", "grid", "extractor")
RUN_WITH = {
    "run": "ganbench train {path}",
    "grid": "ganbench grid {path}",
    "extractor": "python scripts/train_fmnist_classifier.py --recipe {path}  (from a ganbench checkout)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recipes", help="list the shipped recipes and grids, or copy them to a folder")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="list the shipped recipes and grids")
    ls.add_argument("--kind", choices=KINDS, help="only this kind (run recipes, grids, extractor recipes)")
    ls.set_defaults(func=run_list)
    cp = actions.add_parser(
        "copy",
        help="copy recipes (with the files they name through base:) to a folder, keeping their layout",
    )
    cp.add_argument("names", nargs="*", metavar="NAME", help="e.g. toy/ring8.yaml grids/toy.yaml")
    cp.add_argument("dest", metavar="DEST", help="folder to copy into (created if missing)")
    cp.add_argument("--all", action="store_true", help="copy every shipped recipe and grid")
    cp.add_argument("--force", action="store_true", help="overwrite files in DEST that differ")
    cp.set_defaults(func=run_copy)


def recipes_root() -> Path:
    """The folder of shipped recipes: package data in an installed wheel, else the checkout's."""
    package = Path(ganbench.__file__).resolve().parent
    for root in (package / "recipes", package.parent / "recipes"):
        if (root / "toy").is_dir():
            return root
    raise GanbenchError(
        f"no recipes found in {package / 'recipes'} or {package.parent / 'recipes'}: this ganbench "
        "install is incomplete; reinstall it (pip install --force-reinstall ganbench)"
    )


def shipped(root: Path | None = None) -> list[str]:
    """Every shipped recipe as a path relative to the recipes folder (``toy/ring8.yaml``), sorted."""
    root = root or recipes_root()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml"))


def _read(path: Path) -> Any:
    import yaml  # on use only: the help path stays light (startup latency)

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise GanbenchError(f"{path}: cannot read this shipped recipe ({e}); reinstall ganbench") from None


def kind_of(name: str, data: Any) -> str:
    if name.startswith("extractors/"):
        return "extractor"  # feature-extractor training recipes (scripts/), not run configs
    return "grid" if isinstance(data, dict) and "axes" in data else "run"


def _bases(data: Any) -> list[str]:
    """The ``base:`` file names anywhere in a recipe or grid (a grid's ``base`` may be a mapping)."""
    out: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "base" and isinstance(value, str):
                out.append(value)
            else:
                out += _bases(value)
    elif isinstance(data, list):
        for item in data:
            out += _bases(item)
    return out


def _description(path: Path, data: Any, width: int = 90) -> str:
    """The first comment line of a recipe file (what it is), else what it changes on its base."""
    text = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("# ").strip()
            break
        if line.strip():
            break
    if not text and isinstance(data, dict) and isinstance(data.get("base"), str):
        text = f"{data['base']} with its own {', '.join(k for k in data if k != 'base')}"
    return text if len(text) <= width else text[: width - 1] + "…"


def resolve(name: str, root: Path, names: list[str]) -> str:
    """``name`` as given by a user (``toy/ring8``, ``recipes/toy/ring8.yaml``) → a shipped name."""
    key = name.removeprefix("recipes/").removeprefix("./")
    for candidate in (key, f"{key}.yaml"):
        if candidate in names:
            return candidate
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"no shipped recipe {name!r}{hint} (`ganbench recipes list` shows them all)")


def with_bases(name: str, root: Path) -> list[str]:
    """``name`` and every shipped file it names through ``base:``, recursively, ``name`` first."""
    order: list[str] = []
    todo = [name]
    while todo:
        current = todo.pop()
        if current in order:
            continue
        order.append(current)
        for base in _bases(_read(root / current)):
            target = (root / current).parent / base
            try:
                rel = target.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                where = root / current
                raise GanbenchError(f"{where}: base {base!r} is outside the shipped recipes") from None
            if not (root / rel).is_file():
                raise GanbenchError(f"{root / current}: base {base!r} is not a shipped file")
            todo.append(rel)
    return order


def run_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate  # on use only (startup latency)

    root = recipes_root()
    rows = []
    for name in shipped(root):
        data = _read(root / name)
        kind = kind_of(name, data)
        if args.kind in (None, kind):
            rows.append((name, kind, _description(root / name, data)))
    print(f"recipes in {root}:")
    print(tabulate(rows, headers=("recipe", "kind", "description"), tablefmt="plain"))
    print(
        "\ncopy one to edit or run it: ganbench recipes copy toy/ring8.yaml DEST, then "
        "ganbench train DEST/toy/ring8.yaml (grids: ganbench grid)"
    )
    return 0


def run_copy(args: argparse.Namespace) -> int:
    from ganbench.io import write_bytes_atomic  # on use only (startup latency)

    root = recipes_root()
    names = shipped(root)
    if args.all == bool(args.names):
        raise ConfigError("recipes copy: name the recipes to copy, or give --all (not both)")
    wanted = names if args.all else [resolve(n, root, names) for n in args.names]
    files: list[str] = []
    for name in wanted:
        files += [f for f in with_bases(name, root) if f not in files]
    dest = Path(args.dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise ConfigError(f"recipes copy: DEST {dest} is a file, not a folder")
    clashes = [f for f in files if (dest / f).exists() and (dest / f).read_bytes() != (root / f).read_bytes()]
    if clashes and not args.force:
        raise ConfigError(
            f"recipes copy: {', '.join(str(dest / f) for f in clashes)} exist(s) and differ(s) from the "
            "shipped file(s); nothing was copied (--force overwrites them)"
        )
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(dest / f, (root / f).read_bytes())
    print(f"copied {len(files)} file(s) to {dest}:")
    for name in wanted:
        extra = [f for f in with_bases(name, root) if f != name]
        note = f"  (with {', '.join(extra)})" if extra else ""
        print(f"  {dest / name}{note}")
        if not args.all:
            kind = kind_of(name, _read(root / name))
            print(f"    run it: {RUN_WITH[kind].format(path=dest / name)}")
    return 0
