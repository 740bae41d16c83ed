"""Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020) in blocks.

Pinned by docs/protocols.md; the argument order is always (real, fake):
- radius rᵢ of a point = distance to its k-th nearest neighbour in its own set, itself excluded;
- precision = fraction of fake points within some real ball (k = 3), recall = fraction of real points
  within some fake ball (k = 3), membership ``≤`` (``pr_inclusive=True``, Kynkäänniemi's code) or
  ``<`` (``pr_inclusive=False``, the ``prdc`` package);
- density = (1/(kM)) Σⱼ Σᵢ 1[‖Yⱼ−Xᵢ‖ < rᵢ], coverage = (1/N) Σᵢ 1[minⱼ ‖Xᵢ−Yⱼ‖ < rᵢ] (k = 5, strict).

Why hand-written: ``prdc`` materialises three full N×N / N×M float32 distance matrices plus an
int64 argpartition of each (≈ 2.4 GB at 10k × 10k); here no N×M matrix is ever held.

Exact agreement with ``prdc``. ``prdc`` calls sklearn ``pairwise_distances``, which for float32
features upcasts chunks to float64, forms d² = (−2 xᵀy + ‖x‖²) + ‖y‖² in float64, rounds d² to
float32, clamps at 0 and takes a float32 sqrt (float64 features stay float64 throughout); the
self-distance diagonal is set to exactly 0. Every comparison is then ``float32 d < float32 r``.
Computing that in float64 everywhere would halve the speed, so each block is computed twice over:
1. a fast float32 GEMM gives approximate d² with a rigorous error bound
   |err| ≤ (γ_F + 16u)(‖x‖² + ‖y‖²), γ_F = F·u/(1−F·u), u = 2⁻²⁴ (any summation order; TF32 and
   other reduced-precision matmul modes are switched off while we run);
2. every pair whose approximate d² lies within that bound (plus a few float32 ulps) of a threshold
   it is compared with is recomputed exactly as sklearn does (float64, then float32 rounding).
Pairs outside the band are decided correctly by the approximation, so all comparisons equal the
``prdc`` ones. Radii: the k + 8 nearest candidates per row are found approximately, refined exactly,
and a row whose candidate list cannot be proven complete is recomputed exactly in full.

Tie subtleties (documented in docs/metrics.md):
- exact ties (a fake point that duplicates the k-th neighbour of a real point) are real-valued ties
  computed with identical arithmetic on both sides, so ``<`` / ``≤`` decide them exactly as ``prdc``;
  P/R then differ from ``prdc`` only through ``≤`` vs ``<`` (use ``pr_inclusive=False`` to match).
- a point with ≥ k exact copies in its own set has radius 0 mathematically; its computed radius
  (and distances between bitwise-equal points) are float64 rounding noise of the BLAS summation order
  (|d| ≲ 1e-6·‖x‖), in ``prdc`` as well as here, so such degenerate sets can differ from ``prdc``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features, same_dims
from ganbench.evaluation.progress import progress_bar

DEFAULT_MAX_BLOCK_BYTES = 256 * 1024 * 1024
_U = 2.0**-24  # float32 unit roundoff
_DELTA = 16 * _U  # relative band around a squared threshold: covers float32 rounding and sqrt
_SLACK = 8  # extra approximate neighbours refined exactly per row
# bytes budgeted per element of a distance block: approx d² and one shifted copy (float32), two
# boolean masks, the distance when float64; measured peak RSS stays below the budget with this
_BLOCK_ELEMENT_BYTES = 32


@dataclass
class _Set:
    name: str
    x: torch.Tensor  # as given (float32 or float64): the exact path reads this
    x32: torch.Tensor  # float32 for the fast GEMM (a view when x is float32)
    sq64: torch.Tensor  # squared norms in float64
    sq32: torch.Tensor

    @property
    def n(self) -> int:
        return self.x.shape[0]


def _squared_norms(x: torch.Tensor) -> torch.Tensor:
    sq64 = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    step = max(1, (16 << 20) // (8 * x.shape[1]))  # float64 chunks of ≤ 16 MiB
    for s in range(0, x.shape[0], step):
        c = x[s : s + step].to(torch.float64)
        sq64[s : s + step] = torch.linalg.vecdot(c, c)
    return sq64


def _prepare(features: ArrayLike, name: str) -> _Set:
    x = as_features(features, name, min_rows=2)
    x32 = x if x.dtype == torch.float32 else x.to(torch.float32)
    sq64 = _squared_norms(x)
    return _Set(name, x, x32, sq64, sq64.to(torch.float32))


def squared_norms(features: ArrayLike, name: str = "features") -> torch.Tensor:
    """‖x‖² of each row, in float64 (in chunks: no float64 copy of the whole set)."""
    return _squared_norms(as_features(features, name))


def copy_noise(sq_a: torch.Tensor, sq_b: torch.Tensor, dim: int) -> torch.Tensor:
    """A bound on the distance the exact path computes for two *bitwise-equal* rows with squared
    norms ``sq_a``, ``sq_b``: d² = (−2 a·b + ‖a‖²) + ‖b‖² in float64 is off by at most
    2γ(‖a‖² + ‖b‖²), γ = k·u/(1 − k·u), k = dim + 2, u = 2⁻⁵³ (then rounded to the output dtype:
    the factor 2 covers it). A computed distance at or below it cannot be told from 0."""
    k = (dim + 2) * 2.0**-53
    return (4 * k / (1 - k) * (sq_a + sq_b)).sqrt()


def _dist_dtype(a: _Set, b: _Set) -> torch.dtype:
    """sklearn's output dtype: float32 only when both operands are float32."""
    both32 = a.x.dtype == torch.float32 and b.x.dtype == torch.float32
    return torch.float32 if both32 else torch.float64


