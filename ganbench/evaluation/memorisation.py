"""Memorisation: how close generated samples come to the training images, in a feature space.

For the training set T (the reference features: the evaluation's reference split, ``train`` by
default) and each generated sample g:

    j(g) = argmin_{t ∈ T} ‖g − t‖          its nearest training image
    d(g) = ‖g − t_j(g)‖                     the distance to it
    r(t) = min_{t' ∈ T, t' ≠ t} ‖t − t'‖    each training image's own nearest-neighbour distance
    ρ(g) = d(g) / r(t_j(g))                  (ρ = 0 when d = 0)

- ``authenticity`` (Alaa et al. 2022, "How Faithful is your Synthetic Data? Sample-level Metrics
  for Evaluating and Auditing Generative Models", ICML, §3.3): g is *inauthentic* (a likely copy)
  when its nearest training image is closer to it than to any other training image,
  d(g) ≤ r(t_j(g)), i.e. ρ ≤ 1; authenticity = the fraction of authentic samples, d(g) > r(t_j(g)).
  Higher = fewer copies. The authors' code (vanderschaarlab/evaluating-generative-models, also
  synthcity) computes ``real_to_real[real_to_synth_args] < real_to_synth`` — each *real* point's
  nearest synthetic sample, indexing the real points' radii by *synthetic* indices — which is not
  the paper's per-sample definition; ganbench follows the paper's text.
  Chance rate: a sample drawn from the training distribution itself is inauthentic exactly when it
  and its nearest training image are mutual nearest neighbours in T ∪ {g}; for large T and a
  smooth density in d dimensions that probability is V / |B ∪ B'| = 1 / (2 − I_{3/4}((d+1)/2, 1/2))
  (two unit balls whose centres are 1 apart; I the regularised incomplete beta function):
  2/3 at d = 1, 0.6215 at d = 2, → 1/2 as d grows (:func:`chance_inauthentic_rate`). A perfect
  generator therefore scores authenticity ≈ 1/3 to 1/2, not 1; copies score 0; d is the data's
  intrinsic dimension, not the feature width. The limit needs a training set dense at the scale
  of the neighbours: in many dimensions hubs form and fresh samples are inauthentic less often
  (measured on Gaussians, 8 000 training and 4 000 fresh points: 0.67 at d = 1 (limit 0.667), 0.60
  at 2 (0.62), 0.55 at 4 (0.57), 0.43 at 8 (0.53), 0.21 at 32 (0.50)).
- ``memorisation_ratio``: the median of ρ over the generated samples (copies → 0; fresh samples
  from the training distribution, measured as above: 0.50 at d = 1, 0.82 at 2, 0.95–1.09 at 4–32).
- ``meehan_zu`` (after Meehan et al. 2020, "A Non-Parametric Test to Detect Data-Copying in
  Generative Models", AISTATS): the Mann–Whitney statistic comparing the generated samples'
  distances d(g) with the training images' leave-one-out distances r(t) — by exchangeability, r(t)
  is distributed as the distance of a fresh sample to a training set of |T| − 1 images, so it
  stands in for the paper's held-out test set. Z_U = (U − mn/2) / √(mn(m+n+1)/12), U = #{(g, t):
  d(g) > r(t)} (ties count ½). Z_U ≪ 0 (e.g. < −3): samples closer to the training images than
  fresh data would be (copying); ≈ 0: no evidence; ≫ 0: farther (under-fitting). The global
  statistic only (the paper's per-cell version, over a k-means partition, is not computed).
- ``memorisation_pairs``: the ``pairs`` generated samples nearest to a training image, each with
  that image's index — ``ganbench eval --pairs-figure`` draws them side by side.

All nearest neighbours are exact (sklearn's float32 arithmetic) and blockwise under the P/R/D/C
memory budget: the same k-NN (:func:`ganbench.evaluation.prdc.nearest_neighbours`). A distance
within the float64 rounding bound of 0 (:func:`ganbench.evaluation.prdc.copy_noise`: an exact copy,
or a training image that appears twice) counts as 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.special import betainc
from scipy.stats import mannwhitneyu

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import ArrayLike
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric
from ganbench.evaluation.prdc import DEFAULT_MAX_BLOCK_BYTES, copy_noise, nearest_neighbours, squared_norms
from ganbench.evaluation.sources import conform

DEFAULT_PAIRS = 16  # closest generated–training pairs kept for the figure


def chance_inauthentic_rate(dim: int) -> float:
    """The fraction of samples from the training distribution itself that authenticity calls
    inauthentic, for a large training set and a smooth density in ``dim`` dimensions (the
    probability that two points are mutual nearest neighbours: see the module docstring)."""
    if dim < 1:
        raise ConfigError(f"chance_inauthentic_rate: dim must be >= 1, got {dim}")
    return 1.0 / (2.0 - float(betainc((dim + 1) / 2, 0.5, 0.75)))


def _snap(dist: torch.Tensor, noise: torch.Tensor) -> np.ndarray:
    """Distances as float64 numpy, those within rounding noise of 0 set to 0."""
    d = dist.to(torch.float64)
    return torch.where(d <= noise, torch.zeros_like(d), d).cpu().numpy()


def memorisation(
    train_features: ArrayLike,
    fake_features: ArrayLike,
    pairs: int = DEFAULT_PAIRS,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Authenticity, the median distance ratio, Meehan's Z_U and the closest pairs of generated
    samples to training images (see the module docstring); the argument order is (train, fake)."""
    if not isinstance(pairs, int) or isinstance(pairs, bool) or pairs < 0:
        raise ConfigError(f"memorisation: pairs must be an integer >= 0, got {pairs!r}")
    radius, neighbour = nearest_neighbours(
        train_features, None, 1, max_block_bytes, progress, ("real_features", "real_features")
    )
    dist, index = nearest_neighbours(
        fake_features, train_features, 1, max_block_bytes, progress, ("fake_features", "real_features")
    )
    # an exact copy's computed distance is rounding noise (≲ 1e-7·‖x‖), and so is the radius of a
    # training image that appears twice; the two come from different summation orders (the exact
    # pair path, or a row recomputed in full), so noise against noise would decide d ≤ r: both are
    # set to 0 and a copy of a duplicated image is a copy (d = 0 ≤ r = 0)
    sq_t, sq_f = squared_norms(train_features, "real_features"), squared_norms(fake_features, "fake_features")
    dim = int(torch.as_tensor(train_features).shape[1])
    d = _snap(dist, copy_noise(sq_f, sq_t[index], dim))
    r = _snap(radius, copy_noise(sq_t, sq_t[neighbour], dim))
    j = index.cpu().numpy()
    r_of = r[j]
    authentic = d > r_of
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d == 0, 0.0, d / r_of)  # r = 0 (a duplicated training image) and d > 0: inf
    m, n = len(d), len(r)
    u = float(mannwhitneyu(d, r, alternative="two-sided", method="asymptotic").statistic)
    zu = (u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)
    order = np.argsort(d, kind="stable")[:pairs]
    return {
        "authenticity": float(authentic.mean()),
        "memorisation_ratio": float(np.median(ratio)),
        "meehan_zu": float(zu),
        "pairs": [
            {"fake": int(i), "train": int(j[i]), "distance": float(d[i]), "ratio": float(ratio[i])}
            for i in order
        ],
    }


