"""Evaluation settings in the leaderboard: records measured the same way share a cell; records that
differ in any evaluation setting are never averaged together but get column groups named by the
differing settings; headers name the feature space and the sample counts."""

import copy
import json
import math

import pytest

from ganbench.io import write_json_atomic
from ganbench.reporting.settings import show
from ganbench.reporting.table import leaderboard, records_frame
from ganbench.reporting.writers import write_leaderboard

WEIGHTS = "15005cd587d7d1a69cfdfc1a9920df7cdea45b5e33bc420b46de862127b623ce"


def image_record(run_id, loss, seed, fid, **changes):
    """A Fashion-MNIST record as the trainer writes it (config eval.* and provenance.evaluation);
    ``changes`` maps "eval.<key>" or "prov.<path>" to a new value."""
    rec = {
        "run_id": run_id,
        "status": "finished",
        "config": {
            "seed": seed,
            "data": {"name": "fashion-mnist"},
            "objective": {"loss": loss},
            "eval": {
                "every": 100, "n_samples": 10000, "seed": 2024, "selection_seed": 7, "metrics": ["fid", "is"],
                "extractor": None, "use_ema": True, "select_best": True, "selection_metric": "fid",
                "reference_split": "train", "n_real": None, "extractor_params": {}, "metric_params": {},
            },
        },
        "metrics": {"fid": fid, "is": 5.0 + seed, "lipschitz_max": 1.0},
        "provenance": {
            "seed": seed,
            "dataset": {"name": "fashion-mnist", "kind": "images"},
            "evaluation": {
                "extractor": {"extractor": "fmnist-classifier", "mode": "gray28", "weights_hash": WEIGHTS},
                "reference": {"dataset": "fashion-mnist", "split": "train", "n_real": 60000},
                "n_fake": 10000,
                "eval_seed": 2024,
            },
        },
    }  # fmt: skip
    for key, value in changes.items():
        section, *path = key.split(".")
        node = rec["config"]["eval"] if section == "eval" else rec["provenance"]["evaluation"]
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return rec


def write(results, records):
    for rec in records:
        write_json_atomic(results / rec["run_id"] / "record.json", rec)
    return results


def board(tmp_path, records, **kwargs):
    return leaderboard(records_frame(write(tmp_path / "results", records)), **kwargs)


def two_seeds(loss, fid, **changes):
    tag = f"{loss}-{fid:g}"  # one folder per record
    return [image_record(f"{tag}-s{s}", loss, s, fid + s, **changes) for s in (0, 1)]


def test_same_settings_share_one_cell(tmp_path):
    lb = board(tmp_path, two_seeds("hinge", 10.0) + two_seeds("wgan", 20.0))
    assert [g.label for g in lb.groups] == ["fashion-mnist"]
    row = lb.numeric.set_index("objective.loss").loc["hinge"]
    assert row["fashion-mnist/fid/mean"] == 10.5 and row["fashion-mnist/fid/n"] == 2
    assert row["fashion-mnist/fid/std"] == pytest.approx(math.sqrt(0.5))  # ddof=1 over the seeds


# every setting that changes a reported number, and a value that differs from image_record's
DIFFERING = {
    "eval.n_samples": ("eval.n_samples", 5000, "prov.n_fake", 5000),
    "eval.n_real": ("eval.n_real", 10000, "prov.reference.n_real", 10000),
    "eval.reference_split": ("eval.reference_split", "test", "prov.reference.split", "test"),
    "eval.seed": ("eval.seed", 99, "prov.eval_seed", 99),
    "eval.extractor": ("prov.extractor.extractor", "inception-v3"),
    "extractor.mode": ("prov.extractor.mode", "legacy_tensorflow"),
    "extractor.weights": ("prov.extractor.weights_hash", "0" * 64),
    "eval.extractor_params.resize": ("eval.extractor_params", {"resize": "bicubic"}),
    "eval.metric_params.kid.num_subsets": ("eval.metric_params", {"kid": {"num_subsets": 50}}),
    "eval.use_ema": ("eval.use_ema", False),
    "eval.select_best": ("eval.select_best", False),
    "eval.selection_seed": ("eval.selection_seed", 8),
    "eval.every": ("eval.every", 500),
    "eval.selection_metric": ("eval.selection_metric", "is"),
}


@pytest.mark.parametrize("setting", sorted(DIFFERING))
def test_records_that_differ_in_a_setting_are_never_averaged(tmp_path, setting):
    spec = DIFFERING[setting]
    changes = dict(zip(spec[::2], spec[1::2]))
    # the same configuration (hinge) measured two ways, one seed each: never one cell of n=2
    records = [image_record("a", "hinge", 0, 10.0), image_record("b", "hinge", 0, 30.0, **changes)]
    lb = board(tmp_path, records)
    assert len(lb.groups) == 2 and len(lb.numeric) == 1
    means = sorted(lb.numeric.iloc[0][f"{g.label}/fid/mean"] for g in lb.groups)
    assert means == [10.0, 30.0]
    for g in lb.groups:
        assert g.distinguishing == [setting]
        assert g.label == f"fashion-mnist [{setting}={show(setting, g.settings[setting])}]"
        assert lb.numeric.iloc[0][f"{g.label}/fid/n"] == 1
    assert lb.split_settings


