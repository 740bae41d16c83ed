"""MLP generator and discriminator for the 2-D toy mixtures.

Options beyond width / depth / activation / batch norm exist for the PacGAN protocol
(recipes/toy/pacgan-*.yaml): a maxout discriminator (Goodfellow et al. 2013; PacGAN's D is three
maxout layers of 200 units with 5 pieces), weights drawn from N(0, init_std²) with zero biases, and
the batch-norm running-statistics momentum.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from ganbench.errors import ConfigError
from ganbench.models.family import d_input_multiplier
from ganbench.registries import CONDITIONINGS, MODELS
from ganbench.schema import check_params

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "elu": nn.ELU}


class Maxout(nn.Module):
    """A linear map to ``n_out · pieces`` units, then the max over each unit's ``pieces``
    (Goodfellow et al. 2013; Blocks' LinearMaxout, which PacGAN's code uses: unit j is the max of
    outputs j·pieces … j·pieces + pieces − 1)."""

    def __init__(self, n_in: int, n_out: int, pieces: int) -> None:
        super().__init__()
        self.n_out, self.pieces = n_out, pieces
        self.linear = nn.Linear(n_in, n_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(-1, (self.n_out, self.pieces)).amax(-1)


def mlp(
    n_in: int,
    n_out: int,
    width: int,
    depth: int,
    activation: str,
    batch_norm: bool,
    maxout_pieces: int = 0,
    batch_norm_momentum: float = 0.1,
) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, then a linear output. ``activation`` 'maxout'
    makes each hidden layer a :class:`Maxout` of ``maxout_pieces`` pieces (no other activation)."""
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers.append(Maxout(d, width, maxout_pieces) if activation == "maxout" else nn.Linear(d, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width, momentum=batch_norm_momentum))
        if activation != "maxout":
            layers.append(_ACTIVATIONS[activation]())
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


def init_normal(net: nn.Module, std: float | None) -> None:
    """Every linear weight from N(0, std²) and every bias 0 (PacGAN: IsotropicGaussian(0.02),
    Constant(0)); batch norm keeps scale 1, shift 0. ``None`` keeps torch's default initialisation."""
    if std is None:
        return
    for module in net.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, std)
            nn.init.zeros_(module.bias)


def _check(width: int, depth: int, init_std: float | None, momentum: float, who: str) -> None:
    if width < 1 or depth < 0:
        raise ConfigError(f"model.{who}: width must be >= 1 and depth >= 0, got width={width}, depth={depth}")
    if init_std is not None and not init_std > 0:
        raise ConfigError(f"model.{who}.init_std must be > 0 or null (torch's default), got {init_std}")
    if not 0 < momentum <= 1:
        raise ConfigError(f"model.{who}.batch_norm_momentum must be in (0, 1], got {momentum}")


Activation = Literal["relu", "leaky_relu", "tanh", "elu"]
DActivation = Literal["relu", "leaky_relu", "tanh", "elu", "maxout"]


class MLPGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        out_dim: int,
        width: int = 128,
        depth: int = 3,
        activation: Activation = "relu",
        batch_norm: bool = False,
        batch_norm_momentum: float = 0.1,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        _check(width, depth, init_std, batch_norm_momentum, "g")
        self.z_dim = z_dim
        self.net = mlp(z_dim, out_dim, width, depth, activation, batch_norm, 0, batch_norm_momentum)
        init_normal(self.net, init_std)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """``in_dim`` is the data's dimension times the samples D judges at once (packing)."""

    def __init__(
        self,
        in_dim: int,
        width: int = 128,
        depth: int = 3,
        activation: DActivation = "relu",
        batch_norm: bool = False,
        maxout_pieces: int = 5,
        batch_norm_momentum: float = 0.1,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        _check(width, depth, init_std, batch_norm_momentum, "d")
        if activation == "maxout" and maxout_pieces < 2:
            raise ConfigError(f"model.d.maxout_pieces must be >= 2 for a maxout D, got {maxout_pieces}")
        self.net = mlp(in_dim, 1, width, depth, activation, batch_norm, maxout_pieces, batch_norm_momentum)
        init_normal(self.net, init_std)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        return self.net(x).squeeze(1)


@MODELS.register("mlp")
class MLPFamily:
    """Fully connected G and D for point data; ``model.g`` / ``model.d`` take width, depth,
    activation (D also 'maxout', with maxout_pieces), batch_norm, batch_norm_momentum, init_std."""

    packs_d_input = True  # build() widens D's input by d_input_multiplier (packing)

    @staticmethod
    def validate(cfg: Any, where: str) -> None:
        for key, net, skip in (
            ("g", MLPGenerator, ("z_dim", "out_dim")),
            ("d", MLPDiscriminator, ("in_dim",)),
        ):
            params = check_params(net, getattr(cfg.model, key), f"{where}: model.{key}", skip=skip)
            try:  # the range checks, before any data is read (a 1-wide network is cheap to build)
                net(*([1, 1] if key == "g" else [1]), **params)
            except ConfigError as e:
                raise ConfigError(f"{where}: {e}") from None
        if CONDITIONINGS.get(cfg.model.conditioning).needs_labels:
            raise ConfigError(f"{where}: model.conditioning: the mlp family is unconditional; use 'none'")

    @staticmethod
    def build(cfg: Any, data: Any) -> tuple[nn.Module, nn.Module]:
        if data.kind != "points":
            raise ConfigError(f"model.name: 'mlp' needs point data, but {cfg.data.name!r} holds images")
        dim = data.sample_shape[0]
        G = MLPGenerator(cfg.model.z_dim, dim, **cfg.model.g)
        return G, MLPDiscriminator(dim * d_input_multiplier(cfg), **cfg.model.d)
