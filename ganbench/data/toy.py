"""2-D Gaussian mixtures of the PacGAN protocol (docs/protocols.md): ``ring8`` and ``grid25``."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ganbench.config import DataConfig
from ganbench.data.base import Batch, DataSource
from ganbench.errors import ConfigError
from ganbench.registries import DATASETS


def batch_generator(seed: int, index: int) -> torch.Generator:
    """A generator for batch ``index`` of a stream: batch k depends only on (seed, k)."""
    g = torch.Generator()
    # Mix the two integers so nearby (seed, index) pairs give unrelated streams.
    g.manual_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))
    return g


class GaussianMixture(DataSource):
    kind = "points"
    num_classes = None
    default_extractor = None  # points are scored as they are
    default_metrics = ("modes",)  # the PacGAN protocol (docs/protocols.md)

    @classmethod
    def check_config(cls, cfg: DataConfig, where: str = "") -> dict[str, Any]:
        """No params, and none of the image keys: a mixture has no files, size or channels."""
        set_keys = [k for k in ("root", "resolution", "channels") if getattr(cfg, k) is not None]
        if set_keys:
            raise ConfigError(
                f"{where + ': ' if where else ''}data.{set_keys[0]}: dataset {cls.dataset_name!r} is a 2-D "
                "point mixture, without files, resolution or channels; remove the key"
            )
        return super().check_config(cfg, where)

    def __init__(self, name: str, centres: np.ndarray, sigma: float) -> None:
        self.name = name
        self.centres = np.asarray(centres, dtype=np.float64)
        self.sigma = float(sigma)
        self.sample_shape = (self.centres.shape[1],)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` points: a uniformly chosen centre plus isotropic N(0, σ²) noise."""
        centres = torch.as_tensor(self.centres, dtype=torch.float32)
        idx = torch.randint(len(centres), (n,), generator=generator)
        noise = torch.randn(n, centres.shape[1], generator=generator) * self.sigma
        return centres[idx] + noise

    def stream(self, batch_size: int, seed: int, start: int = 0) -> Iterator[Batch]:
        k = start
        while True:
            yield self.sample(batch_size, batch_generator(seed, k)), None
            k += 1

    def describe(self) -> dict:
        return {"name": self.name, "modes": len(self.centres), "sigma": self.sigma, "kind": "points"}


@DATASETS.register("ring8")
class Ring8(GaussianMixture):
    """8 modes on the unit circle, σ = 0.01 per axis."""

    dataset_name = "ring8"

    def __init__(self, cfg: DataConfig | None = None) -> None:
        if cfg is not None:
            self.check_config(cfg)
        angles = 2 * math.pi * np.arange(8) / 8
        super().__init__("ring8", np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


@DATASETS.register("grid25")
class Grid25(GaussianMixture):
    """25 modes on {−4, −2, 0, 2, 4}², σ = 0.05 per axis."""

    dataset_name = "grid25"

    def __init__(self, cfg: DataConfig | None = None) -> None:
        if cfg is not None:
            self.check_config(cfg)
        axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        xx, yy = np.meshgrid(axis, axis, indexing="ij")
        super().__init__("grid25", np.stack([xx.ravel(), yy.ravel()], axis=1), 0.05)
