"""The MLP family's options for the PacGAN protocol: maxout layers, N(0, init_std²) weights with zero
biases, the batch-norm momentum, their validation; the defaults build the networks they always did."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.config import config_from_dict
from ganbench.errors import ConfigError
from ganbench.models.mlp import Maxout, MLPDiscriminator, MLPGenerator
from ganbench.registries import load_all

load_all()


def test_maxout_is_the_max_over_each_units_consecutive_pieces():
    layer = Maxout(2, 3, 4)
    x = torch.randn(5, 2)
    lin = layer.linear(x)  # (5, 12): unit j's pieces are columns 4j … 4j + 3
    expected = torch.stack([lin[:, 4 * j : 4 * j + 4].max(1).values for j in range(3)], dim=1)
    assert torch.equal(layer(x), expected)


def test_maxout_discriminator_layers():
    D = MLPDiscriminator(4, width=200, depth=3, activation="maxout", maxout_pieces=5)
    maxouts = [m for m in D.net if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.linear.out_features) for m in maxouts] == [
        (4, 1000),
        (200, 1000),
        (200, 1000),
    ]
    assert isinstance(D.net[-1], nn.Linear) and D.net[-1].out_features == 1
    assert not any(isinstance(m, (nn.ReLU, nn.LeakyReLU)) for m in D.net)  # maxout is the nonlinearity
    assert D(torch.randn(7, 4)).shape == (7,)


def test_init_std_draws_weights_from_a_normal_and_zeroes_biases():
    torch.manual_seed(0)
    G = MLPGenerator(2, 2, width=400, depth=4, batch_norm=True, init_std=0.02)
    weights = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.Linear)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert abs(weights.mean().item()) < 1e-3
    assert all(torch.all(m.bias == 0) for m in G.modules() if isinstance(m, nn.Linear))
    bns = [m for m in G.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == 4 and all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)


def test_default_networks_are_unchanged():
    """No new option set: the same layers and torch's default initialisation as before the options
    existed (the committed toy runs' ids and weights depend on it)."""
    torch.manual_seed(3)
    D = MLPDiscriminator(2, width=8, depth=2)
    torch.manual_seed(3)
    ref = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    assert [type(m) for m in D.net] == [type(m) for m in ref]
    for a, b in zip(D.state_dict().values(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_batch_norm_momentum_reaches_the_layers():
    G = MLPGenerator(2, 2, width=4, depth=2, batch_norm=True, batch_norm_momentum=0.05)
    assert [m.momentum for m in G.modules() if isinstance(m, nn.BatchNorm1d)] == [0.05, 0.05]


@pytest.mark.parametrize(
    "d, message",
    [
        ({"activation": "maxout", "maxout_pieces": 1}, "model.d.maxout_pieces must be >= 2"),
        ({"init_std": 0.0}, "model.d.init_std must be > 0"),
        ({"batch_norm_momentum": 1.5}, r"model.d.batch_norm_momentum must be in \(0, 1\]"),
        ({"activation": "swish"}, "model.d.activation"),
    ],
)
def test_bad_options_are_refused_at_validation(d, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"data": {"name": "ring8"}, "model": {"name": "mlp", "d": d}}, "recipe.yaml")
