"""The image benchmark end to end on real Fashion-MNIST, on the CPU: a subset of the smoke grid
(recipes/grids/fmnist-smoke.yaml: its base, networks and overrides; one run per architecture, with
WGAN-GP so that DCGAN's override to a layer-norm D is exercised) through ``ganbench grid`` with two
workers, FID from the shipped classifier during and after training, then ``ganbench leaderboard``
with its table, sample figure and metric-vs-step curves."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import yaml

from ganbench.cli import main
from ganbench.records import iter_records
from ganbench.registries import DATASETS, load_all
from ganbench.runners.grid import load_grid

load_all()

pytestmark = [
    pytest.mark.skipif(
        not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
    ),
    pytest.mark.slow,  # ~40-90 s on the shared 2-core machine
]

SMOKE = Path(__file__).resolve().parents[2] / "recipes" / "grids" / "fmnist-smoke.yaml"
ARCHS = ["dcgan", "resnet", "sagan", "biggan"]
STEPS, EVERY = 100, 50


def smoke_subset(tmp_path: Path) -> Path:
    """fmnist-smoke.yaml with fewer axis values and half its steps (everything else as shipped)."""
    spec = yaml.safe_load(SMOKE.read_text())
    spec["name"] = "fmnist-smoke-ci"
    spec["axes"] = {
        "model.name": ARCHS,
        "objective.loss": ["wasserstein"],
        "objective.lipschitz": ["gp"],
        "seed": [0],
    }
    spec["base"]["train"].update(steps=STEPS, checkpoint_every=EVERY)
    spec["base"]["eval"]["every"] = EVERY
    path = tmp_path / "fmnist-smoke-ci.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_smoke_grid_to_leaderboard(tmp_path, capsys):
    grid_file = smoke_subset(tmp_path)
    grid = load_grid(grid_file)
    assert [c.model.name for c in grid.runs] == ARCHS
    assert [c.model.d.get("norm") for c in grid.runs] == ["layer", None, None, None]  # the override
    results = tmp_path / "results"

    t0 = time.perf_counter()
    assert main(["grid", str(grid_file), "--results", str(results), "--workers", "2", "--leaderboard"]) == 0
    wall = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert "4 finished, 0 skipped, 0 diverged, 0 failed" in out

    records = {rec["config"]["model"]["name"]: rec for _, rec in iter_records(results)}
    assert sorted(records) == sorted(ARCHS)
    fids, untrained = {}, {}
    for arch, rec in records.items():
        assert rec["status"] == "finished", rec.get("error")
        fid = rec["metrics"]["fid"]
        assert math.isfinite(fid) and fid > 0, (arch, fid)
        fids[arch] = fid
        # periodic evaluations on the selection seed (from the untrained G at step 0), the best
        # one reported on the evaluation seed
        assert [e["step"] for e in rec["evals"]] == [0, EVERY, 2 * EVERY]
        assert all(math.isfinite(e["fid"]) for e in rec["evals"])
        # 100 steps make no good generator, but a better one than the untrained net
        untrained[arch] = rec["evals"][0]["fid"]
        assert min(e["fid"] for e in rec["evals"][1:]) < untrained[arch], (arch, rec["evals"])
        prov = rec["provenance"]
        assert (prov["eval_seed"], prov["selection_seed"]) == (2024, 7)
        assert prov["evaluated"] == "best" and prov["best"]["value"] == min(e["fid"] for e in rec["evals"])
        ev = prov["evaluation"]
        assert ev["extractor"]["extractor"] == "fmnist-classifier"
        assert ev["reference"]["dataset"] == "fashion-mnist" and ev["reference"]["n_real"] == 2000
        assert ev["n_fake"] == 500
        assert rec["compute"]["steps_per_s"] > 0
        run_dir = results / rec["run_id"]
        assert (run_dir / "samples.png").stat().st_size > 0
        assert (run_dir / "checkpoints" / "best.pt").exists()
    # the grid's own leaderboard has every run; its rows are the grid's axes (less the seed), not
    # the widths and norms its overrides vary along with them
    default_md = (results / "leaderboard" / "leaderboard.md").read_text()
    assert len([line for line in default_md.splitlines() if line.startswith("|")]) == 2 + len(ARCHS)
    grid_rows = json.loads((results / "leaderboard" / "leaderboard.json").read_text())["row_keys"]
    assert grid_rows == ["model.name", "objective.loss", "objective.lipschitz"]

    rows = ["model.name", "objective.loss", "objective.lipschitz"]
    board = tmp_path / "board"
    assert main(["leaderboard", str(results), "--out", str(board), "--rows", *rows, "--title", "smoke"]) == 0
    printed = capsys.readouterr().out
    md = (board / "leaderboard.md").read_text()
    assert md in printed
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert "fashion-mnist fid" in table[0] and "fashion-mnist precision" in table[0]
    assert len(table) == 2 + len(ARCHS)  # header, separator, one row per architecture
    for arch in ARCHS:
        assert any(f"| {arch} " in line for line in table[2:]), arch
    assert "![samples of each run (first seed)](samples.png)" in md and "curves.png" in md
    for figure in ("samples.png", "curves.png"):
        assert (board / figure).stat().st_size > 10_000, figure
    data = json.loads((board / "leaderboard.json").read_text())
    assert data["row_keys"] == rows and data["metrics"][0] == "fid"
    by_arch = {r["model.name"]: r for r in data["rows"]}
    for arch, fid in fids.items():
        assert by_arch[arch]["fashion-mnist/fid/mean"] == pytest.approx(fid)
        assert by_arch[arch]["fashion-mnist/fid/n"] == 1
    ranks = sorted(by_arch, key=lambda a: by_arch[a]["rank"])
    assert ranks == sorted(fids, key=fids.get)  # ranked by FID, lower first
    print(f"\nsmoke grid: 4 runs x {STEPS} steps in {wall:.0f}s; FID (untrained G, selection seed):")
    print(", ".join(f"{a} {fids[a]:.1f} ({untrained[a]:.1f})" for a in ARCHS))
