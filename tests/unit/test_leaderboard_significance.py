"""The leaderboard's ties with the best (Welch's t-test over training seeds, Holm-corrected, α = 0.05)
on synthetic records where one configuration is truly better and two are identical."""

import json

import numpy as np
import pytest
from scipy import stats as sps

from ganbench.io import write_json_atomic
from ganbench.reporting.stats import holm, ties_with_best, welch_p
from ganbench.reporting.table import TIED_MARK, UNTESTED_MARK, leaderboard, records_frame
from ganbench.reporting.writers import write_leaderboard

# FID (lower is better) of 5 training seeds: "good" is well separated, "same1"/"same2" have the
# same distribution (values interleaved around 20)
VALUES = {
    "good": [10.0, 10.4, 9.7, 10.2, 9.9],
    "same1": [20.0, 20.5, 19.5, 20.2, 19.8],
    "same2": [20.1, 19.6, 20.4, 19.9, 20.0],
}


def write_records(tmp_path, values=VALUES, n_samples=None):
    results = tmp_path / "results"
    for loss, fids in values.items():
        for seed, fid in enumerate(fids):
            config = {
                "seed": seed,
                "data": {"name": "fashion-mnist"},
                "objective": {"loss": loss},
                "eval": {"metrics": ["fid"], "selection_metric": "fid"},
            }
            if n_samples is not None:
                config["eval"]["n_samples"] = n_samples.get(loss, 1000)
            record = {
                "run_id": f"{loss}-s{seed}",
                "status": "finished",
                "config": config,
                "metrics": {"fid": fid},
            }
            write_json_atomic(results / f"{loss}-s{seed}" / "record.json", record)
    return results


def by_loss(lb):
    return {r["objective.loss"]: r for r in lb.numeric.to_dict("records")}


def test_the_better_row_ranks_first_and_the_identical_pair_is_not_tied_with_it(tmp_path):
    lb = leaderboard(records_frame(write_records(tmp_path)))
    assert lb.numeric["objective.loss"].iloc[0] == "good"
    rows = by_loss(lb)
    g = "fashion-mnist"
    assert rows["good"][f"{g}/tied_with_best"] is True
    assert rows["same1"][f"{g}/tied_with_best"] is False
    assert rows["same2"][f"{g}/tied_with_best"] is False
    # the raw p-values are scipy's Welch test on the same numbers
    for loss in ("same1", "same2"):
        expected = sps.ttest_ind(VALUES["good"], VALUES[loss], equal_var=False).pvalue
        assert rows[loss][f"{g}/p_welch"] == pytest.approx(expected, rel=1e-12)
    # Holm over the two comparisons
    p = [rows["same1"][f"{g}/p_welch"], rows["same2"][f"{g}/p_welch"]]
    assert [rows["same1"][f"{g}/p_holm"], rows["same2"][f"{g}/p_holm"]] == pytest.approx(holm(p))
    assert np.isnan(rows["good"][f"{g}/p_welch"])
    # the mark sits on the ranking metric's cell of the best row only
    fid_col = next(c for c in lb.display.columns if " fid" in c)
    marks = dict(zip(lb.display["objective.loss"], lb.display[fid_col]))
    assert marks["good"].endswith(TIED_MARK)
    assert not marks["same1"].endswith(TIED_MARK) and not marks["same2"].endswith(TIED_MARK)


def test_the_identical_pair_is_tied_when_one_of_them_is_best(tmp_path):
    values = {k: v for k, v in VALUES.items() if k != "good"}
    lb = leaderboard(records_frame(write_records(tmp_path, values)))
    rows = by_loss(lb)
    assert rows["same1"]["fashion-mnist/tied_with_best"] is True
    assert rows["same2"]["fashion-mnist/tied_with_best"] is True
    best = lb.numeric["objective.loss"].iloc[0]
    other = "same1" if best == "same2" else "same2"
    expected = sps.ttest_ind(values[best], values[other], equal_var=False).pvalue
    assert rows[other]["fashion-mnist/p_welch"] == pytest.approx(expected, rel=1e-12)
    assert rows[other]["fashion-mnist/p_holm"] == pytest.approx(expected, rel=1e-12)  # one comparison


def test_rows_with_one_seed_are_not_tested_and_never_marked(tmp_path):
    values = {**VALUES, "lonely": [20.0]}
    lb = leaderboard(records_frame(write_records(tmp_path, values)))
    rows = by_loss(lb)
    assert rows["lonely"]["fashion-mnist/tied_with_best"] is None
    fid_col = next(c for c in lb.display.columns if " fid" in c)
    cell = lb.display.set_index("objective.loss").loc["lonely", fid_col]
    assert cell.endswith(UNTESTED_MARK) and TIED_MARK not in cell


def test_one_seed_tables_get_no_marks_no_columns_no_figure(tmp_path):
    values = {k: v[:1] for k, v in VALUES.items()}
    results = write_records(tmp_path, values)
    lb = leaderboard(records_frame(results))
    assert not lb.tested_groups
    assert not any(c.endswith("tied_with_best") for c in lb.numeric.columns)
    paths = write_leaderboard(results, tmp_path / "out")
    assert "seeds" not in paths and not (tmp_path / "out" / "seeds.png").exists()
    assert "significance" not in json.loads(paths["json"].read_text())
    assert TIED_MARK not in paths["markdown"].read_text()


def test_written_outputs_carry_the_marks_the_legend_and_the_figure(tmp_path):
    paths = write_leaderboard(write_records(tmp_path), tmp_path / "out")
    md = paths["markdown"].read_text()
    assert "Welch's t-test" in md and "Holm" in md and "α = 0.05" in md and TIED_MARK in md
    assert "![distributions over seeds](seeds.png)" in md and paths["seeds"].exists()
    assert TIED_MARK in paths["html"].read_text()
    data = json.loads(paths["json"].read_text())
    assert data["significance"]["alpha"] == 0.05 and data["significance"]["metric"] == "fid"
    tied = {r["objective.loss"]: r["fashion-mnist/tied_with_best"] for r in data["rows"]}
    assert tied == {"good": True, "same1": False, "same2": False}
    header = paths["csv"].read_text().splitlines()[0]
    assert "fashion-mnist/tied_with_best" in header and "fashion-mnist/p_holm" in header


def test_holm_and_welch_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0 and welch_p([1.0, 1.0], [2.0, 2.0]) == 0.0
    ties = ties_with_best([np.array([1.0]), np.array([1.0, 2.0])], best=0)
    assert all(t.tied is None for t in ties)  # the best has one seed: nothing can be tested