def test_differing_settings_get_named_column_groups_in_every_output(tmp_path):
    records = two_seeds("hinge", 10.0) + two_seeds("wgan", 20.0)
    records += two_seeds("hinge", 40.0, **{"eval.n_samples": 500, "prov.n_fake": 500})
    paths = write_leaderboard(write(tmp_path / "results", records), tmp_path / "board", figure=False)
    md = paths["markdown"].read_text()
    header = next(line for line in md.splitlines() if line.startswith("| "))
    assert "fashion-mnist [eval.n_samples=10000] fid (fmnist-classifier, 10k fake / 60k real)" in header
    assert "fashion-mnist [eval.n_samples=500] fid (fmnist-classifier, 500 fake / 60k real)" in header
    assert "never averaged" in md and "mean over column groups" in md
    data = json.loads(paths["json"].read_text())
    groups = {g["label"]: g for g in data["column_groups"]}
    assert groups["fashion-mnist [eval.n_samples=500]"]["settings"]["eval.n_samples"] == "500"
    assert groups["fashion-mnist [eval.n_samples=500]"]["distinguished_by"] == ["eval.n_samples"]
    rows = {r["objective.loss"]: r for r in data["rows"]}
    assert rows["hinge"]["fashion-mnist [eval.n_samples=10000]/fid/mean"] == 10.5
    assert rows["hinge"]["fashion-mnist [eval.n_samples=500]/fid/mean"] == 40.5
    # wgan has no record at 500 samples: an empty cell, ranked last in that group
    assert rows["wgan"]["fashion-mnist [eval.n_samples=500]/fid/n"] == 0
    assert "fashion-mnist [eval.n_samples=500]/fid/mean" in paths["csv"].read_text().splitlines()[0]


def test_selection_keys_do_not_matter_when_the_final_checkpoint_is_reported(tmp_path):
    final = {"eval.select_best": False}
    records = [
        image_record("a", "hinge", 0, 10.0, **final),
        image_record("b", "hinge", 1, 12.0, **final, **{"eval.selection_seed": 8, "eval.every": 5}),
    ]
    lb = board(tmp_path, records)
    assert len(lb.groups) == 1 and lb.numeric.iloc[0]["fashion-mnist/fid/n"] == 2
    assert "eval.selection_seed" not in lb.groups[0].settings  # not a setting of these numbers


def test_an_unset_selection_metric_is_the_first_metric(tmp_path):
    # selection_metric null: the trainer selects by eval.metrics[0], which is fid here
    records = [
        image_record("a", "hinge", 0, 10.0),
        image_record("b", "hinge", 1, 12.0, **{"eval.selection_metric": None}),
    ]
    lb = board(tmp_path, records)
    assert len(lb.groups) == 1 and lb.groups[0].settings["eval.selection_metric"] == "fid"


def test_a_record_without_evaluation_provenance_joins_its_group(tmp_path):
    # diverged before its evaluation recorded provenance: unknown settings, not different ones
    diverged = image_record("d", "hinge", 2, math.nan)
    diverged["status"], diverged["metrics"] = "diverged", {}
    del diverged["provenance"]["evaluation"]
    lb = board(tmp_path, two_seeds("hinge", 10.0) + [diverged])
    assert [g.label for g in lb.groups] == ["fashion-mnist"]
    assert lb.numeric.iloc[0]["fashion-mnist/fid/n"] == 3
    assert "1 diverged" in lb.display.iloc[0].iloc[2]
    # ... but it cannot join one of two groups it agrees with equally: then it stands alone
    other = two_seeds("hinge", 40.0, **{"prov.extractor.mode": "other"})
    lb = board(tmp_path / "2", two_seeds("hinge", 10.0) + other + [copy.deepcopy(diverged)])
    assert len(lb.groups) == 3


def test_headers_name_the_feature_space_and_the_sample_counts(tmp_path):
    lb = board(tmp_path, two_seeds("hinge", 10.0) + two_seeds("wgan", 20.0))
    assert list(lb.display.columns) == [
        "rank",
        "objective.loss",
        "fashion-mnist fid (fmnist-classifier, 10k fake / 60k real)",
        "fashion-mnist is (fmnist-classifier, 10k fake)",  # the Inception Score uses no real images
        "fashion-mnist Lip. est.",  # the trainer's estimate: no evaluation behind it
    ]


