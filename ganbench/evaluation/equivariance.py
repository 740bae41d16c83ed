"""Equivariance metrics EQ-T / EQ-R (Karras et al. 2021, "Alias-Free GANs", §3 and App. E).

For a latent w, the generator's output with its input Fourier features translated (rotated) is
compared with its untransformed output translated (rotated) in pixel space; the metric is the PSNR
in dB, peak 2 (images in [-1, 1]), of the difference over the pixels both sides define (a mask:
what the shift moves out of the frame, and the filters' borders), the squared errors and mask
summed over all samples before the ratio (NVIDIA's ``metrics/equivariance.py``):

* ``eq_t``: integer translations of up to ±``translate_max`` of the width per axis, rounded to
  whole pixels (the paper's EQ-T);
* ``eq_t_frac``: the same range, sub-pixel, the output shifted by a Lanczos-3 (a = 3) kernel;
* ``eq_r``: rotations of up to ±``rotate_max``·π, the output rotated by an ideal band-limited
  (windowed-sinc, 4× oversampled) affine resampling, and G's output pseudo-rotated by the same
  band limit so both sides carry the same frequencies.

A generator takes part through its equivariance interface: ``map_latents(z, y) -> ws``,
``synthesize_transformed(ws, transform) -> images`` (``transform``: the 3×3 inverse transform of
the output image, translations in units of the width) and ``resolution``. StyleGAN3's G has it
(:class:`ganbench.models.stylegan3.StyleGAN3Generator`); other generators are refused by
:func:`require_transformable`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.evaluation.metric import Output, declare_outputs
from ganbench.io import write_json_atomic
from ganbench.schema import check_params

EQ_METRICS = ("eq_t", "eq_t_frac", "eq_r")
EQ_EVAL_FILE = "eq_eval.json"
MAX_VALUE = 2.0  # the peak of [-1, 1] images

declare_outputs(
    96,
    Output("eq_t", better="higher", role="detail", display="EQ-T (dB)"),
    Output("eq_t_frac", better="higher", role="detail", display="EQ-T frac (dB)"),
    Output("eq_r", better="higher", role="detail", display="EQ-R (dB)"),
)


def _ops() -> Any:
    # imported when used: ganbench.models imports this package's modules while it loads
    from ganbench.models import filters

    return filters


# ---------------------------------------------------------------------------------------------
# pixel-space transforms (each returns the transformed images and the mask of valid pixels)


def sinc(x: torch.Tensor) -> torch.Tensor:
    y = (x * math.pi).abs()
    return torch.where(y < 1e-30, torch.ones_like(x), torch.sin(y) / y.clamp(1e-30, float("inf")))


def lanczos_window(x: torch.Tensor, a: float) -> torch.Tensor:
    x = x.abs() / a
    return torch.where(x < 1, sinc(x), torch.zeros_like(x))


def rotation_matrix(angle: torch.Tensor | float) -> torch.Tensor:
    """The 3×3 rotation by ``angle`` (radians) of image coordinates (y pointing down)."""
    a = torch.as_tensor(angle, dtype=torch.float32)
    m = torch.eye(3, device=a.device)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = a.cos(), a.sin(), -a.sin(), a.cos()
    return m


def integer_translation(x: torch.Tensor, tx: float, ty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` moved by (tx, ty) widths, rounded to whole pixels; zeros (mask 0) where nothing arrives."""
    _, _, h, w = x.shape
    ix, iy = round(float(tx) * w), round(float(ty) * h)
    z, m = torch.zeros_like(x), torch.zeros_like(x)
    if abs(ix) < w and abs(iy) < h:
        src = x[:, :, max(-iy, 0) : h + min(-iy, 0), max(-ix, 0) : w + min(-ix, 0)]
        z[:, :, max(iy, 0) : h + min(iy, 0), max(ix, 0) : w + min(ix, 0)] = src
        m[:, :, max(iy, 0) : h + min(iy, 0), max(ix, 0) : w + min(ix, 0)] = 1
    return z, m


