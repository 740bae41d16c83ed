"""Each adversarial loss against its formula on fixed logits."""

import math

import pytest
import torch

from ganbench.objectives import losses  # noqa: F401
from ganbench.registries import LOSSES

R = torch.tensor([2.0, -1.0, 0.5])
F_ = torch.tensor([-0.5, 1.5, 0.0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def mean(xs):
    return sum(xs) / len(xs)


EXPECTED = {
    # name: (d_loss, g_loss) computed elementwise with plain math
    "minimax": (
        mean([-math.log(sig(r)) for r in R.tolist()]) + mean([-math.log(1 - sig(f)) for f in F_.tolist()]),
        mean([math.log(1 - sig(f)) for f in F_.tolist()]),
    ),
    "nonsaturating": (
        mean([-math.log(sig(r)) for r in R.tolist()]) + mean([-math.log(1 - sig(f)) for f in F_.tolist()]),
        mean([-math.log(sig(f)) for f in F_.tolist()]),
    ),
    "lsgan": (
        mean([0.5 * (r - 1) ** 2 for r in R.tolist()]) + mean([0.5 * f**2 for f in F_.tolist()]),
        mean([0.5 * (f - 1) ** 2 for f in F_.tolist()]),
    ),
    "wasserstein": (mean(F_.tolist()) - mean(R.tolist()), -mean(F_.tolist())),
    "hinge": (
        mean([max(0, 1 - r) for r in R.tolist()]) + mean([max(0, 1 + f) for f in F_.tolist()]),
        -mean(F_.tolist()),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_matches_formula(name):
    loss = LOSSES.get(name)()
    d_expected, g_expected = EXPECTED[name]
    assert loss.d_loss(R, F_).item() == pytest.approx(d_expected, rel=1e-6)
    assert loss.g_loss(F_).item() == pytest.approx(g_expected, rel=1e-6)


def test_all_five_losses_registered():
    assert set(EXPECTED) <= set(LOSSES.names())


def test_label_smoothing_changes_only_real_term():
    smooth = LOSSES.get("nonsaturating")(real_label=0.9)
    expected = mean([-(0.9 * math.log(sig(r)) + 0.1 * math.log(1 - sig(r))) for r in R.tolist()]) + mean(
        [-math.log(1 - sig(f)) for f in F_.tolist()]
    )
    assert smooth.d_loss(R, F_).item() == pytest.approx(expected, rel=1e-6)


def test_bce_losses_stable_for_large_logits():
    loss = LOSSES.get("nonsaturating")()
    big = torch.tensor([80.0, -80.0])
    assert torch.isfinite(loss.d_loss(big, -big)) and torch.isfinite(loss.g_loss(big))
