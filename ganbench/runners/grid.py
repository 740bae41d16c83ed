"""Grid files: a base recipe plus axes over any config key, expanded to validated run configs.

```yaml
name: toy                      # results go to results/<name> unless --results says otherwise
base: ../toy/base.yaml         # a recipe file (relative to this file) or an inline mapping
axes:                          # the cartesian product of these, in this order
  data.name: [ring8, grid25]
  objective.loss: [minimax, nonsaturating]
  seed: [0, 1, 2]
overrides:                     # applied to every run whose values match `when`
  - when: {objective.lipschitz: clip}
    set: {optim.name: rmsprop}
protocol: shared               # shared (default) | paper | search: how methods are compared
```
Every run is validated before anything runs; an error names the grid file and the run's values.

Comparison protocols (``protocol:``), reported separately (each grid has its own results folder):

- ``shared``: every method at the grid's one setting (its base and overrides).
- ``paper``: each method at its paper's settings, from the cited table in ``runners/paper.py``
  (applied after the grid's overrides; ``--set`` still wins).
- ``search``: an equal-budget random search per method (``search:`` block, ``runners/search.py``):
  the grid's runs are N trials per method; once a method's trials have records, its best trial is
  re-run over K seeds (:meth:`Grid.followups`, which ``ganbench grid`` runs as a second stage).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ganbench.config import RunConfig, config_from_dict, load_recipe_dict
from ganbench.errors import ConfigError
from ganbench.runners import paper
from ganbench.runners.search import (
    FollowUps,
    Search,
    accepts,
    check_space_used,
    followups,
    parse_search,
    trial_config,
)
from ganbench.schema import check_key, deep_merge, get_dotted, load_yaml, parse_override, set_dotted

_GRID_KEYS = ("name", "base", "axes", "overrides", "results", "protocol", "search")
PROTOCOLS = ("shared", "paper", "search")

__all__ = ["EXECUTOR_FLAGS", "Grid", "accepts", "executor_options", "load_grid"]


@dataclass
class Grid:
    name: str
    path: Path
    runs: list[RunConfig]
    results: Path | None  # the grid's default results folder, if it names one
    axes: tuple[str, ...] = ()  # the config keys the grid varies, in file order
    protocol: str = "shared"
    search: Search | None = None
    methods: dict[str, list[RunConfig]] = field(default_factory=dict)  # search: method -> its N trials

    def followups(self, results_dir: str | Path) -> FollowUps:
        """Stage 2 of a search grid: the best trial of each method whose trials are done, at the
        rerun seeds (none for other protocols)."""
        if self.search is None:
            return FollowUps([], [], {})
        return followups(self.search, self.methods, results_dir)

    def row_keys(self) -> list[str] | None:
        """The axes a leaderboard compares (seeds are averaged, datasets are column groups). An
        axis of mappings (``objective.techniques: [{}, {ada: ...}]``) is no record key — records
        hold its flattened leaves — so with one the leaderboard finds the rows itself (None)."""
        keys = [k for k in self.axes if k not in ("seed", "data.name")]
        configs = [run.to_dict() for run in self.runs]
        if any(isinstance(get_dotted(c, k), dict) for c in configs for k in keys):
            return None
        return keys or None

    def results_dir(self, override: str | Path | None = None) -> Path:
        if override is not None:
            return Path(override)
        return self.results if self.results is not None else Path("results") / self.name


def load_grid(path: str | Path, sets: list[str] | None = None) -> Grid:
    """Read and expand a grid file; ``sets`` are KEY=VALUE overrides applied to every run.
    Every run is validated here, once: executors receive these configs as they are."""
    path = Path(path)
    spec = load_yaml(path)
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: a grid must be a mapping with keys {', '.join(_GRID_KEYS)}")
    unknown = sorted(set(spec) - set(_GRID_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(_GRID_KEYS)}")
    name = check_grid_name(spec.get("name") or path.stem, path)
    base = _base(spec.get("base", {}), path)
    axes = spec.get("axes") or {}
    if not isinstance(axes, dict) or any(not isinstance(v, list) or not v for v in axes.values()):
        raise ConfigError(f"{path}: axes must map config keys to non-empty lists of values")
    overrides = _overrides(spec.get("overrides") or [], path)
    sets = [parse_override(s) for s in sets or []]
    protocol = spec.get("protocol", "shared")
    if protocol not in PROTOCOLS:
        raise ConfigError(f"{path}: protocol {protocol!r}; valid choices: {', '.join(PROTOCOLS)}")
    if (protocol == "search") != ("search" in spec):
        raise ConfigError(
            f"{path}: a search: block goes with protocol: search (and protocol: search needs one); "
            f"this grid has protocol {protocol!r} and {'a' if 'search' in spec else 'no'} search: block"
        )
    search = parse_search(spec["search"], path) if protocol == "search" else None
    if search is not None and "seed" in axes:
        raise ConfigError(
            f"{path}: protocol: search trains its trials at the recipe's seed and re-runs the best at "
            f"search.rerun_seeds {list(search.rerun_seeds)}; remove the seed axis"
        )

    defaults = RunConfig().to_dict()
    runs: list[RunConfig] = []
    seen: dict[str, str] = {}
    matched = [0] * len(overrides)
    keys = list(axes)
    methods: dict[str, list[RunConfig]] = {}
    method_data: list[dict[str, Any]] = []
    for values in itertools.product(*(axes[k] for k in keys)):
        combo = dict(zip(keys, values))
        data = copy.deepcopy(base)
        for key, value in combo.items():
            set_dotted(data, key, value)
        for i, ov in enumerate(overrides):
            # a key the recipe leaves out has its default value
            if all(get_dotted(data, k, get_dotted(defaults, k)) == v for k, v in ov["when"].items()):
                matched[i] += 1
                for key, value in ov["set"].items():
                    set_dotted(data, key, value)
        label = ", ".join(f"{k}={v}" for k, v in combo.items())
        if protocol == "paper":
            _apply_paper_settings(data, defaults, f"{path} (run {label})")
        for key, value in sets:
            set_dotted(data, key, value)
        where = f"{path} (run {label})"
        if search is None:
            cfgs = [config_from_dict(data, where)]
        else:
            cfgs = [trial_config(search, t, data, where) for t in range(search.trials)]
            methods[label or "all"] = cfgs
            method_data.append(data)
        for cfg in cfgs:
            if cfg.run_id in seen:
                continue  # two axis points that give the same config are one run
            seen[cfg.run_id] = label
            runs.append(cfg)
    _check_all_matched(overrides, matched, runs, path)
    if search is not None:
        check_space_used(search, method_data)
    results = spec.get("results")
    return Grid(
        name, path, runs, (path.parent / results) if results else None, tuple(keys), protocol, search, methods
    )


def _apply_paper_settings(data: dict[str, Any], defaults: dict[str, Any], where: str) -> None:
    """``protocol: paper``: the cited table's settings for this run's method (runners/paper.py)."""
    entries = paper.matching(data, lambda d, k: get_dotted(d, k, get_dotted(defaults, k)))
    if not entries:
        method = {
            k: get_dotted(data, k, get_dotted(defaults, k)) for k in ("objective.loss", "objective.lipschitz")
        }
        known = "; ".join(", ".join(f"{k}={v}" for k, v in e.when.items()) for e in paper.PAPER_SETTINGS)
        raise ConfigError(
            f"{where}: protocol: paper has no published settings for {method}; the table "
            f"(ganbench/runners/paper.py) covers: {known}"
        )
    for entry in entries:
        for key, value in entry.set.items():
            set_dotted(data, key, value)


def check_grid_name(name: Any, path: Path) -> str:
    """A grid's name names its default results folder ``results/<name>``: a name, never a path."""
    text = str(name)
    plain = PurePosixPath(text).name == text and PureWindowsPath(text).name == text
    if not isinstance(name, str) or not plain or text in ("", ".", ".."):
        raise ConfigError(
            f"{path}: name {name!r} must be a plain name (no '/', '\\', '..' or absolute path): it names "
            "the folder results/<name>; choose another folder with the grid's results: key or --results"
        )
    return text


