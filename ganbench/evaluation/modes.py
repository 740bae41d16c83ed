"""Mode coverage on Gaussian mixtures, the PacGAN protocol of docs/protocols.md.

Each point goes to the nearest centre by standardised distance √Σ(dᵢ²/σ²); it is high quality (HQ)
when that distance is < 3; a mode is captured when at least one HQ point is assigned to it.
Reverse KL(p_HQ ‖ U_K) = Σₖ pₖ log(pₖ K) over modes with pₖ > 0; NaN when no point is HQ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ganbench.errors import SourceError
from ganbench.evaluation.metric import Output, register_metric

HQ_THRESHOLD = 3.0  # in units of σ


def mode_coverage(points: np.ndarray, centres: np.ndarray, sigma: float) -> dict[str, float]:
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != centres.shape[1]:
        raise SourceError(f"mode coverage: points must be N×{centres.shape[1]}, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise SourceError("mode coverage: generated points contain NaN or inf")
    k = len(centres)
    # N×K standardised distances; K ≤ 25 and N = 2500 here, so the full matrix is tiny.
    dist = np.sqrt((((points[:, None, :] - centres[None, :, :]) / sigma) ** 2).sum(-1))
    nearest = dist.argmin(1)
    hq = dist[np.arange(len(points)), nearest] < HQ_THRESHOLD
    counts = np.bincount(nearest[hq], minlength=k)
    n_hq = int(hq.sum())
    if n_hq:
        p = counts[counts > 0] / n_hq
        kl = float(np.sum(p * np.log(p * k)))
    else:
        kl = math.nan
    return {
        "modes": int((counts > 0).sum()),
        "modes_total": k,
        "hq_percent": 100.0 * n_hq / len(points),
        "reverse_kl": kl,
    }


@register_metric(
    "modes",
    {"fake_points", "dataset"},
    [
        Output("modes", "higher", rank_priority=2),
        Output("hq_percent", "higher", display="HQ %", rank_priority=7),
        Output("reverse_kl", "lower", display="KL", rank_priority=8),
        Output("modes_total", role="setting"),
    ],
    data_kind="points",
    order=10,
)
def _modes_metric(inputs: Any) -> dict[str, float]:
    dataset = inputs.dataset
    if inputs.fake_points is None or dataset is None or not hasattr(dataset, "centres"):
        raise SourceError(
            "metric 'modes' needs generated points and a Gaussian-mixture dataset (ring8, grid25)"
        )
    pts = inputs.fake_points
    pts = pts.detach().cpu().numpy() if hasattr(pts, "detach") else np.asarray(pts)
    return mode_coverage(pts, dataset.centres, dataset.sigma)
