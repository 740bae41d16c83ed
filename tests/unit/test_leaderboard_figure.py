"""The leaderboard's sample figure: a loss × Lipschitz matrix per dataset with two row keys, one row
per configuration otherwise; the first seed of each configuration; missing runs left blank."""

import numpy as np
import pandas as pd
import PIL.Image

from ganbench.reporting.leaderboard import sample_figure
from ganbench.reporting.plots import SAMPLES_NPY

PX = 190  # 1.9 inches per panel at 100 dpi


def frame(tmp_path, losses, methods, datasets, seeds=(1, 0)):
    rows = []
    for ds in datasets:
        for loss in losses:
            for m in methods:
                for seed in seeds:
                    d = tmp_path / f"{ds}-{loss}-{m}-{seed}"
                    d.mkdir()
                    np.save(d / SAMPLES_NPY, np.random.default_rng(seed).standard_normal((50, 2)))
                    rows.append(
                        {
                            "cfg:data.name": ds,
                            "cfg:objective.loss": loss,
                            "cfg:objective.lipschitz": m,
                            "cfg:seed": seed,
                            "status": "finished",
                            "dir": str(d),
                            "run_id": d.name,
                        }
                    )
    return pd.DataFrame(rows)


def size(path):
    with PIL.Image.open(path) as im:
        return im.size


def test_two_row_keys_make_a_matrix_per_dataset(tmp_path):
    df = frame(tmp_path, ["hinge", "wgan"], ["gp", "none", "sn"], ["grid25", "ring8"])
    df = df[~((df["cfg:objective.loss"] == "wgan") & (df["cfg:objective.lipschitz"] == "sn"))]  # a hole
    out = sample_figure(df, ["objective.loss", "objective.lipschitz"], tmp_path / "m.png")
    assert size(out) == (PX * 2 * 3, PX * 2)  # 2 losses down; 2 datasets × 3 methods across


def test_other_row_keys_give_one_row_per_configuration(tmp_path):
    df = frame(tmp_path, ["hinge", "wgan"], ["gp", "none", "sn"], ["grid25", "ring8"])
    out = sample_figure(df, ["objective.loss"], tmp_path / "r.png")
    assert size(out) == (PX * 2, PX * 2)  # hinge, wgan down; one column per dataset
    out = sample_figure(df, ["objective.loss", "objective.lipschitz", "seed"], tmp_path / "s.png")
    assert size(out) == (PX * 2, PX * 12)


def test_a_single_configuration(tmp_path):
    df = frame(tmp_path, ["hinge"], ["gp"], ["ring8"], seeds=(0,))
    out = sample_figure(df, ["run"], tmp_path / "one.png")  # build_leaderboard's stand-in key
    assert size(out) == (PX, PX)


def test_no_samples_no_figure(tmp_path):
    df = frame(tmp_path, ["hinge"], ["gp"], ["ring8"])
    df["status"] = "failed"
    assert sample_figure(df, ["objective.loss"], tmp_path / "none.png") is None
