"""Shared layers of the image families, checked against hand computations."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench.models.layers import (
    ClassConditionalBatchNorm2d,
    DiscriminatorHead,
    LinearConditionalBatchNorm2d,
    MinibatchDiscrimination,
    MinibatchStdDev,
    SelfAttention,
    apply_spectral_norm,
    has_spectral_norm,
    init_weights,
    ortho_penalty,
)


def test_has_and_apply_spectral_norm() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2), nn.Embedding(5, 4), nn.BatchNorm2d(4))
    assert not any(has_spectral_norm(m) for m in net)
    apply_spectral_norm(net, skip=[net[2]])
    assert [has_spectral_norm(m) for m in net] == [True, True, False, False]
    apply_spectral_norm(net)  # idempotent on normalised layers, reaches the rest
    assert [has_spectral_norm(m) for m in net] == [True, True, True, False]
    assert all(len(m.parametrizations.weight) == 1 for m in net[:3])
    # a weight-norm style parametrization that is not spectral norm does not count
    lin = nn.Linear(3, 3)
    nn.utils.parametrize.register_parametrization(lin, "weight", nn.Identity())
    assert not has_spectral_norm(lin)


def test_init_schemes() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 128, 3), nn.BatchNorm2d(128), nn.Linear(256, 64))
    init_weights(net, "dcgan")
    assert abs(net[0].weight.std().item() - 0.02) < 0.001
    assert abs(net[1].weight.mean().item() - 1.0) < 0.01 and abs(net[1].weight.std().item() - 0.02) < 0.005
    assert net[0].bias.abs().max() == 0
    init_weights(net, "ortho")
    w = net[2].weight  # 64 × 256: orthonormal rows
    assert torch.allclose(w @ w.t(), torch.eye(64), atol=1e-5)
    init_weights(net, "xavier")
    bound = math.sqrt(6 / (256 + 64))
    assert net[2].weight.abs().max() <= bound and net[2].weight.abs().max() > 0.9 * bound


def test_init_leaves_own_init_modules() -> None:
    bn = ClassConditionalBatchNorm2d(4, 3)
    mbd = MinibatchDiscrimination(6, 4, 2)
    net = nn.ModuleList([bn, mbd])
    init_weights(net, "dcgan")
    assert torch.equal(bn.gain.weight, torch.ones(3, 4)) and torch.equal(bn.bias.weight, torch.zeros(3, 4))
    assert abs(mbd.T.weight.std().item() - 0.05) < 0.03


def test_class_conditional_bn() -> None:
    torch.manual_seed(0)
    cbn = ClassConditionalBatchNorm2d(3, 4)
    x = torch.randn(6, 3, 5, 5)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    ref = nn.functional.batch_norm(x, None, None, training=True)
    assert torch.allclose(cbn(x, y), ref, atol=1e-5)  # gain 1, bias 0 at init
    with torch.no_grad():
        cbn.gain.weight[1] = 2.0
        cbn.bias.weight[1] = -1.0
    out = cbn(x, y)
    assert torch.allclose(out[1], 2 * ref[1] - 1, atol=1e-5)
    assert torch.allclose(out[0], ref[0], atol=1e-5)


def test_linear_conditional_bn() -> None:
    torch.manual_seed(0)
    lbn = LinearConditionalBatchNorm2d(3, 2)
    x, c = torch.randn(4, 3, 2, 2), torch.randn(4, 2)
    ref = nn.functional.batch_norm(x, None, None, training=True)
    gain = 1 + c @ lbn.gain.weight.t()
    bias = c @ lbn.bias.weight.t()
    assert torch.allclose(lbn(x, c), ref * gain[:, :, None, None] + bias[:, :, None, None], atol=1e-5)


def test_self_attention_identity_at_init_and_hand_computed() -> None:
    torch.manual_seed(0)
    att = SelfAttention(16)
    x = torch.randn(2, 16, 4, 6)
    assert torch.equal(att(x), x)  # gamma starts at 0
    with torch.no_grad():
        att.gamma.fill_(0.7)
    out = att(x)
    # by hand for sample 0: queries at every position, keys/values on the 2×2-max-pooled map
    q = att.theta(x)[0].flatten(1)  # 2 × 24
    k = nn.functional.max_pool2d(att.phi(x), 2)[0].flatten(1)  # 2 × 6
    v = nn.functional.max_pool2d(att.g(x), 2)[0].flatten(1)  # 8 × 6
    a = torch.softmax(q.t() @ k, dim=1)  # 24 × 6
    o = (v @ a.t()).view(1, 8, 4, 6)
    assert torch.allclose(out[0], x[0] + 0.7 * att.o(o)[0], atol=1e-5)


def test_minibatch_stddev_hand_computed() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 2, 2)
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (8, 4, 2, 2)
    assert torch.equal(out[:, :3], x)
    # groups: samples {0, 2, 4, 6} and {1, 3, 5, 7} (sample i in group i mod 2)
    for members in ([0, 2, 4, 6], [1, 3, 5, 7]):
        expect = (x[members].var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        for i in members:
            assert torch.allclose(out[i, 3], expect.expand(2, 2), atol=1e-6)
    # batch sizes that the group size does not divide: the largest divisor below it
    assert MinibatchStdDev(4)(torch.randn(6, 3, 2, 2)).shape == (6, 4, 2, 2)
    assert MinibatchStdDev(4)(torch.randn(1, 3, 2, 2)).shape == (1, 4, 2, 2)


def test_minibatch_discrimination_hand_computed() -> None:
    torch.manual_seed(0)
    mbd = MinibatchDiscrimination(4, num_kernels=3, kernel_dim=2)
    f = torch.randn(5, 4)
    out = mbd(f)
    assert out.shape == (5, 7) and torch.equal(out[:, :4], f)
    m = (f @ mbd.T.weight.t()).view(5, 3, 2)
    for i in range(5):
        for b in range(3):
            o = sum(math.exp(-(m[i, b] - m[j, b]).abs().sum().item()) for j in range(5) if j != i)
            assert abs(out[i, 4 + b].item() - o) < 1e-5


def test_discriminator_head_projection_and_classifier() -> None:
    torch.manual_seed(0)
    h, y = torch.randn(4, 6), torch.tensor([0, 2, 1, 2])
    head = DiscriminatorHead(6, "projection", 3)
    logits, cls = head(h, y)
    expect = head.linear(h).squeeze(1) + (head.embed.weight[y] * h).sum(1)
    assert cls is None and torch.allclose(logits, expect)
    head = DiscriminatorHead(6, "acgan", 3)
    logits, cls = head(h, None)
    assert torch.allclose(cls, head.classifier(h)) and torch.allclose(logits, head.linear(h).squeeze(1))
    with pytest.raises(ValueError, match="needs num_classes"):
        DiscriminatorHead(6, "projection", None)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3), (40, 2)])
def test_ortho_penalty_matches_definition(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    w = torch.randn(*shape, dtype=torch.float64)
    m = w.reshape(shape[0], -1)
    gram = m @ m.t()
    expect = (gram * (1 - torch.eye(shape[0], dtype=torch.float64))).pow(2).sum()
    assert torch.allclose(ortho_penalty(w), expect, rtol=1e-10)
    # zero for orthogonal filters
    q = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64)).Q[:4]
    assert ortho_penalty(3 * q).abs() < 1e-10
