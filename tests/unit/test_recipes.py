"""The shipped recipes and grids: every one validates and expands (no training, no data files).

Recipes are checked against the paper hyperparameters they cite, their networks are built at full
width with a stand-in dataset of the recipe's shape, and each grid expands to its documented number
of runs with unique run ids and one budget (steps, batch, optimiser, evaluation) shared by all runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

from ganbench.cli import main
from ganbench.config import load_config, load_recipe_dict
from ganbench.errors import ConfigError
from ganbench.registries import DATASETS, MODELS, load_all
from ganbench.runners.grid import load_grid

load_all()

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
GRID_DIR = RECIPES / "grids"
# recipes/extractors holds the classifier's training recipe (not a RunConfig); recipes/grids the grids
RUN_RECIPES = sorted(p for p in RECIPES.rglob("*.yaml") if p.parent.name not in ("grids", "extractors"))
IMAGE_RECIPES = [p for p in RUN_RECIPES if p.parent.name != "toy"]


def _task(path: Path) -> str:
    """The recipe's task, asked of its model family (translation families build other networks)."""
    return getattr(MODELS.get(load_recipe_dict(path)["model"]["name"]), "task", "generation")


GENERATION_RECIPES = [p for p in IMAGE_RECIPES if _task(p) == "generation"]
TRANSLATION_RECIPES = [p for p in IMAGE_RECIPES if _task(p) == "translation"]
GRIDS = sorted(GRID_DIR.glob("*.yaml"))


def rel(path: Path) -> str:
    return str(path.relative_to(RECIPES))


# --- recipes ----------------------------------------------------------------------------------

# The recipes taken from the papers (checked against them below).
EXPECTED_IMAGE_RECIPES = {
    "fmnist/dcgan.yaml",
    "fmnist/resnet.yaml",
    "fmnist/sagan.yaml",
    "fmnist/biggan.yaml",
    "cifar10/dcgan.yaml",
    "cifar10/resnet.yaml",
    "cifar10/sagan.yaml",
    "cifar10/biggan.yaml",
    "celeba/dcgan.yaml",
    "celeba/resnet.yaml",
    "stl10/resnet.yaml",
    "stacked-fmnist/dcgan.yaml",
}

# The optimiser / loss settings each family's recipes take from its paper (see the YAML comments).
PAPER = {
    "dcgan": {  # Radford et al. 2016, §4
        "cite": "Radford",
        "optim": (2e-4, 2e-4, (0.5, 0.999)),
        "loss": "nonsaturating",
        "n_critic": 1,
        "batch": {"fashion-mnist": 128, "cifar10": 128, "celeba": 128, "stacked-fmnist": 64},
    },
    "resnet": {  # Miyato et al. 2018 (SNGAN) + sngan_projection configs
        "cite": "Miyato",
        "optim": (2e-4, 2e-4, (0.0, 0.9)),
        "loss": "hinge",
        "n_critic": 5,
        "batch": 64,
    },
    "sagan": {  # Zhang et al. 2019: TTUR
        "cite": "Zhang",
        "optim": (1e-4, 4e-4, (0.0, 0.9)),
        "loss": "hinge",
        "n_critic": 1,
        "batch": 64,
    },
    "biggan": {  # Brock et al. 2019 + BigGAN-PyTorch's CIFAR-10 script
        "cite": "Brock",
        "optim": (2e-4, 2e-4, (0.0, 0.999)),
        "loss": "hinge",
        "n_critic": 4,
        "batch": 50,
    },
}


def test_recipe_inventory():
    # derived recipes (``base: dcgan.yaml`` with another budget) may sit beside the paper ones
    assert EXPECTED_IMAGE_RECIPES <= {rel(p) for p in IMAGE_RECIPES}
    assert {rel(p) for p in RUN_RECIPES if p.parent.name == "toy"} == {
        "toy/base.yaml",
        "toy/ring8.yaml",
        "toy/grid25.yaml",
        "toy/pacgan-base.yaml",
        "toy/pacgan-ring.yaml",
        "toy/pacgan-grid.yaml",
    }


