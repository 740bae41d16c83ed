"""Style-based generators' own evaluation (Karras et al. 2019): style-mixing and truncation figures,
the metrics along the truncation sweep, and perceptual path length (PPL) in Z and W.

It takes the generator as an ``nn.Module`` with the style interface (StyleGAN's family has it):
``mapping(z, y) -> w`` (N × w_dim), ``broadcast(w) -> ws`` (N × num_ws × w_dim), ``synthesis(ws)``
(linear images, full resolution) — or, as StyleGAN2's (whose ``mapping`` and ``synthesis`` are
NVIDIA's modules), ``map_ws(z, y) -> ws`` and ``synthesize(ws)`` (its noise mode for evaluation) —,
``truncate(ws, psi, cutoff)``, ``w_avg``, ``num_ws``, ``layer_resolutions`` (the resolution of each
style), ``z_dim``, ``num_classes`` and ``has_mapping_network``. A generator without a mapping
network has no W to mix or truncate in: it is refused, naming what it lacks.

Record keys (declared below):

- ``trunc_psi<ψ>_<key>`` for every score key of the run's metrics at each ψ of ``psis``
  (``trunc_psi0.7_fid``, ``trunc_psi0.5_precision``, …): the truncation trade-off, scored like the
  main evaluation (same extractor, reference, seed), with w' = w̄ + ψ(w − w̄) on every layer below
  ``truncation_cutoff`` (None: all). ψ = 1 is the untruncated generator.
- ``ppl_<space>_<distance>`` (``ppl_w_lpips-vgg``, ``ppl_z_fmnist-classifier``): the paper's §4.2 PPL,
  the distance named in the key, so numbers from different distances are never one column.

PPL as the official ``metrics/perceptual_path_length.py``: pairs of z ~ N(0, I), t ~ U(0, 1)
(``sampling: full``; ``end``: t = 0), ε = 1e-4; Z: slerp(z₀, z₁; t) and slerp at t + ε; W: w = f(z),
lerp(w₀, w₁; t) and at t + ε (the same w on every layer, no truncation); the same noise for both
images of a pair (eval mode's fixed noise maps); an optional face crop (``ppl_crop``: the FFHQ one,
rows 3H/8..7H/8, columns 2W/8..6W/8); images above 256² average-pooled to 256²; distance / ε²; the
mean over the samples between the 1st (numpy ``lower``) and 99th (``higher``) percentiles.

Distances (``ppl_distance``):

- ``lpips``: LPIPS-VGG (Zhang et al. 2018; the ``lpips`` package, its v0.1 linear weights) on the
  torchvision VGG16 weights (``vgg16-397923af.pth``, resolved like every weights file:
  ``lpips_weights`` path, ``$GANBENCH_WEIGHTS_DIR``, the ganbench cache, torch hub; offline a clear
  error listing where it looked). The official StyleGAN PPL uses the same LPIPS VGG. Key ``lpips-vgg``.
- ``fmnist-classifier``: squared Euclidean distance between the shipped Fashion-MNIST classifier's
  128-d features (docs/extractors.md), on the float images (gray, antialiased bilinear to 28×28, no
  uint8 rounding, which would erase an ε step). Not LPIPS: a documented stand-in, named in the key.
- ``auto`` (default): ``lpips`` when its weights are found, else ``fmnist-classifier`` when the
  dataset's default extractor is that classifier, else the LPIPS error.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ganbench.errors import ConfigError, WeightsError
from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.fmnist_classifier import to_gray28
from ganbench.evaluation.images import evaluate_image_generator
from ganbench.evaluation.metric import Output, declare_outputs, output_info
from ganbench.io import write_json_atomic
from ganbench.registries import EXTRACTORS, METRICS
from ganbench.schema import check_params

PSIS = (1.0, 0.7, 0.5, 0.0)  # the truncation sweep of the issue (the paper's Fig. 8 uses 1, 0.7, 0.5, 0)
PPL_EPSILON = 1e-4
PPL_DISTANCES = ("auto", "lpips", "fmnist-classifier")
STYLE_EVAL_FILE = "style_eval.json"
MIXING_PNG = "style_mixing.png"
TRUNCATION_PNG = "truncation.png"
LPIPS_KEY = "lpips-vgg"
PAPER_COARSE, PAPER_MIDDLE = (4, 8), (16, 32)  # §3.1: coarse 4²–8², middle 16²–32², fine 64²–1024²


def _declared_outputs() -> list[Output]:
    """Each record key this module writes, declared exactly (a ``*`` family would share one column
    header): PPL per space and distance; the sweep's key for every ψ of :data:`PSIS` and every score
    key of the metrics registered with the evaluation package, with that score's direction. Keys of
    other ψ values stay undeclared (they show under their own names)."""
    out = [
        Output(f"ppl_{space}_{dist}", better="lower", role="detail", display=f"PPL-{space.upper()} ({dist})")
        for space in ("z", "w")
        for dist in (LPIPS_KEY, "fmnist-classifier")
    ]
    for name in METRICS.names():  # the evaluation package registered its metrics before this module
        for o in METRICS.get(name).outputs:
            if o.role == "score" and not o.key.endswith("*"):
                out += [
                    Output(
                        f"trunc_psi{psi:g}_{o.key}",
                        better=o.better,
                        role="detail",
                        display=f"{o.header} ψ={psi:g}",
                    )
                    for psi in PSIS
                ]
    return out


declare_outputs(95, *_declared_outputs())


# ---------------------------------------------------------------------------------------------
# the settings (model.g.style_eval of the stylegan family)


def check_style_eval(params: dict[str, Any] | None, where: str) -> None:
    """``params`` against :func:`style_evaluation`'s options, with their ranges; ConfigError naming
    ``where``.<option>."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: expected a mapping of options, got {params!r}")
    check_params(style_evaluation, params, where, skip=("G", "data", "eval_cfg", "run_dir", "device"))
    p = {**_defaults(), **params}
    for psi in p["psis"]:
        if not 0.0 <= float(psi) <= 1.0:
            raise ConfigError(f"{where}.psis: truncation ψ must be in [0, 1], got {psi}")
    for key in ("ppl_samples", "figure_columns", "figure_rows"):
        if int(p[key]) < (0 if key == "ppl_samples" else 1):
            raise ConfigError(f"{where}.{key} must be >= {0 if key == 'ppl_samples' else 1}, got {p[key]}")
    if p["ppl_samples"] and p["ppl_samples"] < 100:
        raise ConfigError(
            f"{where}.ppl_samples must be 0 (off) or >= 100 (the 1st/99th percentile filter needs them), "
            f"got {p['ppl_samples']}"
        )
    if p["truncation_n"] is not None and p["truncation_n"] < 2:
        raise ConfigError(
            f"{where}.truncation_n must be >= 2 or null (eval.n_samples), got {p['truncation_n']}"
        )
    if not p["ppl_epsilon"] > 0:
        raise ConfigError(f"{where}.ppl_epsilon must be > 0, got {p['ppl_epsilon']}")
    for space in p["ppl_spaces"]:
        if space not in ("z", "w"):
            raise ConfigError(f"{where}.ppl_spaces: {space!r}; valid choices: z, w")
    if p["ppl_sampling"] not in ("full", "end"):
        raise ConfigError(f"{where}.ppl_sampling: {p['ppl_sampling']!r}; valid choices: full, end")
    if p["ppl_distance"] not in PPL_DISTANCES:
        raise ConfigError(
            f"{where}.ppl_distance: {p['ppl_distance']!r}; valid choices: {', '.join(PPL_DISTANCES)}"
        )
    cutoff = p["truncation_cutoff"]
    if cutoff is not None and int(cutoff) < 1:
        raise ConfigError(f"{where}.truncation_cutoff must be >= 1 or null (all layers), got {cutoff}")


