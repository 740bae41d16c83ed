"""Translation runs end to end: validation, exact resume, the smoke grid through ``ganbench grid``
beating the do-nothing translator, and the leaderboard of its records."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from ganbench.cli import main
from ganbench.config import RunConfig, config_from_dict
from ganbench.errors import ConfigError
from ganbench.records import read_record
from ganbench.training.trainers import trainer_for
from ganbench.training.translation_trainer import TranslationTrainer
from tests.helpers.cli import refused

ROOT = Path(__file__).resolve().parents[2]


def _cfg(model: str = "pix2pix", **changes: Any) -> dict[str, Any]:
    paired = model == "pix2pix"
    d: dict[str, Any] = {
        "seed": 0,
        "data": {
            "name": "fmnist-superres" if paired else "fmnist-sneaker2boot",
            "split": "test",
            "resolution": 32,
        },
        "model": {
            "name": model,
            "g": {"ngf": 4} if paired else {"ngf": 4, "n_blocks": 1},
            "d": {"ndf": 4, "receptive_field": 16, "norm": "batch" if paired else "instance"},
        },
        "objective": {
            "loss": "nonsaturating" if paired else "lsgan",
            "lipschitz": "none",
            "techniques": {"l1_reconstruction": {"weight": 100.0}}
            if paired
            else {"cycle_consistency": {"weight": 10.0}, "identity": {"weight": 0.5}},
        },
        "optim": {"lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "decay_steps": 4},
        "train": {
            "steps": 8,
            "batch_size": 4,
            "log_every": 2,
            "checkpoint_every": 4,
            "lipschitz_estimate_every": 4,
        },
        "eval": {
            "metrics": ["l1", "psnr", "ssim"] if paired else ["classifier_score"],
            "extractor": "fmnist-classifier",
            "n_samples": 64,
            "reference_split": "test",
            "every": 4,
        },
        "runtime": {"device": "cpu", "threads": 1, "progress": False},
    }
    for key, value in changes.items():
        section, name = key.split(".")
        d[section][name] = value
    return d


@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_resume_in_the_middle_equals_an_uninterrupted_run(tmp_path: Path, model: str) -> None:
    cfg = config_from_dict(_cfg(model), "test")
    assert trainer_for(cfg) is TranslationTrainer
    straight = TranslationTrainer(cfg, tmp_path / "straight").run()
    assert TranslationTrainer(cfg, tmp_path / "resumed", stop_at=4).run() is None
    resumed = TranslationTrainer(copy.deepcopy(cfg), tmp_path / "resumed").run()
    assert straight is not None and resumed is not None
    assert resumed["history"] == straight["history"]  # losses and lr, step by step
    assert resumed["metrics"] == straight["metrics"] and resumed["evals"] == straight["evals"]
    a = torch.load(tmp_path / "straight/checkpoints/last.pt", weights_only=True)["nets"]
    b = torch.load(tmp_path / "resumed/checkpoints/last.pt", weights_only=True)["nets"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight["history"][-1]["lr_g"] == 0.0  # decayed to 0 at the last step
    assert "lipschitz_max" in straight["metrics"] and straight["provenance"]["identity_baseline"]


@pytest.mark.parametrize(
    "model, changes, match",
    [
        ("pix2pix", {"data.name": "fmnist-sneaker2boot"}, "needs paired data"),
        ("pix2pix", {"objective.lipschitz": "gp"}, "set model.d.norm to instance or none"),
        ("pix2pix", {"objective.techniques": {"cycle_consistency": {}}}, "needs the backward translator F"),
        ("pix2pix", {"objective.techniques": {"label_smoothing": {}}}, "a technique of generation"),
        (
            "cyclegan",
            {"objective.techniques": {"cycle_consistency": {"weight": -1.0}}},
            "weight must be >= 0",
        ),
        ("cyclegan", {"data.name": "fashion-mnist"}, "needs a translation dataset"),
        ("cyclegan", {"eval.metrics": ["l1"]}, "compare each translation with its ground truth"),
        ("pix2pix", {"model.conditioning": "projection"}, "conditioned on its input image"),
        ("pix2pix", {"train.n_critic": 5}, "train.n_critic is not supported"),
        ("pix2pix", {"optim.decay_steps": 99}, "decay_steps must be in 0..train.steps"),
    ],
)
def test_impossible_translation_configs_are_refused_with_the_reason(
    model: str, changes: dict, match: str
) -> None:
    d = _cfg(model)
    for key, value in changes.items():
        section, name = key.split(".")
        d[section][name] = value
    with pytest.raises(ConfigError, match=match):
        cfg = config_from_dict(d, "test")
        TranslationTrainer(cfg, "/nonexistent").setup()  # the last two kinds are checked at setup


def test_generation_runs_refuse_the_translation_schedule() -> None:
    with pytest.raises(ConfigError, match="implemented for translation runs"):
        config_from_dict({"optim": {"decay_steps": 10}}, "test")
    assert isinstance(RunConfig(), RunConfig)


@pytest.mark.slow
def test_the_smoke_grid_beats_the_do_nothing_translator(tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert (
        main(["grid", str(ROOT / "recipes/grids/fmnist-translation-smoke.yaml"), "--results", str(results)])
        == 0
    )
    records = [read_record(p) for p in sorted(results.iterdir()) if (p / "record.json").exists()]
    assert len(records) == 2 and all(r["status"] == "finished" for r in records)
    for rec in records:
        base = rec["provenance"]["identity_baseline"]
        if rec["config"]["model"]["name"] == "pix2pix":
            assert rec["metrics"]["l1"] < base["l1"] and rec["metrics"]["ssim"] > base["ssim"]
        else:
            assert rec["metrics"]["classifier_score"] > base["classifier_score"]
        assert rec["evals"][0]["step"] == 0  # the untrained translator, too
    assert main(["leaderboard", str(results), "--out", str(tmp_path / "lb")]) == 0
    assert (tmp_path / "lb" / "leaderboard.md").read_text().count("fmnist-") >= 2


class _Halve(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.5


def test_ganbench_eval_scores_an_external_torchscript_translator(tmp_path: Path, capsys) -> None:
    path = tmp_path / "halve.pt"
    torch.jit.save(torch.jit.script(_Halve()), str(path))
    out = tmp_path / "eval.json"
    argv = ["eval", str(path), "--reference", "fmnist-inpaint", "--metrics", "l1", "psnr", "--n", "50"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    record = read_record_json(out)
    assert record["provenance"]["translator"]["kind"] == "torchscript"
    assert len(record["provenance"]["translator"]["sha256"]) == 64
    # halving [-1, 1] images: known L1 against the garment (the hole aside) — worse than identity
    base = record["provenance"]["identity_baseline"]
    assert record["metrics"]["l1"] > base["l1"] and record["metrics"]["psnr"] < base["psnr"]
    assert "identity" in capsys.readouterr().out


def test_a_translator_of_the_wrong_shape_or_kind_is_refused(tmp_path: Path, capsys) -> None:
    code = tmp_path / "bad.py"
    code.write_text("import torch\ndef make():\n    return lambda x: x[:, :, :8, :8]\n")
    refused(capsys, ["eval", f"{code}:make", "--reference", "fmnist-superres", "--metrics", "l1", "--n", "8"],
            "translated images", "differ in shape")  # fmt: skip
    refused(capsys, ["eval", str(tmp_path / "none.pt"), "--reference", "fmnist-superres"], "no such file")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    refused(
        capsys,
        ["eval", str(tmp_path / "junk.pt"), "--reference", "fmnist-superres"],
        "not a TorchScript file",
    )


def read_record_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())
