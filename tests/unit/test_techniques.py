"""Salimans et al. 2016 techniques and BigGAN's orthogonal regularisation, on tiny nets with the
values computed by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig
from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.objectives.build import build_objective
from ganbench.objectives.objective import Objective, StepContext
from ganbench.objectives.techniques import (
    FeatureMatching,
    HistoricalAveraging,
    OneSidedLabelSmoothing,
    OrthogonalRegularization,
    ortho_parameters,
)
from ganbench.registries import LIPSCHITZ, LOSSES, TECHNIQUES, load_all

load_all()


class TinyD(nn.Module):
    """x (N×2) → features relu(Wx) (N×3) → logit."""

    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Linear(2, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, x, y=None, return_aux=False):
        h = torch.relu(self.f(x))
        logits = self.out(h).squeeze(1)
        return DOutput(logits, None, h) if return_aux else logits


class TinyG(nn.Module):
    z_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 2)

    def forward(self, z, y=None):
        return self.net(z)


def run_cfg(model: str = "dcgan", loss: str = "nonsaturating", techniques=None, **loss_params) -> RunConfig:
    return RunConfig(
        data=DataConfig(name="fashion-mnist"),
        model=ModelConfig(name=model, z_dim=8),
        objective=ObjectiveConfig(loss=loss, loss_params=loss_params, techniques=techniques or {}),
    )


def test_registered() -> None:
    assert {"feature_matching", "label_smoothing", "historical_averaging", "ortho_reg"} <= set(
        TECHNIQUES.names()
    )


# --- feature matching ---------------------------------------------------------------------------


def test_feature_matching_value_and_replacement() -> None:
    torch.manual_seed(0)
    D, G = TinyD(), TinyG()
    real, fake = torch.randn(5, 2), G(torch.randn(5, 2))
    fm = FeatureMatching(weight=2.0, replace_g_loss=True)
    obj = Objective(LOSSES.get("nonsaturating")(), LIPSCHITZ.get("none")(), [fm])
    assert obj.needs_aux and obj.real_in_g_step and not obj.g_adversarial
    total, logs = obj.g_loss(D, fake, None, real, None, 0)
    hr, hf = torch.relu(D.f(real)), torch.relu(D.f(fake))
    expect = 2.0 * sum((hr[:, j].mean() - hf[:, j].mean()).item() ** 2 for j in range(3))
    assert total.item() == pytest.approx(expect, rel=1e-5)
    assert logs["g_feature_matching"].item() == pytest.approx(expect, rel=1e-5)
    total.backward()
    assert G.net.weight.grad.abs().sum() > 0
    # added to the adversarial loss instead of replacing it
    fm2 = FeatureMatching(weight=2.0, replace_g_loss=False)
    obj2 = Objective(obj.loss, obj.lipschitz, [fm2])
    total2, _ = obj2.g_loss(D, fake.detach(), None, real, None, 0)
    adv = F.softplus(-D(fake.detach())).mean().item()
    assert total2.item() == pytest.approx(expect + adv, rel=1e-5)


def test_feature_matching_rejects_families_without_features() -> None:
    run_cfg("resnet", techniques={"feature_matching": {}}).validate("r.yaml")
    with pytest.raises(
        ConfigError, match=r"feature_matching: the 'mlp' discriminator does not return.*dcgan"
    ):
        run_cfg("mlp", techniques={"feature_matching": {}}).validate("r.yaml")


# --- one-sided label smoothing ------------------------------------------------------------------


def test_label_smoothing_equals_bce_with_smoothed_targets() -> None:
    torch.manual_seed(0)
    r, f = torch.randn(7) * 3, torch.randn(7) * 3
    ctx = StepContext(None, None, None, None, None, DOutput(r), DOutput(f), 0)
    term = OneSidedLabelSmoothing(0.9)
    for name in ("minimax", "nonsaturating"):
        loss = LOSSES.get(name)()
        smoothed = loss.d_loss(r, f) + term.d_term(ctx)
        ref = F.binary_cross_entropy_with_logits(
            r, torch.full_like(r, 0.9)
        ) + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
        assert smoothed.item() == pytest.approx(ref.item(), rel=1e-6)
        # and the same as the loss's own real_label parameter
        assert smoothed.item() == pytest.approx(
            LOSSES.get(name)(real_label=0.9).d_loss(r, f).item(), rel=1e-6
        )
    assert term.g_term(ctx) is None  # fake targets (and G) untouched


def test_label_smoothing_validation() -> None:
    run_cfg(techniques={"label_smoothing": {"real_label": 0.8}}).validate("r.yaml")
    for loss in ("hinge", "wasserstein", "lsgan"):
        with pytest.raises(ConfigError, match=rf"label_smoothing.*{loss!r} has none.*minimax, nonsaturating"):
            run_cfg(loss=loss, techniques={"label_smoothing": {}}).validate("r.yaml")
    with pytest.raises(ConfigError, match="real_label is already 0.9; use one of the two"):
        run_cfg(techniques={"label_smoothing": {}}, real_label=0.9).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"must be in \(0, 1\]"):
        OneSidedLabelSmoothing(1.5)


# --- historical averaging -----------------------------------------------------------------------


def test_historical_averaging_hand_computed() -> None:
    D, G = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
    term = HistoricalAveraging(weight=0.5)
    term.attach(G, D)
    ctx = StepContext(D, None, None, None, None, None, None, 0)
    thetas = [1.0, 3.0, 2.0, 6.0]
    seen: list[float] = []
    for theta in thetas:
        with torch.no_grad():
            D.weight.fill_(theta)
        value = term.d_term(ctx).item()
        expect = 0.0 if not seen else 0.5 * (theta - sum(seen) / len(seen)) ** 2
        assert value == pytest.approx(expect)
        seen.append(theta)
    # the gradient: 2·w·(θ − mean of the past)
    with torch.no_grad():
        D.weight.fill_(0.0)
    term.d_term(ctx).backward()
    assert D.weight.grad.item() == pytest.approx(2 * 0.5 * (0.0 - sum(seen) / 4))
    # G is tracked separately, through g_term
    with torch.no_grad():
        G.weight.fill_(1.0)
    assert term.g_term(ctx).item() == 0.0
    with torch.no_grad():
        G.weight.fill_(4.0)
    assert term.g_term(ctx).item() == pytest.approx(0.5 * 9.0)
    assert term.counts == {"d": 5, "g": 2}


def test_historical_averaging_players_and_state() -> None:
    D, G = nn.Linear(2, 1), nn.Linear(2, 1)
    term = HistoricalAveraging(players="d")
    term.attach(G, D)
    ctx = StepContext(D, None, None, None, None, None, None, 0)
    assert term.g_term(ctx) is None
    term.d_term(ctx)
    with torch.no_grad():
        D.weight.add_(1.0)
    state = term.state_dict()
    other = HistoricalAveraging(players="d")
    other.attach(G, D)
    other.load_state_dict(state)
    assert other.d_term(ctx).item() == pytest.approx(term.d_term(ctx).item())
    assert other.d_term(ctx).item() == pytest.approx(2.0 * 0.25)  # 2 weights, (1 − ½)² each


# --- orthogonal regularisation ------------------------------------------------------------------


def test_ortho_reg_hand_computed_and_gradient() -> None:
    torch.manual_seed(0)
    G = nn.Sequential(nn.Embedding(3, 2), nn.Linear(2, 3), nn.Conv2d(1, 2, 2))
    term = OrthogonalRegularization(weight=0.1)
    term.attach(G, None)
    assert [p.shape for p in term.params] == [torch.Size([3, 2]), torch.Size([2, 1, 2, 2])]  # no embedding
    value = term.g_term(None)
    expect = 0.0
    for w in (G[1].weight, G[2].weight.reshape(2, -1)):
        gram = (w @ w.t()).detach()
        expect += sum(gram[i, j].item() ** 2 for i in range(len(gram)) for j in range(len(gram)) if i != j)
    assert value.item() == pytest.approx(0.1 * expect, rel=1e-5)
    value.backward()
    w = G[1].weight.detach()
    off = (w @ w.t()) * (1 - torch.eye(3))
    assert torch.allclose(G[1].weight.grad, 0.1 * 4 * off @ w, atol=1e-6)  # d/dW ‖WWᵀ⊙(1−I)‖² = 4(·)W


def test_ortho_reg_on_biggan_uses_raw_weights_under_spectral_norm() -> None:
    from ganbench.models.biggan import BigGANGenerator

    G = BigGANGenerator(8, 32, 3, "projection", 4, ch=2, shared_dim=4)
    params = ortho_parameters(G)
    names = {id(p): n for n, p in G.named_parameters()}
    assert all("shared" not in names[id(p)] for p in params)
    assert any(names[id(p)].endswith("parametrizations.weight.original") for p in params)
    term = OrthogonalRegularization()
    term.attach(G, None)
    assert torch.isfinite(term.g_term(None)) and term.g_term(None) > 0


def test_techniques_through_build_objective() -> None:
    run = run_cfg(
        techniques={
            "ortho_reg": {"weight": 1e-3},
            "historical_averaging": {"weight": 0.1},
            "label_smoothing": {},
        }
    )
    run.validate("r.yaml")
    names = [t.name for t in build_objective(run).terms]
    assert names == ["ortho_reg", "historical_averaging", "label_smoothing"]
    with pytest.raises(
        ConfigError, match=r"objective.techniques.ortho_reg: unknown parameter.*'beta'; valid: weight"
    ):
        run_cfg(techniques={"ortho_reg": {"beta": 1.0}}).validate("r.yaml")
