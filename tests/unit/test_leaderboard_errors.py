"""``ganbench leaderboard`` on careless input (issue 16): a bad record or sample file is skipped with a
warning naming it and the table is still written; a wrong --rows / --metrics / --out is one line
naming the key or folder, exit 2, before any work and without a traceback."""

import errno
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from ganbench.cli import main
from ganbench.io import write_json_atomic
from ganbench.training.samples import SAMPLES_NPY


def good_records(results):
    for loss, modes in (("hinge", 7.0), ("wgan", 8.0)):
        for seed in (0, 1):
            run_id = f"{loss}-s{seed}"
            config = {"seed": seed, "data": {"name": "ring8"}, "objective": {"loss": loss}, "eval": {}}
            rec = {"run_id": run_id, "status": "finished", "config": config, "metrics": {"modes": modes}}
            write_json_atomic(results / run_id / "record.json", rec)
            np.save(results / run_id / SAMPLES_NPY, np.random.default_rng(seed).standard_normal((40, 2)))
    return results


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "finished", "config": {"seed": 0}, "metrics": {"modes": 1.0}},  # no run_id
        {"run_id": "x", "status": "finished", "config": "garbage", "metrics": {"modes": 1.0}},
        {"run_id": "x", "status": "finished", "config": {"seed": 0}, "metrics": [1, 2]},
    ],
    ids=["no-run-id", "config-garbage", "metrics-list"],
)
def test_a_malformed_record_is_skipped_with_a_warning_naming_it(tmp_path, capsys, bad):
    results = good_records(tmp_path / "results")
    write_json_atomic(results / "bad" / "record.json", bad)
    assert main(["leaderboard", str(results), "--no-figure"]) == 0
    captured = capsys.readouterr()
    assert f"warning: skipping {results / 'bad' / 'record.json'}: not a ganbench run record" in captured.err
    md = (results / "leaderboard" / "leaderboard.md").read_text()
    assert "from 4 run records" in md and "8 ± 0 (n=2)" in md


def test_an_unknown_row_key_names_it_and_lists_the_valid_ones(tmp_path, capsys):
    results = good_records(tmp_path / "results")
    assert main(["leaderboard", str(results), "--rows", "objective.lost"]) == 2
    err = capsys.readouterr().err
    assert "'objective.lost'" in err and "did you mean 'objective.loss'" in err
    assert "valid row keys" in err and "data.name, objective.loss, seed" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (results / "leaderboard").exists()  # refused before writing anything


def test_an_unknown_metric_lists_the_recorded_ones(tmp_path, capsys):
    results = good_records(tmp_path / "results")
    assert main(["leaderboard", str(results), "--metrics", "fidd", "modes"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric(s) 'fidd'" in err and "the records have: modes" in err
    assert not (results / "leaderboard").exists()


def test_an_object_array_of_samples_skips_its_panel_and_keeps_the_table(tmp_path, capsys):
    results = good_records(tmp_path / "results")
    bad = results / "hinge-s0" / SAMPLES_NPY
    np.save(bad, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    assert main(["leaderboard", str(results)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {bad}: cannot read the samples" in err and "panel is left blank" in err
    out = results / "leaderboard"
    assert (out / "samples.png").stat().st_size > 0 and "8 ± 0 (n=2)" in (out / "leaderboard.md").read_text()
    # a readable array of the wrong shape is named too
    np.save(bad, np.zeros((5, 5, 5)))
    assert main(["leaderboard", str(results)]) == 0
    assert f"warning: {bad}: not an N×2 array of points" in capsys.readouterr().err


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    results = good_records(tmp_path / "results")
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["leaderboard", str(results), "--out", str(afile)]) == 2
    err = capsys.readouterr().err
    assert f"{afile}: the leaderboard's output folder is a file" in err and "Traceback" not in err
    assert main(["leaderboard", str(results), "--out", str(afile / "sub")]) == 2
    assert f"{afile} is a file" in capsys.readouterr().err
    assert afile.read_text() == "keep me"


def test_an_unwritable_out_is_refused_naming_the_folder(tmp_path, capsys, monkeypatch):
    results = good_records(tmp_path / "results")

    # a read-only file system (errno 30) answers every attempt to create a file this way
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    assert main(["leaderboard", str(results)]) == 2  # the default --out, RESULTS/leaderboard
    err = capsys.readouterr().err
    assert (
        f"{results / 'leaderboard'}: cannot write the leaderboard there ({results}: Read-only file system)"
        in err
    )
    assert "--out" in err and not (results / "leaderboard").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder regardless of its mode")
def test_a_read_only_results_folder_is_refused(tmp_path, capsys):
    results = good_records(tmp_path / "results")
    results.chmod(0o555)
    try:
        assert main(["leaderboard", str(results)]) == 2
        assert "cannot write the leaderboard there" in capsys.readouterr().err
    finally:
        results.chmod(0o755)


def test_cli_errors_print_one_line_and_no_traceback(tmp_path):
    """The same refusals through the real command line: exit 2, one line on stderr."""
    results = good_records(tmp_path / "results")
    for args in (
        ["--metrics", "fidd"],
        ["--rows", "objective.lost"],
        ["--out", str(results / "hinge-s0" / "record.json")],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "ganbench.cli", "leaderboard", str(results), *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("ganbench leaderboard: error: ")
