"""Leaderboard rows: a row key that only some records have (e.g. ``model.d.norm``, set for DCGAN
only in the Fashion-MNIST grid) must not drop the other runs from the table; the default rows are
the keys that vary, less those the other varying keys determine."""

import math

import pandas as pd

from ganbench.reporting.table import build_leaderboard, default_row_keys


def test_runs_without_a_row_key_stay_in_the_table():
    rows = []
    for i, (name, norm) in enumerate(
        [("dcgan", "batch"), ("dcgan", "layer"), ("resnet", None), ("sagan", None)]
    ):
        rows.append(
            {
                "cfg:data.name": "fashion-mnist",
                "cfg:seed": 0,
                "cfg:model.name": name,
                "cfg:model.d.norm": norm if norm is not None else math.nan,
                "m:fid": 10.0 + i,
                "status": "finished",
                "run_id": f"r{i}",
            }
        )
    display, numeric, row_keys, _ = build_leaderboard(pd.DataFrame(rows), ["model.name", "model.d.norm"])
    assert len(display) == 4 and len(numeric) == 4
    assert sorted(zip(numeric["model.name"], numeric["model.d.norm"])) == [
        ("dcgan", "batch"),
        ("dcgan", "layer"),
        ("resnet", "—"),
        ("sagan", "—"),
    ]
    assert numeric["fashion-mnist/fid/mean"].tolist() == [10.0, 11.0, 12.0, 13.0]  # ranked by FID


def grid_frame(archs=("dcgan", "resnet"), losses=("hinge", "wasserstein"), methods=("gp", "none", "sn")):
    """Records of a full product of three axes with a grid's overrides: a width per architecture
    and a D norm per (architecture, method) for DCGAN only."""
    rows = []
    for arch in archs:
        for loss in losses:
            for m in methods:
                for seed in (0, 1):
                    rows.append(
                        {
                            "cfg:data.name": "fashion-mnist",
                            "cfg:seed": seed,
                            "cfg:model.name": arch,
                            "cfg:model.g.ch": {"dcgan": 8, "resnet": 16}[arch],
                            "cfg:model.d.norm": {"gp": "layer", "none": "batch", "sn": "none"}[m]
                            if arch == "dcgan"
                            else math.nan,
                            "cfg:objective.loss": loss,
                            "cfg:objective.lipschitz": m,
                            "cfg:eval.every": 100,
                            "status": "finished",
                        }
                    )
    return pd.DataFrame(rows)


def test_default_rows_are_the_axes_not_what_the_overrides_set():
    assert default_row_keys(grid_frame()) == ["model.name", "objective.loss", "objective.lipschitz"]


def test_default_rows_keep_an_axis_with_values_of_one_architecture_only():
    # DCGAN's D norm alone determines its Lipschitz method, but not across architectures: kept
    df = grid_frame()
    assert "objective.lipschitz" in default_row_keys(df)
    # with DCGAN only, norm and method determine each other: the benchmark's axis (the method) stays
    only_dcgan = df[df["cfg:model.name"] == "dcgan"]
    assert default_row_keys(only_dcgan) == ["objective.loss", "objective.lipschitz"]
    # of two other keys that determine each other, the earlier one stays
    only_dcgan = only_dcgan.drop(columns="cfg:objective.lipschitz").assign(
        **{
            "cfg:model.d.act": only_dcgan["cfg:model.d.norm"].map(
                {"layer": "elu", "batch": "relu", "none": "lrelu"}
            )
        }
    )
    assert default_row_keys(only_dcgan) == ["model.d.norm", "objective.loss"]


def test_one_of_two_equivalent_keys_is_kept():
    df = grid_frame(archs=("dcgan",), losses=("hinge",), methods=("gp", "sn"))
    assert default_row_keys(df) == ["objective.lipschitz"]


def test_ranked_by_the_metric_the_runs_selected_checkpoints_by():
    # stacked-data runs select by modes captured (higher is better); FID disagrees with it here
    rows = [
        {"cfg:data.name": "stacked-fmnist", "cfg:seed": 0, "cfg:objective.loss": loss, "m:fid": fid,
         "m:stacked_modes": modes, "cfg:eval.selection_metric": "stacked_modes", "status": "finished"}
        for loss, fid, modes in [("hinge", 10.0, 500), ("wasserstein", 20.0, 900)]
    ]  # fmt: skip
    _, numeric, _, metrics = build_leaderboard(pd.DataFrame(rows))
    assert metrics[0] == "stacked_modes"
    assert numeric["objective.loss"].tolist() == ["wasserstein", "hinge"]
    # runs that disagree on the selection metric fall back to the preferred order (FID first)
    rows[1]["cfg:eval.selection_metric"] = "fid"
    _, numeric, _, metrics = build_leaderboard(pd.DataFrame(rows))
    assert metrics[0] == "fid" and numeric["objective.loss"].tolist() == ["hinge", "wasserstein"]


def translation_frame():
    """A translation grid's records: Pix2Pix on the paired task, CycleGAN on the unpaired one (the
    model is set per dataset), × loss; paired metrics on one task, cycle L1 on the other."""
    rows = []
    for data, model, extra in (
        ("fmnist-edges2garment", "pix2pix", {"m:ssim": 0.5}),
        ("fmnist-sneaker2boot", "cyclegan", {"m:cycle_l1": 0.03}),
    ):
        for i, loss in enumerate(("hinge", "lsgan")):
            rows.append(
                {
                    "cfg:data.name": data,
                    "cfg:seed": 0,
                    "cfg:model.name": model,
                    "cfg:objective.loss": loss,
                    "m:fid": 10.0 + i + (20 if model == "cyclegan" else 0),
                    **extra,
                    "status": "finished",
                    "run_id": f"{data}-{loss}",
                }
            )
    return pd.DataFrame(rows)


def test_a_key_the_dataset_determines_is_not_a_row():
    # model.name varies only with the dataset (a column): one row per loss, both tasks side by side
    assert default_row_keys(translation_frame()) == ["objective.loss"]
    display, numeric, _, _ = build_leaderboard(translation_frame())
    assert numeric["objective.loss"].tolist() == ["hinge", "lsgan"]
    assert numeric["fmnist-sneaker2boot/fid/mean"].tolist() == [30.0, 31.0]


def test_a_column_group_shows_only_the_metrics_its_runs_have():
    display, numeric, _, _ = build_leaderboard(translation_frame())
    assert "fmnist-edges2garment/ssim/mean" in numeric and "fmnist-sneaker2boot/cycle_l1/mean" in numeric
    assert "fmnist-edges2garment/cycle_l1/mean" not in numeric
    assert "fmnist-sneaker2boot/ssim/mean" not in numeric
    assert not any("sneaker2boot SSIM" in c for c in display.columns)
