"""Packing (PacGAN, Lin et al. 2018): pack order, the packed D's input width in every family, the
losses and Lipschitz penalties on packs (values by hand on a linear D), the Lipschitz estimate,
validation, and a short packed training run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, config_from_dict
from ganbench.data.base import DataSource
from ganbench.errors import ConfigError
from ganbench.models.family import d_input_multiplier
from ganbench.objectives.build import build_objective
from ganbench.objectives.lipschitz import estimate_lipschitz
from ganbench.objectives.objective import Objective
from ganbench.objectives.packing import Packing, pack, samples_per_input
from ganbench.registries import LIPSCHITZ, LOSSES, MODELS, load_all
from ganbench.training.trainer import Trainer

load_all()


class LinearD(nn.Module):
    """D(x) = w·x + b on packed points: its input gradient is w everywhere."""

    def __init__(self, w: list[float], b: float = 0.0) -> None:
        super().__init__()
        self.lin = nn.Linear(len(w), 1)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([w]))
            self.lin.bias.fill_(b)

    def forward(self, x, y=None, return_aux=False):
        return self.lin(x).squeeze(1)


def objective(m: int, lipschitz: str = "none", **lip_params) -> Objective:
    return Objective(LOSSES.get("nonsaturating")(), LIPSCHITZ.get(lipschitz)(**lip_params), [Packing(m)])


# --- packs -------------------------------------------------------------------------------------


def test_pack_points_concatenates_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    p = pack(x, 3)
    assert p.shape == (2, 6)
    assert torch.equal(p[0], torch.cat([x[0], x[1], x[2]]))
    assert torch.equal(p[1], torch.cat([x[3], x[4], x[5]]))


def test_pack_images_concatenates_along_channels():
    x = torch.randn(6, 3, 4, 4)
    p = pack(x, 2)
    assert p.shape == (3, 6, 4, 4)
    for k in range(3):
        assert torch.equal(p[k], torch.cat([x[2 * k], x[2 * k + 1]], dim=0))
    # a channels-last batch packs to the same values
    assert torch.equal(pack(x.to(memory_format=torch.channels_last), 2), p)


def test_packing_order_is_deterministic_and_draws_no_random_numbers():
    x = torch.randn(8, 2)
    state = torch.get_rng_state()
    a, b = pack(x, 4), pack(x.clone(), 4)
    assert torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), state)


def test_pack_refuses_a_batch_m_does_not_divide():
    with pytest.raises(ValueError, match="cannot be cut into packs of 3"):
        pack(torch.zeros(10, 2), 3)


# --- building ----------------------------------------------------------------------------------


class Points(DataSource):
    kind = "points"
    sample_shape = (2,)
    num_classes = None


class Images(DataSource):
    kind = "images"
    sample_shape = (1, 28, 28)
    num_classes = 10


@pytest.mark.parametrize("m", [2, 3, 4])
def test_mlp_d_is_built_with_m_times_the_input_width(m):
    cfg = RunConfig(
        objective=ObjectiveConfig(techniques={"packing": {"m": m}}), train=TrainConfig(batch_size=12)
    )
    cfg.validate()
    G, D = MODELS.get("mlp").build(cfg, Points())
    assert D.net[0].in_features == 2 * m
    assert G.net[-1].out_features == 2  # G still makes single samples
    assert D(torch.zeros(5, 2 * m)).shape == (5,)


@pytest.mark.parametrize("family", ["dcgan", "resnet", "sagan", "biggan"])
def test_image_d_is_built_with_m_times_the_channels(family):
    d = {"ch": 8}
    g = {"ch": 8, "shared_dim": 8} if family == "biggan" else {"ch": 8}
    cfg = RunConfig(
        data=DataConfig(name="fashion-mnist"),
        model=ModelConfig(name=family, z_dim=8, g=g, d=d),
        objective=ObjectiveConfig(techniques={"packing": {"m": 3}}),
        train=TrainConfig(batch_size=6),
    )
    G, D = MODELS.get(family).build(cfg, Images())
    first_conv = next(mod for mod in D.modules() if isinstance(mod, nn.Conv2d))
    assert first_conv.in_channels == 3
    assert D(torch.zeros(2, 3, 28, 28)).shape == (2,)
    assert G(torch.zeros(2, 8)).shape == (2, 1, 28, 28)


def test_d_input_multiplier_is_one_without_packing():
    assert d_input_multiplier(RunConfig()) == 1
    assert d_input_multiplier(RunConfig(objective=ObjectiveConfig(techniques={"packing": {"m": 4}}))) == 4
    assert d_input_multiplier(RunConfig(objective=ObjectiveConfig(techniques={"packing": {}}))) == 2


# --- losses on packs ---------------------------------------------------------------------------

W = [0.5, -1.0, 2.0, 0.25]
REAL = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
FAKE = torch.tensor([[-1.0, 2.0], [0.0, 0.0], [1.0, 1.0], [3.0, -2.0]])


def by_hand(x: torch.Tensor) -> torch.Tensor:
    """D's logits on the packs [x0, x1] and [x2, x3], written out."""
    w = torch.tensor(W)
    return torch.stack([w @ torch.cat([x[0], x[1]]), w @ torch.cat([x[2], x[3]])])


