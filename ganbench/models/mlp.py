"""MLP generator and discriminator for the 2-D toy mixtures."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from ganbench.errors import ConfigError
from ganbench.registries import CONDITIONINGS, MODELS
from ganbench.schema import check_params

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "elu": nn.ELU}


def mlp(n_in: int, n_out: int, width: int, depth: int, activation: str, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers.append(nn.Linear(d, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(_ACTIVATIONS[activation]())
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


Activation = Literal["relu", "leaky_relu", "tanh", "elu"]


class MLPGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        out_dim: int,
        width: int = 128,
        depth: int = 3,
        activation: Activation = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp(z_dim, out_dim, width, depth, activation, batch_norm)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        in_dim: int,
        width: int = 128,
        depth: int = 3,
        activation: Activation = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.net = mlp(in_dim, 1, width, depth, activation, batch_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        return self.net(x).squeeze(1)


@MODELS.register("mlp")
class MLPFamily:
    """Fully connected G and D for point data; ``model.g`` / ``model.d`` take width, depth,
    activation, batch_norm."""

    @staticmethod
    def validate(cfg: Any, where: str) -> None:
        check_params(MLPGenerator, cfg.model.g, f"{where}: model.g", skip=("z_dim", "out_dim"))
        check_params(MLPDiscriminator, cfg.model.d, f"{where}: model.d", skip=("in_dim",))
        if CONDITIONINGS.get(cfg.model.conditioning).needs_labels:
            raise ConfigError(f"{where}: model.conditioning: the mlp family is unconditional; use 'none'")

    @staticmethod
    def build(cfg: Any, data: Any) -> tuple[nn.Module, nn.Module]:
        if data.kind != "points":
            raise ConfigError(f"model.name: 'mlp' needs point data, but {cfg.data.name!r} holds images")
        dim = data.sample_shape[0]
        return MLPGenerator(cfg.model.z_dim, dim, **cfg.model.g), MLPDiscriminator(dim, **cfg.model.d)
