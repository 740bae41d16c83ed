"""The shipped Fashion-MNIST classifier: checksum, accuracy on the real test split, its recipe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from ganbench.errors import ConfigError, GanbenchError, WeightsError
from ganbench.evaluation.extractors import extract
from ganbench.evaluation.extractors import fmnist_classifier as fc
from ganbench.evaluation.weights import file_sha256
from ganbench.registries import EXTRACTORS, load_all
from ganbench.schema import from_dict, load_yaml
from tests.helpers import load_script

RECIPE = "recipes/extractors/fmnist_classifier.yaml"
tr = load_script("train_fmnist_classifier")  # a development script, outside the package
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def test_split():
    from ganbench.data.fashion_mnist_files import fashion_mnist_arrays

    try:
        return fashion_mnist_arrays("test")
    except GanbenchError as e:  # neither the Debian package nor network: nothing to measure on
        pytest.skip(str(e))


def test_asset_checksum_and_test_accuracy(test_split):
    assert file_sha256(fc.asset_path()) == fc.ASSET_SHA256
    load_all()
    ext = EXTRACTORS.get("fmnist-classifier")()
    assert ext.weights_hash == fc.ASSET_SHA256 and ext.dim == 128 and ext.num_classes == 10
    images, labels = test_split
    feats, logits = extract(ext, (images[i : i + 2000, None] for i in range(0, len(images), 2000)))
    assert feats.shape == (10000, 128) and logits.shape == (10000, 10)
    acc = (logits.argmax(1) == labels).float().mean().item()
    assert acc >= 0.92
    meta = json.loads(fc.asset_path("fmnist_classifier.json").read_text())
    assert meta["sha256"] == fc.ASSET_SHA256 and abs(meta["test_accuracy"] - acc) < 1e-4  # honest metadata
    assert ext.provenance()["test_accuracy"] == meta["test_accuracy"]
    # the logits come from the features (penultimate layer), dropout off
    torch.testing.assert_close(logits[:100], ext.net.head(feats[:100]), rtol=1e-5, atol=1e-5)
    # RGB (gray repeated) and 2x-upsampled inputs are converted back to the same classes
    sample = images[:500, None]
    rgb = sample.expand(-1, 3, -1, -1).contiguous()
    assert torch.equal(ext.logits(rgb).argmax(1), logits[:500].argmax(1))
    big = sample.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    agree = (ext.logits(big).argmax(1) == logits[:500].argmax(1)).float().mean()
    assert agree > 0.95


def test_a_modified_asset_fails_its_checksum(tmp_path):
    copy = tmp_path / fc.ASSET_NAME
    shutil.copy(fc.asset_path(), copy)
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match the shipped classifier"):
        fc.load_state(copy, fc.ASSET_SHA256)
    # a user-trained file (weights=PATH) is loaded and its own hash recorded
    ok = tmp_path / "mine.pt"
    shutil.copy(fc.asset_path(), ok)
    assert EXTRACTORS.get("fmnist-classifier")(weights=str(ok)).weights_hash == fc.ASSET_SHA256


def test_recipe_file_is_the_recipe_defaults():
    recipe = from_dict(tr.ClassifierRecipe, load_yaml(RECIPE), f"{RECIPE}:")
    assert recipe == tr.ClassifierRecipe()
    meta = json.loads(fc.asset_path("fmnist_classifier.json").read_text())
    assert meta["recipe"] == json.loads(json.dumps(tr.ClassifierRecipe().__dict__))
    # the metadata, the recipe file and the script name the same command, and it runs from the checkout
    assert meta["reproduce"] == tr.REPRODUCE and tr.REPRODUCE in (ROOT / RECIPE).read_text()
    assert (ROOT / tr.REPRODUCE.split()[1]).is_file() and (ROOT / tr.REPRODUCE.split()[-1]).is_file()


def test_training_loop_is_deterministic(monkeypatch):
    # the real recipe trains for minutes; here the same loop runs on 512 images for one epoch
    x = torch.randint(0, 256, (512, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(512) % 10
    monkeypatch.setattr(tr, "fashion_mnist_arrays", lambda split, root=None: (x, y))
    recipe = tr.ClassifierRecipe(epochs=1, batch_size=128, shift=2, threads=1)
    logs: list[str] = []
    net1, meta1 = tr.train(recipe, log=logs.append)
    net2, _ = tr.train(recipe, log=lambda s: None)
    for (k, a), b in zip(net1.state_dict().items(), net2.state_dict().values()):
        assert torch.equal(a, b), k
    assert meta1["recipe"]["shift"] == 2 and len(meta1["history"]) == 1 and "test accuracy" in logs[-1]
    assert meta1["reproduce"] == tr.REPRODUCE


def test_training_is_outside_the_package():
    # the training code is a development script; the installed package holds the network only
    assert not (ROOT / "ganbench" / "evaluation" / "extractors" / "train_fmnist_classifier.py").exists()
    assert "train_fmnist_classifier" not in fc.__doc__.replace("scripts/train_fmnist_classifier.py", "")


# --- the Fashion-MNIST files the classifier is trained and tested on --------------------------------


def test_fashion_mnist_lookup_debian_then_cache_then_error(tmp_path, monkeypatch):
    from torchvision.datasets import FashionMNIST

    from ganbench.data import fashion_mnist_files as fm

    if not all((fm.DEBIAN_DIR / f"{n}.gz").is_file() for n in fm._IDX_SIZES):
        pytest.skip("Debian's dataset-fashion-mnist files are not installed")
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    images, labels = fm.fashion_mnist_arrays("test")  # decompressed once into the cache
    assert images.shape == (10000, 28, 28) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert torch.equal(labels.bincount(), torch.full((10,), 1000))
    raw = tmp_path / "cache" / "datasets" / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(fm._IDX_SIZES)
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "nowhere")  # now served from the cache alone
    assert isinstance(fm.fashion_mnist("train"), FashionMNIST) and len(fm.fashion_mnist("train")) == 60000
    # an explicit root holding the files wins
    assert fm.fashion_mnist("test", root=str(tmp_path / "cache" / "datasets")).root == str(
        tmp_path / "cache" / "datasets"
    )
    with pytest.raises(ConfigError, match="valid choices: train, test"):
        fm.fashion_mnist("val")
    # nothing anywhere and no network: the error names both ways to get it
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "empty"))

    def offline(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(FashionMNIST, "download", offline)
    with pytest.raises(GanbenchError, match=r"apt-get install dataset-fashion-mnist(.|\n)*network"):
        fm.fashion_mnist("train")
