"""Intra-FID (Miyato & Koyama 2018): FID per class, averaged over classes (docs/protocols.md).

Each class's fake features are compared with the real features of that class; every class of the
real labels must have at least 2 real and 2 fake samples, and fakes may not carry a class the
reals lack. The per-class values are returned as well, keyed by class label.
"""

from __future__ import annotations

import numpy as np
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features, as_labels, same_dims
from ganbench.evaluation.frechet import feature_statistics, frechet_distance


def intra_fid(
    real_features: ArrayLike, real_labels: ArrayLike, fake_features: ArrayLike, fake_labels: ArrayLike
) -> dict[str, object]:
    """{"intra_fid": mean over classes, "per_class": {class: fid}} (classes = those of the reals)."""
    r = as_features(real_features, "real_features", min_rows=2)
    f = as_features(fake_features, "fake_features", min_rows=2)
    same_dims(r, f, "real_features", "fake_features")
    yr = as_labels(real_labels, "real_labels", r.shape[0]).numpy()
    yf = as_labels(fake_labels, "fake_labels", f.shape[0]).numpy()
    classes, real_counts = np.unique(yr, return_counts=True)
    stray = np.setdiff1d(np.unique(yf), classes)
    if stray.size:
        raise SourceError(
            f"intra_fid: fake_labels has class(es) {stray.tolist()} that no real sample has; "
            f"real classes: {classes.tolist()}"
        )
    fake_counts = {int(c): int((yf == c).sum()) for c in classes}
    short = [
        f"class {int(c)}: {int(nr)} real, {fake_counts[int(c)]} fake"
        for c, nr in zip(classes, real_counts, strict=True)
        if nr < 2 or fake_counts[int(c)] < 2
    ]
    if short:
        raise SourceError(
            "intra_fid: every class needs at least 2 real and 2 fake samples; " + "; ".join(short)
        )
    per_class: dict[int, float] = {}
    for c in classes:
        idx_r = torch.as_tensor(np.flatnonzero(yr == c), device=r.device)
        idx_f = torch.as_tensor(np.flatnonzero(yf == c), device=f.device)
        mu_r, sigma_r = feature_statistics(r[idx_r], f"real_features[class {int(c)}]")
        mu_f, sigma_f = feature_statistics(f[idx_f], f"fake_features[class {int(c)}]")
        per_class[int(c)] = frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
    return {"intra_fid": float(np.mean(list(per_class.values()))), "per_class": per_class}