def _defaults() -> dict[str, Any]:
    return {
        n: p.default
        for n, p in inspect.signature(style_evaluation).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }


# ---------------------------------------------------------------------------------------------
# the generator's style interface


def require_style_generator(G: nn.Module) -> None:
    if not getattr(G, "has_mapping_network", False):
        raise ConfigError(
            f"generator {type(G).__name__} has no mapping network (has_mapping_network is false): style "
            "mixing, truncation in W and PPL in W need one (the stylegan family with mapping_layers >= 1)"
        )


def mapped_ws(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """ws (N × num_ws × w_dim) of z: ``G.map_ws`` where G has one, else ``broadcast(mapping(z, y))``."""
    map_ws = getattr(G, "map_ws", None)
    return map_ws(z, y) if map_ws is not None else G.broadcast(G.mapping(z, y))


def synthesize(G: nn.Module, ws: torch.Tensor) -> torch.Tensor:
    """Linear images of ws: ``G.synthesize`` where G has one, else ``G.synthesis``."""
    synth = getattr(G, "synthesize", None)
    return synth(ws) if synth is not None else G.synthesis(ws)


class Truncated(nn.Module):
    """``G`` sampled with truncation ψ in W (on the first ``cutoff`` styles), as ``G(z, y)``."""

    def __init__(self, G: nn.Module, psi: float, cutoff: int | None = None) -> None:
        super().__init__()
        self.G, self.psi, self.cutoff = G, float(psi), cutoff
        self.z_dim = G.z_dim
        self.num_classes = getattr(G, "num_classes", None)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        G = self.G
        ws = G.truncate(mapped_ws(G, z, y), self.psi, self.cutoff)
        return synthesize(G, ws).clamp(-1.0, 1.0)


def crossover_groups(layer_resolutions: Sequence[int]) -> dict[str, list[int]]:
    """Layer indices of the coarse / middle / fine styles: the paper's 4²–8² / 16²–32² / 64²+ when
    the generator reaches 64²; below, coarse = the 4² layers, fine = the last resolution's, middle
    = those between (so a 32² G mixes at 4² / 8²–16² / 32²). Empty groups are left out."""
    res = sorted(set(layer_resolutions))
    if res[-1] >= 64:
        coarse, middle = set(PAPER_COARSE), set(PAPER_MIDDLE)
    else:
        coarse, middle = {res[0]}, set(res[1:-1])
    groups = {
        "coarse": [i for i, r in enumerate(layer_resolutions) if r in coarse],
        "middle": [i for i, r in enumerate(layer_resolutions) if r in middle],
        "fine": [i for i, r in enumerate(layer_resolutions) if r not in coarse | middle],
    }
    return {k: v for k, v in groups.items() if v}


def _latents(G: nn.Module, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    z = torch.randn(n, G.z_dim, generator=gen)
    k = getattr(G, "num_classes", None)
    y = torch.randint(k, (n,), generator=gen) if k else None
    return z, y


@torch.no_grad()
def mixing_images(
    G: nn.Module, n_rows: int, n_cols: int, seed: int, device: Any
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """{group: (n_rows·n_cols) images: row i = source A_i with source B_j's styles at the group's
    layers}, the A images, the B images (all in [-1, 1], on the CPU). Untruncated."""
    gen = torch.Generator().manual_seed(seed)
    za, ya = _latents(G, n_rows, gen)
    zb, yb = _latents(G, n_cols, gen)
    dev = torch.device(device)
    wa = mapped_ws(G, za.to(dev), ya.to(dev) if ya is not None else None)
    wb = mapped_ws(G, zb.to(dev), yb.to(dev) if yb is not None else None)
    out = {}
    for name, layers in crossover_groups(G.layer_resolutions).items():
        take = torch.zeros(G.num_ws, dtype=torch.bool, device=dev)
        take[layers] = True
        mixed = torch.where(take[None, None, :, None], wb[None], wa[:, None])  # rows × cols × L × w
        ws = mixed.reshape(n_rows * n_cols, G.num_ws, -1)
        out[name] = synthesize(G, ws).clamp(-1, 1).cpu()
    return out, synthesize(G, wa).clamp(-1, 1).cpu(), synthesize(G, wb).clamp(-1, 1).cpu()


@torch.no_grad()
def truncation_images(
    G: nn.Module, psis: Sequence[float], n: int, seed: int, device: Any, cutoff: int | None = None
) -> torch.Tensor:
    """len(psis)·n images: row k = the same n latents at ψ = psis[k]."""
    gen = torch.Generator().manual_seed(seed)
    z, y = _latents(G, n, gen)
    dev = torch.device(device)
    ws = mapped_ws(G, z.to(dev), y.to(dev) if y is not None else None)
    return torch.cat([synthesize(G, G.truncate(ws, float(p), cutoff)).clamp(-1, 1).cpu() for p in psis])


def _tile(images: torch.Tensor, nrow: int) -> np.ndarray:
    from torchvision.utils import make_grid  # torchvision: loaded only for the figures

    grid = make_grid(images * 0.5 + 0.5, nrow=nrow, padding=2, pad_value=1.0).clamp(0, 1)
    return grid.permute(1, 2, 0).numpy()


def save_mixing_figure(
    mixed: dict[str, torch.Tensor],
    a: torch.Tensor,
    b: torch.Tensor,
    layer_resolutions: Sequence[int],
    path: Path,
) -> None:
    import matplotlib  # imported on use: only the figures need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(a), len(b)
    blank = torch.ones_like(a[:1])
    groups = crossover_groups(layer_resolutions)
    fig, axes = plt.subplots(
        len(mixed), 1, figsize=(1.1 * (n_cols + 1), 1.15 * (n_rows + 1) * len(mixed)), dpi=110
    )
    axes = np.atleast_1d(axes)
    for ax, (name, images) in zip(axes, mixed.items()):
        cells = [blank, b]
        for i in range(n_rows):
            cells += [a[i : i + 1], images[i * n_cols : (i + 1) * n_cols]]
        ax.imshow(_tile(torch.cat(cells), n_cols + 1), cmap="gray" if a.shape[1] == 1 else None)
        res = sorted({layer_resolutions[i] for i in groups[name]})
        span = f"{res[0]}²" if len(res) == 1 else f"{res[0]}²–{res[-1]}²"
        ax.set_title(
            f"{name} styles ({span}) from B (top row) into A (left column)",
            fontsize=8,
        )
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_truncation_figure(images: torch.Tensor, psis: Sequence[float], path: Path) -> None:
    import matplotlib  # imported on use: only the figures need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images) // len(psis)
    fig, axes = plt.subplots(len(psis), 1, figsize=(1.1 * n, 1.25 * len(psis)), dpi=110)
    axes = np.atleast_1d(axes)
    for k, (ax, psi) in enumerate(zip(axes, psis)):
        ax.imshow(_tile(images[k * n : (k + 1) * n], n), cmap="gray" if images.shape[1] == 1 else None)
        ax.set_ylabel(f"ψ = {psi:g}", rotation=0, ha="right", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
    fig.suptitle("truncation in W around w̄ (same latents per column)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# perceptual path length


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a and b, as the official PPL code (the result
    has unit norm: the mapping network's pixel norm removes the norm anyway)."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(-1, keepdim=True)
    p = t[:, None] * torch.acos(d.clamp(-1.0, 1.0))
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=-1, keepdim=True)


def ppl_filter_mean(distances: np.ndarray) -> float:
    """Mean of the distances between the 1st (``lower``) and 99th (``higher``) percentiles, inclusive:
    the official filter of outliers."""
    d = np.asarray(distances, dtype=np.float64)
    lo = np.percentile(d, 1, method="lower")
    hi = np.percentile(d, 99, method="higher")
    return float(d[(d >= lo) & (d <= hi)].mean())


def ppl_crop(images: torch.Tensor) -> torch.Tensor:
    """The official FFHQ face crop: rows 3c..7c, columns 2c..6c with c = H // 8."""
    c = images.shape[2] // 8
    return images[:, :, c * 3 : c * 7, c * 2 : c * 6]


@torch.no_grad()
def path_lengths(
    G: nn.Module,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    n: int,
    space: str,
    seed: int,
    device: Any = "cpu",
    epsilon: float = PPL_EPSILON,
    sampling: str = "full",
    crop: bool = False,
    batch_size: int = 100,
    progress: bool = False,
) -> np.ndarray:
    """The ``n`` per-sample path lengths distance(g(e₀), g(e₁)) / ε² in ``space`` ("z" or "w")."""
    if space not in ("z", "w"):
        raise ValueError(f"space must be 'z' or 'w', got {space!r}")
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in tqdm(range(0, n, batch_size), disable=not progress, desc=f"PPL {space}", leave=False):
        b = min(batch_size, n - i)
        z = torch.randn(2 * b, G.z_dim, generator=gen)
        # t in float64: t + ε loses no digits of the ε step before the cast to the latents' dtype
        t = (torch.rand(b, generator=gen) if sampling == "full" else torch.zeros(b)).double()
        k = getattr(G, "num_classes", None)
        y = torch.randint(k, (b,), generator=gen).to(dev) if k else None  # one label for both ends
        z0, z1, t = z[0::2].to(dev), z[1::2].to(dev), t.to(dev)
        if space == "z":
            ze = torch.cat([slerp(z0, z1, t.to(z0.dtype)), slerp(z0, z1, (t + epsilon).to(z0.dtype))])
            w = mapped_ws(G, ze, torch.cat([y, y]) if y is not None else None)
        else:
            # lerp of the broadcast ws: every layer's w is the same, so it is the broadcast of the lerp
            w01 = mapped_ws(G, torch.cat([z0, z1]), torch.cat([y, y]) if y is not None else None)
            w0, w1 = w01[:b], w01[b:]
            tt = t[:, None, None]
            w = torch.cat(
                [torch.lerp(w0, w1, tt.to(w0.dtype)), torch.lerp(w0, w1, (tt + epsilon).to(w0.dtype))]
            )
        images = synthesize(G, w)
        images = images if images.dtype == torch.float64 else images.float()  # at least float32
        if crop:
            images = ppl_crop(images)
        if images.shape[2] > 256:
            images = F.avg_pool2d(images, images.shape[2] // 256)
        d = distance(images[:b], images[b:]).reshape(b).double() / epsilon**2
        out.append(d.cpu())
    return torch.cat(out).numpy()


class Distance:
    """A named image distance for PPL: ``key`` goes into the record key; ``describe`` to provenance."""

    key: str = ""

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"distance": self.key}


class LPIPSDistance(Distance):
    """LPIPS-VGG v0.1 (the ``lpips`` package's linear weights, torchvision's VGG16 backbone).
    ``weights``: the VGG16 file (``vgg16-397923af.pth``) or "random-init" (plumbing tests only)."""

    key = LPIPS_KEY

    def __init__(self, weights: str | None = None, device: Any = "cpu") -> None:
        try:
            import lpips  # optional dependency: only PPL with LPIPS needs it
        except ImportError as e:
            raise WeightsError(
                "ppl_distance lpips needs the lpips package (pip install lpips); or use ppl_distance "
                "fmnist-classifier"
            ) from e
        if weights == W.RANDOM_INIT:
            vgg_state, self.vgg_file, self.vgg_hash = None, None, W.RANDOM_INIT
        else:
            path, self.vgg_hash = W.resolve("vgg16", weights)
            self.vgg_file = str(path)
            vgg_state = torch.load(path, map_location="cpu", weights_only=True)
        import warnings

        with warnings.catch_warnings():  # lpips asks torchvision for an untrained VGG the old way
            warnings.simplefilter("ignore")
            net = lpips.LPIPS(net="vgg", pretrained=False, pnet_rand=True, verbose=False)
        lin_path = Path(lpips.__file__).parent / "weights" / "v0.1" / "vgg.pth"
        lin = torch.load(lin_path, map_location="cpu", weights_only=True)
        self.lin_file, self.lin_hash = str(lin_path), W.file_sha256(lin_path)
        state = net.state_dict()  # the constants (input scaling) as the package builds them
        unknown = sorted(set(lin) - set(state))
        if unknown:
            raise WeightsError(f"{lin_path}: LPIPS linear weights {unknown} do not fit the VGG network")
        state.update(lin)
        for i in range(5):  # ``lins`` lists the same layers as lin0..lin4
            state[f"lins.{i}.model.1.weight"] = lin[f"lin{i}.model.1.weight"]
        if vgg_state is not None:
            # lpips keeps torchvision's layer indices inside its slices: net.sliceK.<i>.* = features.<i>.*
            for name in net.net.state_dict():
                state[f"net.{name}"] = vgg_state[f"features.{name.split('.', 1)[1]}"]
        net.load_state_dict(state)
        self.net = net.eval().requires_grad_(False).to(device)

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape[1] == 1:
            a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
        return self.net(a, b, normalize=False).flatten()

    def describe(self) -> dict[str, Any]:
        return {
            "distance": self.key,
            "what": "LPIPS v0.1 VGG (lpips package linear weights, torchvision VGG16 backbone), images in "
            "[-1, 1], gray repeated to 3 channels",
            "vgg16_weights_file": self.vgg_file,
            "vgg16_weights_sha256": self.vgg_hash,
            "lpips_linear_file": self.lin_file,
            "lpips_linear_sha256": self.lin_hash,
        }


class ClassifierFeatureDistance(Distance):
    """Squared Euclidean distance of the Fashion-MNIST classifier's 128-d features of float images."""

    key = "fmnist-classifier"

    def __init__(self, device: Any = "cpu", weights: str | None = None) -> None:
        self.extractor = EXTRACTORS.get("fmnist-classifier")(
            **({"weights": weights} if weights else {}), device=device
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = to_gray28((x.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1  # the extractor's preprocessing in float
        return self.extractor.net(x.to(self.extractor.device))[0]

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (self.features(a) - self.features(b)).square().sum(1)

    def describe(self) -> dict[str, Any]:
        return {
            "distance": self.key,
            "what": "squared Euclidean distance of the Fashion-MNIST classifier's 128-d penultimate features "
            "(float images, gray, antialiased bilinear to 28x28): a stand-in for LPIPS, not LPIPS",
            "extractor": self.extractor.provenance(),
        }


def make_ppl_distance(name: str, data: Any, device: Any, lpips_weights: str | None = None) -> Distance:
    """The PPL distance ``name`` (see the module docstring for ``auto``)."""
    if name == "lpips":
        return LPIPSDistance(lpips_weights, device)
    if name == "fmnist-classifier":
        return ClassifierFeatureDistance(device)
    try:
        return LPIPSDistance(lpips_weights, device)
    except WeightsError as e:
        if getattr(data, "default_extractor", None) == ClassifierFeatureDistance.key:
            return ClassifierFeatureDistance(device)
        raise WeightsError(
            f"PPL: no distance for {getattr(data, 'name', data)!r}: LPIPS is unavailable ({e}); the "
            f"feature stand-in exists for Fashion-MNIST only"
        ) from None


def perceptual_path_length(
    G: nn.Module, distance: Distance, n: int, space: str, seed: int, device: Any = "cpu", **kwargs: Any
) -> float:
    """PPL in ``space``: the filtered mean of :func:`path_lengths` (G's eval mode for the pass)."""
    was = G.training
    G.eval()
    try:
        return ppl_filter_mean(path_lengths(G, distance, n, space, seed, device, **kwargs))
    finally:
        G.train(was)


# ---------------------------------------------------------------------------------------------
# the family's final evaluation


def style_evaluation(
    G: nn.Module,
    data: Any,
    eval_cfg: Any,
    run_dir: str | Path,
    device: Any = "cpu",
    *,
    psis: Sequence[float] = PSIS,
    truncation_cutoff: int | None = None,
    truncation_n: int | None = None,
    truncation_metrics: list[str] | None = None,
    ppl_samples: int = 2000,
    ppl_spaces: Sequence[str] = ("z", "w"),
    ppl_epsilon: float = PPL_EPSILON,
    ppl_sampling: str = "full",
    ppl_crop: bool = False,
    ppl_distance: str = "auto",
    lpips_weights: str | None = None,
    figure_rows: int = 4,
    figure_columns: int = 6,
) -> dict[str, Any]:
    """Figures (``style_mixing.png``, ``truncation.png``) and ``style_eval.json`` (settings and
    provenance) into ``run_dir``; returns the record keys (module docstring). ``truncation_n`` /
    ``truncation_metrics``: the sweep's sample count and metrics (None: the run's ``eval.n_samples``
    / ``eval.metrics``; [] skips the sweep's metrics); ``ppl_samples`` 0 skips PPL (the paper: 100 000)."""
    require_style_generator(G)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    seed = int(eval_cfg.seed)
    was = G.training
    G.eval()
    out: dict[str, Any] = {}
    info: dict[str, Any] = {
        "psis": [float(p) for p in psis],
        "truncation_cutoff": truncation_cutoff,
        "seed": seed,
        "w_avg": "EMA of the batch means of w during training (the generator's w_avg buffer)",
        "noise": "the generator's fixed eval-mode noise maps",
    }
    try:
        mixed, a, b = mixing_images(G, figure_rows, figure_columns, seed, device)
        save_mixing_figure(mixed, a, b, G.layer_resolutions, run_dir / MIXING_PNG)
        info["crossover_layers"] = crossover_groups(G.layer_resolutions)
        save_truncation_figure(
            truncation_images(G, psis, figure_columns, seed, device, truncation_cutoff),
            psis,
            run_dir / TRUNCATION_PNG,
        )
        metrics = list(eval_cfg.metrics) if truncation_metrics is None else list(truncation_metrics)
        if metrics:
            sweep_cfg = dataclasses.replace(
                eval_cfg, metrics=metrics, n_samples=truncation_n or eval_cfg.n_samples, bootstrap=None
            )
            info["truncation_n"] = sweep_cfg.n_samples
            info["truncation_metrics"] = metrics
            for psi in tqdm(psis, desc="truncation sweep", leave=False):
                scores, _ = evaluate_image_generator(
                    Truncated(G, psi, truncation_cutoff), data, sweep_cfg, seed, device
                )
                scores.pop("_provenance", None)
                for key, value in scores.items():
                    info_ = output_info(key)
                    if isinstance(value, (int, float)) and info_ is not None and info_.role == "score":
                        out[f"trunc_psi{float(psi):g}_{key}"] = float(value)
        if ppl_samples:
            dist = make_ppl_distance(ppl_distance, data, device, lpips_weights)
            info["ppl"] = {
                "samples": ppl_samples,
                "epsilon": ppl_epsilon,
                "sampling": ppl_sampling,
                "crop": ppl_crop,
                "filter": "mean between the 1st (lower) and 99th (higher) percentiles",
                "scaling": "distance / epsilon^2",
                **dist.describe(),
            }
            for space in ppl_spaces:
                value = perceptual_path_length(
                    G,
                    dist,
                    ppl_samples,
                    space,
                    seed,
                    device,
                    epsilon=ppl_epsilon,
                    sampling=ppl_sampling,
                    crop=ppl_crop,
                )
                out[f"ppl_{space}_{dist.key}"] = value if math.isfinite(value) else float("nan")
    finally:
        G.train(was)
    write_json_atomic(run_dir / STYLE_EVAL_FILE, {"settings": info, "metrics": out})
    return out
