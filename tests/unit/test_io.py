"""Atomic writes: the file appears whole or not at all, nothing is left behind on failure, and it gets
the user's usual mode (not mkstemp's 0600), so a shared results folder stays readable."""

import os
import stat

import pytest

from ganbench.io import read_json, write_json_atomic, write_text_atomic


def test_atomic_text_and_json(tmp_path):
    write_text_atomic(tmp_path / "a" / "t.md", "ü\n")
    assert (tmp_path / "a" / "t.md").read_text(encoding="utf-8") == "ü\n"
    write_json_atomic(tmp_path / "r.json", {"x": [1, 2]})
    assert read_json(tmp_path / "r.json") == {"x": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "r.json"]  # no temporary files left


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    os.umask(old)
    write_text_atomic(tmp_path / "t.txt", "x")
    assert stat.S_IMODE((tmp_path / "t.txt").stat().st_mode) == 0o666 & ~old


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"ok": 1})
    with pytest.raises(AttributeError):
        write_text_atomic(path, 5)  # fails inside the write, after the temporary file exists
    assert read_json(path) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