def _gamma(dim: int) -> float:
    """Coefficient g of the float32 error bound |d²_approx − d²| ≤ g (‖x‖² + ‖y‖²)."""
    fu = (dim + 2) * _U
    if fu >= 0.5:
        raise SourceError(f"prdc: feature dimension {dim} too large for the float32 error bound")
    return fu / (1 - fu) + 16 * _U


@contextmanager
def _ieee_fp32_matmul() -> Iterator[None]:
    """Full-precision float32 matmul (no TF32/bf16 shortcuts): the error bound assumes it."""
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _blocks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def _approx_sq(a: _Set, i: slice, b: _Set, j: slice) -> torch.Tensor:
    """Approximate squared distances of a block, float32, same operation order as sklearn."""
    # −2 xᵀy + ‖y‖² fused into the GEMM (beta = 1 on the broadcast row), then + ‖x‖²
    return torch.addmm(b.sq32[None, j], a.x32[i], b.x32[j].T, alpha=-2).add_(a.sq32[i, None])


def _finish(d2: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """float64 d² -> distance exactly as sklearn: round to the output dtype, clamp at 0, sqrt.

    The sqrt runs in float64 and is rounded back: torch's vectorised float32 sqrt on CPU is not
    correctly rounded (measured: 15 % of values 1 ulp off numpy's), a float64 sqrt rounded to float32 is.
    """
    return d2.to(dtype).clamp_min_(0).to(torch.float64).sqrt_().to(dtype)


def _exact_pairs(
    a: _Set, ia: torch.Tensor, b: _Set, ib: torch.Tensor, dtype: torch.dtype, budget: int
) -> torch.Tensor:
    out = torch.empty(ia.numel(), dtype=dtype, device=a.x.device)
    # two float64 row copies per pair (+ a transient float32 gather) in a quarter of the budget;
    # ≥ 512 pairs per chunk even under a tiny budget: per-op overhead dominates smaller gathers
    step = max(512, budget // (4 * 20 * a.x.shape[1]))
    for s in range(0, ia.numel(), step):
        pa, pb = ia[s : s + step], ib[s : s + step]
        xa = a.x[pa].to(torch.float64).unsqueeze(1)
        xb = b.x[pb].to(torch.float64).unsqueeze(2)
        dot = torch.bmm(xa, xb).view(-1)  # float64 accumulation of exact float32 products
        del xa, xb
        out[s : s + step] = _finish((-2 * dot + a.sq64[pa]) + b.sq64[pb], dtype)
    return out


def _exact_kth_rows(
    s: _Set, rows: torch.Tensor, ks: tuple[int, ...], budget: int, query: _Set | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact k-th neighbour distances in ``s`` of the points ``rows`` of ``query`` (default ``s``
    itself, each point excluded from its own neighbours), and the neighbours' indices in ``s``."""
    q = s if query is None else query
    dtype = _dist_dtype(q, s)
    kmax = max(ks)
    out = torch.empty(rows.numel(), len(ks), dtype=dtype, device=s.x.device)
    out_i = torch.empty(rows.numel(), len(ks), dtype=torch.long, device=s.x.device)
    side = max(1, int((budget / 24) ** 0.5))
    for rs in _blocks(rows.numel(), side):
        r = rows[rs]
        xr = q.x[r].to(torch.float64)
        best = torch.empty(r.numel(), 0, dtype=dtype, device=s.x.device)
        best_i = torch.empty(r.numel(), 0, dtype=torch.long, device=s.x.device)
        for j in _blocks(s.n, side):
            d2 = (-2 * (xr @ s.x[j].to(torch.float64).T) + q.sq64[r, None]) + s.sq64[None, j]
            d = _finish(d2, dtype)
            cols = torch.arange(j.start, j.stop, device=s.x.device)
            if query is None:
                d.masked_fill_(r[:, None] == cols[None, :], float("inf"))  # exclude the point itself
            both = torch.cat([best, d], dim=1)
            both_i = torch.cat([best_i, cols.expand(r.numel(), -1)], dim=1)
            best, pos = both.topk(min(kmax, both.shape[1]), dim=1, largest=False)
            best_i = both_i.gather(1, pos)
        best, order = best.sort(dim=1)
        best_i = best_i.gather(1, order)
        out[rs] = best[:, [k - 1 for k in ks]]
        out_i[rs] = best_i[:, [k - 1 for k in ks]]
    return out, out_i


def _merge(
    best_v: torch.Tensor, best_i: torch.Tensor, rows: slice, vals: torch.Tensor, cols: torch.Tensor
) -> None:
    """Keep the c smallest approximate d² per row among (current best, new block)."""
    c = best_v.shape[1]
    v = torch.cat([best_v[rows], vals], dim=1)
    idx = torch.cat([best_i[rows], cols], dim=1)
    top, pos = v.topk(c, dim=1, largest=False)
    best_v[rows] = top
    best_i[rows] = idx.gather(1, pos)


def _self_side(n: int, budget: int) -> int:
    # diagonal blocks are computed whole although only their upper half is new: blocks of ≤ n/8
    # keep that waste ≤ 1/8 of the work
    return max(1, min(int((budget / _BLOCK_ELEMENT_BYTES) ** 0.5), max(256, -(-n // 8))))


def _cross_sides(n: int, m: int, budget: int) -> tuple[int, int]:
    """Block sides (rows of the first set, of the second) of an n × m distance sweep."""
    side_i = min(n, max(1, int((budget / _BLOCK_ELEMENT_BYTES) ** 0.5)))
    return side_i, min(m, max(1, budget // (_BLOCK_ELEMENT_BYTES * side_i)))


def _knn_blocks(q: _Set, s: _Set, budget: int) -> int:
    """How many distance blocks :func:`_knn` computes (the progress bar's total)."""
    if q is s:
        nb = len(_blocks(s.n, _self_side(s.n, budget)))
        return nb * (nb + 1) // 2
    side_i, side_j = _cross_sides(q.n, s.n, budget)
    return len(_blocks(q.n, side_i)) * len(_blocks(s.n, side_j))


def _knn(
    q: _Set, s: _Set, ks: tuple[int, ...], budget: int, bar: tqdm | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(len(q), len(ks)) exact k-th nearest-neighbour distances in ``s`` of each point of ``q``, in
    sklearn's output dtype, and those neighbours' indices in ``s``; ``q is s``: within one set, each
    point excluded from its own neighbours. ``ks`` is sorted ascending; ``bar`` counts the blocks."""
    same = q is s
    n, dev = q.n, q.x.device
    kmax = max(ks)
    pool = s.n - 1 if same else s.n  # the candidates a point can have
    c = min(kmax + _SLACK, pool)
    best_v = torch.full((n, c), float("inf"), dtype=torch.float32, device=dev)
    best_i = torch.zeros((n, c), dtype=torch.long, device=dev)
    if same:
        blocks = _blocks(n, _self_side(n, budget))
        for bi, i in enumerate(blocks):
            for j in blocks[bi:]:  # symmetric: each off-diagonal block serves its rows and its columns
                sq = _approx_sq(s, i, s, j)
                if i == j:
                    sq.fill_diagonal_(float("inf"))
                v, p = sq.topk(min(c, sq.shape[1]), dim=1, largest=False)
                _merge(best_v, best_i, i, v, p + j.start)
                if i != j:
                    v, p = sq.topk(min(c, sq.shape[0]), dim=0, largest=False)
                    _merge(best_v, best_i, j, v.T, p.T + i.start)
                if bar is not None:
                    bar.update()
    else:
        side_i, side_j = _cross_sides(n, s.n, budget)
        for i in _blocks(n, side_i):
            for j in _blocks(s.n, side_j):
                sq = _approx_sq(q, i, s, j)
                v, p = sq.topk(min(c, sq.shape[1]), dim=1, largest=False)
                _merge(best_v, best_i, i, v, p + j.start)
                if bar is not None:
                    bar.update()
    dtype = _dist_dtype(q, s)
    # b[i] ≥ |approx d² − exact d²| for every pair of row i. With a = the k-th smallest approx d²,
    # the exact k-th smallest d² lies in [a − b, a + b]; a candidate with approx d² below
    # (a − b)(1 − δ) − b is exactly nearer than the k-th neighbour, one above (a + b)(1 + δ) + b
    # exactly farther (δ keeps them apart after float32 rounding and sqrt): only candidates in
    # between need their exact distance, usually one per row.
    b = (_gamma(q.x.shape[1]) * (q.sq64 + s.sq64.max()))[:, None]
    approx = best_v.to(torch.float64)
    rows = torch.arange(n, device=dev)
    exact = torch.full((n, c), float("inf"), dtype=dtype, device=dev)
    band_of = {}
    for k in ks:
        a = approx[:, k - 1 : k]
        below = approx < (a - b) * (1 - _DELTA) - b
        band = ~below & (approx <= (a + b) * (1 + _DELTA) + b)
        band_of[k] = (below.sum(dim=1), band)
    need = torch.stack([band for _, band in band_of.values()]).any(dim=0)
    ni, nj = need.nonzero(as_tuple=True)
    exact[ni, nj] = _exact_pairs(q, ni, s, best_i[ni, nj], dtype, budget)
    radii = torch.empty(n, len(ks), dtype=dtype, device=dev)
    index = torch.empty(n, len(ks), dtype=torch.long, device=dev)
    for t, k in enumerate(ks):
        n_below, band = band_of[k]
        ranked, order = exact.masked_fill(~band, float("inf")).sort(dim=1)
        pos = (k - 1 - n_below).clamp(0, c - 1)
        radii[:, t] = ranked[rows, pos]
        index[:, t] = best_i[rows, order[rows, pos]]
    if c < pool:
        # a non-candidate has approx d² ≥ best_v[:, -1]: the row is settled only when that is
        # beyond the band of its largest k, else the row is recomputed exactly
        a = approx[:, kmax - 1 : kmax]
        unproven = (approx[:, -1:] <= (a + b) * (1 + _DELTA) + b).flatten().nonzero().flatten()
        if unproven.numel():
            extra = () if same else (q,)
            radii[unproven], index[unproven] = _exact_kth_rows(s, unproven, ks, budget, *extra)
    return radii, index


def _knn_radii(s: _Set, ks: tuple[int, ...], budget: int, bar: tqdm | None = None) -> torch.Tensor:
    """(n, len(ks)) exact k-th neighbour distances (self excluded), in sklearn's output dtype."""
    return _knn(s, s, ks, budget, bar)[0]


def _band(thr: torch.Tensor, slack: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(t², half-width) per point: an approximate d² within half-width + the other point's slack
    of t² does not decide the comparison with the float32 radius t."""
    t2 = thr.to(torch.float64) ** 2
    return t2.to(torch.float32), (t2 * _DELTA + slack).to(torch.float32)


def _undecided(
    sq: torch.Tensor, centre: torch.Tensor, width: torch.Tensor, other: torch.Tensor
) -> torch.Tensor:
    """|sq − centre| − width ≤ other, with one float temporary (broadcast shapes pick row/column)."""
    d = sq - centre
    return d.abs_().sub_(width) <= other


def _check_k(k: int, s: _Set, what: str) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"prdc: {what} must be a positive integer, got {k!r}")
    if k >= s.n:
        raise SourceError(
            f"prdc: {what}={k} needs at least {k + 1} samples in {s.name} (k neighbours besides the point "
            f"itself), got {s.n}"
        )


def _compute(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    k_pr: int | None,
    k_dc: int | None,
    pr_inclusive: bool,
    max_block_bytes: int,
    progress: bool | None = None,
) -> dict[str, float]:
    _check_budget(max_block_bytes)
    real = _prepare(real_features, "real_features")
    fake = _prepare(fake_features, "fake_features")
    same_dims(real.x, fake.x, "real_features", "fake_features")
    if real.x.device != fake.x.device:
        raise SourceError(f"real_features is on {real.x.device} but fake_features is on {fake.x.device}")
    if k_pr is not None:
        _check_k(k_pr, real, "k_pr")
        _check_k(k_pr, fake, "k_pr")
    if k_dc is not None:
        _check_k(k_dc, real, "k_dc")
    budget = max_block_bytes
    n, m, dev = real.n, fake.n, real.x.device
    side_i, side_j = _cross_sides(n, m, budget)
    total = _knn_blocks(real, real, budget) + len(_blocks(n, side_i)) * len(_blocks(m, side_j))
    total += _knn_blocks(fake, fake, budget) if k_pr is not None else 0
    with _ieee_fp32_matmul(), progress_bar(total, "prdc k-NN", progress) as bar:
        real_ks = tuple(sorted({k for k in (k_pr, k_dc) if k is not None}))
        real_radii = _knn_radii(real, real_ks, budget, bar)
        r_pr = real_radii[:, real_ks.index(k_pr)] if k_pr is not None else None
        r_dc = real_radii[:, real_ks.index(k_dc)] if k_dc is not None else None
        f_pr = _knn_radii(fake, (k_pr,), budget, bar)[:, 0] if k_pr is not None else None

        g = _gamma(real.x.shape[1])
        dtype = _dist_dtype(real, fake)
        # per-point slack g·‖x‖²: a pair's approx d² is within slack_i + slack_j of its exact value
        slack_r, slack_f = g * real.sq64, g * fake.sq64
        row_bands = [_band(t, slack_r) for t in (r_pr, r_dc) if t is not None]
        col_band = _band(f_pr, slack_f) if f_pr is not None else None
        slack_r, slack_f = slack_r.to(torch.float32), slack_f.to(torch.float32)

        fake_in_real = torch.zeros(m, dtype=torch.bool, device=dev)
        real_in_fake = torch.zeros(n, dtype=torch.bool, device=dev)
        density_count = torch.zeros(m, dtype=torch.long, device=dev)
        covered = torch.zeros(n, dtype=torch.bool, device=dev)

        for i in _blocks(n, side_i):
            for j in _blocks(m, side_j):
                sq = _approx_sq(real, i, fake, j)
                # pairs whose float32 value cannot decide a comparison they take part in
                amb = torch.zeros_like(sq, dtype=torch.bool)
                for centre, width in row_bands:
                    amb |= _undecided(sq, centre[i, None], width[i, None], slack_f[None, j])
                if col_band is not None:
                    centre, width = col_band
                    amb |= _undecided(sq, centre[None, j], width[None, j], slack_r[i, None])
                dist = sq.to(dtype).clamp_min_(0).sqrt_()
                del sq
                ai, aj = amb.nonzero(as_tuple=True)
                del amb
                if ai.numel():
                    dist[ai, aj] = _exact_pairs(real, ai + i.start, fake, aj + j.start, dtype, budget)
                if k_pr is not None:
                    inside = torch.le if pr_inclusive else torch.lt
                    fake_in_real[j] |= inside(dist, r_pr[i, None]).any(dim=0)
                    real_in_fake[i] |= inside(dist, f_pr[None, j]).any(dim=1)
                if k_dc is not None:
                    in_ball = dist < r_dc[i, None]
                    density_count[j] += in_ball.sum(dim=0)
                    covered[i] |= in_ball.any(dim=1)
                    del in_ball
                del dist  # before the next block is allocated
                bar.update()

    out: dict[str, float] = {}
    if k_pr is not None:
        # same arithmetic as prdc (count / size) so equal counts give bit-equal floats
        out["precision"] = int(fake_in_real.sum()) / m
        out["recall"] = int(real_in_fake.sum()) / n
        out["pr_k"] = float(k_pr)
        out["pr_inclusive"] = float(bool(pr_inclusive))
    if k_dc is not None:
        out["density"] = (1.0 / float(k_dc)) * (int(density_count.sum()) / m)
        out["coverage"] = int(covered.sum()) / n
        out["dc_k"] = float(k_dc)
    return out


def _check_budget(max_block_bytes: int) -> None:
    if not isinstance(max_block_bytes, int) or isinstance(max_block_bytes, bool) or max_block_bytes < 1024:
        raise ConfigError(f"prdc: max_block_bytes must be an integer >= 1024, got {max_block_bytes!r}")


def prdc(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    k_pr: int = 3,
    k_dc: int = 5,
    pr_inclusive: bool = True,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: bool | None = None,
) -> dict[str, float]:
    """Precision, recall (k_pr), density and coverage (k_dc) of fake vs real, in bounded memory.

    Features are numpy arrays or torch tensors (both on the same device; a GPU is used when they
    are there). Returns the four values plus ``pr_k``, ``pr_inclusive`` and ``dc_k``. ``progress``:
    a bar over the distance blocks (None: as the evaluation running the metric asks, else off).
    """
    return _compute(real_features, fake_features, k_pr, k_dc, pr_inclusive, max_block_bytes, progress)


def precision_recall(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    k: int = 3,
    inclusive: bool = True,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: bool | None = None,
) -> dict[str, float]:
    """Improved precision and recall only (membership ``≤`` when ``inclusive``, else ``<``)."""
    return _compute(real_features, fake_features, k, None, inclusive, max_block_bytes, progress)


def density_coverage(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    k: int = 5,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: bool | None = None,
) -> dict[str, float]:
    """Density and coverage only: needs no fake-set radii, so it skips that pass."""
    return _compute(real_features, fake_features, None, k, True, max_block_bytes, progress)


def knn_radii(
    features: ArrayLike,
    k: int,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    name: str = "features",
    progress: bool | None = None,
) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded).

    Equal to ``prdc.compute_nearest_neighbour_distances(features, k)`` (sklearn's arithmetic).
    """
    return nearest_neighbours(features, None, k, max_block_bytes, progress, (name, name))[0]


def nearest_neighbours(
    features: ArrayLike,
    reference: ArrayLike | None = None,
    k: int = 1,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: bool | None = None,
    names: tuple[str, str] = ("features", "reference"),
) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each row's k-th nearest neighbour among the rows of ``reference``
    (None: among the other rows of ``features``, each row excluded from its own neighbours), with
    sklearn's arithmetic (float32 distances for float32 inputs) and in bounded memory, as P/R/D/C.
    Of exactly equidistant neighbours, which index is returned is unspecified."""
    _check_budget(max_block_bytes)
    q = _prepare(features, names[0])
    s = q if reference is None else _prepare(reference, names[1])
    if s is not q:
        same_dims(q.x, s.x, names[0], names[1])
        if q.x.device != s.x.device:
            raise SourceError(f"{names[0]} is on {q.x.device} but {names[1]} is on {s.x.device}")
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= s.n:
            raise SourceError(f"nearest neighbours: k must be in 1..{s.n} (the {names[1]} rows), got {k!r}")
    else:
        _check_k(k, s, "k")
    what = "k-NN" if s is q else f"{names[0]} -> {names[1]}"
    with _ieee_fp32_matmul(), progress_bar(_knn_blocks(q, s, max_block_bytes), what, progress) as bar:
        dist, index = _knn(q, s, (k,), max_block_bytes, bar)
    return dist[:, 0], index[:, 0]
