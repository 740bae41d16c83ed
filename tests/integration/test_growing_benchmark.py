"""The progressive-growing smoke grid end to end on real Fashion-MNIST, on the CPU: ProGAN's row of
recipes/grids/fmnist-growing-smoke.yaml as shipped (grown 4 → 8 → 16 → 32 in 300 steps, WGAN-GP with
the ε-drift term) through ``ganbench grid`` and its leaderboard: every phase is trained and
evaluated, the evaluations carry the resolution and the images seen, and the grown generator
scores a lower FID than the untrained one."""

from __future__ import annotations

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
    pytest.mark.slow,  # ~30 s alone on the 2-core machine, ~100 s next to other work
]

SMOKE = Path(__file__).resolve().parents[2] / "recipes" / "grids" / "fmnist-growing-smoke.yaml"


def test_progan_smoke_grid_grows_and_improves(tmp_path, capsys):
    spec = yaml.safe_load(SMOKE.read_text())
    spec["axes"]["model.name"] = ["progan"]  # the other families' rows have their own tests
    spec["overrides"] = [o for o in spec["overrides"] if o["when"].get("model.name", "progan") == "progan"]
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(spec, sort_keys=False))
    results = tmp_path / "results"
    assert main(["grid", str(grid), "--results", str(results), "--workers", "1", "--leaderboard"]) == 0
    assert "1 finished, 0 skipped, 0 diverged, 0 failed" in capsys.readouterr().out
    [(_, rec)] = list(iter_records(results))
    assert rec["status"] == "finished"
    # 640 images per fade-in and per stabilisation, batch 16: 4×4 for 40 steps, 8×8 and 16×16 for 80
    # each, 32×32 from step 200 (faded in by step 240); 16 images per step
    labels = [(e["step"], e["resolution"], e["images_seen"]) for e in rec["evals"]]
    assert labels == [(0, 4, 0), (100, 8, 1600), (200, 16, 3200), (300, 32, 4800)]
    assert [h["resolution"] for h in rec["history"]] == [4] * 2 + [8] * 4 + [16] * 4 + [32] * 5  # every 20
    untrained = rec["evals"][0]["fid"]
    assert all(math.isfinite(e["fid"]) for e in rec["evals"])
    # only the fully grown generator (step 300) may be selected; it beats the untrained one
    assert rec["provenance"]["best"]["step"] == 300
    assert rec["metrics"]["fid"] < untrained, (rec["metrics"]["fid"], untrained)
    assert rec["compute"]["images_seen"] == 4800
    assert (results / rec["run_id"] / "samples.png").stat().st_size > 0
    board = results / "leaderboard"
    assert "progan" in (board / "leaderboard.md").read_text()
    assert (board / "curves.png").stat().st_size > 10_000
