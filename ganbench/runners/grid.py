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
```
Every run is validated before anything runs; an error names the grid file and the run's values.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path

from ganbench.config import RunConfig, config_from_dict, load_recipe_dict
from ganbench.errors import ConfigError
from ganbench.schema import deep_merge, get_dotted, load_yaml, parse_override, set_dotted

_GRID_KEYS = ("name", "base", "axes", "overrides", "results")


@dataclass
class Grid:
    name: str
    path: Path
    runs: list[RunConfig]
    results: Path | None  # the grid's default results folder, if it names one
    axes: tuple[str, ...] = ()  # the config keys the grid varies, in file order

    def row_keys(self) -> list[str] | None:
        """The axes a leaderboard compares (seeds are averaged, datasets are column groups)."""
        return [k for k in self.axes if k not in ("seed", "data.name")] or None

    def results_dir(self, override: str | Path | None = None) -> Path:
        if override is not None:
            return Path(override)
        return self.results if self.results is not None else Path("results") / self.name


def load_grid(path: str | Path, sets: list[str] | None = None) -> Grid:
    """Read and expand a grid file; ``sets`` are KEY=VALUE overrides applied to every run."""
    path = Path(path)
    spec = load_yaml(path)
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: a grid must be a mapping with keys {', '.join(_GRID_KEYS)}")
    unknown = sorted(set(spec) - set(_GRID_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(_GRID_KEYS)}")
    name = spec.get("name") or path.stem
    base = spec.get("base", {})
    if isinstance(base, str):
        base = load_recipe_dict(path.parent / base)
    elif isinstance(base, dict):
        base = copy.deepcopy(base)
        if "base" in base:
            base = deep_merge(load_recipe_dict(path.parent / base.pop("base")), base)
    else:
        raise ConfigError(f"{path}: base must be a recipe path or a mapping, got {base!r}")
    axes = spec.get("axes") or {}
    if not isinstance(axes, dict) or any(not isinstance(v, list) or not v for v in axes.values()):
        raise ConfigError(f"{path}: axes must map config keys to non-empty lists of values")
    overrides = spec.get("overrides") or []
    for i, ov in enumerate(overrides):
        if not isinstance(ov, dict) or set(ov) - {"when", "set"} or not isinstance(ov.get("set"), dict):
            raise ConfigError(f"{path}: overrides[{i}] must be a mapping with 'when' and 'set' mappings")
    sets = [parse_override(s) for s in sets or []]

    runs: list[RunConfig] = []
    seen: dict[str, str] = {}
    keys = list(axes)
    for values in itertools.product(*(axes[k] for k in keys)):
        combo = dict(zip(keys, values))
        data = copy.deepcopy(base)
        for key, value in combo.items():
            set_dotted(data, key, value)
        for ov in overrides:
            when = ov.get("when") or {}
            if all(get_dotted(data, k) == v for k, v in when.items()):
                for key, value in ov["set"].items():
                    set_dotted(data, key, value)
        for key, value in sets:
            set_dotted(data, key, value)
        label = ", ".join(f"{k}={v}" for k, v in combo.items())
        cfg = config_from_dict(data, f"{path} (run {label})")
        if cfg.run_id in seen:
            continue  # two axis points that give the same config are one run
        seen[cfg.run_id] = label
        runs.append(cfg)
    results = spec.get("results")
    return Grid(name, path, runs, (path.parent / results) if results else None, tuple(keys))
