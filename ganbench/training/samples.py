"""A run's own sample figure, written beside its record by the trainer: points as ``samples.npy``
plus a scatter with the mode centres, images as a ``samples.png`` grid. The leaderboard's figures
(``ganbench.reporting.figures``) read these files back (the file names and the scatter style live
here, with the code that writes them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # headless: workers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:  # torch only for the annotation: the leaderboard reads these files without it
    import torch

SAMPLES_NPY = "samples.npy"
SAMPLES_PNG = "samples.png"
SAMPLES_PER_CLASS = 10  # a conditional run's grid: one row of this many samples per class


def scatter_axes(ax: Any, points: np.ndarray, centres: np.ndarray | None, title: str = "") -> None:
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.35, color="tab:blue", linewidths=0)
    if centres is not None:
        ax.scatter(centres[:, 0], centres[:, 1], s=18, marker="x", color="tab:red", linewidths=1)
        pad = 0.25 * (np.ptp(centres[:, 0]) + 1)
        ax.set_xlim(centres[:, 0].min() - pad, centres[:, 0].max() + pad)
        ax.set_ylim(centres[:, 1].min() - pad, centres[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def save_samples(
    samples: torch.Tensor,
    data: Any,
    run_dir: str | Path,
    title: str = "",
    nrow: int = 8,
    limit: int | None = 64,
) -> None:
    """Keep the evaluated samples beside the record: points as .npy + scatter, images as a grid
    of the first ``limit`` (None: all, e.g. one row per class), ``nrow`` per row."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if data.kind == "points":
        pts = samples.numpy()
        np.save(run_dir / SAMPLES_NPY, pts)
        fig, ax = plt.subplots(figsize=(3, 3), dpi=120)
        scatter_axes(ax, pts, getattr(data, "centres", None), title)
        fig.tight_layout()
        fig.savefig(run_dir / SAMPLES_PNG)
        plt.close(fig)
    else:
        from torchvision.utils import save_image

        grid = samples[:limit].float()
        save_image(grid * 0.5 + 0.5, run_dir / SAMPLES_PNG, nrow=nrow)
