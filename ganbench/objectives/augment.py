"""Discriminator augmentation: DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020).

Both are terms whose :meth:`~ganbench.objectives.objective.Term.d_input` augments every batch D
sees: reals and fakes in the D step, fakes in the G step, and the Lipschitz penalty's input. The
augmentations are differentiable, so G's gradient flows through them.

    objective.techniques.diffaugment: {policy: "color,translation,cutout"}
    objective.techniques.ada: {target: 0.6, speed_kimg: 500, interval: 4}    # adaptive p
    objective.techniques.ada: {p: 0.2, adaptive: false}                      # fixed p

Random numbers come from the global torch RNG (on the batch's device), which the trainer
checkpoints, so a resumed run draws the same augmentations. ADA's p and its r_t accumulators are in
:meth:`Ada.state_dict`.

Lazy R1 (``objective.lipschitz: r1`` with ``lipschitz_params.interval``) differentiates D with
respect to its input, which here is the *augmented* real image (the penalty is given what
``d_input`` returns). NVIDIA's stylegan2-ada differentiates with respect to the image before
augmentation. The term contract gives the penalty D's input only, so ganbench keeps the former
(docs/augmentation.md).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ganbench.devices import distributed_active
from ganbench.errors import ConfigError
from ganbench.objectives.objective import StepContext, Term
from ganbench.registries import DATASETS, TECHNIQUES

# ---------------------------------------------------------------------------------------------------
# DiffAugment (Zhao et al. 2020), written after the reference DiffAugment_pytorch.py's parameters.
# ---------------------------------------------------------------------------------------------------


def _brightness(x: torch.Tensor) -> torch.Tensor:
    """x + b, b ~ U(−0.5, 0.5) per sample."""
    return x + (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)


def _saturation(x: torch.Tensor) -> torch.Tensor:
    """Deviation from the per-pixel channel mean ×s, s ~ U(0, 2) (the identity on 1 channel)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean


def _contrast(x: torch.Tensor) -> torch.Tensor:
    """Deviation from the per-image mean ×c, c ~ U(0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Integer shift by up to ``ratio`` of the size along each axis, zero padding (per sample)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    # one zero row/column around the image: every index that leaves it lands on a zero
    padded = F.pad(x, (1, 1, 1, 1))
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + ty + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + tx + 1).clamp(0, w + 1)
    b = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` × the size at a uniform centre (clipped at the border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    r = torch.arange(h, device=x.device).view(1, h, 1)
    c = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (r >= cy) & (r < cy + ch) & (c >= cx) & (c < cx + cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


DIFFAUGMENT_OPS = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


def parse_policy(policy: Any, where: str = "") -> tuple[str, ...]:
    """``"color,translation,cutout"`` (any subset, comma-separated; ``""`` = none) → the names."""
    if not isinstance(policy, str):
        raise ConfigError(
            f"{where}objective.techniques.diffaugment.policy must be a comma-separated string of "
            f"{', '.join(DIFFAUGMENT_OPS)}, got {policy!r}"
        )
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    for name in names:
        if name not in DIFFAUGMENT_OPS:
            raise ConfigError(
                f"{where}objective.techniques.diffaugment.policy: unknown op {name!r}; valid choices: "
                f"{', '.join(DIFFAUGMENT_OPS)}"
            )
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """Every op of ``policy`` on every sample, in the reference's order (colour, translation, cutout)."""
    for name in DIFFAUGMENT_OPS:
        if name in policy:
            for op in DIFFAUGMENT_OPS[name]:
                x = op(x)
    return x


# ---------------------------------------------------------------------------------------------------
# Validation shared by both techniques.
# ---------------------------------------------------------------------------------------------------


def _check_images(cfg: Any, where: str, technique: str) -> None:
    """Augmentation is defined on images D judges one at a time: image data, no packs."""
    w = f"{where}: " if where else ""
    data = DATASETS.get(cfg.data.name, f"{w}data.name")
    kind = getattr(data, "kind", None)
    if kind != "images":
        able = [n for n in DATASETS.names() if getattr(DATASETS.get(n), "kind", None) == "images"]
        raise ConfigError(
            f"{w}objective.techniques.{technique}: augments images, but data.name {cfg.data.name!r} "
            f"gives {kind} data; datasets of images: {', '.join(able)}"
        )
    for other, params in cfg.objective.techniques.items():
        if TECHNIQUES.get(other).d_input_multiplier(params or {}) > 1:
            # packs hold m images along the channel axis: colour and geometry would act on the pack
            raise ConfigError(
                f"{w}objective.techniques.{technique} cannot be combined with objective.techniques."
                f"{other}: D's input is then a pack of images along the channel axis, which the "
                f"augmentation would treat as one image; use one or the other"
            )


