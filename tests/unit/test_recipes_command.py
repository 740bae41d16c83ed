"""``ganbench recipes``: every shipped recipe listed with its kind; ``copy`` writes a recipe with the
files it names through ``base:``, so the copy loads (and runs) outside the package."""

from __future__ import annotations

import pytest

from ganbench.cli import main
from ganbench.commands.recipes import recipes_root, shipped, with_bases
from ganbench.config import load_config
from ganbench.runners.grid import load_grid


def test_list_shows_every_shipped_file_with_its_kind(capsys):
    assert main(["recipes", "list"]) == 0
    out = capsys.readouterr().out
    names = shipped()
    assert {"toy/ring8.yaml", "toy/base.yaml", "grids/toy.yaml", "extractors/fmnist_classifier.yaml"} <= set(
        names
    )
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    lines = {r[0]: r[1] for r in rows if r[0].endswith(".yaml")}
    assert sorted(lines) == names  # one row per shipped file
    assert all(lines[n] == ("grid" if n.startswith("grids/") else "extractor" if n.startswith("extractors/")
               else "run") for n in names)  # fmt: skip
    assert main(["recipes", "list", "--kind", "grid"]) == 0
    grids = capsys.readouterr().out
    assert "\ngrids/toy.yaml " in grids and "\ntoy/ring8.yaml " not in grids


def test_copy_a_recipe_with_its_base_and_load_it(tmp_path, capsys):
    assert main(["recipes", "copy", "toy/ring8.yaml", str(tmp_path)]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "toy",
        "toy/base.yaml",
        "toy/ring8.yaml",
    ]
    out = capsys.readouterr().out
    assert f"ganbench train {tmp_path / 'toy' / 'ring8.yaml'}" in out
    # the copy is the shipped recipe: the same config, the same run id
    assert load_config(tmp_path / "toy" / "ring8.yaml") == load_config(recipes_root() / "toy" / "ring8.yaml")


def test_copy_a_grid_names_accepted_as_the_docs_write_them(tmp_path):
    # "recipes/..." as the README writes paths, and no .yaml suffix
    assert (
        main(["recipes", "copy", "recipes/grids/toy.yaml", "grids/stacked-fmnist-smoke", str(tmp_path)]) == 0
    )
    assert with_bases("grids/stacked-fmnist-smoke.yaml", recipes_root()) == [
        "grids/stacked-fmnist-smoke.yaml",
        "stacked-fmnist/dcgan.yaml",  # named by the base mapping's own base:
    ]
    for grid in ("toy.yaml", "stacked-fmnist-smoke.yaml"):
        copied = load_grid(tmp_path / "grids" / grid)
        shipped_grid = load_grid(recipes_root() / "grids" / grid)
        assert [c.run_id for c in copied.runs] == [c.run_id for c in shipped_grid.runs] and copied.runs


def test_copy_all_and_refusals(tmp_path, capsys):
    assert main(["recipes", "copy", "--all", str(tmp_path)]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yaml")) == shipped()
    # an edited copy is not overwritten silently; --force does
    edited = tmp_path / "toy" / "base.yaml"
    edited.write_text(edited.read_text() + "\n# mine\n")
    capsys.readouterr()
    assert main(["recipes", "copy", "toy/ring8.yaml", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(edited) in err and "--force" in err and "# mine" in edited.read_text()
    assert main(["recipes", "copy", "--force", "toy/ring8.yaml", str(tmp_path)]) == 0
    assert edited.read_bytes() == (recipes_root() / "toy" / "base.yaml").read_bytes()
    # unknown names get the close ones; a file as DEST and names with --all are errors
    assert main(["recipes", "copy", "toy/rign8", str(tmp_path)]) == 2
    assert "did you mean toy/ring8.yaml" in capsys.readouterr().err
    assert main(["recipes", "copy", "toy/ring8.yaml", str(edited)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["recipes", "copy", "--all", "toy/ring8.yaml", str(tmp_path)]) == 2
    assert main(["recipes", "copy", str(tmp_path)]) == 2


@pytest.mark.parametrize(
    "argv", [["recipes", "--help"], ["recipes", "list", "--help"], ["recipes", "copy", "--help"]]
)
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0 and "usage: ganbench recipes" in capsys.readouterr().out