def test_d_loss_is_the_loss_over_packs():
    loss, logs = objective(2).d_loss(LinearD(W), REAL, None, FAKE, None, 0)
    real_logits, fake_logits = by_hand(REAL), by_hand(FAKE)
    # real packs: [1,0,0,1] -> 0.5+0.25 = 0.75 ; [2,-1,.5,.5] -> 1+1+1+.125 = 3.125
    assert torch.allclose(real_logits, torch.tensor([0.75, 3.125]))
    expected = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert logs["d_real_logit"].item() == pytest.approx(real_logits.mean().item())
    assert logs["d_fake_logit"].item() == pytest.approx(fake_logits.mean().item())


def test_g_loss_is_the_loss_over_fake_packs():
    loss, _ = objective(2).g_loss(LinearD(W), FAKE, None, REAL, None, 0)
    assert loss.item() == pytest.approx(F.softplus(-by_hand(FAKE)).mean().item(), rel=1e-6)


def test_gradient_penalty_is_taken_over_the_whole_pack():
    """A linear D's gradient is w at every point: the penalty is λ(‖w‖ − 1)² over the packed
    input (4-d), not the per-sample slices (‖w[:2]‖, ‖w[2:]‖)."""
    obj = objective(2, "gp", weight=10.0)
    loss, logs = obj.d_loss(LinearD(W), REAL, None, FAKE, None, 0)
    norm = torch.tensor(W).norm().item()
    assert logs["d_penalty"].item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-5)


def test_r1_is_taken_at_real_packs():
    obj = objective(2, "r1", gamma=2.0)
    _, logs = obj.d_loss(LinearD(W), REAL, None, FAKE, None, 0)
    assert logs["d_penalty"].item() == pytest.approx(0.5 * 2.0 * sum(w * w for w in W), rel=1e-5)


def test_lipschitz_estimate_packs_for_a_packed_d():
    D = LinearD(W)
    objective(2).attach(nn.Identity(), D)
    assert samples_per_input(D) == 2
    est = estimate_lipschitz(D, REAL, FAKE, generator=torch.Generator().manual_seed(0))
    norm = torch.tensor(W).norm().item()
    for key in ("lipschitz_real", "lipschitz_fake", "lipschitz_interp", "lipschitz_max"):
        assert est[key] == pytest.approx(norm, rel=1e-6)


def test_unpacked_d_is_one_sample_per_input():
    assert samples_per_input(LinearD([1.0, 2.0])) == 1


