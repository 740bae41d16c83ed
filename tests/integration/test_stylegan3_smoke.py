"""StyleGAN3-T through ``ganbench train`` on real Fashion-MNIST on the CPU: the -cpu recipe with tiny
widths at 16×16 for a few dozen steps writes a record with finite losses, FID and the equivariance
scores, and the eq_eval.json beside it."""

from __future__ import annotations

import json
import math

import pytest

from ganbench.cli import main
from ganbench.records import iter_records
from ganbench.registries import DATASETS, load_all

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

TINY = [
    "data.resolution=16",
    "model.z_dim=16",
    "model.g.w_dim=16",
    "model.g.channel_base=128",
    "model.g.channel_max=8",
    "model.g.num_layers=3",
    "model.g.margin_size=2",
    "model.g.eq_eval.samples=4",
    "model.d.channel_base=64",
    "model.d.channel_max=8",
    "train.steps=24",
    "train.batch_size=8",
    "train.log_every=8",
    "train.checkpoint_every=0",
    "train.lipschitz_estimate_every=0",
    "objective.lipschitz_params.interval=4",  # the lazy R1 step runs in this short run
    "eval.every=24",
    "eval.metrics=[fid]",
    "eval.n_samples=64",
    "eval.n_real=256",
]


def test_stylegan3_cpu_smoke_run_writes_a_record(tmp_path):
    results = tmp_path / "results"
    args = ["train", "recipes/fmnist/stylegan3-t-cpu.yaml", "--results", str(results), "--no-progress"]
    for s in TINY:
        args += ["--set", s]
    assert main(args) == 0
    ((path, record),) = iter_records(results)
    assert record["status"] == "finished"
    m = record["metrics"]
    assert math.isfinite(m["fid"]) and m["fid"] > 0
    for key in ("eq_t", "eq_t_frac", "eq_r"):
        assert math.isfinite(m[key]) and 0 < m[key] < 200, (key, m[key])
    losses = [h["d_loss"] for h in record["history"] if "d_loss" in h]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    saved = json.loads((path.parent / "eq_eval.json").read_text())
    assert saved["settings"]["samples"] == 4 and saved["metrics"]["eq_t"] == pytest.approx(m["eq_t"])
