"""Issue 16, the recipe / --set / results-folder cases: each is one line on stderr naming the file or
key and what to do, exit code 2, no traceback, and no record or checkpoint lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ganbench.cli import main
from tests.helpers.cli import refused

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.fixture
def finished(tmp_path, toy_cfg_dict):
    """A recipe with a finished run in ``results``: every failing command below must leave it as is."""
    recipe = tmp_path / "R.yaml"
    recipe.write_text(yaml.safe_dump({**toy_cfg_dict, "train": {**toy_cfg_dict["train"], "steps": 3}}))
    results = tmp_path / "results"
    assert main(["train", str(recipe), "--results", str(results), "--no-progress"]) == 0
    files = {p: p.read_bytes() for p in results.rglob("*") if p.is_file() and p.name != "run.log"}
    assert any(p.name == "record.json" for p in files) and any(p.suffix == ".pt" for p in files)
    return recipe, results, files


def unchanged(files: dict[Path, bytes]) -> None:
    assert {p: p.read_bytes() for p in files if p.exists()} == files


def test_unreadable_recipes(tmp_path, capsys, finished):
    _, results, files = finished
    folder = tmp_path / "d.yaml"
    folder.mkdir()
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x89PNG\xff\x80")
    empty = tmp_path / "e.yaml"
    empty.write_text("")
    for path, text in ((folder, "is a folder"), (binary, "not a text (UTF-8) file"), (empty, "empty recipe")):
        refused(capsys, ["train", str(path), "--results", str(results)], str(path), text)
    unchanged(files)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("train.steps=[1", ["--set 'train.steps=[1'", "not plain YAML", "e.g. --set train.steps=500"]),
        ("seed=!!python/object/apply:os.system [echo]", ["not plain YAML", "python/object"]),
        ("optim.betas=[1.5,0.9]", ["R.yaml: optim.betas[0] must be in [0, 1), got 1.5"]),
        ("optim.weight_decay=-0.1", ["R.yaml: optim.weight_decay must be >= 0, got -0.1"]),
        ("eval.n_samples=1000000000000", ["eval.n_samples=1000000000000", "up to 10,000,000 samples"]),
        ("eval.metrics=[fid]", ["eval.metrics: 'fid' scores images", "metrics for points: modes"]),
        ("train.steps=1000000000000", ["train.steps=1000000000000", "days; the limit is 100,000,000"]),
        ("train.stpes=3", ["R.yaml: train: unknown key(s) 'stpes'; valid keys: steps"]),
        ("data.params={sigma: 2}", ["R.yaml: dataset 'ring8': data.params: unknown parameter(s) 'sigma'"]),
    ],
)
def test_bad_overrides(capsys, finished, value, expected):
    recipe, results, files = finished
    refused(capsys, ["train", str(recipe), "--results", str(results), "--set", value], *expected)
    unchanged(files)


def test_exponent_without_a_dot_is_a_float(capsys, finished):
    recipe, results, _ = finished
    argv = [
        "train",
        str(recipe),
        "--results",
        str(results / "lr"),
        "--set",
        "optim.lr_g=1e-3",
        "--no-progress",
    ]
    assert main(argv) == 0
    capsys.readouterr()


def test_results_that_cannot_hold_runs(tmp_path, capsys, finished):
    recipe, _, files = finished
    a_file = tmp_path / "f"
    a_file.write_text("x")
    refused(capsys, ["train", str(recipe), "--results", str(a_file)], f"--results {a_file}", "is a file")
    refused(capsys, ["train", str(recipe), "--results", "/sys/x"], "--results /sys/x: cannot write in /sys")
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump({"base": yaml.safe_load(recipe.read_text()), "axes": {"seed": [0]}}))
    refused(capsys, ["grid", str(grid), "--results", str(a_file)], "is a file, not a folder")
    unchanged(files)
    assert a_file.read_text() == "x"


def test_subprocess_exit_code_and_one_line(tmp_path):
    """The same through the installed entry point: exit 2, one line, no traceback."""
    folder = tmp_path / "d.yaml"
    folder.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "ganbench.cli", "train", str(folder), "--results", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip()
        == f"ganbench train: error: {folder}: is a folder, not a YAML file; give the path of a .yaml file"
    )
    assert not (tmp_path / "r").exists()
