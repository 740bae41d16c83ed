"""Conditioning methods: registry, parameters, the AC-GAN loss against hand-computed values."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganbench.config import DataConfig, ModelConfig, RunConfig, config_from_dict
from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.objectives.build import build_objective
from ganbench.objectives.conditioning import ACGANLoss
from ganbench.objectives.objective import StepContext
from ganbench.registries import CONDITIONINGS, MODELS, load_all

load_all()


def cfg(cond: str, params: dict | None = None, **extra) -> RunConfig:
    return RunConfig(
        data=DataConfig(name="fashion-mnist"),
        model=ModelConfig(
            name="dcgan", z_dim=8, conditioning=cond, conditioning_params=params or {}, **extra
        ),
    )


def test_registry_has_the_four_methods() -> None:
    assert set(CONDITIONINGS.names()) >= {"none", "concat", "acgan", "projection"}
    assert CONDITIONINGS.get("none").needs_labels is False
    assert all(CONDITIONINGS.get(n).needs_labels for n in ("concat", "acgan", "projection"))


def test_terms() -> None:
    assert build_objective(cfg("none")).terms == []
    assert build_objective(cfg("projection")).terms == []
    assert build_objective(cfg("concat")).terms == []
    obj = build_objective(cfg("acgan", {"class_weight_d": 0.5, "class_weight_g": 2.0, "d_on_fake": False}))
    (term,) = obj.terms
    assert isinstance(term, ACGANLoss) and obj.needs_aux
    assert (term.class_weight_d, term.class_weight_g, term.d_on_fake) == (0.5, 2.0, False)


def test_parameters_are_validated() -> None:
    cfg("acgan", {"class_weight_d": 0.1}).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"r.yaml: model.conditioning_params: unknown.*'weight'"):
        cfg("acgan", {"weight": 1.0}).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"model.conditioning_params.class_weight_g: expected a number"):
        cfg("acgan", {"class_weight_g": "high"}).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"conditioning 'projection' takes no parameters"):
        cfg("projection", {"class_weight_d": 1.0}).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"unknown conditioning 'cgan'; valid choices: acgan, concat, none"):
        cfg("cgan").validate("r.yaml")
    with pytest.raises(ConfigError, match="must be >= 0"):
        ACGANLoss(class_weight_d=-1.0)


def test_yaml_shape() -> None:
    run = config_from_dict(
        {
            "data": {"name": "fashion-mnist"},
            "model": {
                "name": "resnet",
                "z_dim": 16,
                "conditioning": "acgan",
                "conditioning_params": {"class_weight_g": 0.1},
            },
        },
        "recipe.yaml",
    )
    assert run.model.conditioning_params == {"class_weight_g": 0.1}


def _ctx(n: int = 6, k: int = 4) -> StepContext:
    torch.manual_seed(0)
    real_cls, fake_cls = torch.randn(n, k), torch.randn(n, k)
    y_real, y_fake = torch.randint(k, (n,)), torch.randint(k, (n,))
    out_real = DOutput(torch.randn(n), real_cls)
    out_fake = DOutput(torch.randn(n), fake_cls)
    return StepContext(None, torch.zeros(n, 1), y_real, torch.zeros(n, 1), y_fake, out_real, out_fake, 0)


def _nll(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Mean −log softmax(logits)[y], written out."""
    logp = logits - logits.exp().sum(1, keepdim=True).log()
    return -logp[torch.arange(len(y)), y].mean().item()


def test_acgan_loss_values() -> None:
    ctx = _ctx()
    real = _nll(ctx.out_real.class_logits, ctx.y_real)
    fake = _nll(ctx.out_fake.class_logits, ctx.y_fake)
    term = ACGANLoss(class_weight_d=0.5, class_weight_g=2.0)
    assert term.d_term(ctx).item() == pytest.approx(0.5 * (real + fake), rel=1e-6)
    assert term.g_term(ctx).item() == pytest.approx(2.0 * fake, rel=1e-6)
    assert ACGANLoss(d_on_fake=False).d_term(ctx).item() == pytest.approx(real, rel=1e-6)


def test_acgan_needs_class_logits_and_labels() -> None:
    ctx = _ctx()
    ctx.out_real = DOutput(torch.randn(6))
    with pytest.raises(ConfigError, match="no class logits"):
        ACGANLoss().d_term(ctx)
    ctx = _ctx()
    ctx.y_fake = None
    with pytest.raises(ConfigError, match="fake batch has no labels"):
        ACGANLoss().g_term(ctx)


def test_acgan_through_the_objective_on_a_real_family() -> None:
    """The objective asks D for aux outputs; the classifier loss reaches the head's weights."""
    torch.manual_seed(0)
    run = cfg("acgan", g={"ch": 4}, d={"ch": 4, "norm": "none"})

    class Images:
        kind, num_classes, sample_shape = "images", 4, (1, 28, 28)

    G, D = MODELS.get("dcgan").build(run, Images())
    obj = build_objective(run)
    D = obj.attach(G, D)
    y_real, y_fake = torch.randint(4, (6,)), torch.randint(4, (6,))
    real = torch.rand(6, 1, 28, 28) * 2 - 1
    fake = G(torch.randn(6, 8), y_fake)
    loss, logs = obj.d_loss(D, real, y_real, fake.detach(), y_fake, 0)
    out_r, out_f = D(real, y_real, return_aux=True), D(fake.detach(), y_fake, return_aux=True)
    expect = F.cross_entropy(out_r.class_logits, y_real) + F.cross_entropy(out_f.class_logits, y_fake)
    assert logs["d_acgan"].item() == pytest.approx(expect.item(), rel=1e-5)
    loss.backward()
    assert D.head.classifier.weight.grad.abs().sum() > 0
    g_loss, g_logs = obj.g_loss(D, fake, y_fake, real, y_real, 0)
    assert g_logs["g_acgan"].item() == pytest.approx(
        F.cross_entropy(out_f.class_logits, y_fake).item(), rel=1e-5
    )