def test_build_objective_includes_packing():
    cfg = RunConfig(
        objective=ObjectiveConfig(techniques={"packing": {"m": 4}}), train=TrainConfig(batch_size=8)
    )
    obj = build_objective(cfg)
    x, y = obj.d_input(torch.zeros(8, 2), torch.zeros(8))
    assert x.shape == (2, 8) and y is None


# --- validation --------------------------------------------------------------------------------


def toy(techniques, batch_size: int = 100, **extra) -> dict:
    return {
        "data": {"name": "ring8"},
        "objective": {"techniques": techniques},
        "train": {"batch_size": batch_size, **extra},
    }


@pytest.mark.parametrize("m", [1, 0, -2])
def test_m_below_two_is_refused(m):
    with pytest.raises(
        ConfigError, match=r"recipe.yaml: objective\.techniques\.packing\.m must be an integer >= 2"
    ):
        config_from_dict(toy({"packing": {"m": m}}), "recipe.yaml")


@pytest.mark.parametrize("m", [2.5, "2", True])
def test_m_not_an_integer_is_refused(m):
    with pytest.raises(ConfigError, match=r"recipe.yaml: objective\.techniques\.packing\.m"):
        config_from_dict(toy({"packing": {"m": m}}), "recipe.yaml")


def test_m_not_dividing_the_batch_is_refused_with_the_valid_sizes():
    with pytest.raises(ConfigError) as e:
        config_from_dict(toy({"packing": {"m": 3}}, batch_size=100, n_critic=5), "recipe.yaml")
    msg = str(e.value)
    assert "objective.techniques.packing.m=3 does not divide train.batch_size=100" in msg
    assert "train.n_critic=5" in msg and "e.g. 99" in msg


def test_unknown_packing_parameter_is_refused():
    with pytest.raises(ConfigError, match=r"objective\.techniques\.packing: unknown parameter\(s\) 'k'"):
        config_from_dict(toy({"packing": {"k": 2}}), "recipe.yaml")


def test_packing_with_a_labelled_conditioning_is_refused():
    data = {
        "data": {"name": "fashion-mnist"},
        "model": {"name": "dcgan", "conditioning": "acgan"},
        "objective": {"techniques": {"packing": {"m": 2}}},
        "train": {"batch_size": 64},
    }
    with pytest.raises(ConfigError, match="gives D one label per input"):
        config_from_dict(data, "recipe.yaml")


def test_packing_with_a_family_that_cannot_build_packed_ds_is_refused(monkeypatch):
    class NoPacks:
        @staticmethod
        def validate(cfg, where):
            pass

    monkeypatch.setitem(MODELS._entries, "nopacks", NoPacks)
    data = {
        "data": {"name": "ring8"},
        "model": {"name": "nopacks"},
        "objective": {"techniques": {"packing": {}}},
    }
    with pytest.raises(
        ConfigError, match=r"the 'nopacks' family does not build its discriminator for packs.*mlp"
    ):
        config_from_dict(data, "recipe.yaml")


def test_the_mlp_and_image_families_build_packed_ds():
    assert all(MODELS.get(n).packs_d_input for n in ("mlp", "dcgan", "resnet", "sagan", "biggan"))


# --- a packed run ------------------------------------------------------------------------------


@pytest.mark.parametrize("lipschitz", ["none", "gp"])
def test_a_packed_toy_run_trains_and_logs_its_lipschitz_estimate(tmp_path, toy_cfg_dict, lipschitz):
    d = toy_cfg_dict
    d["objective"] = {"loss": "nonsaturating", "lipschitz": lipschitz, "techniques": {"packing": {"m": 4}}}
    d["train"].update(steps=30, checkpoint_every=0)
    rec = Trainer(config_from_dict(d), tmp_path).run()
    assert rec["status"] == "finished"
    assert 0 < rec["metrics"]["lipschitz_max"] < float("inf")
    assert 0 <= rec["metrics"]["hq_percent"] <= 100
