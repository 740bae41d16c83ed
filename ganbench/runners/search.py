"""Equal-budget random search per method (Lucic et al. 2018, "Are GANs created equal?"): the
``search:`` block of a grid file (``protocol: search``).

```yaml
protocol: search
search:
  trials: 10                 # N trials per method (every axis point but the seed is a method)
  seed: 0                    # seeds the draws: trial t's values depend only on (seed, t)
  rerun_seeds: [1, 2, 3]     # the best trial per method is trained again at these K seeds
  select: [modes, hq_percent]  # ranks trials (lexicographic); default: eval.selection_metric
  space:
    optim.lr_d: {log_uniform: [1.0e-5, 1.0e-2]}
    optim.betas: {choice: [[0.5, 0.999], [0.0, 0.9]]}
    train.n_critic: {choice: [1, 5]}
    objective.lipschitz_params.weight: {log_uniform: [0.01, 10.0]}
```

- **Trials** are ordinary runs (resumable, skippable, executor-agnostic): stage 1 of the grid. Every
  method gets the same N draws (common random numbers: the comparison is between methods, not
  between luckier draws). A component parameter (``objective.lipschitz_params.weight``, …) is set
  only for the runs whose component takes it (clipping has no ``weight``): the component says so
  through its signature. A key that applies to no run of the grid is an error.
- **Selection** reads each trial's last periodic evaluation, which is on ``eval.selection_seed``
  at the final step (``eval.every`` must divide ``train.steps``): never the reported number.
- **Reruns** (stage 2): the best trial per method at ``rerun_seeds``, which must differ from the
  trials' training seed, so the reported best-of-N comes from runs that were not used to choose.
  They are expanded once every trial of that method has its record (``followups``).

Trials are labelled ``name: "search:trial:<t>"`` and reruns ``"search:best:<t>"`` (the label is
not part of the run id); the leaderboard (``reporting/search.py``) groups by it.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganbench.config import RunConfig, config_from_dict
from ganbench.errors import ConfigError
from ganbench.evaluation.metric import is_lower_better, output_info
from ganbench.records import read_record
from ganbench.registries import CONDITIONINGS, LIPSCHITZ, LOSSES, TECHNIQUES, load_all
from ganbench.runners.run import run_dir_for
from ganbench.schema import check_key, get_dotted, set_dotted

SEARCH_KEYS = ("trials", "seed", "rerun_seeds", "select", "space")
DISTRIBUTIONS = ("log_uniform", "uniform", "choice")
TRIAL, BEST = "search:trial:", "search:best:"

# Component parameters: the mapping key under which they sit -> how to find the component's factory.
_COMPONENT_PARAMS = {
    "objective.loss_params": lambda d: LOSSES.get(get_dotted(d, "objective.loss")),
    "objective.lipschitz_params": lambda d: LIPSCHITZ.get(get_dotted(d, "objective.lipschitz")),
    "model.conditioning_params": lambda d: CONDITIONINGS.get(get_dotted(d, "model.conditioning")),
}


@dataclass(frozen=True)
class Dimension:
    key: str
    kind: str  # log_uniform | uniform | choice
    values: tuple[Any, ...]

    def draw(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return copy.deepcopy(self.values[int(rng.integers(len(self.values)))])
        lo, hi = self.values
        u = rng.uniform(math.log(lo), math.log(hi)) if self.kind == "log_uniform" else rng.uniform(lo, hi)
        value = math.exp(u) if self.kind == "log_uniform" else u
        return float(f"{value:.4g}")  # 4 significant digits: readable configs, distinct draws


@dataclass
class Search:
    trials: int
    seed: int
    rerun_seeds: tuple[int, ...]
    select: tuple[str, ...]  # empty: the runs' eval.selection_metric (or first metric)
    space: tuple[Dimension, ...]
    path: Path = field(default=Path("grid.yaml"))

    def draws(self, t: int) -> dict[str, Any]:
        """Trial ``t``'s values: the same for every method, depending only on (seed, t)."""
        rng = np.random.default_rng([self.seed, t])
        return {d.key: d.draw(rng) for d in self.space}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_search(spec: Any, path: Path) -> Search:
    """The ``search:`` block, checked before any run: keys, distributions, ranges, counts."""
    where = f"{path}: search"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be a mapping with keys {', '.join(SEARCH_KEYS)}")
    unknown = sorted(set(spec) - set(SEARCH_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(SEARCH_KEYS)}"
        )
    trials = spec.get("trials")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"{where}.trials must be an integer >= 1 (trials per method), got {trials!r}")
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{where}.seed must be an integer >= 0, got {seed!r}")
    reruns = spec.get("rerun_seeds", [1, 2, 3])
    if (
        not isinstance(reruns, list)
        or not reruns
        or any(isinstance(s, bool) or not isinstance(s, int) for s in reruns)
        or len(set(reruns)) != len(reruns)
    ):
        raise ConfigError(
            f"{where}.rerun_seeds must be a non-empty list of distinct integers, got {reruns!r}"
        )
    select = spec.get("select") or []
    if isinstance(select, str):
        select = [select]
    load_all()
    for key in select:
        if output_info(key) is None:
            raise ConfigError(
                f"{where}.select: {key!r} is no metric's record key (e.g. modes, hq_percent, fid)"
            )
    space = spec.get("space")
    if not isinstance(space, dict) or not space:
        raise ConfigError(
            f"{where}.space must map config keys to distributions, "
            "e.g. optim.lr_d: {log_uniform: [1.0e-5, 1.0e-2]}"
        )
    dims = []
    for key, dist in space.items():
        check_key(RunConfig, key, f"{where}.space")
        if key == "seed":
            raise ConfigError(
                f"{where}.space: 'seed' is not a hyperparameter; the reruns' seeds are search.rerun_seeds"
            )
        dims.append(_dimension(key, dist, f"{where}.space.{key}"))
    return Search(trials, seed, tuple(reruns), tuple(select), tuple(dims), path)


