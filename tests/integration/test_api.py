"""``ganbench.evaluate``, the one-call Python API: the same numbers as ``ganbench eval`` on the same
inputs, for files and for arrays, tensors and generators in memory, with a typed result."""

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from torch import nn

import ganbench
from ganbench.cli import main
from ganbench.config import DataConfig
from ganbench.errors import ConfigError
from ganbench.registries import DATASETS, load_all

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

N_REAL = 3000  # the first 3000 train images: the same reference (and cache entry) as test_eval_sources
N_FAKE = 600
REF = dict(real="fashion-mnist", split="train", n_real=N_REAL, batch_size=500)
METRICS = ["fid", "kid", "is", "prdc"]


@pytest.fixture(scope="module")
def images():
    data = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test"))
    return data.images[:N_FAKE].numpy(), data.labels[:N_FAKE].numpy()  # uint8 N×1×28×28, int64


@pytest.fixture(scope="module")
def npz(images, tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "real.npz"
    np.savez(path, images=images[0], labels=images[1])
    return path


def cli_json(*argv: str) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["eval", *argv, "--no-progress", "--json"]) == 0
    return json.loads(out.getvalue())


def test_api_equals_cli_on_the_same_file(npz):
    result = ganbench.evaluate(npz, metrics=METRICS, **REF)
    record = cli_json(
        str(npz), "--reference", "fashion-mnist", "--split", "train", "--n-real", str(N_REAL),
        "--batch-size", "500", "--metrics", *METRICS,
    )  # fmt: skip
    assert record["metrics"] == result.metrics
    assert record["config"] == {**result.settings, "source": str(npz)}
    assert record["provenance"]["reference"]["stats_sha256"] == result.provenance["reference"]["stats_sha256"]
    # the typed result: the numbers, the settings they were computed with, their provenance
    assert result["fid"] == result.metrics["fid"] and 0 < result["fid"] < 20
    assert result.settings["extractor"] == "fmnist-classifier" and result.settings["n"] == N_FAKE
    assert result.settings["n_real"] == N_REAL and result.settings["seed"] == 2024
    assert result.provenance["extractor"]["extractor"] == "fmnist-classifier"
    assert result.to_record()["kind"] == "eval"


def test_arrays_and_tensors_in_memory_equal_the_file(npz, images):
    from_file = ganbench.evaluate(npz, metrics=["fid", "prdc"], **REF).metrics
    as_array = ganbench.evaluate(images[0], metrics=["fid", "prdc"], **REF).metrics
    as_tensor = ganbench.evaluate(torch.from_numpy(images[0]), metrics=["fid", "prdc"], **REF).metrics
    # float images in [0, 1] with their declared range quantise back to the same uint8 images
    as_float = ganbench.evaluate(
        torch.from_numpy(images[0]).float() / 255, metrics=["fid", "prdc"], value_range="0,1", **REF
    ).metrics
    assert from_file == as_array == as_tensor == as_float


class Decoder(nn.Module):
    """A fixed 'generator': z picks one of the stored images (deterministic in z)."""

    def __init__(self, images: np.ndarray) -> None:
        super().__init__()
        self.z_dim = 8
        self.register_buffer("images", torch.from_numpy(images).float() / 127.5 - 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        idx = (z[:, 0].abs() * 1e4).long() % len(self.images)
        return self.images[idx]


def test_generators_in_memory_equal_their_torchscript_file(images, tmp_path):
    G = Decoder(images[0])
    scripted = tmp_path / "G.pt"
    torch.jit.save(torch.jit.script(G), str(scripted))
    live = ganbench.evaluate(G, n=500, metrics=["fid", "kid"], **REF)
    saved = ganbench.evaluate(scripted, n=500, metrics=["fid", "kid"], **REF)
    assert live.metrics == saved.metrics
    assert live.settings["kind"] == "generator" and saved.settings["kind"] == "torchscript"


def test_bad_calls_name_what_to_do(images):
    with pytest.raises(ConfigError, match="cannot evaluate a dict"):
        ganbench.evaluate({"x": 1}, **REF)
    with pytest.raises(ConfigError, match="reference dataset is required"):
        ganbench.evaluate(images[0], metrics=["fid"])
    with pytest.raises(
        ConfigError,
        match="evaluate: key does not apply to a generator; its options: z_dim, num_classes, value_range",
    ):
        ganbench.evaluate(Decoder(images[0]), key="images", **REF)