def test_toy_headers_count_points_and_the_intro_states_the_shared_settings(tmp_path):
    evaluation = {"n_samples": 2500, "seed": 2024, "metrics": ["modes"], "reference_split": "train",
                  "n_real": None, "extractor": None, "select_best": False, "selection_seed": 7}  # fmt: skip
    provenance = {
        "n_fake": 2500,
        "eval_seed": 2024,
        "dataset": {"name": "ring8", "kind": "points"},
        "evaluation": None,
    }
    records = []
    for loss, modes in (("hinge", 7.0), ("wgan", 8.0)):
        for seed in (0, 1):
            config = {
                "seed": seed,
                "data": {"name": "ring8"},
                "objective": {"loss": loss},
                "eval": evaluation,
            }
            metrics = {"modes": modes}
            rec = {"run_id": f"{loss}{seed}", "status": "finished", "metrics": metrics, "config": config}
            records.append({**rec, "provenance": provenance})
    paths = write_leaderboard(write(tmp_path / "results", records), tmp_path / "board", figure=False)
    md = paths["markdown"].read_text()
    assert "| ring8 modes (2500 fake) " in md
    intro = md.splitlines()[2]
    assert (
        "Evaluation settings of every column: eval.n_samples=2500, eval.seed=2024, eval.select_best=False."
        in intro
    )
    assert "reference_split" not in intro  # point data is scored against its mixture, no reference set


def test_a_setting_given_as_a_row_key_splits_rows_instead(tmp_path):
    records = two_seeds("hinge", 10.0) + two_seeds(
        "hinge", 40.0, **{"eval.n_samples": 500, "prov.n_fake": 500}
    )
    lb = board(tmp_path, records, row_keys=["objective.loss", "eval.n_samples"])
    assert [g.label for g in lb.groups] == ["fashion-mnist"]
    by_n = lb.numeric.set_index("eval.n_samples")
    assert (
        by_n.loc["500", "fashion-mnist/fid/mean"] == 40.5
        and by_n.loc["10000", "fashion-mnist/fid/mean"] == 10.5
    )


def test_the_input_fields_the_headers_read_are_evaluation_inputs():
    # a renamed EvalInputs field would silently drop the feature space / counts from the headers
    import dataclasses

    from ganbench.evaluation import metric
    from ganbench.evaluation.inputs import EvalInputs

    fields = {f.name for f in dataclasses.fields(EvalInputs)}
    assert metric._EXTRACTOR_FIELDS | metric._FAKE_FIELDS | metric._REAL_FIELDS <= fields
    fid, is_, modes = (metric.get_metric(n) for n in ("fid", "is", "modes"))
    assert (fid.uses_extractor, fid.uses_fake, fid.uses_real) == (True, True, True)
    assert (is_.uses_extractor, is_.uses_fake, is_.uses_real) == (True, True, False)
    assert (modes.uses_extractor, modes.uses_fake, modes.uses_real) == (False, True, False)


def test_the_figures_follow_the_column_groups(tmp_path):
    import numpy as np
    import PIL.Image

    from ganbench.training.samples import SAMPLES_NPY

    results = tmp_path / "results"
    for eval_seed in (2024, 99):
        for loss in ("hinge", "wgan"):
            run_id = f"{loss}-{eval_seed}"
            config = {
                "seed": 0,
                "data": {"name": "ring8"},
                "objective": {"loss": loss},
                "eval": {"seed": eval_seed, "metrics": ["modes"]},
            }
            evals = [{"step": t, "modes": float(t)} for t in (0, 10)]
            rec = {"run_id": run_id, "status": "finished", "config": config, "metrics": {"modes": 8.0}}
            write_json_atomic(results / run_id / "record.json", {**rec, "evals": evals})
            np.save(results / run_id / SAMPLES_NPY, np.zeros((10, 2)))
    paths = write_leaderboard(results, tmp_path / "board")
    with PIL.Image.open(paths["figure"]) as im:
        assert im.size == (190 * 2, 190 * 2)  # hinge, wgan down; one column per evaluation seed
    with PIL.Image.open(paths["curves"]) as im:
        assert im.size[1] > 2 * 300  # a row of panels per column group (3.2 inches each)


def test_an_external_network_joins_the_column_of_runs_measured_the_same_way(tmp_path):
    # `ganbench eval FILE --as-run`: no training settings (EMA, selection, periodic evaluation) in its
    # config; its measurement settings (extractor, reference, counts, seed) equal the runs'
    external = image_record("external-abc", "—", 0, 7.0)
    external["config"] = {"seed": 0, "data": {"name": "fashion-mnist"}, "model": {"name": "external"},
                          "eval": {"n_samples": 10000, "seed": 2024, "metrics": ["fid", "is"]}}  # fmt: skip
    external["provenance"]["external"] = True
    lb = board(tmp_path, two_seeds("hinge", 10.0) + [external])
    assert [g.label for g in lb.groups] == ["fashion-mnist"]
    fids = lb.numeric["fashion-mnist/fid/mean"].tolist()
    assert sorted(fids) == [7.0, 10.5]
    # a run that differs only in a training setting (no EMA) still gets its own column group
    lb = board(tmp_path / "2", two_seeds("hinge", 10.0) + two_seeds("wgan", 20.0, **{"eval.use_ema": False}))
    assert len(lb.groups) == 2
