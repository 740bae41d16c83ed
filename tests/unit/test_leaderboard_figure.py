"""The leaderboard's figures. Samples: a matrix per dataset with two or more row keys (the last key
across, the others down), one row per configuration otherwise; the first seed of each
configuration; missing runs left blank. Curves: one panel per value of the first row key once a
dataset has too many configurations for one panel, legends outside the axes."""

import numpy as np
import pandas as pd
import PIL.Image

from ganbench.io import write_json_atomic
from ganbench.reporting.figures import MAX_LINES_PER_PANEL, curves_figure, sample_figure
from ganbench.reporting.table import records_frame
from ganbench.training.samples import SAMPLES_NPY

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


def test_three_row_keys_put_the_last_across_and_the_others_down(tmp_path):
    df = frame(tmp_path, ["hinge", "wgan"], ["gp", "none", "sn"], ["grid25", "ring8"])
    out = sample_figure(df, ["objective.loss", "objective.lipschitz", "seed"], tmp_path / "s.png")
    assert size(out) == (PX * 2 * 2, PX * 6)  # 2 datasets × 2 seeds across; 2 losses × 3 methods down


def test_a_single_configuration(tmp_path):
    df = frame(tmp_path, ["hinge"], ["gp"], ["ring8"], seeds=(0,))
    out = sample_figure(df, ["run"], tmp_path / "one.png")  # build_leaderboard's stand-in key
    assert size(out) == (PX, PX)


def test_no_samples_no_figure(tmp_path):
    df = frame(tmp_path, ["hinge"], ["gp"], ["ring8"])
    df["status"] = "failed"
    assert sample_figure(df, ["objective.loss"], tmp_path / "none.png") is None


def write_records(tmp_path, archs, losses, methods, seeds=(0, 1), steps=(0, 50, 100)):
    """Run records with periodic evaluations, as the trainer writes them (FID falling with steps)."""
    results = tmp_path / "results"
    for a, arch in enumerate(archs):
        for loss in losses:
            for m in methods:
                for seed in seeds:
                    run_id = f"{arch}-{loss}-{m}-s{seed}"
                    config = {
                        "seed": seed,
                        "data": {"name": "fashion-mnist"},
                        "model": {"name": arch},
                        "objective": {"loss": loss, "lipschitz": m},
                        "eval": {"metrics": ["fid"], "selection_metric": "fid"},
                    }
                    evals = [{"step": t, "fid": 100.0 / (1 + t / 50) + a + seed} for t in steps]
                    record = {"run_id": run_id, "status": "finished", "config": config, "evals": evals}
                    write_json_atomic(results / run_id / "record.json", record)
    return results


CURVE_PX = 400  # a curves panel is 4 inches wide at 100 dpi


def test_curves_of_a_few_configurations_share_one_panel(tmp_path):
    results = write_records(tmp_path, ["dcgan"], ["hinge", "wgan"], ["gp", "sn"])
    runs = records_frame(results)
    out = curves_figure(runs, ["model.name", "objective.loss", "objective.lipschitz"], tmp_path / "c.png")
    width, height = size(out)
    assert height < 340  # one row of panels: 3.2 inches, trimmed to the drawing
    assert CURVE_PX < width < 2 * CURVE_PX  # one panel and its legend beside it


def test_many_configurations_get_a_panel_per_first_key(tmp_path):
    archs = ["biggan", "dcgan", "resnet", "sagan"]
    results = write_records(tmp_path, archs, ["hinge", "nonsaturating", "wasserstein"], ["gp", "none", "sn"])
    assert 3 * 3 > MAX_LINES_PER_PANEL
    keys = ["model.name", "objective.loss", "objective.lipschitz"]
    runs = records_frame(results)
    width, _ = size(curves_figure(runs, keys, tmp_path / "arch.png"))
    assert 4 * CURVE_PX < width < 5 * CURVE_PX  # a panel per architecture, the legends beside them
    width, _ = size(curves_figure(runs, keys[1:], tmp_path / "loss.png"))  # rows: loss × method
    assert 3 * CURVE_PX < width < 4 * CURVE_PX  # a panel per loss
