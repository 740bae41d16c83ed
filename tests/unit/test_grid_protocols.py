"""Comparison protocols in grid files: shared (unchanged), paper (the cited table), search (draws,
applicability, validation before any run, the second stage from trial records)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganbench.errors import ConfigError
from ganbench.records import new_record, write_record
from ganbench.runners import paper
from ganbench.runners.grid import load_grid
from ganbench.runners.run import run_dir_for

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / "recipes/toy/base.yaml")


def grid_file(tmp_path: Path, **spec) -> Path:
    spec.setdefault("base", BASE)
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


SPACE = {
    "optim.lr_d": {"log_uniform": [1.0e-4, 1.0e-2]},
    "train.n_critic": {"choice": [1, 5]},
    "objective.lipschitz_params.weight": {"log_uniform": [0.01, 10.0]},
}


def search_grid(tmp_path: Path, search=None, axes=None, overrides=None, **spec) -> Path:
    s = {"trials": 3, "seed": 0, "rerun_seeds": [1, 2], "space": SPACE}
    s.update(search or {})
    return grid_file(
        tmp_path,
        protocol="search",
        axes=axes or {"objective.lipschitz": ["gp", "clip"]},
        overrides=overrides if overrides is not None else [{"when": {}, "set": {"eval.every": 500}}],
        search=s,
        **spec,
    )


# --- shared / paper ----------------------------------------------------------------------------


def test_shared_is_the_default_and_unchanged():
    """The committed toy grids expand as before (the run ids of results/toy-3seeds)."""
    grid = load_grid(ROOT / "recipes/grids/toy-3seeds.yaml")
    assert grid.protocol == "shared" and grid.search is None and len(grid.runs) == 150
    committed = {p.name for p in (ROOT / "results/toy-3seeds").iterdir() if p.is_dir()}
    assert {cfg.run_id for cfg in grid.runs} <= committed


def test_paper_protocol_applies_each_methods_cited_settings():
    grid = load_grid(ROOT / "recipes/grids/toy-paper.yaml")
    by = {(c.objective.loss, c.objective.lipschitz, c.data.name, c.seed): c for c in grid.runs}
    clip = by[("wasserstein", "clip", "ring8", 0)]
    assert (clip.optim.name, clip.optim.lr_d, clip.optim.lr_g, clip.train.n_critic) == (
        "rmsprop",
        5e-5,
        5e-5,
        5,
    )
    assert clip.objective.lipschitz_params == {"c": 0.01}
    gp = by[("wasserstein", "gp", "grid25", 2)]
    assert (gp.optim.name, gp.optim.lr_d, gp.optim.betas, gp.train.n_critic) == ("adam", 1e-4, (0.0, 0.9), 5)
    assert gp.objective.lipschitz_params == {"weight": 10.0}
    r1 = by[("nonsaturating", "r1", "ring8", 1)]
    assert (r1.optim.name, r1.optim.lr_d, r1.objective.lipschitz_params) == ("rmsprop", 1e-4, {"gamma": 10.0})
    ns = by[("nonsaturating", "none", "ring8", 0)]
    assert (ns.optim.lr_d, ns.optim.betas) == (2e-4, (0.5, 0.999))
    hinge = by[("hinge", "none", "ring8", 0)]  # none published: the shared setting stays
    assert (hinge.optim.lr_d, hinge.optim.betas) == (1e-3, (0.5, 0.9))
    assert len(grid.runs) == 150


def test_every_paper_entry_is_cited():
    for entry in paper.PAPER_SETTINGS:
        assert entry.cite and ("et al." in entry.cite or entry.cite.startswith("none published"))


def test_paper_protocol_refuses_a_method_the_table_lacks(tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "PAPER_SETTINGS", paper.PAPER_SETTINGS[:1])  # clipping only
    path = grid_file(tmp_path, protocol="paper", axes={"objective.lipschitz": ["clip", "gp"]})
    with pytest.raises(ConfigError, match=r"protocol: paper has no published settings for .*'gp'"):
        load_grid(path)


def test_unknown_protocol_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="protocol 'fair'; valid choices: shared, paper, search"):
        load_grid(grid_file(tmp_path, protocol="fair"))


# --- search: expansion -------------------------------------------------------------------------


def test_search_expands_n_trials_per_method_with_the_same_draws(tmp_path):
    grid = load_grid(search_grid(tmp_path))
    assert len(grid.runs) == 6 and set(grid.methods) == {"objective.lipschitz=gp", "objective.lipschitz=clip"}
    gp, clip = grid.methods["objective.lipschitz=gp"], grid.methods["objective.lipschitz=clip"]
    for t in range(3):
        assert gp[t].name == clip[t].name == f"search:trial:{t}"
        assert gp[t].optim.lr_d == clip[t].optim.lr_d  # common random numbers
        assert gp[t].train.n_critic == clip[t].train.n_critic
        assert 1e-4 <= gp[t].optim.lr_d <= 1e-2 and gp[t].train.n_critic in (1, 5)
        assert 0.01 <= gp[t].objective.lipschitz_params["weight"] <= 10
        assert "weight" not in clip[t].objective.lipschitz_params  # clipping takes no weight
        assert gp[t].seed == 0
    assert len({c.optim.lr_d for c in gp}) == 3  # different draws per trial


def test_search_draws_are_seeded(tmp_path):
    a = [c.optim.lr_d for c in load_grid(search_grid(tmp_path)).runs]
    b = [c.optim.lr_d for c in load_grid(search_grid(tmp_path)).runs]
    c = [c.optim.lr_d for c in load_grid(search_grid(tmp_path, search={"seed": 7})).runs]
    assert a == b and a != c


@pytest.mark.parametrize(
    "search, message",
    [
        ({"trials": 0}, r"search.trials must be an integer >= 1"),
        (
            {"budget": 3},
            r"search: unknown key\(s\) budget; valid keys: trials, seed, rerun_seeds, select, space",
        ),
        (
            {"space": {"optim.lr_d": {"normal": [0, 1]}}},
            r"unknown distribution 'normal'; valid: log_uniform, uniform, choice",
        ),
        ({"space": {"optim.lr_d": {"log_uniform": [1e-2, 1e-4]}}}, r"empty or inverted; need low < high"),
        ({"space": {"optim.lr_d": {"uniform": [0.1, 0.1]}}}, r"empty or inverted"),
        ({"space": {"optim.lr_d": {"log_uniform": [0, 1e-2]}}}, r"log_uniform needs 0 < low < high"),
        ({"space": {"train.n_critic": {"choice": []}}}, r"choice needs a non-empty list"),
        (
            {"space": {"optim.learning_rate": {"uniform": [0, 1]}}},
            r"'optim.learning_rate' is not a config key",
        ),
        (
            {"space": {"objective.lipschitz_params.wieght": {"uniform": [0, 1]}}},
            r"wieght: no run of the grid takes",
        ),
        ({"rerun_seeds": [0, 1]}, r"trials train at seed 0, which is also in search.rerun_seeds"),
        ({"select": ["modez"]}, r"'modez' is no metric's record key"),
        ({"space": {}}, r"search.space must map config keys to distributions"),
    ],
)
def test_bad_search_blocks_fail_before_any_run(tmp_path, search, message):
    with pytest.raises(ConfigError, match=message):
        load_grid(search_grid(tmp_path, search=search))


def test_search_needs_a_final_selection_evaluation(tmp_path):
    with pytest.raises(ConfigError, match="eval.every must divide train.steps"):
        load_grid(search_grid(tmp_path, overrides=[]))


def test_search_grid_has_no_seed_axis(tmp_path):
    with pytest.raises(ConfigError, match="remove the seed axis"):
        load_grid(search_grid(tmp_path, axes={"objective.lipschitz": ["gp"], "seed": [0, 1]}))


def test_search_block_needs_protocol_search(tmp_path):
    path = grid_file(tmp_path, search={"trials": 2, "space": SPACE})
    with pytest.raises(ConfigError, match="a search: block goes with protocol: search"):
        load_grid(path)


def test_bad_values_in_a_trial_are_caught_by_the_run_validation(tmp_path):
    """A drawn value the run cannot take (a packing m that does not divide the batch) fails at load."""
    path = search_grid(
        tmp_path,
        search={"space": {"train.batch_size": {"choice": [99]}}},
        overrides=[{"when": {}, "set": {"eval.every": 500, "objective.techniques": {"packing": {"m": 2}}}}],
    )
    with pytest.raises(ConfigError, match=r"packing.m=2 does not divide train.batch_size=99"):
        load_grid(path)


# --- search: the second stage ------------------------------------------------------------------


def fake_trial(cfg, results: Path, modes: int, hq: float, status: str = "finished") -> None:
    evals = [{"step": cfg.train.steps, "modes": modes, "hq_percent": hq}]
    metrics = {"modes": modes + 100, "hq_percent": hq + 100}  # the reported numbers: never used to choose
    write_record(run_dir_for(cfg, results), new_record(cfg, status, evals=evals, metrics=metrics))


def test_followups_rerun_each_methods_best_trial_by_the_selection_evaluation(tmp_path):
    grid = load_grid(search_grid(tmp_path, search={"select": ["modes", "hq_percent"]}))
    results = tmp_path / "results"
    gp, clip = grid.methods["objective.lipschitz=gp"], grid.methods["objective.lipschitz=clip"]
    for cfg, (modes, hq) in zip(gp, [(8, 50.0), (8, 70.0), (7, 99.0)], strict=True):
        fake_trial(cfg, results, modes, hq)
    fake_trial(clip[0], results, 8, 10.0)  # clip's other trials have no records yet
    stage2 = grid.followups(results)
    assert stage2.waiting == ["objective.lipschitz=clip"]
    assert stage2.best["objective.lipschitz=gp"]["trial"] == 1  # 8 modes, then the higher HQ %
    assert stage2.best["objective.lipschitz=gp"]["score"] == [8, 70.0]
    assert [c.seed for c in stage2.runs] == [1, 2]
    for c in stage2.runs:
        assert c.name == "search:best:1"
        assert (
            c.optim.lr_d == gp[1].optim.lr_d
            and c.objective.lipschitz_params == gp[1].objective.lipschitz_params
        )
        assert c.run_id not in {t.run_id for t in grid.runs}
    # once clip's trials finish (one diverged: done, ranked last), clip is re-run too
    fake_trial(clip[1], results, 8, 20.0)
    fake_trial(clip[2], results, 8, 90.0, status="diverged")
    stage2 = grid.followups(results)
    assert stage2.waiting == [] and stage2.best["objective.lipschitz=clip"]["trial"] == 1
    assert len(stage2.runs) == 4


def test_lower_is_better_metrics_select_the_smallest(tmp_path):
    grid = load_grid(
        search_grid(tmp_path, search={"select": ["reverse_kl"]}, axes={"objective.lipschitz": ["gp"]})
    )
    results = tmp_path / "r"
    for cfg, kl in zip(grid.runs, [0.5, 0.1, 0.3], strict=True):
        evals = [{"step": cfg.train.steps, "reverse_kl": kl}]
        write_record(run_dir_for(cfg, results), new_record(cfg, "finished", evals=evals))
    assert grid.followups(results).best["objective.lipschitz=gp"]["trial"] == 1


def test_the_toy_search_grid_loads():
    grid = load_grid(ROOT / "recipes/grids/toy-search.yaml")
    assert len(grid.runs) == 2 * 5 * 5 * 10 and len(grid.methods) == 50
    clip = next(c for c in grid.runs if c.objective.lipschitz == "clip")
    assert set(clip.objective.lipschitz_params) == {"c"}


def test_a_grid_with_an_axis_of_mappings_leaves_the_rows_to_the_leaderboard() -> None:
    # records hold objective.techniques.ada.target etc., never objective.techniques itself
    from ganbench.runners.grid import load_grid

    grid = load_grid("recipes/grids/fmnist-2k-augment.yaml")
    assert grid.row_keys() is None
    assert load_grid("recipes/grids/fmnist-translation-cpu.yaml").row_keys() == [
        "objective.loss",
        "objective.lipschitz",
    ]