@pytest.mark.parametrize("path", RUN_RECIPES, ids=rel)
def test_recipe_validates(path):
    cfg = load_config(path)
    cfg.validate(str(path))  # idempotent
    assert cfg.run_id.startswith(f"{cfg.data.name}-{cfg.model.name}-")
    assert cfg.eval.seed != cfg.eval.selection_seed
    # data.split and data.params are checked by validation, without files
    dataset = DATASETS.get(cfg.data.name)
    if dataset.splits is not None:
        assert cfg.data.split in dataset.splits, (cfg.data.split, dataset.splits)
    dataset.check_config(cfg.data, str(path))


@pytest.mark.parametrize("path", sorted(RECIPES / p for p in EXPECTED_IMAGE_RECIPES), ids=rel)
def test_image_recipe_protocol(path):
    """Paper hyperparameters, a citation, and the evaluation protocol of every image recipe."""
    cfg = load_config(path)
    family = cfg.model.name
    paper = PAPER[family]
    text = path.read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert paper["cite"] in header and re.search(r"\b20\d\d\b", header), f"{path}: no citation"
    assert re.search(r"§|appendix|configs/|\.sh|config\.py", header), f"{path}: no section/source named"
    assert (cfg.optim.name, cfg.optim.lr_g, cfg.optim.lr_d, tuple(cfg.optim.betas)) == (
        "adam",
        *paper["optim"],
    )
    assert cfg.objective.loss == paper["loss"]
    assert cfg.train.n_critic == paper["n_critic"]
    batch = paper["batch"]
    assert cfg.train.batch_size == (batch[cfg.data.name] if isinstance(batch, dict) else batch)
    if family == "biggan":
        assert cfg.objective.techniques == {"ortho_reg": {"weight": 1e-4}}
        assert cfg.train.ema_decay == 0.9999 and cfg.eval.use_ema
        assert cfg.model.conditioning == "projection"
    else:
        assert cfg.train.ema_decay is None and not cfg.objective.techniques
    if family in ("resnet", "sagan", "biggan"):  # spectral norm in D by design; no extra method
        assert cfg.model.d.get("sn", True) and cfg.objective.lipschitz == "none"
    # evaluation: the dataset's extractor, periodic, best checkpoint on another seed
    assert cfg.data.resolution is not None  # so validation checks the architecture plan
    assert cfg.eval.extractor == DATASETS.get(cfg.data.name).default_extractor
    assert cfg.eval.extractor == (
        "fmnist-classifier" if cfg.data.name in ("fashion-mnist", "stacked-fmnist") else "inception"
    )
    assert 0 < cfg.eval.every < cfg.train.steps and cfg.train.steps % cfg.eval.every == 0
    assert cfg.eval.select_best and cfg.eval.selection_seed not in (cfg.eval.seed, cfg.seed)
    primary = "stacked_modes" if cfg.data.name == "stacked-fmnist" else "fid"
    assert cfg.eval.selection_metric == primary and primary in cfg.eval.metrics
    assert ("intra_fid" in cfg.eval.metrics) == (cfg.model.conditioning != "none")
    if cfg.data.name == "stacked-fmnist":
        assert cfg.eval.n_samples == 25600  # docs/protocols.md


def _stand_in_data(cfg):
    """What family.build reads from a dataset, from the dataset class alone (no files)."""
    dataset = DATASETS.get(cfg.data.name)
    if cfg.data.channels is not None:
        channels = cfg.data.channels
    elif cfg.data.name == "stacked-fmnist":
        channels = 3
    else:
        channels = dataset.native[0]
    classes = 1000 if cfg.data.name == "stacked-fmnist" else getattr(dataset, "classes", None)
    res = cfg.data.resolution
    return SimpleNamespace(
        kind="images", name=cfg.data.name, sample_shape=(channels, res, res), num_classes=classes
    )


