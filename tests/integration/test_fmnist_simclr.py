"""The shipped self-supervised Fashion-MNIST encoder (fmnist-simclr): checksum, deterministic
features, its preprocessing, the kNN accuracy it records, and re-training by its script."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from ganbench.errors import GanbenchError, SourceError, WeightsError
from ganbench.evaluation.extractors import extract
from ganbench.evaluation.extractors import fmnist_classifier as fc
from ganbench.evaluation.extractors import fmnist_simclr as fs
from ganbench.evaluation.weights import file_sha256
from ganbench.registries import EXTRACTORS, load_all
from ganbench.schema import from_dict, load_yaml
from tests.helpers import load_script

RECIPE = "recipes/extractors/fmnist_simclr.yaml"
tr = load_script("train_fmnist_simclr")  # a development script, outside the package
ROOT = Path(__file__).resolve().parents[2]
META = json.loads(fc.asset_path("fmnist_simclr.json").read_text())


def splits():
    from ganbench.data.fashion_mnist_files import fashion_mnist_arrays

    try:
        return fashion_mnist_arrays("train"), fashion_mnist_arrays("test")
    except GanbenchError as e:  # neither the Debian package nor network: nothing to measure on
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def encoder():
    load_all()
    return EXTRACTORS.get("fmnist-simclr")()


def test_asset_checksum_and_metadata(encoder):
    assert file_sha256(fc.asset_path(fs.ASSET_NAME)) == fs.ASSET_SHA256 == META["sha256"]
    assert encoder.weights_hash == fs.ASSET_SHA256 and encoder.dim == 128 and encoder.num_classes is None
    assert encoder.provenance()["knn_accuracy"] == META["knn_accuracy"]
    # the asset is the encoder alone: the projection head is not shipped
    state = torch.load(fc.asset_path(fs.ASSET_NAME), weights_only=True)
    assert all(k.startswith("body.") for k in state)
    assert fc.asset_path(fs.ASSET_NAME).stat().st_size < 500_000
    with pytest.raises(SourceError, match="has no logits"):
        encoder.logits(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_features_deterministic_and_preprocessing(encoder):
    (_, _), (images, _) = splits()
    x = images[:400, None]
    feats = encoder.features(x)
    assert feats.shape == (400, 128) and feats.dtype == torch.float32
    assert torch.equal(feats, encoder.features(x))  # the same call twice: the same bits
    # eval mode: a sample's features do not depend on its batch
    batched, _ = extract(encoder, (x[i : i + 100] for i in range(0, 400, 100)))
    torch.testing.assert_close(batched, feats, rtol=1e-5, atol=1e-5)
    # the native input is exactly the training normalisation, x / 127.5 - 1
    torch.testing.assert_close(feats, encoder.net(x.float() / 127.5 - 1), rtol=0, atol=0)
    # RGB (gray repeated) gives the same features; 2× upsampled images are resized back to 28×28
    torch.testing.assert_close(
        encoder.features(x.expand(-1, 3, -1, -1).contiguous()), feats, rtol=1e-4, atol=1e-4
    )
    big = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    cos = torch.nn.functional.cosine_similarity(encoder.features(big), feats).mean()
    assert cos > 0.95
    # random-init: same architecture, a fixed seed, nothing read
    rand = EXTRACTORS.get("fmnist-simclr")(weights="random-init")
    assert rand.weights_hash == "random-init" and torch.equal(rand.features(x[:5]), rand.features(x[:5]))


@pytest.mark.slow
def test_recorded_knn_accuracy_is_the_measured_one(encoder):
    (x_train, y_train), (x_test, y_test) = splits()
    acc = tr.knn_accuracy(tr.encode(encoder.net, x_train), y_train, tr.encode(encoder.net, x_test), y_test)
    assert abs(acc - META["knn_accuracy"]) < 1e-4  # honest metadata
    assert acc > 0.80  # a useful representation without labels (the classifier: 93 % with them)


def test_short_retraining_reproduces_the_recorded_numbers():
    # the full recipe trains for ~15 minutes; the script records a short schedule's numbers too
    splits()
    short = META["short_check"]
    assert short["overrides"] == tr.SHORT
    recipe = from_dict(tr.SimCLRRecipe, load_yaml(str(ROOT / RECIPE)), f"{RECIPE}:")
    _, meta = tr.train(tr.short_recipe(recipe), log=lambda s: None)
    assert meta["history"][-1]["train_loss"] == pytest.approx(short["train_loss"], rel=2e-2)
    assert abs(meta["knn_accuracy"] - short["knn_accuracy"]) <= 0.03


def test_training_loop_is_deterministic(monkeypatch):
    x = torch.randint(0, 256, (512, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(512) % 10
    monkeypatch.setattr(tr, "fashion_mnist_arrays", lambda split, root=None: (x, y))
    recipe = tr.SimCLRRecipe(epochs=1, batch_size=128, threads=1)
    logs: list[str] = []
    net1, meta1 = tr.train(recipe, log=logs.append)
    net2, _ = tr.train(recipe, log=lambda s: None)
    for (k, a), b in zip(net1.state_dict().items(), net2.state_dict().values()):
        assert torch.equal(a, b), k
    assert len(meta1["history"]) == 1 and "kNN" in logs[-1] and meta1["reproduce"] == tr.REPRODUCE


def test_nt_xent_against_its_definition():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    tau, total = 0.5, 0.0
    for i in range(8):  # SimCLR's l(i, j) = -log exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ), averaged over 2N
        j = (i + 4) % 8
        den = sum(torch.exp(z[i] @ z[k] / tau) for k in range(8) if k != i)
        total += -torch.log(torch.exp(z[i] @ z[j] / tau) / den)
    torch.testing.assert_close(tr.nt_xent(z1, z2, tau), total / 8)
    # identical views of well-separated images: a low loss; it rises with the temperature
    e = torch.eye(4, 8) * 10
    assert tr.nt_xent(e, e, 0.1) < 0.01 < tr.nt_xent(e, e, 1.0)


def test_recipe_file_is_the_recipe_defaults():
    recipe = from_dict(tr.SimCLRRecipe, load_yaml(str(ROOT / RECIPE)), f"{RECIPE}:")
    assert recipe == tr.SimCLRRecipe()
    assert META["recipe"] == json.loads(json.dumps(tr.SimCLRRecipe().__dict__))
    assert META["reproduce"] == tr.REPRODUCE and tr.REPRODUCE in (ROOT / RECIPE).read_text()
    assert (ROOT / tr.REPRODUCE.split()[1]).is_file()


def test_a_modified_asset_fails_its_checksum(tmp_path):
    copy = tmp_path / fs.ASSET_NAME
    shutil.copy(fc.asset_path(fs.ASSET_NAME), copy)
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match the shipped SimCLR encoder's"):
        fc.load_state(copy, fs.ASSET_SHA256, "SimCLR encoder")
    with pytest.raises(WeightsError, match="SimCLR encoder weights not found"):
        EXTRACTORS.get("fmnist-simclr")(weights=str(tmp_path / "missing.pt"))
    # a user-trained file (weights=PATH) is loaded and its own hash recorded
    ok = tmp_path / "mine.pt"
    shutil.copy(fc.asset_path(fs.ASSET_NAME), ok)
    assert EXTRACTORS.get("fmnist-simclr")(weights=str(ok)).weights_hash == fs.ASSET_SHA256
