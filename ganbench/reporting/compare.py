"""``ganbench compare``: two sets of runs, selected by config keys, compared over training seeds.

The runs are read with the leaderboard's ``records_frame`` (finished and diverged ones) and must
have been measured the same way: the evaluation settings of ``ganbench.reporting.settings`` (and
the dataset, unless a selection key names it) must agree across both arms, else the comparison is
refused with the list of differences. Each arm must be one configuration over seeds (no seed
twice). The statistics are ``ganbench.reporting.stats.compare``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import ConfigError
from ganbench.evaluation.metric import is_lower_better
from ganbench.reporting.settings import key_text, settings_frame
from ganbench.reporting.stats import ALPHA, POWER, compare
from ganbench.reporting.table import (
    _NEVER_ROWS,
    DATASET_KEY,
    SEED_KEY,
    default_metrics,
    ranking_metric,
    records_frame,
    unknown_error,
)

POWER_FORMULA = "n = ceil(2 (z_{1-α/2} + z_{power})² / g²), α = 0.05, power = 0.8, g = observed Hedges' g"


def parse_selection(option: str, items: list[str]) -> dict[str, str]:
    """``KEY=VAL`` items as a mapping (a value compared with the table's text of the config value)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option}: {item!r} is not KEY=VALUE (e.g. objective.loss=hinge)")
        out[key] = value
    return out


def _select(df: pd.DataFrame, option: str, selection: dict[str, str]) -> pd.Series:
    valid_keys = sorted(c[4:] for c in df.columns if c.startswith("cfg:"))
    unknown = [k for k in selection if f"cfg:{k}" not in df]
    if unknown:
        raise unknown_error(
            option, "config key", unknown, valid_keys, "valid keys (config keys of these records)"
        )
    mask = pd.Series(True, index=df.index)
    for key, value in selection.items():
        text = df[f"cfg:{key}"].map(key_text)
        if value not in set(text):
            raise unknown_error(option, f"value of {key}", [value], sorted(set(text)), f"{key} has")
        mask &= text == value
    if not mask.any():
        raise ConfigError(
            f"{option}: no run has {', '.join(f'{k}={v}' for k, v in selection.items())} together"
        )
    return mask


def _one_configuration(df: pd.DataFrame, arm: str, selection: dict[str, str]) -> None:
    """Refuse an arm that mixes configurations (a seed twice), naming the keys that vary in it."""
    if f"cfg:{SEED_KEY}" not in df or not df[f"cfg:{SEED_KEY}"].duplicated().any():
        return
    varying = [
        c[4:]
        for c in df.columns
        if c.startswith("cfg:")
        and c[4:] not in (SEED_KEY, *selection)
        and not any(c[4:] == p or c[4:].startswith(p) for p in _NEVER_ROWS)
        and df[c].map(key_text).nunique() > 1
    ]
    raise ConfigError(
        f"--{arm} selects several configurations (a training seed appears twice); "
        f"add KEY=VALUE for the keys that vary within it: {', '.join(varying) or 'none found'}"
    )


def _setting_differences(sub: pd.DataFrame, in_a: pd.Series, selection_keys: list[str]) -> list[str]:
    settings = settings_frame(sub, selection_keys)
    if DATASET_KEY not in selection_keys:
        settings.insert(0, DATASET_KEY, sub[f"cfg:{DATASET_KEY}"].map(key_text))
    out = []
    for key in settings.columns:
        a = sorted({v for v in settings.loc[in_a, key] if v is not None})
        b = sorted({v for v in settings.loc[~in_a, key] if v is not None})
        if a != b or len(a) > 1:
            out.append(f"{key}: a has {', '.join(a) or 'unknown'}; b has {', '.join(b) or 'unknown'}")
    return out


def compare_runs(
    results_dir: str | Path, a: dict[str, str], b: dict[str, str], metric: str | None = None
) -> dict[str, Any]:
    """The comparison of arm A with arm B (A - B) as a JSON-ready mapping."""
    df = records_frame(results_dir)
    if df.empty:
        raise ConfigError(f"{results_dir}: no run records (record.json) found")
    df = df[df["status"].isin(["finished", "diverged"])]
    if df.empty:
        raise ConfigError(f"{results_dir}: no finished or diverged run records")
    if f"cfg:{DATASET_KEY}" not in df:
        df = df.assign(**{f"cfg:{DATASET_KEY}": "data"})
    mask_a, mask_b = _select(df, "--a", a), _select(df, "--b", b)
    if (mask_a & mask_b).any():
        raise ConfigError(
            f"--a and --b select the same {int((mask_a & mask_b).sum())} run(s): make them differ"
        )
    sub = df[mask_a | mask_b]
    in_a = mask_a[sub.index]
    present = sorted(c[2:] for c in sub.columns if c.startswith("m:"))
    if metric is None:
        candidates = default_metrics(sub)
        if not candidates:
            raise ConfigError("the selected runs have no metrics to compare")
        metric = ranking_metric(sub, candidates)
    elif metric not in present:
        raise unknown_error("--metric", "metric", [metric], present, "the selected runs have")
    for arm, selection, mask in (("a", a, in_a), ("b", b, ~in_a)):
        _one_configuration(sub[mask], arm, selection)
    differences = _setting_differences(sub, in_a, sorted({*a, *b}))
    if differences:
        raise ConfigError(
            "the two sets of runs were not evaluated with the same settings (never compared): "
            + "; ".join(differences)
        )
    values = {}
    for arm, mask in (("a", in_a), ("b", ~in_a)):
        v = sub.loc[mask, f"m:{metric}"].astype(float).to_numpy()
        finite = v[np.isfinite(v)]
        if len(finite) < 2:
            raise ConfigError(
                f"--{arm}: {len(finite)} finite value(s) of {metric} ({len(v)} run(s)); "
                "a comparison over seeds needs at least 2 per arm"
            )
        values[arm] = finite
    result = compare(values["a"], values["b"])
    lower = is_lower_better(metric)
    better = "a" if (result.difference < 0) == lower else "b"
    return {
        "metric": metric,
        "lower_is_better": lower,
        "a": a,
        "b": b,
        "runs": {
            "a": sub.loc[in_a, "run_id"].tolist(),
            "b": sub.loc[~in_a, "run_id"].tolist(),
        },
        "values": {"a": values["a"].tolist(), "b": values["b"].tolist()},
        **result.as_dict(),
        "better": better if result.difference != 0 else None,
        "test": "Welch's t-test (two-sided, unequal variances)",
        "ci_level": 0.95,
        "alpha": ALPHA,
        "power": POWER,
        "power_formula": POWER_FORMULA,
    }


def compare_text(r: dict[str, Any]) -> str:
    def sel(s: dict[str, str]) -> str:
        return " ".join(f"{k}={v}" for k, v in s.items())

    n = r["seeds_per_arm_for_80_power"]
    needed = (
        "no difference to detect"
        if n is None
        else f"{n} seeds per arm ({'have' if min(r['n_a'], r['n_b']) >= n else 'more than'} the "
        f"{r['n_a']} / {r['n_b']} here)"
    )
    return "\n".join(
        [
            f"{r['metric']} ({'lower' if r['lower_is_better'] else 'higher'} is better), over training seeds",
            f"  a: {sel(r['a'])}: {r['mean_a']:.4g} ± {r['std_a']:.2g} (n={r['n_a']})",
            f"  b: {sel(r['b'])}: {r['mean_b']:.4g} ± {r['std_b']:.2g} (n={r['n_b']})",
            f"difference a - b: {r['difference']:.4g}, 95% CI [{r['ci_low']:.4g}, {r['ci_high']:.4g}] "
            f"(Welch, {r['welch_df']:.1f} df)",
            f"Hedges' g: {r['hedges_g']:.3g}",
            f"p-value: {r['p_value']:.3g} ({r['test']}); "
            + (f"{r['better']} is better at α = {r['alpha']}" if r["p_value"] < r["alpha"] else
               f"not significant at α = {r['alpha']}"),
            f"seeds needed to detect this difference at 80% power (two-sided, α = 0.05): {needed}",
            f"  {r['power_formula']}",
        ]
    )  # fmt: skip