@pytest.mark.parametrize("path", TRANSLATION_RECIPES, ids=rel)
def test_translation_recipe_networks_build(path):
    """Full-width translators and discriminators of every translation recipe map shapes right."""
    cfg = load_config(
        path, ["data.root=/nonexistent"] if load_recipe_dict(path)["data"].get("root", 1) is None else []
    )
    res = cfg.data.resolution
    c = 3 if cfg.data.name.startswith("translation-") else 1
    data = SimpleNamespace(input_shape=(c, res, res), sample_shape=(c, res, res))
    torch.manual_seed(0)
    nets = MODELS.get(cfg.model.name).build(cfg, data)
    a = torch.randn(1, c, res, res)
    with torch.no_grad():
        b = nets["G"].eval()(a)
        assert b.shape == a.shape
        d = nets["D"](b, a) if "D" in nets else nets["D_B"](b)
        assert d.dim() == 3 and d.shape[0] == 1  # a map of patch logits
    assert {"pix2pix": {"G", "D"}, "cyclegan": {"G", "F", "D_A", "D_B"}}[cfg.model.name] == set(nets)


# Full-width networks whose CPU forward pass takes tens of seconds (StyleGAN3-T at the paper's 512
# channels in all 14 layers, 36-52 px: 27 s at load 3.5): built in the slow test stage
HEAVY_BUILDS = {"fmnist/stylegan3-t.yaml"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if rel(p) in HEAVY_BUILDS else p for p in GENERATION_RECIPES],
    ids=rel,
)
def test_image_recipe_networks_build(path):
    """Full-width G and D of every recipe build and map shapes right (batch of 2, no training)."""
    cfg = load_config(path)
    data = _stand_in_data(cfg)
    torch.manual_seed(0)
    G, D = MODELS.get(cfg.model.name).build(cfg, data)
    y = torch.tensor([0, 1]) if cfg.model.conditioning != "none" else None
    with torch.no_grad():
        x = G.eval()(torch.randn(2, cfg.model.z_dim), y)
        assert x.shape == (2, *data.sample_shape)
        assert D.eval()(x, y).shape == (2,)


# --- grids ------------------------------------------------------------------------------------

EXPECTED_RUNS = {
    "toy.yaml": 50,
    "toy-3seeds.yaml": 150,
    "toy-budget.yaml": 150,  # toy.yaml at 10x the budget x 3 seeds: the curves, the converged reference
    "fmnist.yaml": 36,
    "fmnist-conditional.yaml": 20,
    "stacked-fmnist.yaml": 27,
    "fmnist-smoke.yaml": 36,
    "fmnist-conditional-smoke.yaml": 20,
    "stacked-fmnist-smoke.yaml": 9,
    "fmnist-conditional-dcgan-cpu.yaml": 3,
    "pacgan-table1.yaml": 40,
    "pacgan-table1-5epochs.yaml": 8,
    "toy-paper.yaml": 150,
    "toy-search.yaml": 500,
    "fmnist-growing.yaml": 27,  # dcgan, progan, stylegan × 3 losses × 3 Lipschitz methods
    "fmnist-growing-smoke.yaml": 2,  # progan, stylegan
    "fmnist-translation.yaml": 18,  # pix2pix on edges, cyclegan on sneaker2boot × 3 losses × 3 Lipschitz
    "fmnist-translation-cpu.yaml": 18,
    "fmnist-translation-smoke.yaml": 2,
    "fmnist-2k-augment.yaml": 3,  # no augmentation, ada, diffaugment
}
# Translation grids match budgets within a task (checked below), not across Pix2Pix and CycleGAN.
TRANSLATION_GRIDS = (
    "fmnist-translation.yaml",
    "fmnist-translation-cpu.yaml",
    "fmnist-translation-smoke.yaml",
)
# Settings a grid varies by design: its protocol gives each method its own (paper: the cited table;
# search: the draws), PacGAN's batch is 100 packs (100·m samples).
UNMATCHED = {
    "toy-paper.yaml": ("optim", "train.n_critic"),
    "toy-search.yaml": ("optim", "train.n_critic", "train.batch_size"),
    "pacgan-table1.yaml": ("train.batch_size",),
    "pacgan-table1-5epochs.yaml": ("train.batch_size",),
    # each family keeps its paper's optimiser; ProGAN its EMA and (Wasserstein rows) ε-drift
    "fmnist-growing.yaml": ("optim", "train.ema_decay", "objective.techniques"),
    # the augmentation technique is what the grid compares
    "fmnist-2k-augment.yaml": ("objective.techniques",),
}
# Config sections every run of a grid shares: the matched budget and evaluation.
MATCHED = ("train.steps", "train.batch_size", "train.n_critic", "train.ema_decay", "optim", "eval")
MATCHED_IMAGES = (*MATCHED, "data", "model.z_dim", "objective.techniques", "objective.loss_params")


