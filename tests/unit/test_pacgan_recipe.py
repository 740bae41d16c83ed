"""The PacGAN toy protocol recipes, pinned to the authors' code: fjxmlzn/PacGAN @ 190853e,
synthetic_data_experiments/{2DRing,2DGrid}_GAN&PacGAN/config.py (global_config), pacgan_task.py
(the networks, the batch-norm update, the optimiser), PacGAN/pacgan/bricks.py (the losses, the packed
fake batch), PacGAN/pacgan/datasets.py + streams.py (the data and the batch of packs),
PacGAN/pacgan/extensions.py (the evaluation). Each assertion cites the setting it checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ganbench.config import load_config
from ganbench.data.toy import Grid25, Ring8
from ganbench.models.mlp import Maxout
from ganbench.registries import MODELS, load_all
from ganbench.runners.grid import load_grid

load_all()
ROOT = Path(__file__).resolve().parents[2]
RECIPES = {"ring8": ROOT / "recipes/toy/pacgan-ring.yaml", "grid25": ROOT / "recipes/toy/pacgan-grid.yaml"}


@pytest.mark.parametrize("dataset", ["ring8", "grid25"])
def test_recipe_pins_every_setting_of_their_config(dataset):
    cfg = load_config(RECIPES[dataset])
    assert cfg.data.name == dataset
    m, o, t, e = cfg.model, cfg.objective, cfg.train, cfg.eval
    assert m.name == "mlp"
    assert m.z_dim == 2  # "num_zdim": 2, "num_zmode": 1, "z_mode_std": 1.0 -> one N(0, I) in 2-D
    assert m.g == {
        "width": 400,  # "gen_hidden_size": 400
        "depth": 4,  # pacgan_task.py decoder dims [z, 400, 400, 400, 400, x]: 4 hidden layers
        "activation": "relu",  # "gen_activation": Rectifier
        "batch_norm": True,  # each hidden layer Sequence([BatchNormalization, Rectifier])
        "batch_norm_momentum": 0.05,  # bn_updates: m * 0.05 + p * 0.95
        "init_std": 0.02,  # "weights_init_std": 0.02, "biases_init": Constant(0.0)
    }
    assert m.d == {
        "width": 200,  # "disc_hidden_size": 200
        "depth": 3,  # discriminator_h1..h3 LinearMaxout, then discriminator_out Linear(200, 1)
        "activation": "maxout",
        "maxout_pieces": 5,  # "disc_maxout_pieces": 5
        "init_std": 0.02,  # "weights_init_std": 0.02
    }
    # bricks.py: D softplus(-data) + softplus(sample); G softplus(-sample) (the data term has no G gradient)
    assert (o.loss, o.lipschitz, o.techniques) == ("nonsaturating", "none", {})  # num_packing 1: GAN
    assert cfg.optim.name == "adam"
    assert cfg.optim.lr_g == cfg.optim.lr_d == 1e-4  # "learning_rate": 1e-4, one step_rule for both
    assert cfg.optim.betas == (0.8, 0.999)  # "beta1": 0.8; beta2 unset: Blocks' Adam default
    assert t.batch_size == 100  # "batch_size": 100
    assert t.n_critic == 1  # ali_algorithm: one D and one G update per batch
    assert t.steps == 400 * 100_000 // 100  # "num_epoch": 400 of "num_sample": 100000 at batch 100
    assert e.n_samples == 2500  # "num_log_figure_sample": 2500
    assert e.metrics == ["modes"]  # extensions.py MetricLogger: modes, good points (dis_thre 3), ...


def test_their_mixtures_are_ganbenchs():
    """config.py MEANS / VARIANCES: ring cos/sin(2πi/8) with 0.01² I; grid {-4,-2,0,2,4}² with 0.05² I."""
    ring = Ring8()
    theirs = np.array([[np.cos(i * np.pi * 2 / 8), np.sin(i * np.pi * 2 / 8)] for i in range(8)])
    assert np.allclose(ring.centres, theirs) and ring.sigma == 0.01
    grid = Grid25()
    theirs = np.array([[i, j] for i in range(-4, 5, 2) for j in range(-4, 5, 2)], dtype=float)
    assert sorted(map(tuple, grid.centres)) == sorted(map(tuple, theirs)) and grid.sigma == 0.05


class Points:
    kind = "points"
    sample_shape = (2,)
    num_classes = None


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_networks_are_theirs(m):
    """pacgan_task.py: LinearMaxout(input_dim=num_xdim * num_packing, 200, 5 pieces) ×3 then Linear(200, 1);
    decoder Linear 2→400→400→400→400→2 with batch norm + ReLU on the hidden layers."""
    sets = [] if m == 1 else [f"objective.techniques={{packing: {{m: {m}}}}}", f"train.batch_size={100 * m}"]
    cfg = load_config(RECIPES["ring8"], sets)
    G, D = MODELS.get("mlp").build(cfg, Points())
    maxouts = [x for x in D.modules() if isinstance(x, Maxout)]
    assert [(x.linear.in_features, x.n_out, x.pieces) for x in maxouts] == [
        (2 * m, 200, 5),
        (200, 200, 5),
        (200, 200, 5),
    ]
    assert D.net[-1].in_features == 200 and D.net[-1].out_features == 1
    linears = [x for x in G.modules() if isinstance(x, nn.Linear)]
    assert [(x.in_features, x.out_features) for x in linears] == [
        (2, 400),
        (400, 400),
        (400, 400),
        (400, 400),
        (400, 2),
    ]
    assert sum(isinstance(x, nn.BatchNorm1d) for x in G.modules()) == 4
    assert sum(isinstance(x, nn.ReLU) for x in G.modules()) == 4
    assert G(torch.randn(100, 2)).shape == (100, 2)


def test_table1_grid_is_their_test_config():
    """config.py test_config: num_packing [1, 2, 3, 4] on both mixtures; their batch is 100 packs
    (streams.py batches packed rows; bricks.py concatenates m fake batches of that size), so PacGAN-m
    runs 100·m samples per batch. They run 10 trials (range(0, 10)); ganbench 5 seeds per cell."""
    grid = load_grid(ROOT / "recipes/grids/pacgan-table1.yaml")
    assert len(grid.runs) == 2 * 4 * 5
    cells = {}
    for cfg in grid.runs:
        m = cfg.objective.techniques.get("packing", {}).get("m", 1)
        assert cfg.train.batch_size == 100 * m
        assert cfg.train.steps == 400_000 and cfg.optim.betas == (0.8, 0.999)
        cells.setdefault((cfg.data.name, m), set()).add(cfg.seed)
    assert cells == {(d, m): {0, 1, 2, 3, 4} for d in ("ring8", "grid25") for m in (1, 2, 3, 4)}
    # the first seed of every cell comes first (the grid runs in file order)
    assert {cfg.seed for cfg in grid.runs[:8]} == {0}


def test_short_budget_grid_differs_only_in_its_budget():
    short = load_grid(ROOT / "recipes/grids/pacgan-table1-5epochs.yaml")
    full = {
        (c.data.name, c.train.batch_size): c
        for c in load_grid(ROOT / "recipes/grids/pacgan-table1.yaml").runs
        if c.seed == 0
    }
    assert len(short.runs) == 8
    for cfg in short.runs:
        ref = full[(cfg.data.name, cfg.train.batch_size)]
        assert cfg.train.steps == 5_000 and cfg.eval.every == 500
        a, b = cfg.to_dict(), ref.to_dict()
        for d in (a, b):
            d["train"].pop("steps"), d["train"].pop("checkpoint_every"), d["eval"].pop("every")
        assert a == b
