"""Extractor interface: quantisation, input checks, identity, batching, registry (cheap extractors)."""

from __future__ import annotations

import pytest
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.extractors import extract, quantize_to_uint8
from ganbench.evaluation.extractors.base import check_uint8_images, to_rgb
from ganbench.registries import EXTRACTORS, load_all
from ganbench.schema import check_params


def _images(n: int, c: int = 1, size: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, c, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


# --- quantisation -------------------------------------------------------------------------------


def test_quantize_matches_stylegan_formula_and_rounds_half_up():
    x = torch.tensor([-1.0, -0.9999, 0.0, 1.0, 1.2, -3.0, 0.5, 127.5 / 127.5 - 1 / 255])
    q = quantize_to_uint8(x)
    assert q.dtype == torch.uint8
    # stylegan2-ada metric_utils: (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    assert q.tolist() == (x * 127.5 + 128).clamp(0, 255).to(torch.uint8).tolist()
    assert q[:6].tolist() == [0, 0, 128, 255, 255, 0]
    # the +128 with truncation rounds the [0, 255] value v = (x + 1)·127.5 to the nearest integer:
    # v = k + 0.25 → k, v = k + 0.75 → k + 1 (points away from the .5 ties, which float error decides)
    k = torch.arange(255, dtype=torch.float64)
    assert torch.equal(quantize_to_uint8((k + 0.25) / 127.5 - 1), k.to(torch.uint8))
    assert torch.equal(quantize_to_uint8((k + 0.75) / 127.5 - 1), (k + 1).to(torch.uint8))


def test_quantize_rejects_non_float_and_nan():
    with pytest.raises(SourceError, match="float tensor"):
        quantize_to_uint8(torch.zeros(2, 3, dtype=torch.uint8))
    with pytest.raises(SourceError, match="NaN or inf"):
        quantize_to_uint8(torch.tensor([0.0, float("nan")]))


# --- input checks -------------------------------------------------------------------------------


def test_input_errors_name_what_was_expected():
    with pytest.raises(
        SourceError, match=r"torch\.uint8 tensor N×C×H×W.*got dtype torch\.float32.*quantize_to_uint8"
    ):
        check_uint8_images(torch.zeros(2, 3, 8, 8), "inception")
    with pytest.raises(SourceError, match=r"N×C×H×W with C in \(1, 3\).*got shape \(2, 8, 8\)"):
        check_uint8_images(torch.zeros(2, 8, 8, dtype=torch.uint8), "inception")
    with pytest.raises(SourceError, match=r"got shape \(2, 2, 8, 8\)"):
        check_uint8_images(torch.zeros(2, 2, 8, 8, dtype=torch.uint8), "inception")
    with pytest.raises(SourceError, match="got ndarray"):
        import numpy as np

        check_uint8_images(np.zeros((2, 3, 8, 8), dtype=np.uint8), "inception")


def test_to_rgb_repeats_gray():
    x = _images(2)
    rgb = to_rgb(x)
    assert rgb.shape == (2, 3, 28, 28)
    assert torch.equal(rgb[:, 0], x[:, 0]) and torch.equal(rgb[:, 2], x[:, 0])
    assert to_rgb(_images(2, 3)).shape == (2, 3, 28, 28)


# --- registry -----------------------------------------------------------------------------------


def test_every_extractor_is_registered_with_checkable_params():
    load_all()
    for name in ("inception", "vgg16", "fmnist-classifier", "identity"):
        assert name in EXTRACTORS
        params = check_params(
            EXTRACTORS.get(name), {"weights": None, "device": "cpu"}, f"eval.extractor {name}"
        )
        assert params == {"weights": None, "device": "cpu"}
    check_params(EXTRACTORS.get("inception"), {"mode": "legacy_pytorch"}, "x")
    with pytest.raises(ConfigError, match="unknown parameter.*'resize'"):
        check_params(EXTRACTORS.get("inception"), {"resize": "bicubic"}, "x")


def test_inception_unknown_mode_lists_choices():
    with pytest.raises(ConfigError, match="clean, legacy_tensorflow, legacy_pytorch"):
        EXTRACTORS.get("inception")(mode="bicubic", weights="random-init")


# --- identity -----------------------------------------------------------------------------------


def test_identity_flattens_points_and_checks_width():
    ext = EXTRACTORS.get("identity")(dim=2)
    pts = torch.randn(5, 2, dtype=torch.float64)
    feats, logits = ext(pts)
    assert logits is None and feats.dtype == torch.float32 and torch.equal(feats, pts.float())
    assert ext.provenance()["weights_hash"] == "none"
    with pytest.raises(SourceError, match="expected 2 values per sample, got 3"):
        ext(torch.randn(4, 3))
    with pytest.raises(SourceError, match="N×D"):
        ext(torch.randn(4))
    free = EXTRACTORS.get("identity")()
    assert free(torch.ones(3, 2, 2))[0].shape == (3, 4) and free.dim == 4
    with pytest.raises(SourceError, match="no weights"):
        EXTRACTORS.get("identity")(weights="x.pt")


# --- the classifier with random weights: batching, determinism, extract() ------------------------


@pytest.fixture(scope="module")
def random_classifier():
    return EXTRACTORS.get("fmnist-classifier")(weights="random-init")


def test_random_init_is_recorded_and_deterministic(random_classifier):
    other = EXTRACTORS.get("fmnist-classifier")(weights="random-init")
    x = _images(6)
    f1, l1 = random_classifier(x)
    f2, l2 = other(x)
    assert f1.shape == (6, 128) and l1.shape == (6, 10)
    assert f1.dtype == torch.float32 and l1.dtype == torch.float32
    assert torch.equal(f1, f2) and torch.equal(l1, l2)
    assert f1.std(0).mean() > 1e-3  # the random network still separates inputs
    prov = random_classifier.provenance()
    assert prov["weights_hash"] == "random-init" and prov["extractor"] == "fmnist-classifier"
    assert prov["dim"] == 128 and prov["num_classes"] == 10


def test_batching_invariance_and_extract(random_classifier):
    x = _images(7, seed=3)
    whole = random_classifier.features(x)
    single = torch.cat([random_classifier.features(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(whole, single, rtol=1e-5, atol=1e-5)
    feats, logits = extract(random_classifier, [x[:3], x[3:5], x[5:]])
    torch.testing.assert_close(feats, whole, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, random_classifier.logits(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(SourceError, match="no batches"):
        extract(random_classifier, [])


def test_classifier_input_conversion(random_classifier):
    gray = _images(4)
    rgb = gray.expand(-1, 3, -1, -1).contiguous()  # 0.299 + 0.587 + 0.114 = 1: same gray values
    torch.testing.assert_close(
        random_classifier.features(rgb), random_classifier.features(gray), rtol=1e-4, atol=1e-4
    )
    big = torch.nn.functional.interpolate(gray.float(), size=(56, 56), mode="nearest").to(torch.uint8)
    assert random_classifier.features(big).shape == (4, 128)  # resized to 28 (antialiased bilinear)
    with pytest.raises(SourceError, match=r"C in \(1, 3\)"):
        random_classifier(torch.zeros(2, 4, 28, 28, dtype=torch.uint8))
    with pytest.raises(SourceError, match="quantize_to_uint8"):
        random_classifier(torch.zeros(2, 1, 28, 28))