def _get(cfg, dotted: str):
    node = cfg.to_dict()
    for part in dotted.split("."):
        node = node[part]
    return node


@pytest.fixture(scope="module")
def grids():
    return {p.name: load_grid(p) for p in GRIDS}


def test_grid_inventory():
    assert {p.name for p in GRIDS} == set(EXPECTED_RUNS)


@pytest.mark.parametrize("name", sorted(EXPECTED_RUNS))
def test_grid_expands_with_unique_ids_and_matched_budget(grids, name):
    grid = grids[name]
    ids = [c.run_id for c in grid.runs]
    assert len(ids) == EXPECTED_RUNS[name]
    assert len(set(ids)) == len(ids)
    assert len({c.config_hash for c in grid.runs}) == len(ids)
    assert [c.run_id for c in load_grid(GRID_DIR / name).runs] == ids  # stable
    keys = MATCHED if name.startswith(("toy", "pacgan")) else MATCHED_IMAGES
    by_task = {}
    for c in grid.runs:  # a translation grid's tasks each have their own budget
        by_task.setdefault(c.data.name if name in TRANSLATION_GRIDS else "", []).append(c)
    for runs in by_task.values():
        for key in (k for k in keys if k not in UNMATCHED.get(name, ())):
            values = {yaml.safe_dump(_get(c, key)) for c in runs}
            assert len(values) == 1, f"{name}: {key} differs across runs: {values}"
    # every value of every axis is in some run (nothing silently dropped)
    spec = yaml.safe_load((GRID_DIR / name).read_text())
    for key, values in spec["axes"].items():
        seen = {yaml.safe_dump(_get(c, key)) for c in grid.runs}
        missing = [v for v in values if yaml.safe_dump(v) not in seen]
        assert not missing, f"{name}: {key} values {missing} in no run"


def _fmnist_widths(arch: str) -> tuple:
    recipe = load_recipe_dict(RECIPES / "fmnist" / f"{arch}.yaml")
    return recipe["model"]["g"].get("ch"), recipe["model"]["d"].get("ch")


def test_fmnist_grid_structure(grids):
    grid = grids["fmnist.yaml"]
    combos = {(c.model.name, c.objective.loss, c.objective.lipschitz) for c in grid.runs}
    assert len(combos) == 36
    norms = {"none": "batch", "gp": "layer", "sn": "none"}
    for c in grid.runs:
        assert c.model.conditioning == "none" and "intra_fid" not in c.eval.metrics
        assert c.eval.extractor == "fmnist-classifier" and c.eval.every > 0 and c.eval.select_best
        # the networks the benchmark measures: the fmnist recipes' widths
        assert (c.model.g["ch"], c.model.d["ch"]) == _fmnist_widths(c.model.name)
        if c.model.name == "dcgan":
            assert c.model.d["norm"] == norms[c.objective.lipschitz]
        else:  # the Lipschitz axis alone decides D's normalisation
            assert c.model.d["sn"] is False


def test_fmnist_grid_needs_its_overrides(tmp_path):
    """Without the override, DCGAN's batch-norm D meets the gradient penalty and the grid is refused."""
    spec = yaml.safe_load((GRID_DIR / "fmnist.yaml").read_text())
    spec["overrides"] = [
        o for o in spec["overrides"] if o["when"] != {"model.name": "dcgan", "objective.lipschitz": "gp"}
    ]
    p = tmp_path / "fmnist.yaml"
    p.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=r"model\.name=dcgan.*objective\.lipschitz=gp.*batch norm"):
        load_grid(p)


