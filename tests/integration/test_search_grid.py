"""protocol: search end to end through the CLI: trials, then the best trial's re-runs in the same
command, idempotent on a second call; the search leaderboard (table, JSON, figure)."""

import json

import yaml

from ganbench.cli import main
from ganbench.records import iter_records


def test_search_grid_runs_trials_then_reruns_and_writes_its_leaderboard(tmp_path, toy_cfg_dict, capsys):
    base = dict(toy_cfg_dict)
    base["train"] = {**base["train"], "steps": 20, "checkpoint_every": 0, "lipschitz_estimate_every": 0}
    base["eval"] = {**base["eval"], "every": 10, "n_samples": 200}
    spec = {
        "name": "s",
        "base": base,
        "protocol": "search",
        "axes": {"objective.lipschitz": ["none", "gp"]},
        "search": {
            "trials": 2,
            "seed": 0,
            "rerun_seeds": [5, 6],
            "select": ["modes", "hq_percent"],
            "space": {
                "optim.lr_d": {"log_uniform": [1.0e-4, 1.0e-2]},
                "objective.lipschitz_params.weight": {"uniform": [0.1, 1.0]},
            },
        },
    }
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(spec))
    results = tmp_path / "results"
    assert main(["grid", str(path), "--results", str(results), "--leaderboard"]) == 0
    out = capsys.readouterr().out
    assert "grid s: 4 runs, 0 already done, 4 to run" in out
    assert "re-run at seeds [5, 6]: 4 runs for 2 methods" in out
    records = [rec for _, rec in iter_records(results)]
    names = sorted(r["config"]["name"] for r in records)
    assert names.count("search:trial:0") + names.count("search:trial:1") == 4
    best = [r for r in records if r["config"]["name"].startswith("search:best:")]
    assert sorted(r["config"]["seed"] for r in best) == [5, 5, 6, 6]
    # a second call finds everything done: nothing runs again
    assert main(["grid", str(path), "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "4 already done, 0 to run" in out and "s re-runs: 4 runs, 4 already done" in out
    lb = json.loads((results / "leaderboard" / "search.json").read_text())
    assert lb["method_keys"] == ["data.name", "objective.lipschitz"]
    assert {row["trials"] for row in lb["rows"]} == {2} and {row["seeds"] for row in lb["rows"]} == {2}
    for row in lb["rows"]:
        assert len(row["modes/trials"]) == 2 and row["modes/best_mean"] is not None
    assert (results / "leaderboard" / "search.png").stat().st_size > 0
    assert "best-of-N" in (results / "leaderboard" / "search.md").read_text()
