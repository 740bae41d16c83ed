"""``ganbench rankings``: the same methods ranked under several protocols (results folders), on
synthetic records whose order is known: ranks among the common methods, Kendall's τ-b (scipy's on
the same means), the rank change, the mean rank over datasets, a search folder's re-runs only."""

import json

import pytest
from scipy import stats as sps

from ganbench.cli import main
from ganbench.errors import ConfigError
from ganbench.io import write_json_atomic
from ganbench.reporting.rankings import MEAN_RANK, protocol_frame, rankings, rankings_table, write_rankings

METHODS = ("a", "b", "c", "d")


def write(results, values, name=None, extra=None):
    """values[dataset][method] = the modes of seeds 0, 1, 2."""
    for dataset, by_method in values.items():
        for method, per_seed in by_method.items():
            for seed, v in enumerate(per_seed):
                config = {
                    "seed": seed,
                    "data": {"name": dataset},
                    "objective": {"loss": method},
                    "eval": {"metrics": ["modes"]},
                    **({"name": name} if name else {}),
                    **(extra or {}),
                }
                rid = f"{dataset}-{method}-{name or ''}-s{seed}".replace(":", "_")
                record = {"run_id": rid, "status": "finished", "config": config, "metrics": {"modes": v}}
                write_json_atomic(results / rid / "record.json", record)
    return results


SHARED = {"ring8": {"a": [8, 8, 8], "b": [6, 7, 6], "c": [3, 2, 4], "d": [1, 1, 2]}}
PAPER = {"ring8": {"a": [2, 1, 2], "b": [8, 8, 8], "c": [5, 5, 6], "d": [4, 3, 3], "e": [7, 7, 7]}}


def test_ranks_tau_and_rank_change(tmp_path):
    shared = write(tmp_path / "shared", SHARED)
    paper = write(tmp_path / "paper", PAPER)  # method e is paper-only: not ranked
    r = rankings({"shared": protocol_frame(shared), "paper": protocol_frame(paper)})
    assert r.metric == "modes" and r.row_keys == ["objective.loss"]
    t = r.tables["ring8"]
    assert list(t["objective.loss"]) == ["a", "b", "c", "d"]  # the first protocol's order
    assert list(t["shared/rank"]) == [1, 2, 3, 4]
    assert list(t["paper/rank"]) == [4, 1, 2, 3]  # among a-d only: e is left out
    assert t["paper/mean"].tolist() == pytest.approx([5 / 3, 8, 16 / 3, 10 / 3])
    expected = sps.kendalltau(t["shared/mean"], t["paper/mean"])
    assert r.tau["ring8"]["paper"]["tau"] == pytest.approx(expected.statistic)
    assert r.tau["ring8"]["paper"]["tau"] == pytest.approx(0.0)  # 3 concordant, 3 discordant pairs
    shown = rankings_table(r, "ring8")
    assert list(shown["Δ rank paper"]) == ["-3", "+1", "+1", "+1"]
    assert shown["shared modes"][0] == "8 ± 0 (n=3)"


def test_mean_rank_over_datasets_and_identical_protocols_give_tau_one(tmp_path):
    values = {**SHARED, "grid25": {"a": [20, 21, 22], "b": [25, 24, 25], "c": [10, 11, 9], "d": [15, 15, 16]}}
    one = write(tmp_path / "one", values)
    two = write(tmp_path / "two", values)
    r = rankings({"x": protocol_frame(one), "y": protocol_frame(two)})
    assert set(r.tables) == {"ring8", "grid25", MEAN_RANK}
    mean = r.tables[MEAN_RANK].set_index("objective.loss")
    # ring8 ranks a1 b2 c3 d4, grid25 b1 a2 d3 c4: means a 1.5, b 1.5, c 3.5, d 3.5
    assert mean["x/mean"].to_dict() == {"a": 1.5, "b": 1.5, "c": 3.5, "d": 3.5}
    assert mean["x/rank"].to_dict() == {"a": 1, "b": 1, "c": 3, "d": 3}
    assert all(s["y"]["tau"] == pytest.approx(1.0) for s in r.tau.values())