@register_metric(
    "memorisation",
    {"fake_features", "real_features"},
    [
        Output("authenticity", "higher", display="authenticity"),
        Output("memorisation_ratio", "higher", display="memorisation ratio"),
        Output("meehan_zu", role="detail", display="Meehan Z_U"),
        # [{fake, train, distance, ratio}, ...]: the closest pairs, for the figure; not a column
        Output("memorisation_pairs", role="detail"),
    ],
    order=78,
    min_samples=lambda params: 2,  # a training image's radius needs one other training image
    bootstrap=(
        "each resample repeats the exact nearest-neighbour search over the training set (minutes "
        "per resample at 10 000 samples)"
    ),
)
def memorisation_metric(
    inputs: EvalInputs, pairs: int = DEFAULT_PAIRS, max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES
) -> dict[str, Any]:
    """Authenticity (Alaa et al. 2022), the median ratio d(fake, train) / d(train, train) and
    Meehan's Z_U of the generated features against the reference (training) features."""
    res = memorisation(inputs.real_features, inputs.fake_features, pairs, max_block_bytes)
    return {
        "authenticity": res["authenticity"],
        "memorisation_ratio": res["memorisation_ratio"],
        "meehan_zu": res["meehan_zu"],
        "memorisation_pairs": res["pairs"],
    }


def _pick(batches: Any, wanted: list[int], who: str, transform: Any = None) -> torch.Tensor:
    """The images at positions ``wanted`` (sorted, distinct) of a stream of uint8 batches, in that
    order; each batch is ``transform``-ed first (a source's images conformed to the reference)."""
    found: dict[int, torch.Tensor] = {}
    seen = 0
    for item in batches:
        images = item[0] if isinstance(item, (tuple, list)) else item
        if transform is not None:
            images = transform(images)
        for i in wanted:
            if seen <= i < seen + len(images):
                found[i] = images[i - seen].cpu()
        seen += len(images)
        if len(found) == len(wanted):
            break
    missing = [i for i in wanted if i not in found]
    if missing:
        raise SourceError(
            f"{who}: has no image {missing[0]} (it gave {seen}); was it changed since the evaluation?"
        )
    return torch.stack([found[i] for i in wanted])


def closest_pair_images(
    pairs: list[dict[str, Any]],
    source: Any,
    reference: Any,
    n: int,
    seed: int,
    batch_size: int = 250,
    resize: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of ``memorisation_pairs``: (generated, training), uint8 k×C×H×W each, pair by pair.

    The generated images are drawn again from ``source`` exactly as the evaluation drew them
    (``n`` samples from ``seed``, conformed to the reference shape: ``resize`` as evaluated); the
    training images are read from the reference DataSource in file order (the order of its
    features). One more pass over the source, without the extractor, for the figure alone.
    """
    if not pairs:
        return torch.empty(0, dtype=torch.uint8), torch.empty(0, dtype=torch.uint8)
    fakes = sorted({int(p["fake"]) for p in pairs})
    trains = sorted({int(p["train"]) for p in pairs})
    shape = tuple(reference.sample_shape)
    fake = _pick(
        source.batches(n, batch_size, seed),
        fakes,
        str(source),
        lambda images: conform(images, shape, str(source), resize),
    )
    train = _pick(
        reference.iter_uint8(batch_size, limit=trains[-1] + 1), trains, f"reference {reference.name}"
    )
    fake_at = {i: k for k, i in enumerate(fakes)}
    train_at = {j: k for k, j in enumerate(trains)}
    return (
        fake[[fake_at[int(p["fake"])] for p in pairs]],
        train[[train_at[int(p["train"])] for p in pairs]],
    )
