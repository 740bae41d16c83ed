"""A new Lipschitz method and a new metric, registered in this file alone, go through validation, a
trainer run, checkpoint selection, evaluation and the leaderboard: no other file needs editing
(each component owns its facts; nobody compares names)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from ganbench.config import RunConfig, config_from_dict
from ganbench.errors import ConfigError
from ganbench.evaluation.evaluator import generate
from ganbench.evaluation.metric import Output, is_better, output_info, register_metric
from ganbench.objectives.base import LipschitzMethod
from ganbench.objectives.lipschitz import input_gradients
from ganbench.registries import LIPSCHITZ, METRICS, MODELS, load_all
from ganbench.reporting.table import build_leaderboard, records_frame
from ganbench.schema import from_dict
from ganbench.training.trainer import Trainer

CALLS = {"penalty": 0}


class L1InputGradientPenalty(LipschitzMethod):
    """weight · E‖∇ₓD(x_real)‖₁: a penalty on input gradients, like R1 but with the L1 norm."""

    name = "test-l1-grad"
    needs_input_gradients = True

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def penalty(self, D, real, fake, y_real=None, y_fake=None):  # noqa: ANN001 - the base contract
        CALLS["penalty"] += 1
        return self.weight * input_gradients(D, real, y_real, create_graph=True).abs().sum(1).mean()


def spread(inputs, scale: float = 1.0) -> dict[str, float]:
    """Mean distance of the generated points from the origin, times ``scale``."""
    return {"spread": scale * float(inputs.fake_points.norm(dim=1).mean())}


@pytest.fixture
def new_components():
    load_all()
    LIPSCHITZ.register("test-l1-grad")(L1InputGradientPenalty)
    metric = register_metric("test_spread", {"fake_points"}, [Output("spread", "lower")], data_kind="points")(
        spread
    )
    CALLS["penalty"] = 0
    yield metric
    LIPSCHITZ.unregister("test-l1-grad")
    METRICS.unregister("test_spread")


def _config(toy_cfg_dict: dict, **eval_keys) -> RunConfig:
    d = copy.deepcopy(toy_cfg_dict)
    d["objective"] = {"loss": "wasserstein", "lipschitz": "test-l1-grad", "lipschitz_params": {"weight": 0.5}}
    d["train"].update(steps=20, n_critic=2, checkpoint_every=10, lipschitz_estimate_every=10)
    d["eval"] = {"n_samples": 300, "metrics": ["modes", "test_spread"], **eval_keys}
    return config_from_dict(d)


def test_validation_asks_the_new_components(new_components, toy_cfg_dict):
    cfg = _config(toy_cfg_dict, metric_params={"test_spread": {"scale": 2.0}})
    assert cfg.eval.metric_params == {"test_spread": {"scale": 2.0}}
    with pytest.raises(ConfigError, match="lipschitz_params.*'wieght'"):
        d = copy.deepcopy(toy_cfg_dict)
        d["objective"] = {"lipschitz": "test-l1-grad", "lipschitz_params": {"wieght": 1}}
        config_from_dict(d)
    with pytest.raises(ConfigError, match="metric_params.test_spread.*'sigma'"):
        _config(toy_cfg_dict, metric_params={"test_spread": {"sigma": 2.0}})
    # a family asks the method's facts: an input-gradient penalty gets no batch norm in D
    image = from_dict(
        RunConfig,
        {
            "data": {"name": "fashion-mnist"},
            "model": {"name": "dcgan"},
            "objective": {"lipschitz": "test-l1-grad"},
        },
        "test",
    )
    assert MODELS.get("dcgan").d_kwargs(image)["norm"] == "layer"


def test_trainer_selection_and_leaderboard_use_the_new_components(new_components, toy_cfg_dict, tmp_path):
    cfg = _config(toy_cfg_dict, every=10, select_best=True, selection_metric="spread")
    record = Trainer(cfg, tmp_path / "run").run()
    assert record["status"] == "finished"
    # the penalty ran on every D step (20 generator steps x n_critic 2) and nowhere else
    assert CALLS["penalty"] == 40
    # the new metric was computed at every periodic evaluation and for the reported number
    assert [e["step"] for e in record["evals"]] == [0, 10, 20]
    assert all(math.isfinite(e["spread"]) for e in record["evals"])
    # checkpoint selection followed the metric's declared direction (lower is better)
    best = min(record["evals"], key=lambda e: e["spread"])
    assert record["provenance"]["best"] == {"step": best["step"], "metric": "spread", "value": best["spread"]}
    assert is_better("spread", 1.0, 2.0) and not is_better("spread", 2.0, 1.0)
    # the reported number is the metric of the selected generator on the reported seed
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.setup()
    best_pt = tmp_path / "run" / "checkpoints" / "best.pt"
    trainer.G.load_state_dict(torch.load(best_pt, weights_only=True)["G"])
    pts, _ = generate(trainer.G, cfg.eval.n_samples, cfg.eval.seed)
    assert record["metrics"]["spread"] == pytest.approx(float(pts.norm(dim=1).mean()), rel=1e-6)
    # the leaderboard knows the new key: its header, direction and that it is a score column
    assert output_info("spread").better == "lower"
    _, numeric, _, metrics = build_leaderboard(records_frame(tmp_path), metrics=["spread", "modes"])
    assert metrics[0] == "spread" and numeric["ring8/spread/mean"].iloc[0] == record["metrics"]["spread"]
