"""A non-editable install from a wheel: the recipes ship as package data, ``ganbench recipes`` lists
and copies them, and a copied recipe loads to the same run id as the repository's. Development files
(the classifier's training script, the tests' Inception stand-in) stay out of the wheel.

The wheel is built from a copy of the source (the build writes build/ and egg-info), with this
environment's setuptools and no network; it is installed with ``--target`` into a folder that is put
first on PYTHONPATH, so torch and the other dependencies come from this environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ganbench.config import load_config

pytestmark = pytest.mark.slow  # builds and installs a wheel with pip: ~25 s on the shared 2-core machine

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("pyproject.toml", "setup.py", "README.md", "ganbench", "recipes")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the --target folder it is installed in)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(src)], tmp)
    (wheel,) = (tmp / "dist").glob("ganbench-*.whl")
    target = tmp / "site"
    _run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)], tmp)
    return wheel, target


def _env(target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1"}


def test_the_wheel_ships_recipes_and_no_development_files(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.removeprefix("ganbench/recipes/") for n in names if n.startswith("ganbench/recipes/"))
    assert shipped == sorted(
        p.relative_to(ROOT / "recipes").as_posix() for p in (ROOT / "recipes").rglob("*.yaml")
    )
    assert (
        "ganbench/assets/fmnist_classifier.pt" in names and "ganbench/assets/fmnist_classifier.json" in names
    )
    assert not [
        n for n in names if "train_fmnist_classifier" in n or "inception_standin" in n or "tests/" in n
    ]


def test_recipes_list_and_copy_from_the_installed_wheel(installed, tmp_path):
    _, target = installed
    env = _env(target)
    where = _run([sys.executable, "-c", "import ganbench; print(ganbench.__file__)"], tmp_path, env)
    assert Path(where.strip()).is_relative_to(target)  # the installed copy, not this checkout
    ganbench = [str(target / "bin" / "ganbench")]  # the console script the wheel installs
    out = _run(ganbench + ["recipes", "list"], tmp_path, env)
    assert f"recipes in {target / 'ganbench' / 'recipes'}" in out
    assert "\ntoy/ring8.yaml " in out and "\ngrids/toy.yaml " in out
    _run(ganbench + ["recipes", "copy", "toy/ring8.yaml", "grids/toy.yaml", "mine"], tmp_path, env)
    assert sorted(
        p.relative_to(tmp_path / "mine").as_posix() for p in (tmp_path / "mine").rglob("*.yaml")
    ) == [
        "grids/toy.yaml",
        "toy/base.yaml",
        "toy/ring8.yaml",
    ]
    # the copy loads with the installed package, to the run id of the repository's recipe
    code = (
        "from ganbench.config import load_config; from ganbench.runners.grid import load_grid; "
        "print(load_config('mine/toy/ring8.yaml').run_id, len(load_grid('mine/grids/toy.yaml').runs))"
    )
    run_id, n_runs = _run([sys.executable, "-c", code], tmp_path, env).split()
    assert run_id == load_config(ROOT / "recipes" / "toy" / "ring8.yaml").run_id and int(n_runs) == 50
