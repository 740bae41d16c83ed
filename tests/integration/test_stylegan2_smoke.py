"""StyleGAN2 end to end on real Fashion-MNIST on the CPU through ``ganbench train``: tiny widths, a
few dozen steps with lazy R1 (every 4th D step) and path length (every 2nd G step), style mixing and
the EMA with its ramp-up; the run finishes and writes a record with the path-length logs, the
style evaluation's keys and figures, and a checkpointed EMA generator and pl_mean."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
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

RECIPE = {
    "seed": 0,
    "data": {"name": "fashion-mnist", "split": "train", "resolution": 16},
    "model": {
        "name": "stylegan2",
        "z_dim": 16,
        "g": {
            "w_dim": 16,
            "mapping_layers": 2,
            "channel_base": 128,
            "channel_max": 16,
            "conv_clamp": 256,
            "style_mixing_prob": 0.9,
            "style_eval": {"ppl_samples": 100, "truncation_n": 128},
        },
        "d": {"channel_base": 128, "channel_max": 16, "mbstd_group_size": 4},
    },
    "objective": {
        "loss": "nonsaturating",
        "lipschitz": "r1",
        "lipschitz_params": {"gamma": 0.1, "interval": 4},
        "techniques": {"path_length": {"weight": 2.0, "interval": 2}},
    },
    "optim": {"name": "adam", "lr_g": 0.0025, "lr_d": 0.0025, "betas": [0.0, 0.99]},
    "train": {
        "steps": 24,
        "batch_size": 16,
        "ema_kimg": 10,
        "ema_rampup": 0.05,
        "checkpoint_every": 12,
        "log_every": 4,
        "lipschitz_estimate_every": 24,
    },
    "eval": {
        "extractor": "fmnist-classifier",
        "metrics": ["fid"],
        "n_samples": 128,
        "n_real": 512,
        "every": 12,
    },
    "runtime": {"device": "cpu", "threads": 1},
}


def test_stylegan2_trains_on_the_cpu_and_writes_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")  # PPL: LPIPS weights are not here, the stand-in is named
    recipe = tmp_path / "sg2.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    results = tmp_path / "results"
    assert main(["train", str(recipe), "--results", str(results), "--no-progress"]) == 0
    [(path, rec)] = list(iter_records(results))
    assert rec["status"] == "finished" and rec["config"]["model"]["name"] == "stylegan2"
    assert [e["step"] for e in rec["evals"]] == [0, 12, 24]
    m = rec["metrics"]
    assert math.isfinite(m["fid"]) and m["trunc_psi0_fid"] > m["trunc_psi1_fid"]
    assert any(k.startswith("ppl_w_") and v > 0 for k, v in m.items())
    pl = [h["pl_mean"] for h in rec["history"] if "pl_mean" in h]
    assert pl and all(v > 0 for v in pl)  # the lazy path-length step ran and tracked its mean
    run = path.parent
    for name in ("style_mixing.png", "truncation.png", "samples.png"):
        assert (run / name).stat().st_size > 500
    state = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    assert state["terms"]["path_length"]["pl_mean"] > 0
    # the EMA (ramped up: after 24 × 16 images its half-life is 0.05 × 384 ≈ 19 images) follows G
    # closely but is not G
    g, ema = state["G"]["synthesis.b16.conv1.weight"], state["G_ema"]
    ema_w = next(v for k, v in ema.items() if k.endswith("synthesis.b16.conv1.weight"))
    assert not torch.equal(g, ema_w) and (g - ema_w).abs().max() < 0.5 * g.abs().max()
