"""VGG16 fc2 features vs torch-fidelity's vgg16 extractor on the same (random) weights."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision

from ganbench.errors import SourceError
from ganbench.evaluation.extractors.vgg import vgg16


@pytest.fixture(scope="module")
def ext():
    return vgg16(weights="random-init")


def test_fc2_relu_equals_torch_fidelity(ext, monkeypatch):
    import torch_fidelity.feature_extractor_vgg16 as tf_vgg

    with torch.random.fork_rng(devices=[]):  # the factory's random-init: torchvision's init, seed 0
        torch.manual_seed(0)
        net = torchvision.models.vgg16(weights=None)
    assert torch.equal(net.classifier[3].weight, ext.fc[3].weight)
    monkeypatch.setattr(tf_vgg, "torchvision_load_pretrained_vgg16", lambda **kw: copy.deepcopy(net))
    ref = tf_vgg.FeatureExtractorVGG16("vgg16", ["fc2_relu"])
    x = torch.randint(0, 256, (2, 3, 40, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        (expected,) = ref(x)
    feats, logits = ext(x)
    assert logits is None and feats.shape == (2, 4096) and (feats >= 0).all()
    torch.testing.assert_close(feats, expected, rtol=1e-4, atol=1e-5)
    assert ext.provenance()["weights_hash"] == "random-init" and ext.provenance()["mode"] == "fc2_relu"


def test_gray_input_batching_and_no_logits(ext):
    gray = torch.randint(
        0, 256, (2, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(3)
    )
    feats = ext.features(gray)
    torch.testing.assert_close(feats, ext.features(gray.expand(-1, 3, -1, -1).contiguous()))
    single = torch.cat([ext.features(gray[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(feats, single, rtol=1e-4, atol=1e-5)
    with pytest.raises(SourceError, match="no logits"):
        ext.logits(gray)