def _dimension(key: str, dist: Any, where: str) -> Dimension:
    if not isinstance(dist, dict) or len(dist) != 1:
        raise ConfigError(
            f"{where}: must be one distribution, {{NAME: ARGS}} with NAME one of {', '.join(DISTRIBUTIONS)}"
        )
    ((kind, args),) = dist.items()
    if kind not in DISTRIBUTIONS:
        raise ConfigError(f"{where}: unknown distribution {kind!r}; valid: {', '.join(DISTRIBUTIONS)}")
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise ConfigError(f"{where}: choice needs a non-empty list of values, got {args!r}")
        return Dimension(key, kind, tuple(args))
    if not isinstance(args, list) or len(args) != 2 or not all(_number(a) for a in args):
        raise ConfigError(f"{where}: {kind} needs [low, high] numbers, got {args!r}")
    lo, hi = (float(a) for a in args)
    if not lo < hi:
        raise ConfigError(f"{where}: {kind} range [{lo:g}, {hi:g}] is empty or inverted; need low < high")
    if kind == "log_uniform" and lo <= 0:
        raise ConfigError(f"{where}: log_uniform needs 0 < low < high, got [{lo:g}, {hi:g}]")
    return Dimension(key, kind, (lo, hi))


def applies(key: str, data: dict[str, Any]) -> bool:
    """Whether search key ``key`` means something for the run ``data``: a component parameter only
    when the run's component takes it (its signature says), a technique's only when it is on."""
    for prefix, component in _COMPONENT_PARAMS.items():
        if key.startswith(prefix + "."):
            return accepts(component(data), key[len(prefix) + 1 :].split(".")[0])
    if key.startswith("objective.techniques."):
        parts = key.split(".")
        techniques = get_dotted(data, "objective.techniques") or {}
        if len(parts) >= 4 and parts[2] in techniques:
            return accepts(TECHNIQUES.get(parts[2]), parts[3])
        return len(parts) == 3 or parts[2] in techniques
    return True