def _base(base: Any, path: Path) -> dict[str, Any]:
    if isinstance(base, str):
        return load_recipe_dict(path.parent / base)
    if isinstance(base, dict):
        base = copy.deepcopy(base)
        if "base" in base:
            base = deep_merge(load_recipe_dict(path.parent / base.pop("base")), base)
        return base
    raise ConfigError(f"{path}: base must be a recipe path or a mapping, got {base!r}")


def _overrides(overrides: Any, path: Path) -> list[dict[str, Any]]:
    """The overrides, each ``when`` key checked to be a config key (a typo would match nothing)."""
    if not isinstance(overrides, list):
        raise ConfigError(f"{path}: overrides must be a list of {{when: ..., set: ...}} mappings")
    out = []
    for i, ov in enumerate(overrides):
        when = ov.get("when") if isinstance(ov, dict) else None
        if (
            not isinstance(ov, dict)
            or set(ov) - {"when", "set"}
            or not isinstance(ov.get("set"), dict)
            or not isinstance(when or {}, dict)
        ):
            raise ConfigError(f"{path}: overrides[{i}] must be a mapping with 'when' and 'set' mappings")
        for key in when or {}:
            check_key(RunConfig, key, f"{path}: overrides[{i}].when")
        out.append({"when": dict(when or {}), "set": ov["set"]})
    return out


def _check_all_matched(
    overrides: list[dict[str, Any]], matched: list[int], runs: list[RunConfig], path: Path
) -> None:
    """An override that matches no run is a mistake (a value no axis has): say which values exist."""
    for i, (ov, n) in enumerate(zip(overrides, matched)):
        if n or not ov["when"]:
            continue
        have = []
        for key in ov["when"]:
            values = {repr(get_dotted(cfg.to_dict(), key)) for cfg in runs}
            have.append(f"{key}: {', '.join(sorted(values))}")
        raise ConfigError(
            f"{path}: overrides[{i}].when {ov['when']} matches no run of the grid; "
            f"the runs have {'; '.join(have)}"
        )


# --- executor options --------------------------------------------------------------------------

# ``ganbench grid``'s executor flags, by the executor keyword argument each one sets.
EXECUTOR_FLAGS = {
    "workers": "--workers",
    "address": "--address",
    "retries": "--retries",
    "cpus": "--cpus-per-run",
    "gpus": "--gpus-per-run",
}


def executor_options(executor: Callable[..., Any], name: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (executor keyword -> value, for the flags the user set), checked: a flag the executor
    has no keyword for does not apply to it, and is an error rather than silently ignored."""
    wrong = [EXECUTOR_FLAGS[k] for k in given if not accepts(executor, k)]
    if wrong:
        own = [flag for k, flag in EXECUTOR_FLAGS.items() if accepts(executor, k)]
        one = len(wrong) == 1
        raise ConfigError(
            f"{', '.join(wrong)} do{'es' if one else ''} not apply to --executor {name} (its options: "
            f"{', '.join(own) or 'none'}); remove {'it' if one else 'them'}"
            + ("" if name == "ray" else " or use --executor ray")
        )
    return dict(given)
