"""Leaderboard rows: a row key that only some records have (e.g. ``model.d.norm``, set for DCGAN
only in the Fashion-MNIST grid) must not drop the other runs from the table."""

import math

import pandas as pd

from ganbench.reporting.leaderboard import build_leaderboard


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
