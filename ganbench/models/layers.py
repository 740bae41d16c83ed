"""Layers shared by the convolutional GAN families (DCGAN, SNGAN ResNet, SAGAN, BigGAN).

Conditional batch norm, self-attention, minibatch standard deviation / discrimination, the
conditional discriminator head (plain, projection, auxiliary classifier), spectral-norm helpers,
BigGAN's orthogonal regulariser and weight initialisers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ganbench.devices import distributed_active

# ---------------------------------------------------------------------------------------------
# spectral normalisation (torch's parametrization; never a hand-written power iteration)

SN_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Embedding)


def has_spectral_norm(module: nn.Module) -> bool:
    """True when ``module.weight`` already carries torch's spectral-norm parametrization.

    The ``sn`` Lipschitz method uses this to leave alone layers a family normalised itself."""
    if not parametrize.is_parametrized(module, "weight"):
        return False
    return any(type(p).__name__ == "_SpectralNorm" for p in module.parametrizations["weight"])


def apply_spectral_norm(
    net: nn.Module, skip: Iterable[nn.Module] = (), n_power_iterations: int = 1, eps: float = 1e-12
) -> nn.Module:
    """Spectral-normalise every conv / linear / embedding weight of ``net`` (in place).

    Modules in ``skip`` and everything below them are left unnormalised (e.g. BigGAN's shared class
    embedding), as are layers already normalised. Call after weight initialisation: the
    parametrization starts its power iteration from the weight it finds.
    """
    skipped = {id(m) for s in skip for m in s.modules()}
    targets = [
        m
        for m in net.modules()
        if isinstance(m, SN_LAYERS) and id(m) not in skipped and not has_spectral_norm(m)
    ]
    for m in targets:
        spectral_norm(m, n_power_iterations=n_power_iterations, eps=eps)
    return net


def spectral_norm_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if has_spectral_norm(m)]


# ---------------------------------------------------------------------------------------------
# initialisation

InitScheme = Literal["dcgan", "ortho", "xavier", "default"]


class OwnInit(nn.Module):
    """Marker: a module that initialises its own parameters (family-wide init skips it)."""


def init_weights(net: nn.Module, scheme: InitScheme) -> nn.Module:
    """Initialise conv / linear / embedding weights (biases to 0) of ``net`` in place.

    ``dcgan``: N(0, 0.02), batch-norm gains N(1, 0.02) (Radford et al. 2016);
    ``ortho``: orthogonal (BigGAN); ``xavier``: Glorot uniform (SNGAN's Chainer code);
    ``default``: torch's own initialisation. Modules below an :class:`OwnInit` are skipped.
    Run before :func:`apply_spectral_norm`.
    """
    if scheme == "default":
        return net
    owned = {id(m) for o in net.modules() if isinstance(o, OwnInit) for m in o.modules()}
    for m in net.modules():
        if id(m) in owned:
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            if scheme == "dcgan":
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif scheme == "ortho":
                nn.init.orthogonal_(m.weight)
            elif scheme == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                raise ValueError(f"init scheme {scheme!r}; valid choices: dcgan, ortho, xavier, default")
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine and scheme == "dcgan":
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


# ---------------------------------------------------------------------------------------------
# generator normalisation: every norm takes (x, cond) so blocks do not care which one they hold


class BatchNorm2d(nn.BatchNorm2d):
    """Plain batch norm that ignores the conditioning argument."""

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)


class ClassConditionalBatchNorm2d(OwnInit):
    """Batch norm whose gain and bias are looked up per class (de Vries et al. 2017; the
    generator side of the projection cGAN, Miyato & Koyama 2018). Gains start at 1, biases at 0."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError("class-conditional batch norm needs labels y")
        g = self.gain(y)[:, :, None, None]
        b = self.bias(y)[:, :, None, None]
        return self.bn(x) * g + b


class LinearConditionalBatchNorm2d(nn.Module):
    """BigGAN's conditional batch norm: gain = 1 + W_g c, bias = W_b c, where the conditioning
    vector c is [shared class embedding, z chunk] (Brock et al. 2019, skip-z). The projections have
    no bias, as in the reference code; the family's initialiser and spectral norm reach them."""

    def __init__(self, num_features: int, cond_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Linear(cond_dim, num_features, bias=False)
        self.bias = nn.Linear(cond_dim, num_features, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        if cond is None:
            raise ValueError("linear-conditional batch norm needs a conditioning vector")
        g = 1.0 + self.gain(cond)[:, :, None, None]
        b = self.bias(cond)[:, :, None, None]
        return self.bn(x) * g + b


# ---------------------------------------------------------------------------------------------
# self-attention (SAGAN)


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019): x + γ·o, γ learnable and initialised to 0.

    Queries/keys have C/8 channels and values C/2, keys and values max-pooled 2×2 (the memory-saving
    form of the authors' TF code and BigGAN's), so H and W must be even.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs at least 8 channels, got {channels}")
        self.theta = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.phi = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.g = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.o = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        theta = self.theta(x).flatten(2)  # N × C/8 × HW
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # N × C/8 × HW/4
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # N × C/2 × HW/4
        attn = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # N × HW × HW/4
        o = torch.bmm(g, attn.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.o(o)


# ---------------------------------------------------------------------------------------------
# minibatch features for D (against mode collapse)


class MinibatchStdDev(nn.Module):
    """Append one feature map holding the average standard deviation of each feature over a group
    of samples (Karras et al. 2018, ProGAN; StyleGAN's ``MinibatchStdLayer``).

    The batch is split into groups of ``group_size`` (or the largest divisor of the batch size
    below it, so any batch works); output has C + 1 channels.
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        while n % g:
            g -= 1
        y = x.reshape(g, n // g, c, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # variance over the group: (N/G) × C × H × W
        y = (y + 1e-8).sqrt().mean(dim=(1, 2, 3))  # one number per group
        y = y.repeat(g).view(n, 1, 1, 1).expand(n, 1, h, w)  # sample i belongs to group i % (N/G)
        return torch.cat([x, y], dim=1)


class MinibatchDiscrimination(OwnInit):
    """Minibatch discrimination (Salimans et al. 2016, §3.2): features f ∈ R^A are projected by a
    tensor T ∈ R^{A×B×C} to M ∈ R^{B×C}; o(x_i)_b = Σ_{j≠i} exp(−‖M_{i,b} − M_{j,b}‖₁), and
    [f, o] is returned (A + B features). The sum excludes j = i, as the authors' code does.
    """

    def __init__(self, in_features: int, num_kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.T = nn.Linear(in_features, num_kernels * kernel_dim, bias=False)
        nn.init.normal_(self.T.weight, 0.0, 0.05)  # the authors' initial scale: small L1 distances

    @property
    def out_features(self) -> int:
        return self.T.in_features + self.num_kernels

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = self.T(f).view(-1, self.num_kernels, self.kernel_dim)  # N × B × C
        dist = (m[:, None] - m[None]).abs().sum(-1)  # N × N × B
        eye = torch.eye(len(f), device=f.device, dtype=f.dtype)[:, :, None]
        o = (torch.exp(-dist) * (1 - eye)).sum(1)  # N × B
        return torch.cat([f, o], dim=1)


# ---------------------------------------------------------------------------------------------
# discriminator head: unconditional, projection, auxiliary classifier

Conditioning = Literal["none", "concat", "acgan", "projection"]


class DiscriminatorHead(nn.Module):
    """Maps D's pooled features h (N × F) to the adversarial logit and, by conditioning:

    * ``projection`` (Miyato & Koyama 2018): logit = ψ(h) + ⟨embed(y), h⟩;
    * ``acgan`` (Odena et al. 2017): an extra linear classifier over the classes;
    * ``none`` / ``concat``: logit = ψ(h) (concat conditioning enters D at its input).

    Optional minibatch discrimination acts on h before the heads.
    """

    def __init__(
        self,
        in_features: int,
        conditioning: str = "none",
        num_classes: int | None = None,
        minibatch_disc: bool = False,
        minibatch_disc_kernels: int = 100,
        minibatch_disc_dim: int = 5,
    ) -> None:
        super().__init__()
        if conditioning in ("projection", "acgan") and not num_classes:
            raise ValueError(f"conditioning {conditioning!r} needs num_classes")
        self.conditioning = conditioning
        self.mbd = (
            MinibatchDiscrimination(in_features, minibatch_disc_kernels, minibatch_disc_dim)
            if minibatch_disc
            else None
        )
        f = self.mbd.out_features if self.mbd is not None else in_features
        self.linear = nn.Linear(f, 1)
        self.embed = nn.Embedding(num_classes, f) if conditioning == "projection" else None
        self.classifier = nn.Linear(f, num_classes) if conditioning == "acgan" else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.mbd is not None:
            h = self.mbd(h)
        logits = self.linear(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("a projection discriminator needs labels y")
            logits = logits + (self.embed(y) * h).sum(1)
        class_logits = self.classifier(h) if self.classifier is not None else None
        return logits, class_logits


def one_hot_maps(
    y: torch.Tensor, num_classes: int, size: tuple[int, int], dtype: torch.dtype
) -> torch.Tensor:
    """Labels as constant one-hot feature maps (N × K × H × W), for concat conditioning of D."""
    return F.one_hot(y, num_classes).to(dtype)[:, :, None, None].expand(-1, -1, *size)


def require_labels(y: torch.Tensor | None, who: str) -> torch.Tensor:
    if y is None:
        raise ValueError(f"{who} is class-conditional: pass labels y (a LongTensor of shape (N,))")
    return y


# ---------------------------------------------------------------------------------------------
# orthogonal regularisation (BigGAN)


def ortho_penalty(weight: torch.Tensor) -> torch.Tensor:
    """BigGAN's off-diagonal orthogonal regulariser ‖(W Wᵀ) ⊙ (1 − I)‖²_F, W the weight as
    (out, rest) so its rows are the filters (Brock et al. 2019, eq. 3).

    For tall W (rows > columns, e.g. a linear layer from a z chunk to 4×4×16ch) the rows×rows Gram
    would be huge; ‖W Wᵀ‖²_F = ‖Wᵀ W‖²_F, so we use the small Gram and subtract the diagonal
    Σᵢ ‖wᵢ‖⁴ instead — exact, and memory-bounded by the smaller side.
    """
    w = weight.reshape(weight.shape[0], -1)
    if w.shape[0] <= w.shape[1]:
        gram = w @ w.t()
        return (gram * (1 - torch.eye(len(gram), device=w.device, dtype=w.dtype))).square().sum()
    small = w.t() @ w
    return small.square().sum() - w.square().sum(1).square().sum()


def batch_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean of the rows of ``x`` over the batch; under torchrun over the global batch (every
    rank's slice, an all-reduce of sums and counts), so a tracked mean (StyleGAN's and StyleGAN2's
    ``w_avg``) is the single process's and the same on every rank. A single process computes
    exactly ``x.mean(dim=0)``."""
    if not distributed_active():
        return x.mean(dim=0)
    stats = torch.cat([x.sum(dim=0), x.new_full((1,), len(x))])
    dist.all_reduce(stats)
    return stats[:-1] / stats[-1]
