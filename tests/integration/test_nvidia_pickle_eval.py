"""``ganbench eval network-snapshot-*.pkl`` end to end: a tiny ganbench StyleGAN2 written in NVIDIA's
format is scored against Fashion-MNIST, and its run-record form is a leaderboard row."""

import pytest
import torch

from ganbench.cli import main
from ganbench.evaluation.sources import write_nvidia_pickle
from ganbench.io import read_json, sha256_file
from ganbench.registries import DATASETS, NVIDIA_NETWORKS, load_all
from ganbench.reporting.table import records_frame

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

KWARGS = {"z_dim": 8, "c_dim": 10, "w_dim": 8, "img_resolution": 32, "img_channels": 1,
          "mapping_kwargs": {"num_layers": 1},
          "synthesis_kwargs": {"channel_base": 64, "channel_max": 8}}  # fmt: skip


def test_eval_of_an_nvidia_pickle_writes_a_rankable_record(tmp_path):
    torch.manual_seed(0)
    G = NVIDIA_NETWORKS.get("training.networks.Generator")((), KWARGS)
    path = write_nvidia_pickle(
        tmp_path / "network-snapshot-000001.pkl", {"G_ema": ("training.networks", "Generator", KWARGS, G)}
    )
    out, run_dir = tmp_path / "result.json", tmp_path / "results" / "ext"
    argv = ["eval", str(path), "--reference", "fashion-mnist", "--n-real", "500", "--n", "100",
            "--resolution", "32", "--truncation-psi", "0.7", "--noise-mode", "const", "--device", "cpu",
            "--no-progress", "--out", str(out), "--as-run", str(run_dir)]  # fmt: skip
    assert main(argv) == 0
    rec = read_json(out)
    src = rec["provenance"]["source"]
    assert rec["config"]["kind"] == "nvidia-pickle" and rec["provenance"]["n_fake"] == 100
    assert src["sha256"] == sha256_file(path) and src["class"] == "training.networks.Generator"
    assert (src["truncation_psi"], src["noise_mode"], src["c_dim"]) == (0.7, "const", 10)
    assert src["labels"].startswith("uniform") and 0 < rec["metrics"]["fid"] < 1e4
    row = records_frame(tmp_path / "results").iloc[0]
    assert row["cfg:model.name"] == "external" and row["cfg:external.sha256"] == sha256_file(path)
    assert row["m:fid"] == rec["metrics"]["fid"] and row["ev:n_fake"] == 100
    assert main(argv[:-2] + ["--network", "G"]) == 2  # the pickle has no G: an error, not a crash
