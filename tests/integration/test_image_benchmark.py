"""The image benchmark end to end on real Fashion-MNIST, on the CPU: subsets of the smoke grids
(recipes/grids/*-smoke.yaml: their bases, networks and overrides) through ``ganbench grid`` with two
workers, then ``ganbench leaderboard``. The unconditional grid: one run per architecture, with WGAN-GP
so that DCGAN's override to a layer-norm D is exercised, FID from the shipped classifier during and
after training, the table, sample figure and metric-vs-step curves. The conditional grid: each
conditioning, scored with intra-FID. The stacked grid: mode coverage over 1000 modes."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import PIL.Image
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

GRIDS = Path(__file__).resolve().parents[2] / "recipes" / "grids"
SMOKE = GRIDS / "fmnist-smoke.yaml"
ARCHS = ["dcgan", "resnet", "sagan", "biggan"]
STEPS, EVERY = 100, 50


def smoke_subset(tmp_path: Path, source: Path = SMOKE, axes: dict | None = None) -> Path:
    """A smoke grid with fewer axis values and half its steps (everything else as shipped, less the
    overrides of the axis values it leaves out)."""
    spec = yaml.safe_load(source.read_text())
    spec["name"] = f"{spec['name']}-ci"
    spec["axes"] = axes or {
        "model.name": ARCHS,
        "objective.loss": ["wasserstein"],
        "objective.lipschitz": ["gp"],
        "seed": [0],
    }
    # overrides for axis values the subset leaves out match no run (a grid refuses those): drop them
    spec["overrides"] = [
        o
        for o in spec.get("overrides", [])
        if all(v in spec["axes"].get(k, [v]) for k, v in o["when"].items())
    ]
    spec["base"]["train"].update(steps=STEPS, checkpoint_every=EVERY)
    spec["base"]["eval"]["every"] = EVERY
    if isinstance(spec["base"].get("base"), str):  # a path relative to the shipped grid file
        spec["base"]["base"] = str((source.parent / spec["base"]["base"]).resolve())
    path = tmp_path / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_grid(grid_file: Path, results: Path, capsys, n: int) -> dict[str, dict]:
    assert main(["grid", str(grid_file), "--results", str(results), "--workers", "2", "--leaderboard"]) == 0
    assert f"{n} finished, 0 skipped, 0 diverged, 0 failed" in capsys.readouterr().out
    records = {rec["run_id"]: rec for _, rec in iter_records(results)}
    assert len(records) == n
    for rec in records.values():
        assert rec["status"] == "finished", rec.get("error")
        assert [e["step"] for e in rec["evals"]] == [0, EVERY, 2 * EVERY]
    return records


def test_smoke_grid_to_leaderboard(tmp_path, capsys):
    grid_file = smoke_subset(tmp_path)
    grid = load_grid(grid_file)
    assert [c.model.name for c in grid.runs] == ARCHS
    assert [c.model.d.get("norm") for c in grid.runs] == ["layer", None, None, None]  # the override
    results = tmp_path / "results"

    t0 = time.perf_counter()
    # every run finishes with periodic evaluations on the selection seed at steps 0, 50, 100
    by_id = run_grid(grid_file, results, capsys, len(ARCHS))
    wall = time.perf_counter() - t0

    records = {rec["config"]["model"]["name"]: rec for rec in by_id.values()}
    assert sorted(records) == sorted(ARCHS)
    fids, untrained = {}, {}
    for arch, rec in records.items():
        fid = rec["metrics"]["fid"]
        assert math.isfinite(fid) and fid > 0, (arch, fid)
        fids[arch] = fid
        # the best periodic evaluation (from the untrained G at step 0) reported on the evaluation seed
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


def test_conditional_smoke_grid_scores_intra_fid(tmp_path, capsys):
    grid_file = smoke_subset(
        tmp_path,
        GRIDS / "fmnist-conditional-smoke.yaml",
        {"model.name": ["dcgan"], "model.conditioning": ["concat", "acgan", "projection"],
         "objective.loss": ["hinge"], "seed": [0]},
    )  # fmt: skip
    results = tmp_path / "results"
    records = run_grid(grid_file, results, capsys, 3)
    by_cond = {rec["config"]["model"]["conditioning"]: rec for rec in records.values()}
    assert sorted(by_cond) == ["acgan", "concat", "projection"]
    for cond, rec in by_cond.items():
        m = rec["metrics"]
        per_class = [m[f"intra_fid_class_{c}"] for c in range(10)]
        assert all(math.isfinite(v) and v > 0 for v in per_class), (cond, per_class)
        assert m["intra_fid"] == pytest.approx(sum(per_class) / 10)
        # 2000 reals (eval.n_real) → as many labelled fakes per class as reals of that class
        assert rec["provenance"]["evaluation"]["n_fake_labelled"] == 2000, cond
        # training moved the generator: FID below the untrained one's (selection seed)
        assert min(e["fid"] for e in rec["evals"][1:]) < rec["evals"][0]["fid"], (cond, rec["evals"])
        # the sample grid is class by class: 10 rows (classes) of 10 samples, 28 px + 2 px padding
        with PIL.Image.open(results / rec["run_id"] / "samples.png") as im:
            assert im.size == (10 * 30 + 2, 10 * 30 + 2)
    md = (results / "leaderboard" / "leaderboard.md").read_text()
    assert "fashion-mnist intra_fid" in md
    table = json.loads((results / "leaderboard" / "leaderboard.json").read_text())
    assert table["row_keys"] == ["model.name", "model.conditioning", "objective.loss"]
    assert table["metrics"][0] == "fid" and len(table["rows"]) == 3


def test_stacked_smoke_grid_scores_mode_coverage(tmp_path, capsys):
    grid_file = smoke_subset(
        tmp_path,
        GRIDS / "stacked-fmnist-smoke.yaml",
        {"objective.loss": ["nonsaturating"], "objective.lipschitz": ["none", "sn"], "seed": [0]},
    )
    results = tmp_path / "results"
    records = run_grid(grid_file, results, capsys, 2)
    for rec in records.values():
        m = rec["metrics"]
        assert m["stacked_samples"] == 2560 and m["stacked_modes_total"] == 1000
        assert 1 <= m["stacked_modes"] <= 1000
        # KL(p ‖ U) = log 1000 − H(p): between 0 and log 1000, and at least what missing modes force
        # (the observed modes spread evenly: log(1000 / modes))
        assert math.log(1000 / m["stacked_modes"]) - 1e-9 <= m["stacked_kl"] <= math.log(1000)
        assert math.isfinite(m["fid"])
        # checkpoints were selected by modes captured, on the selection seed
        assert rec["provenance"]["best"]["value"] == max(e["stacked_modes"] for e in rec["evals"])
    table = json.loads((results / "leaderboard" / "leaderboard.json").read_text())
    assert table["metrics"][0] == "stacked_modes"  # the table ranks by what the runs selected by
    assert table["row_keys"] == ["objective.loss", "objective.lipschitz"]
    ranked = sorted(table["rows"], key=lambda r: r["rank"])
    modes = [r["stacked-fmnist/stacked_modes/mean"] for r in ranked]
    assert modes == sorted(modes, reverse=True)