# smoke grid -> (the grid it mirrors, the config keys that name a run in both)
SMOKE_OF = {
    "fmnist-smoke.yaml": ("fmnist.yaml", ("model.name", "objective.loss", "objective.lipschitz")),
    "fmnist-conditional-smoke.yaml": (
        "fmnist-conditional.yaml",
        ("model.name", "model.conditioning", "objective.loss"),
    ),
    "stacked-fmnist-smoke.yaml": ("stacked-fmnist.yaml", ("objective.loss", "objective.lipschitz")),
}


@pytest.mark.parametrize("smoke_name", sorted(SMOKE_OF))
def test_smoke_grid_mirrors_its_grid(grids, smoke_name):
    full_name, keys = SMOKE_OF[smoke_name]
    full = yaml.safe_load((GRID_DIR / full_name).read_text())
    smoke = yaml.safe_load((GRID_DIR / smoke_name).read_text())
    # the same axes (a smoke grid may run fewer seeds) and the same structure of overrides
    assert {k: v for k, v in smoke["axes"].items() if k != "seed"} == {
        k: v for k, v in full["axes"].items() if k != "seed"
    }
    assert [o["when"] for o in smoke["overrides"]] == [o["when"] for o in full["overrides"]]
    base = grids[smoke_name].runs[0]
    assert base.train.steps <= 300 and base.eval.n_samples <= 2560
    assert base.eval.n_real is None or base.eval.n_real <= 5000
    assert base.runtime.device == "cpu"
    assert base.eval.every and base.train.steps // base.eval.every >= 2  # curves have points
    # the full grid's evaluation, only smaller
    full_base = grids[full_name].runs[0]
    assert base.eval.metrics == full_base.eval.metrics
    assert base.eval.selection_metric == full_base.eval.selection_metric
    assert base.eval.extractor == full_base.eval.extractor
    full_ids = {tuple(_get(c, k) for k in keys) for c in grids[full_name].runs}
    smoke_ids = {tuple(_get(c, k) for k in keys) for c in grids[smoke_name].runs}
    assert smoke_ids == full_ids


def test_conditional_grid(grids):
    grid = grids["fmnist-conditional.yaml"]
    pairs = {(c.model.name, c.model.conditioning) for c in grid.runs}
    assert pairs == {
        ("dcgan", "concat"),
        ("dcgan", "acgan"),
        ("dcgan", "projection"),
        ("resnet", "concat"),
        ("resnet", "acgan"),
        ("resnet", "projection"),
        ("sagan", "acgan"),
        ("sagan", "projection"),
        ("biggan", "acgan"),
        ("biggan", "projection"),
    }
    assert all("intra_fid" in c.eval.metrics and c.objective.lipschitz == "sn" for c in grid.runs)
    # the unconditional grid's budget and evaluation, plus intra-FID
    uncond = grids["fmnist.yaml"].runs[0]
    for key in ("train.steps", "train.batch_size", "train.n_critic", "optim", "data", "model.z_dim"):
        assert _get(grid.runs[0], key) == _get(uncond, key), key
    ev_c, ev_u = grid.runs[0].to_dict()["eval"], uncond.to_dict()["eval"]
    assert ev_c.pop("metrics") == [*ev_u.pop("metrics"), "intra_fid"] and ev_c == ev_u


def test_stacked_grid(grids):
    grid = grids["stacked-fmnist.yaml"]
    recipe = load_config(RECIPES / "stacked-fmnist" / "dcgan.yaml")
    combos = {}
    for c in grid.runs:
        combos.setdefault((c.objective.loss, c.objective.lipschitz), set()).add(c.seed)
        assert c.data == recipe.data and c.eval == recipe.eval and c.train == recipe.train
        assert "stacked_modes" in c.eval.metrics and c.eval.n_samples == 25600
    assert len(combos) == 9 and all(seeds == {0, 1, 2} for seeds in combos.values())


def test_cli_dry_run_lists_the_fmnist_grid(tmp_path, capsys):
    assert main(["grid", str(GRID_DIR / "fmnist.yaml"), "--dry-run", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "grid fmnist: 36 runs, 0 already done, 36 to run" in out
    assert out.count("fashion-mnist-biggan-wasserstein-gp-s0-") == 1
    assert len([line for line in out.splitlines() if line.strip().startswith("run ")]) == 36