@TECHNIQUES.register("diffaugment")
class DiffAugment(Term):
    """DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

    The same random differentiable transforms on every image D sees, real or fake, in D and G steps
    (applied always, p = 1): ``color`` (brightness b ~ U(−0.5, 0.5) added, saturation ×U(0, 2),
    contrast ×U(0.5, 1.5)), ``translation`` (integer shift up to 1/8 of the size, zero padding),
    ``cutout`` (a zeroed square of half the size). Images are in [−1, 1]. An empty policy is the
    identity."""

    name = "diffaugment"

    def __init__(self, policy: str = "color,translation,cutout") -> None:
        self.policy = parse_policy(policy)

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        params = cfg.objective.techniques.get(cls.name) or {}
        parse_policy(params.get("policy", "color,translation,cutout"), f"{where}: ")
        _check_images(cfg, where, cls.name)

    def d_input(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        return diff_augment(x, self.policy), y


# ---------------------------------------------------------------------------------------------------
# ADA (Karras et al. 2020): the 'bgc' pipeline with per-sample, per-transform probability p.
# ---------------------------------------------------------------------------------------------------

# The parameter distributions of NVIDIA's AugmentPipe defaults (training/augment.py).
XINT_MAX = 0.125  # integer translation: up to 1/8 of the size
SCALE_STD = 0.2  # isotropic scale 2^N(0, 0.2²)
ROTATE_MAX = 1.0  # arbitrary rotation U(−π, π)
ANISO_STD = 0.2  # anisotropic scale 2^N(0, 0.2²) on x, its inverse on y
XFRAC_STD = 0.125  # fractional translation N(0, (1/8)²) of the size
BRIGHTNESS_STD = 0.2  # brightness offset N(0, 0.2²)
CONTRAST_STD = 0.5  # contrast 2^N(0, 0.5²)
HUE_MAX = 1.0  # hue rotation U(−π, π) about the luma axis
SATURATION_STD = 1.0  # saturation 2^N(0, 1)

ADA_SETS = {
    "b": ("xflip", "rotate90", "xint"),
    "g": ("scale", "rotate", "aniso", "xfrac"),
    "c": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
}


def _eye(n: int, k: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(k, dtype=like.dtype, device=like.device).expand(n, k, k).clone()


def _mat2d(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor
):
    """Per-sample 3×3 matrices [[a, b, tx], [c, d, ty], [0, 0, 1]]."""
    z, o = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([a, b, tx, c, d, ty, z, z, o], dim=1).view(-1, 3, 3)


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    z = torch.zeros_like(sx)
    return _mat2d(sx, z, z, sy, z, z)


def _rotate(theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    z = torch.zeros_like(theta)
    return _mat2d(c, -s, s, c, z, z)


def _translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    o, z = torch.ones_like(tx), torch.zeros_like(tx)
    return _mat2d(o, z, z, o, tx, ty)


class AdaPipeline:
    """The augmentations of ADA, each applied per sample with probability ``p`` (a float in [0, 1)).

    Geometric transforms (blit and general) compose one inverse matrix per sample in centred pixel
    coordinates (output pixel → input pixel, as NVIDIA builds it) and are applied in one bilinear
    ``grid_sample`` with reflection padding. NVIDIA instead pads, upsamples ×2 with a wavelet filter,
    warps, and downsamples, which suppresses the aliasing of a plain bilinear warp; ours is cheaper
    and slightly blurrier under fractional shifts and rotations. Flips, 90° rotations and integer
    shifts land exactly on pixel centres, so the blit set alone is exact.

    Colour transforms compose one 4×4 matrix per sample acting on (R, G, B, 1), as NVIDIA's; a
    one-channel image uses the mean of the matrix's colour rows (NVIDIA's rule for grayscale), under
    which hue and saturation are the identity (NVIDIA skips them there; we draw them all the same)."""

    def __init__(self, sets: str = "bgc") -> None:
        self.ops = tuple(op for s in sets for op in ADA_SETS[s])

    def _on(self, n: int, p: float, like: torch.Tensor) -> torch.Tensor:
        """1 where a transform is applied to a sample (probability p), else 0."""
        return (torch.rand(n, dtype=like.dtype, device=like.device) < p).to(like.dtype)

    def geometric(self, n: int, h: int, w: int, p: float, like: torch.Tensor) -> torch.Tensor | None:
        """The per-sample inverse matrices (N, 3, 3) in centred pixels; None if no geometric op is on."""
        ops = self.ops
        if not any(o in ops for o in ADA_SETS["b"] + ADA_SETS["g"]):
            return None
        g = _eye(n, 3, like)
        one = torch.ones(n, dtype=like.dtype, device=like.device)
        rand = lambda *s: torch.rand(*s, dtype=like.dtype, device=like.device)  # noqa: E731
        randn = lambda *s: torch.randn(*s, dtype=like.dtype, device=like.device)  # noqa: E731
        if "xflip" in ops:
            i = torch.floor(rand(n) * 2) * self._on(n, p, like)
            g = g @ _scale(1 - 2 * i, one)
        if "rotate90" in ops:
            i = torch.floor(rand(n) * 4) * self._on(n, p, like)
            g = g @ _rotate(-math.pi / 2 * i)
        if "xint" in ops:
            t = (rand(n, 2) * 2 - 1) * XINT_MAX * self._on(n, p, like).unsqueeze(1)
            g = g @ _translate(torch.round(t[:, 0] * w), torch.round(t[:, 1] * h))
        if "scale" in ops:
            s = torch.exp2(randn(n) * SCALE_STD * self._on(n, p, like))
            g = g @ _scale(1 / s, 1 / s)
        # the rotation before and after the anisotropic scale: each with 1 − √(1 − p), so that one
        # of the two happens with probability p
        p_rot = 1 - math.sqrt(max(0.0, 1 - p))
        if "rotate" in ops:
            theta = (rand(n) * 2 - 1) * math.pi * ROTATE_MAX * self._on(n, p_rot, like)
            g = g @ _rotate(-theta)
        if "aniso" in ops:
            s = torch.exp2(randn(n) * ANISO_STD * self._on(n, p, like))
            g = g @ _scale(1 / s, s)
        if "rotate" in ops:
            theta = (rand(n) * 2 - 1) * math.pi * ROTATE_MAX * self._on(n, p_rot, like)
            g = g @ _rotate(-theta)
        if "xfrac" in ops:
            t = randn(n, 2) * XFRAC_STD * self._on(n, p, like).unsqueeze(1)
            g = g @ _translate(-t[:, 0] * w, -t[:, 1] * h)
        return g

    def colour(self, n: int, p: float, like: torch.Tensor) -> torch.Tensor | None:
        """The per-sample 4×4 colour matrices; None if no colour op is on."""
        ops = self.ops
        if not any(o in ops for o in ADA_SETS["c"]):
            return None
        c = _eye(n, 4, like)
        v = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=like.dtype, device=like.device) / math.sqrt(3)
        vv = torch.outer(v, v)
        eye4 = torch.eye(4, dtype=like.dtype, device=like.device)
        randn = lambda *s: torch.randn(*s, dtype=like.dtype, device=like.device)  # noqa: E731
        rand = lambda *s: torch.rand(*s, dtype=like.dtype, device=like.device)  # noqa: E731
        if "brightness" in ops:
            b = randn(n) * BRIGHTNESS_STD * self._on(n, p, like)
            t = _eye(n, 4, like)
            t[:, :3, 3] = b.unsqueeze(1)
            c = t @ c
        if "contrast" in ops:
            s = torch.exp2(randn(n) * CONTRAST_STD * self._on(n, p, like))
            t = _eye(n, 4, like)
            t[:, 0, 0] = t[:, 1, 1] = t[:, 2, 2] = s
            c = t @ c
        if "lumaflip" in ops:
            i = torch.floor(rand(n) * 2) * self._on(n, p, like)
            c = (eye4 - 2 * vv * i.view(n, 1, 1)) @ c
        if "hue" in ops:
            theta = (rand(n) * 2 - 1) * math.pi * HUE_MAX * self._on(n, p, like)
            c = _rotate_about(v[:3], theta) @ c
        if "saturation" in ops:
            s = torch.exp2(randn(n) * SATURATION_STD * self._on(n, p, like))
            c = (vv + (eye4 - vv) * s.view(n, 1, 1)) @ c
        return c

    def __call__(self, x: torch.Tensor, p: float) -> torch.Tensor:
        if p <= 0:
            return x  # the identity at p = 0 (and no random numbers drawn)
        n, ch, h, w = x.shape
        g = self.geometric(n, h, w, p, x)
        if g is not None:
            # centred pixels → affine_grid's normalised coordinates (align_corners=False: ±1 at the
            # outer pixel edges, so one pixel is 2/w)
            to_norm = torch.diag(torch.tensor([2.0 / w, 2.0 / h, 1.0], dtype=x.dtype, device=x.device))
            to_pix = torch.diag(torch.tensor([w / 2.0, h / 2.0, 1.0], dtype=x.dtype, device=x.device))
            theta = (to_norm @ g @ to_pix)[:, :2, :]
            grid = F.affine_grid(theta, [n, ch, h, w], align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        c = self.colour(n, p, x)
        if c is not None:
            if ch == 3:
                x = torch.einsum("nij,njhw->nihw", c[:, :3, :3], x) + c[:, :3, 3].view(n, 3, 1, 1)
            elif ch == 1:
                rows = c[:, :3, :].mean(dim=1)  # (n, 4)
                x = x * rows[:, :3].sum(dim=1).view(n, 1, 1, 1) + rows[:, 3].view(n, 1, 1, 1)
            else:
                raise ValueError(f"ada: colour transforms need 1 or 3 channels, got {ch}")
        return x


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Per-sample 4×4 rotations by ``theta`` about the unit 3-vector ``axis`` (Rodrigues)."""
    n = theta.shape[0]
    ax, ay, az = axis
    k = torch.tensor([[0, -az, ay], [az, 0, -ax], [-ay, ax, 0]], dtype=theta.dtype, device=theta.device)
    eye3 = torch.eye(3, dtype=theta.dtype, device=theta.device)
    s, c = torch.sin(theta).view(n, 1, 1), torch.cos(theta).view(n, 1, 1)
    r = eye3 + s * k + (1 - c) * (k @ k)
    out = torch.eye(4, dtype=theta.dtype, device=theta.device).expand(n, 4, 4).clone()
    out[:, :3, :3] = r
    return out


def _check_unit(value: Any, key: str, where: str, *, closed_low: bool) -> float:
    low = "[0" if closed_low else "(0"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not ((value >= 0) if closed_low else (value > 0)) or not value < 1:
        raise ConfigError(f"{where}objective.techniques.ada.{key} must be in {low}, 1), got {value!r}")
    return float(value)


@TECHNIQUES.register("ada")
class Ada(Term):
    """ADA (Karras et al. 2020, "Training generative adversarial networks with limited data").

    Every image D sees (reals and fakes, D and G steps) goes through :class:`AdaPipeline` ``sets``
    (``b`` blit, ``g`` geometric, ``c`` colour; default ``bgc``), each transform applied to each
    sample with probability ``p``.

    **Non-leaking (§2.2).** An augmentation T leaks when G can match the augmented distribution
    T(p_data) with a different p_g. If each transform is skipped with probability 1 − p > 0, the
    augmented distribution is the mixture (1 − p)·μ + p·T(μ): for these transforms the map from μ to
    the mixture is invertible, so T(p_g) = T(p_data) still implies p_g = p_data (e.g. for 90°
    rotations the unrotated orientation stays the most likely one whenever p < 1, so D can tell the
    right way up). At p = 1 that fails (a uniformly random rotation erases orientation), hence p < 1
    is enforced; in practice the paper finds leaks unlikely below p ≈ 0.8.

    **Adaptive p.** Every ``interval`` D steps, r_t = E[sign(D(x_real))] over those steps' (augmented)
    real logits; p += sign(r_t − target) · N/(speed_kimg · 1000), N the real images seen over the
    interval (batch · interval), clamped to [0, 1): p can go from 0 to 1 in ``speed_kimg`` thousand
    images. Under multi-process training the sums are all-reduced first, so every rank has the same
    p. ``adaptive: false`` keeps ``p`` fixed."""

    name = "ada"

    P_MAX = 1.0 - 1e-6  # the clamp's upper end: p stays < 1 (non-leaking)

    def __init__(
        self,
        p: float = 0.0,
        adaptive: bool = True,
        target: float = 0.6,
        speed_kimg: float = 500.0,
        interval: int = 4,
        sets: str = "bgc",
    ) -> None:
        Ada._check(p, adaptive, target, speed_kimg, interval, sets, "")
        self.p = float(p)
        self.adaptive = adaptive
        self.target = float(target)
        self.speed_kimg = float(speed_kimg)
        self.interval = interval
        self.pipeline = AdaPipeline(sets)
        self._sign_sum = torch.zeros((), dtype=torch.float64)  # Σ sign(D(x_real)) this interval
        self._count = torch.zeros((), dtype=torch.float64)  # logits summed
        self._images = torch.zeros((), dtype=torch.float64)  # real images seen
        self._steps = 0  # D steps this interval

    @staticmethod
    def _check(
        p: Any, adaptive: Any, target: Any, speed_kimg: Any, interval: Any, sets: Any, where: str
    ) -> None:
        _check_unit(p, "p", where, closed_low=True)
        _check_unit(target, "target", where, closed_low=False)
        if not isinstance(adaptive, bool):
            raise ConfigError(
                f"{where}objective.techniques.ada.adaptive must be true or false, got {adaptive!r}"
            )
        if isinstance(speed_kimg, bool) or not isinstance(speed_kimg, (int, float)) or speed_kimg <= 0:
            raise ConfigError(f"{where}objective.techniques.ada.speed_kimg must be > 0, got {speed_kimg!r}")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ConfigError(
                f"{where}objective.techniques.ada.interval must be an integer >= 1, got {interval!r}"
            )
        if (
            not isinstance(sets, str)
            or not sets
            or any(s not in ADA_SETS for s in sets)
            or len(set(sets)) < len(sets)
        ):
            raise ConfigError(
                f"{where}objective.techniques.ada.sets must be letters from {', '.join(ADA_SETS)} "
                f"(b blit, g geometric, c colour; each once, e.g. 'bgc'), got {sets!r}"
            )

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        params = dict(cfg.objective.techniques.get(cls.name) or {})
        d = {"p": 0.0, "adaptive": True, "target": 0.6, "speed_kimg": 500.0, "interval": 4, "sets": "bgc"}
        d.update(params)
        cls._check(
            d["p"], d["adaptive"], d["target"], d["speed_kimg"], d["interval"], d["sets"], f"{where}: "
        )
        _check_images(cfg, where, cls.name)

    def d_input(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.pipeline(x, self.p), y

    def d_term(self, ctx: StepContext) -> None:
        if self.adaptive and ctx.out_real is not None:
            logits = ctx.out_real.logits.detach()
            self.observe(torch.sign(logits).sum(), logits.numel(), ctx.real.shape[0])
        return None

    def observe(self, sign_sum: torch.Tensor, count: int, images: int) -> None:
        """One D step's Σ sign(real logits), their number and the real images; updates p every
        ``interval`` steps."""
        self._sign_sum = self._sign_sum.to(sign_sum.device) + sign_sum.to(torch.float64)
        self._count = self._count.to(sign_sum.device) + count
        self._images = self._images.to(sign_sum.device) + images
        self._steps += 1
        if self._steps >= self.interval:
            self._update()

    def _update(self) -> None:
        stats = torch.stack([self._sign_sum, self._count, self._images])
        if distributed_active():
            torch.distributed.all_reduce(stats)  # every rank then takes the same step
        sign_sum, count, images = stats.tolist()
        r_t = sign_sum / max(count, 1.0)
        step = math.copysign(1.0, r_t - self.target) if r_t != self.target else 0.0
        self.p = min(max(self.p + step * images / (self.speed_kimg * 1000), 0.0), self.P_MAX)
        self.r_t = r_t
        self._sign_sum = torch.zeros_like(self._sign_sum)
        self._count = torch.zeros_like(self._count)
        self._images = torch.zeros_like(self._images)
        self._steps = 0

    def logs(self) -> dict[str, torch.Tensor | float]:
        return {"ada_p": self.p}

    def state_dict(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "sign_sum": float(self._sign_sum),
            "count": float(self._count),
            "images": float(self._images),
            "steps": self._steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        self._sign_sum = torch.tensor(float(state["sign_sum"]), dtype=torch.float64)
        self._count = torch.tensor(float(state["count"]), dtype=torch.float64)
        self._images = torch.tensor(float(state["images"]), dtype=torch.float64)
        self._steps = int(state["steps"])
