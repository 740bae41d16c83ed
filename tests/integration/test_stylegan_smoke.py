"""StyleGAN's row of recipes/grids/fmnist-growing-smoke.yaml end to end on real Fashion-MNIST, on the
CPU, through ``ganbench grid`` and its leaderboard: grown 4 → 8 → 16 → 32 in 300 steps (WGAN-GP
with the ε-drift term, the grid's shared objective), every phase evaluated, the grown generator
scoring a lower FID than the untrained one, and the style evaluation's figures and record keys
(truncation sweep, PPL in Z and W with the distance in the key) beside the record."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from ganbench.cli import main
from ganbench.records import iter_records
from ganbench.registries import DATASETS, load_all

load_all()

pytestmark = [
    pytest.mark.skipif(
        not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
    ),
    pytest.mark.slow,
]

SMOKE = Path(__file__).resolve().parents[2] / "recipes" / "grids" / "fmnist-growing-smoke.yaml"


def test_stylegan_smoke_grid_grows_improves_and_evaluates_styles(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")  # PPL: LPIPS weights are not here, the stand-in is named
    spec = yaml.safe_load(SMOKE.read_text())
    spec["axes"]["model.name"] = ["stylegan"]  # the other families' rows have their own tests
    spec["overrides"] = [o for o in spec["overrides"] if o["when"].get("model.name") == "stylegan"]
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(spec, sort_keys=False))
    results = tmp_path / "results"
    assert main(["grid", str(grid), "--results", str(results), "--workers", "1", "--leaderboard"]) == 0
    assert "1 finished, 0 skipped, 0 diverged, 0 failed" in capsys.readouterr().out
    [(path, rec)] = list(iter_records(results))
    assert rec["status"] == "finished" and rec["config"]["model"]["name"] == "stylegan"
    labels = [(e["step"], e["resolution"]) for e in rec["evals"]]
    assert labels == [(0, 4), (100, 8), (200, 16), (300, 32)]
    untrained = rec["evals"][0]["fid"]
    assert rec["metrics"]["fid"] < untrained, (rec["metrics"]["fid"], untrained)
    m = rec["metrics"]
    psis = ("1", "0.7", "0.5", "0")
    assert all(math.isfinite(m[f"trunc_psi{p}_fid"]) for p in psis)
    assert m["trunc_psi0_fid"] > m["trunc_psi1_fid"]  # one image repeated is far from the data
    distance = "lpips-vgg" if "ppl_w_lpips-vgg" in m else "fmnist-classifier"
    assert m[f"ppl_z_{distance}"] > 0 and m[f"ppl_w_{distance}"] > 0
    run = path.parent
    for name in ("style_mixing.png", "truncation.png", "samples.png"):
        assert (run / name).stat().st_size > 1000
    saved = json.loads((run / "style_eval.json").read_text())
    assert saved["settings"]["crossover_layers"] == {"coarse": [0, 1], "middle": [2, 3, 4, 5], "fine": [6, 7]}
    assert "stylegan" in (results / "leaderboard" / "leaderboard.md").read_text()