def accepts(factory: Callable[..., Any], kwarg: str) -> bool:
    """Whether ``factory`` takes keyword ``kwarg``: a callable's signature is its option schema
    (executors' options, components' parameters)."""
    params = inspect.signature(factory).parameters
    return kwarg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def trial_config(search: Search, t: int, data: dict[str, Any], where: str) -> RunConfig:
    """Run ``data`` (base + axes + overrides) with trial ``t``'s draws, labelled as trial ``t``."""
    data = copy.deepcopy(data)
    for key, value in search.draws(t).items():
        if applies(key, data):
            set_dotted(data, key, value)
    data["name"] = f"{TRIAL}{t}"
    cfg = config_from_dict(data, f"{where}, trial {t}")
    if not cfg.eval.every or cfg.train.steps % cfg.eval.every:
        raise ConfigError(
            f"{where}: protocol: search selects trials on their last periodic evaluation "
            f"(eval.selection_seed at the final step): eval.every must divide train.steps, "
            f"got eval.every={cfg.eval.every}, train.steps={cfg.train.steps}"
        )
    if cfg.seed in search.rerun_seeds:
        raise ConfigError(
            f"{where}: the trials train at seed {cfg.seed}, which is also in search.rerun_seeds "
            f"{list(search.rerun_seeds)}: the reported best-of-N must come from runs not used to choose it"
        )
    return cfg


def check_space_used(search: Search, datas: list[dict[str, Any]]) -> None:
    """A search key no run of the grid takes is a mistake (a typo, or a component not in the grid)."""
    for dim in search.space:
        if not any(applies(dim.key, d) for d in datas):
            raise ConfigError(
                f"{search.path}: search.space.{dim.key}: no run of the grid takes this parameter (its "
                f"components' parameters are listed by `ganbench recipes`); remove it or fix the name"
            )


def selection_keys(search: Search, cfg: RunConfig) -> tuple[str, ...]:
    return search.select or (cfg.eval.selection_metric or cfg.eval.metrics[0],)


def trial_score(rec: dict[str, Any] | None, keys: tuple[str, ...]) -> tuple[float, ...] | None:
    """A finished trial's selection values (its last periodic evaluation, on the selection seed), as
    a tuple that sorts best first; None for an unfinished or diverged trial, or one without them."""
    if rec is None or rec.get("status") != "finished" or not rec.get("evals"):
        return None
    last = rec["evals"][-1]
    if last.get("step") != rec["config"]["train"]["steps"]:
        return None
    values = []
    for key in keys:
        v = last.get(key)
        if not _number(v):
            return None
        values.append(v if is_lower_better(key) else -v)
    return tuple(values)


@dataclass
class FollowUps:
    runs: list[RunConfig]  # the reruns of every method whose trials are all done
    waiting: list[str]  # methods some of whose trials have no record yet
    best: dict[str, dict[str, Any]]  # method label -> {trial, score, run_id}


def followups(search: Search, methods: dict[str, list[RunConfig]], results_dir: str | Path) -> FollowUps:
    """Stage 2: for each method whose N trials all have records, its best trial at each rerun seed.

    A diverged trial counts as done and ranks last; a method whose trials all diverged has no best."""
    runs: list[RunConfig] = []
    waiting: list[str] = []
    best: dict[str, dict[str, Any]] = {}
    for label, trials in methods.items():
        recs = [read_record(run_dir_for(cfg, results_dir)) for cfg in trials]
        if any(r is None or r.get("status") not in ("finished", "diverged") for r in recs):
            waiting.append(label)
            continue
        keys = selection_keys(search, trials[0])
        scored = [(s, t) for t, r in enumerate(recs) if (s := trial_score(r, keys)) is not None]
        if not scored:
            best[label] = {"trial": None, "keys": list(keys), "score": None}
            continue
        _, t = min(scored)  # best first; ties: the lowest trial index
        cfg = trials[t]
        values = [recs[t]["evals"][-1][k] for k in keys]
        best[label] = {"trial": t, "keys": list(keys), "score": values, "run_id": cfg.run_id}
        for seed in search.rerun_seeds:
            data = cfg.to_dict()
            data["seed"], data["name"] = seed, f"{BEST}{t}"
            runs.append(config_from_dict(data, f"{search.path} ({label}, best trial {t}, seed {seed})"))
    return FollowUps(runs, waiting, best)