def test_a_search_folder_counts_its_best_reruns_only(tmp_path):
    results = tmp_path / "search"
    # trial 0 of every method is terrible; the re-runs of the best trial are what is reported
    write(results, {"ring8": {m: [0, 0, 0] for m in METHODS}}, name="search:trial:0")
    write(
        results,
        {"ring8": {"a": [1, 1, 1], "b": [2, 2, 2], "c": [3, 3, 3], "d": [4, 4, 4]}},
        name="search:best:3",
    )
    df = protocol_frame(results)
    assert len(df) == 12 and set(df["cfg:name"]) == {"search:best:3"}
    r = rankings({"shared": protocol_frame(write(tmp_path / "shared", SHARED)), "search": df})
    assert list(r.tables["ring8"]["search/rank"]) == [4, 3, 2, 1]
    assert r.tau["ring8"]["search"]["tau"] == pytest.approx(-1.0)


def test_search_without_reruns_and_empty_folders_are_clear_errors(tmp_path):
    results = write(tmp_path / "search", {"ring8": {"a": [1]}}, name="search:trial:0")
    with pytest.raises(ValueError, match="best trials are not re-run"):
        protocol_frame(results)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no run records"):
        protocol_frame(tmp_path / "empty")
    shared = protocol_frame(write(tmp_path / "shared", SHARED))
    with pytest.raises(ConfigError, match="at least two"):
        rankings({"shared": shared})
    with pytest.raises(ConfigError, match="share no dataset"):
        rankings(
            {"shared": shared, "other": protocol_frame(write(tmp_path / "g", {"grid25": SHARED["ring8"]}))}
        )
    with pytest.raises(ConfigError, match="unknown row key"):
        rankings({"shared": shared, "paper": shared}, row_keys=["objective.los"])


def test_command_writes_markdown_json_and_figure(tmp_path, capsys):
    shared = write(tmp_path / "shared", SHARED)
    paper = write(tmp_path / "paper", PAPER)
    out = tmp_path / "out"
    assert main(["rankings", f"shared={shared}", f"paper={paper}", "--out", str(out)]) == 0
    text = (out / "rankings.md").read_text()
    assert "paper against shared: τ = 0.00" in text and "| a " in text
    data = json.loads((out / "rankings.json").read_text())
    assert data["metric"] == "modes" and data["datasets"]["ring8"]["kendall_tau_vs_first"]["paper"]["n"] == 4
    assert (out / "rankings.png").stat().st_size > 10_000
    assert main(["rankings", f"shared={shared}", "--out", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["rankings", f"shared={shared}", "paper", "--out", str(out)]) == 2
    assert "is not NAME=RESULTS" in capsys.readouterr().err
    assert main(["rankings", f"shared={shared}", f"x={tmp_path / 'nope'}", "--out", str(out)]) == 2
    assert "no such results folder" in capsys.readouterr().err


def test_write_rankings_returns_its_paths(tmp_path):
    paths = write_rankings(
        {"s": write(tmp_path / "s", SHARED), "p": write(tmp_path / "p", PAPER)}, tmp_path / "o", figure=False
    )
    assert set(paths) == {"markdown", "json"} and paths["markdown"].exists()


def test_a_method_one_protocol_has_not_run_on_a_dataset_is_left_out_there(tmp_path):
    shared = {**SHARED, "grid25": {"a": [20, 20, 20], "b": [10, 11, 12], "c": [5, 5, 5], "d": [1, 1, 1]}}
    partial = {**PAPER, "grid25": {"a": [1, 1, 1], "b": [2, 2, 2]}}  # c, d not run on grid25 yet
    r = rankings(
        {
            "shared": protocol_frame(write(tmp_path / "s", shared)),
            "paper": protocol_frame(write(tmp_path / "p", partial)),
        }
    )
    assert list(r.tables["grid25"]["objective.loss"]) == ["a", "b"]
    assert list(r.tables["grid25"]["paper/rank"]) == [2, 1]
    assert list(r.tables["ring8"]["objective.loss"]) == ["a", "b", "c", "d"]
    assert list(r.tables[MEAN_RANK]["objective.loss"]) == ["a", "b"]  # ranked on every dataset
