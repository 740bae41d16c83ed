"""Trainer: determinism, resume equivalence, divergence, checkpoint safety."""

import copy
import time

import pytest
import torch

from ganbench.config import config_from_dict
from ganbench.errors import CheckpointMismatchError
from ganbench.records import read_record
from ganbench.training.checkpoint import checkpoint_path, load_checkpoint
from ganbench.training.trainer import Trainer


def _cfg(d, **sets):
    d = copy.deepcopy(d)
    for key, value in sets.items():
        section, name = key.split("__")
        d.setdefault(section, {})[name] = value
    return config_from_dict(d)


def _final_weights(run_dir):
    return load_checkpoint(checkpoint_path(run_dir))["G"]


def test_training_is_deterministic(tmp_path, toy_cfg_dict):
    cfg = _cfg(toy_cfg_dict)
    a = Trainer(cfg, tmp_path / "a").run()
    b = Trainer(cfg, tmp_path / "b").run()
    assert a["status"] == b["status"] == "finished"
    assert a["metrics"] == b["metrics"]
    wa, wb = _final_weights(tmp_path / "a"), _final_weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [h["d_loss"] for h in a["history"]] == [h["d_loss"] for h in b["history"]]


@pytest.mark.parametrize(
    "loss,lipschitz,ema",
    [
        ("nonsaturating", "none", None),
        ("wasserstein", "gp", 0.99),
        ("hinge", "sn", None),
        ("wasserstein", "clip", None),
    ],
)
def test_resume_equals_uninterrupted_run(tmp_path, toy_cfg_dict, loss, lipschitz, ema):
    cfg = _cfg(
        toy_cfg_dict,
        objective__loss=loss,
        objective__lipschitz=lipschitz,
        train__ema_decay=ema,
        train__n_critic=2,
    )
    full = Trainer(cfg, tmp_path / "full").run()
    # interrupted after step 20 (a checkpoint), then resumed by a fresh trainer
    assert Trainer(cfg, tmp_path / "resumed", stop_at=20).run() is None
    assert read_record(tmp_path / "resumed") is None
    resumed = Trainer(cfg, tmp_path / "resumed").run()
    assert resumed["metrics"] == full["metrics"]
    assert resumed["history"] == full["history"]
    wf, wr = _final_weights(tmp_path / "full"), _final_weights(tmp_path / "resumed")
    assert all(torch.equal(wf[k], wr[k]) for k in wf)


def test_divergence_is_recorded_not_raised(tmp_path, toy_cfg_dict):
    # an absurd learning rate with an unbounded loss blows the weights up to inf/NaN
    cfg = _cfg(
        toy_cfg_dict, objective__loss="wasserstein", optim__lr_d=1e12, optim__lr_g=1e12, optim__name="rmsprop"
    )
    rec = Trainer(cfg, tmp_path).run()
    assert rec["status"] == "diverged"
    assert "non-finite" in rec["error"]
    assert read_record(tmp_path)["status"] == "diverged"


def test_checkpoint_from_another_config_is_refused(tmp_path, toy_cfg_dict):
    cfg = _cfg(toy_cfg_dict)
    Trainer(cfg, tmp_path, stop_at=20).run()
    other = config_from_dict({**toy_cfg_dict, "seed": 1})
    with pytest.raises(CheckpointMismatchError, match="belongs to config"):
        Trainer(other, tmp_path).run()


def test_record_contents(tmp_path, toy_cfg_dict):
    cfg = _cfg(toy_cfg_dict, train__ema_decay=0.9)
    rec = Trainer(cfg, tmp_path).run()
    assert rec["run_id"] == cfg.run_id and rec["config"]["seed"] == 0
    assert {"modes", "hq_percent", "reverse_kl", "lipschitz_max"} <= set(rec["metrics"])
    assert 0 < 60 / rec["compute"]["steps_per_s"] <= rec["compute"]["wall_time_s"]  # train time ≤ wall time
    prov = rec["provenance"]
    assert prov["eval_seed"] == cfg.eval.seed and prov["n_fake"] == 500 and prov["evaluated"] == "ema"
    assert "torch" in prov["versions"]
    assert (tmp_path / "samples.png").exists() and (tmp_path / "samples.npy").exists()
    assert [h["step"] for h in rec["history"]] == list(range(10, 61, 10))


def test_best_checkpoint_selection_uses_selection_seed(tmp_path, toy_cfg_dict):
    cfg = _cfg(toy_cfg_dict, eval__every=20, eval__select_best=True, eval__selection_metric="hq_percent")
    rec = Trainer(cfg, tmp_path).run()
    assert [e["step"] for e in rec["evals"]] == [0, 20, 40, 60]  # step 0: the untrained G
    best = max(rec["evals"], key=lambda e: e["hq_percent"])
    assert rec["provenance"]["best"]["step"] == best["step"]
    assert rec["provenance"]["evaluated"] == "best"


def test_resume_restores_term_state(tmp_path, toy_cfg_dict):
    # historical averaging keeps running parameter means: they must survive a resume
    d = {
        **toy_cfg_dict,
        "objective": {**toy_cfg_dict["objective"], "techniques": {"historical_averaging": {}}},
    }
    cfg = config_from_dict(d)
    full = Trainer(cfg, tmp_path / "full").run()
    Trainer(cfg, tmp_path / "resumed", stop_at=20).run()
    resumed = Trainer(cfg, tmp_path / "resumed").run()
    assert resumed["history"] == full["history"]


def test_throughput_leaves_out_the_periodic_evaluations(tmp_path, toy_cfg_dict, monkeypatch):
    """``steps_per_s`` is training speed: a slow periodic evaluation must not lower it."""
    cfg = _cfg(toy_cfg_dict, eval__every=20)
    evaluate = Trainer.evaluate

    def slow_evaluate(self, G, seed):
        time.sleep(0.5)
        return evaluate(self, G, seed)

    monkeypatch.setattr(Trainer, "evaluate", slow_evaluate)
    rec = Trainer(cfg, tmp_path).run()
    compute = rec["compute"]
    assert compute["periodic_eval_s"] >= 4 * 0.5  # steps 0, 20, 40, 60
    train_s = cfg.train.steps / compute["steps_per_s"]
    assert train_s < compute["wall_time_s"] - compute["periodic_eval_s"]
    assert train_s < 1.5  # 60 toy steps; counting the evaluations would make it > 2