def fractional_translation(
    x: torch.Tensor, tx: float, ty: float, a: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` moved by (tx, ty) widths with a separable Lanczos-``a`` interpolation; the mask drops
    the pixels whose kernel reaches outside the frame."""
    _, _, h, w = x.shape
    fx_t, fy_t = float(tx) * w, float(ty) * h
    ix, iy = math.floor(fx_t), math.floor(fy_t)
    fx, fy = fx_t - ix, fy_t - iy
    b = a - 1
    z = torch.zeros_like(x)
    zx0, zy0 = max(ix - b, 0), max(iy - b, 0)
    zx1, zy1 = min(ix + a, 0) + w, min(iy + a, 0) + h
    if zx0 < zx1 and zy0 < zy1:
        taps = torch.arange(a * 2, device=x.device, dtype=torch.float32) - b
        filter_x = (sinc(taps - fx) * sinc((taps - fx) / a))[None]
        filter_y = (sinc(taps - fy) * sinc((taps - fy) / a))[:, None]
        ops = _ops()
        y = ops.filter2d(x, filter_x / filter_x.sum(), padding=(b, a, 0, 0))
        y = ops.filter2d(y, filter_y / filter_y.sum(), padding=(0, 0, b, a))
        y = y[
            :, :, max(b - iy, 0) : h + b + a + min(-iy - a, 0), max(b - ix, 0) : w + b + a + min(-ix - a, 0)
        ]
        z[:, :, zy0:zy1, zx0:zx1] = y
    m = torch.zeros_like(x)
    mx0, my0 = max(ix + a, 0), max(iy + a, 0)
    mx1, my1 = min(ix - b, 0) + w, min(iy - b, 0) + h
    if mx0 < mx1 and my0 < my1:
        m[:, :, my0:my1, mx0:mx1] = 1
    return z, m


def affine_bandlimit_filter(
    mat: torch.Tensor,
    a: int = 3,
    amax: int = 16,
    aflt: int = 64,
    up: int = 4,
    cutoff_in: float = 1.0,
    cutoff_out: float = 1.0,
) -> torch.Tensor:
    """The 2-D interpolation filter (``up``× oversampled, radius ``amax``) of an ideal low-pass at
    the input's band limit convolved with the one of the output (the input filter transformed by
    ``mat``), each under a Lanczos-``a`` window; normalised per polyphase component."""
    if not a <= amax < aflt:
        raise ValueError(f"need a <= amax < aflt, got a={a}, amax={amax}, aflt={aflt}")
    mat = torch.as_tensor(mat, dtype=torch.float32)
    taps = ((torch.arange(aflt * up * 2 - 1, device=mat.device) + 1) / up - aflt).roll(1 - aflt * up)
    yi, xi = torch.meshgrid(taps, taps, indexing="ij")
    xo, yo = (torch.stack([xi, yi], dim=2) @ mat[:2, :2].t()).unbind(2)
    fi = sinc(xi * cutoff_in) * sinc(yi * cutoff_in)
    fo = sinc(xo * cutoff_out) * sinc(yo * cutoff_out)
    f = torch.fft.ifftn(torch.fft.fftn(fi) * torch.fft.fftn(fo)).real
    wi = lanczos_window(xi, a) * lanczos_window(yi, a)
    wo = lanczos_window(xo, a) * lanczos_window(yo, a)
    f = f * torch.fft.ifftn(torch.fft.fftn(wi) * torch.fft.fftn(wo)).real
    c = (aflt - amax) * up
    f = f.roll([aflt * up - 1] * 2, dims=[0, 1])[c:-c, c:-c]
    f = F.pad(f, [0, 1, 0, 1]).reshape(amax * 2, up, amax * 2, up)
    f = f / f.sum([0, 2], keepdim=True) / (up**2)
    return f.reshape(amax * 2 * up, amax * 2 * up)[:-1, :-1]


def affine_transformation(
    x: torch.Tensor, mat: torch.Tensor, up: int = 4, **filter_kwargs: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` resampled under the 3×3 ``mat``: band-limited upsampling by ``up``, then bilinear
    sampling of the transformed grid; the mask keeps pixels away from the filter's border."""
    _, _, h, w = x.shape
    mat = torch.as_tensor(mat, dtype=torch.float32, device=x.device)
    f = affine_bandlimit_filter(mat, up=up, **filter_kwargs)
    p = f.shape[0] // 2
    theta = mat.inverse()
    theta[:2, 2] *= 2
    theta[0, 2] += 1 / up / w
    theta[1, 2] += 1 / up / h
    theta[0, :] *= w / (w + p / up * 2)
    theta[1, :] *= h / (h + p / up * 2)
    theta = theta[:2, :3][None].repeat(x.shape[0], 1, 1)
    g = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = _ops().upsample2d(x, f, up=up, padding=p)
    z = F.grid_sample(y, g, mode="bilinear", padding_mode="zeros", align_corners=False)
    m = torch.zeros_like(y)
    c = p * 2 + 1
    m[:, :, c:-c, c:-c] = 1
    m = F.grid_sample(m, g, mode="nearest", padding_mode="zeros", align_corners=False)
    return z, m


def fractional_rotation(
    x: torch.Tensor, angle: torch.Tensor, a: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    return affine_transformation(x, rotation_matrix(angle), a=a, amax=a * 2)


def fractional_pseudo_rotation(
    x: torch.Tensor, angle: torch.Tensor, a: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` filtered by the rotation's band limit without moving it (the comparison side of EQ-R)."""
    f = affine_bandlimit_filter(rotation_matrix(-angle), a=a, amax=a * 2, up=1)
    y = _ops().filter2d(x, f.to(x.device))
    m = torch.zeros_like(y)
    c = f.shape[0] // 2
    m[:, :, c:-c, c:-c] = 1
    return y, m


# ---------------------------------------------------------------------------------------------
# the metrics


def require_transformable(G: nn.Module) -> None:
    """ConfigError unless G offers the equivariance interface (module docstring)."""
    missing = [a for a in ("map_latents", "synthesize_transformed", "resolution") if not hasattr(G, a)]
    if missing:
        raise ConfigError(
            f"the equivariance metrics ({', '.join(EQ_METRICS)}) need a generator whose input can be "
            f"transformed (StyleGAN3's Fourier features); {type(G).__name__} lacks {', '.join(missing)}"
        )


def psnr(sq_err_sum: float, mask_sum: float, max_value: float = MAX_VALUE) -> float:
    """PSNR (dB) of a summed squared error over a summed mask; inf for no error."""
    if mask_sum <= 0:
        return float("nan")
    mse = sq_err_sum / mask_sum
    return float("inf") if mse == 0 else 20 * math.log10(max_value) - 10 * math.log10(mse)


@torch.no_grad()
def equivariance_metrics(
    G: nn.Module,
    n: int,
    metrics: Sequence[str] = EQ_METRICS,
    batch_size: int = 16,
    seed: int = 0,
    device: Any = "cpu",
    translate_max: float = 0.125,
    rotate_max: float = 1.0,
) -> dict[str, float]:
    """EQ-T / EQ-T frac / EQ-R (dB) of G over ``n`` latents (one random transform per batch, as
    NVIDIA draws them), in G's eval mode."""
    require_transformable(G)
    unknown = [m for m in metrics if m not in EQ_METRICS]
    if unknown or not metrics:
        raise ValueError(f"equivariance metrics: {unknown or 'none'}; valid choices: {', '.join(EQ_METRICS)}")
    gen = torch.Generator().manual_seed(int(seed))
    eye = torch.eye(3, device=device)
    res = int(G.resolution)
    sums = {m: [0.0, 0.0] for m in metrics}
    num_classes = getattr(G, "num_classes", None)
    was = G.training
    G.eval()
    try:
        for start in range(0, n, batch_size):
            bs = min(batch_size, n - start)
            z = torch.randn(bs, G.z_dim, generator=gen).to(device)
            y = torch.randint(num_classes, (bs,), generator=gen).to(device) if num_classes else None
            ws = G.map_latents(z, y)
            orig = G.synthesize_transformed(ws, eye)
            for m in metrics:
                if m in ("eq_t", "eq_t_frac"):
                    t = (torch.rand(2, generator=gen) * 2 - 1) * translate_max
                    if m == "eq_t":
                        t = (t * res).round() / res
                    mat = eye.clone()
                    mat[:2, 2] = -t.to(device)
                    img = G.synthesize_transformed(ws, mat)
                    shift = integer_translation if m == "eq_t" else fractional_translation
                    ref, mask = shift(orig, float(t[0]), float(t[1]))
                else:
                    angle = ((torch.rand([], generator=gen) * 2 - 1) * (rotate_max * math.pi)).to(device)
                    img = G.synthesize_transformed(ws, rotation_matrix(-angle).to(device))
                    ref, ref_mask = fractional_rotation(orig, angle)
                    img, img_mask = fractional_pseudo_rotation(img, angle)
                    mask = ref_mask * img_mask
                sums[m][0] += float(((ref - img).square() * mask).double().sum())
                sums[m][1] += float(mask.double().sum())
    finally:
        G.train(was)
    return {m: psnr(*sums[m]) for m in metrics}


# ---------------------------------------------------------------------------------------------
# the family's final evaluation (model.g.eq_eval of the stylegan3 family)


def equivariance_evaluation(
    G: nn.Module,
    eval_cfg: Any,
    run_dir: str | Path,
    device: Any = "cpu",
    *,
    samples: int = 1000,
    metrics: Sequence[str] = EQ_METRICS,
    batch_size: int = 16,
    translate_max: float = 0.125,
    rotate_max: float = 1.0,
) -> dict[str, float]:
    """The record keys of :func:`equivariance_metrics` (``samples`` 0: none; the paper uses 50 000)
    and ``eq_eval.json`` (settings and values) in ``run_dir``."""
    if not samples:
        return {}
    seed = int(eval_cfg.seed)
    out = equivariance_metrics(G, samples, metrics, batch_size, seed, device, translate_max, rotate_max)
    settings = {
        "samples": samples,
        "metrics": list(metrics),
        "batch_size": batch_size,
        "seed": seed,
        "translate_max": translate_max,
        "rotate_max": rotate_max,
        "psnr_peak": MAX_VALUE,
    }
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # inf (an exactly equivariant G) is not JSON: written as null there, kept in the record
    finite = {k: (v if np.isfinite(v) else None) for k, v in out.items()}
    write_json_atomic(run_dir / EQ_EVAL_FILE, {"settings": settings, "metrics": finite})
    return out


def check_eq_eval(params: dict[str, Any] | None, where: str) -> None:
    """``params`` against :func:`equivariance_evaluation`'s options; ConfigError naming ``where``.<option>."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: expected a mapping of options, got {params!r}")
    check_params(equivariance_evaluation, params, where, skip=("G", "eval_cfg", "run_dir", "device"))
    if int(params.get("samples", 1000)) < 0:
        raise ConfigError(f"{where}.samples must be >= 0 (0: off), got {params['samples']}")
    if int(params.get("batch_size", 16)) < 1:
        raise ConfigError(f"{where}.batch_size must be >= 1, got {params['batch_size']}")
    bad = [m for m in params.get("metrics", EQ_METRICS) if m not in EQ_METRICS]
    if bad or not params.get("metrics", EQ_METRICS):
        raise ConfigError(f"{where}.metrics: {bad or 'empty'}; valid choices: {', '.join(EQ_METRICS)}")
    for key in ("translate_max", "rotate_max"):
        if key in params and not float(params[key]) > 0:
            raise ConfigError(f"{where}.{key} must be > 0, got {params[key]}")
