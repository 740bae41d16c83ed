"""Statistics over training seeds: is a difference between two configurations real?

- **Ties with the best** (the leaderboard): in each column group, the row with the best mean on the
  ranking metric is compared with every other row that has at least 2 finite seeds by **Welch's
  t-test** (two-sided, unequal variances: few seeds, no reason to assume equal spread), and the
  p-values are corrected for the multiple comparisons by **Holm's step-down method**. A row whose
  Holm-adjusted p-value is >= ALPHA (0.05) is statistically indistinguishable from the best (the
  best row itself is "tied" by definition). A row with fewer than 2 finite seeds cannot be tested
  and is never marked; nor can any row be when the best row has fewer than 2.
- **Comparing two sets of runs** (``ganbench compare``): the difference of means, Hedges' g, the
  Welch 95 % CI of the difference, the Welch p-value and the seeds per arm needed to detect the
  observed difference at 80 % power (two-sided, α = 0.05), by the normal approximation
  ``n = ceil(2 (z_{1-α/2} + z_{power})² / g²)`` with g the observed Hedges' g (at least 2).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.8
TEST_NAME = "Welch's t-test over training seeds, Holm-corrected"


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch p-value; with no spread in either sample, 1 for equal means, else 0."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.var(a) == 0 and np.var(b) == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    with warnings.catch_warnings():
        # scipy warns of "catastrophic cancellation" when one sample has no spread (a mode count of
        # 8 on every seed): Welch's statistic is still exact there, its variance term is just 0
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class Tie:
    """One row's comparison with its column group's best row."""

    tied: bool | None  # None: not tested (fewer than 2 seeds, here or in the best row)
    p_welch: float | None  # raw two-sided Welch p-value against the best row
    p_holm: float | None  # Holm-adjusted over the group's comparisons
    best: bool = False


def ties_with_best(values: list[np.ndarray], best: int) -> list[Tie]:
    """For each row's finite seed values, its comparison with row ``best`` (see the module doc)."""
    out = [Tie(None, None, None) for _ in values]
    out[best] = Tie(True, None, None, best=True) if len(values[best]) >= 2 else Tie(None, None, None, True)
    if len(values[best]) < 2:
        return out
    tested = [i for i, v in enumerate(values) if i != best and len(v) >= 2]
    raw = [welch_p(values[best], values[i]) for i in tested]
    for i, p, q in zip(tested, raw, holm(raw)):
        out[i] = Tie(q >= ALPHA, p, q)
    return out


def seeds_for_power(effect: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds per arm to detect standardised effect ``effect`` (two-sided, normal approximation):
    ``ceil(2 (z_{1-alpha/2} + z_power)^2 / effect^2)``, at least 2; None for no effect."""
    if effect == 0 or not math.isfinite(effect):
        return None if effect == 0 or math.isnan(effect) else 2
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return max(2, math.ceil(2 * z**2 / effect**2))


@dataclass
class Comparison:
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    difference: float  # mean_a - mean_b
    ci_low: float
    ci_high: float
    welch_df: float
    p_value: float
    hedges_g: float
    seeds_per_arm_for_80_power: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> Comparison:
    """Effect size of A - B with its Welch CI and p-value, and the seeds needed (module doc)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    va, vb = a.var(ddof=1), b.var(ddof=1)
    diff = float(a.mean() - b.mean())
    se2 = va / na + vb / nb
    if se2 > 0:
        dof = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
        half = stats.t.ppf(0.5 + confidence / 2, dof) * math.sqrt(se2)
    else:
        dof, half = float(na + nb - 2), 0.0
    pooled = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    j = 1 - 3 / (4 * (na + nb) - 9)  # Hedges' small-sample correction
    g = j * diff / pooled if pooled > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    return Comparison(
        na, nb, float(a.mean()), float(b.mean()), float(math.sqrt(va)), float(math.sqrt(vb)), diff,
        diff - half, diff + half, float(dof), welch_p(a, b), float(g), seeds_for_power(g),
    )  # fmt: skip
