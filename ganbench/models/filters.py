"""Signal-processing ops of the alias-free generator (StyleGAN3), in plain PyTorch (fp32).

Our own code for the operations NVIDIA's ``torch_utils/ops`` define, following their reference
(non-CUDA) paths so a state dict copied from NVIDIA's network gives the same images:

* :func:`design_lowpass_filter`: a Kaiser-windowed sinc low-pass (``scipy.signal.firwin``, as NVIDIA
  designs it), or its radially symmetric 2-D version (jinc × separable Kaiser window);
* :func:`upfirdn2d`: upsample by zero insertion, pad (or crop), FIR filter, downsample by dropping;
* :func:`filtered_lrelu`: bias → upsample (filter ``fu``) → leaky ReLU × gain → clamp → downsample
  (filter ``fd``), the paper's Fig. 4(b) nonlinearity at a temporarily higher sampling rate.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal
import scipy.special
import torch
import torch.nn.functional as F

Padding = tuple[int, int, int, int]  # x0, x1, y0, y1


def design_lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> torch.Tensor | None:
    """A low-pass FIR filter with ``numtaps`` taps, cutoff ``cutoff`` and transition band ``width``
    (both in the units of the sampling rate ``fs``); None for one tap (no filtering). 1-D (applied
    separably) unless ``radial``: then a 2-D radially symmetric jinc filter (StyleGAN3-R)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    if not radial:
        f = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        return torch.as_tensor(f, dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f *= np.outer(w, w)
    f /= np.sum(f)
    return torch.as_tensor(f, dtype=torch.float32)


def kaiser_sinc(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """The same 1-D design written out (Kaiser's formulas for the window's β from the attenuation
    that ``numtaps`` and ``width`` allow), for the tests to check ``firwin`` against."""
    nyq = fs / 2
    atten = 2.285 * (numtaps - 1) * math.pi * (width / nyq) + 7.95
    if atten > 50:
        beta = 0.1102 * (atten - 8.7)
    elif atten > 21:
        beta = 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    else:
        beta = 0.0
    c = cutoff / nyq
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = c * np.sinc(c * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


def parse_padding(padding: int | tuple[int, ...] | list[int]) -> Padding:
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    if len(padding) == 4:
        return padding[0], padding[1], padding[2], padding[3]
    raise ValueError(f"padding: an int, [px, py] or [x0, x1, y0, y1], got {padding!r}")


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: int | tuple[int, ...] | list[int] = 0,
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample ``x`` (N, C, H, W) by ``up`` (zeros between samples), pad by ``padding`` (negative
    values crop), convolve with ``f`` (1-D: separably, 2-D: as is; None: identity) scaled by
    ``gain`` overall, keep every ``down``-th sample. A true convolution (the filter flipped)."""
    n, c, h, w = x.shape
    px0, px1, py0, py1 = parse_padding(padding)
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    if f is not None:
        f = (f * gain ** (f.ndim / 2)).to(x.dtype).flip(list(range(f.ndim)))
        if f.ndim == 2:
            x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)
        else:
            x = F.conv2d(x, f[None, None, None, :].repeat(c, 1, 1, 1), groups=c)
            x = F.conv2d(x, f[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    elif gain != 1:
        x = x * gain
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None = None,
    fd: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int | tuple[int, ...] | list[int] = 0,
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
) -> torch.Tensor:
    """bias ``b`` → upsample by ``up`` with ``fu`` (gain up², the zeros' lost energy) → leaky ReLU
    (``slope``) × ``gain`` → clamp to ±``clamp`` → filter with ``fd`` and keep every ``down``-th."""
    if b is not None:
        x = x + b.to(x.dtype)[None, :, None, None]
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2)
    x = F.leaky_relu(x, slope) if slope != 1 else x
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, fd, down=down)


def _filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    if f is None:
        return 1, 1
    return int(f.shape[-1]), int(f.shape[0])


def filter2d(
    x: torch.Tensor, f: torch.Tensor, padding: int | tuple[int, ...] | list[int] = 0
) -> torch.Tensor:
    """Filter ``x`` with ``f`` keeping its size (plus ``padding``); pixels outside are zero."""
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = _filter_size(f)
    return upfirdn2d(x, f, padding=(px0 + fw // 2, px1 + (fw - 1) // 2, py0 + fh // 2, py1 + (fh - 1) // 2))


def upsample2d(
    x: torch.Tensor, f: torch.Tensor, up: int = 2, padding: int | tuple[int, ...] | list[int] = 0
) -> torch.Tensor:
    """Upsample ``x`` by ``up`` with the interpolation filter ``f`` (size × up, plus ``padding``)."""
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = _filter_size(f)
    p = (px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2, py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=p, gain=up * up)
