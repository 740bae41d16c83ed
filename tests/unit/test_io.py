"""Atomic writes: the file appears whole or not at all, nothing is left behind on failure, and it gets
the user's usual mode (not mkstemp's 0600), so a shared results folder stays readable; special files
and symlinks are written through, never replaced; a full disk says so."""

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from ganbench import io
from ganbench.errors import GanbenchError
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


# --- one primitive; special files are written through, never replaced --------------------------


def test_every_writer_goes_through_atomic_write(tmp_path, monkeypatch):
    import numpy as np
    import torch

    calls = []
    real = io.atomic_write
    monkeypatch.setattr(
        io, "atomic_write", lambda path, write: (calls.append(Path(path).name), real(path, write))
    )
    io.write_json_atomic(tmp_path / "a.json", {"a": 1})
    io.write_text_atomic(tmp_path / "b.txt", "b")
    io.torch_save_atomic(tmp_path / "c.pt", {"w": torch.ones(2)})
    io.savez_atomic(tmp_path / "d.npz", mu=np.zeros(3))
    assert calls == ["a.json", "b.txt", "c.pt", "d.npz"]
    assert torch.equal(io.torch_load_safe(tmp_path / "c.pt")["w"], torch.ones(2))
    with np.load(tmp_path / "d.npz") as f:
        assert f["mu"].shape == (3,)


def test_a_symlink_stays_a_link_and_its_target_is_replaced(tmp_path):
    target = tmp_path / "real.json"
    write_json_atomic(target, {"v": 1})
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_json_atomic(link, {"v": 2})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read_json(target) == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_a_link_to_a_device_is_written_through(tmp_path):
    # as `--out /dev/stdout` run as root: the old code renamed a regular file over the link
    link = tmp_path / "out.json"
    link.symlink_to("/dev/null")
    write_json_atomic(link, {"v": 1})
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_text_atomic(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert got == [b"through the pipe\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(GanbenchError, match="is a folder; give a file name"):
        write_text_atomic(tmp_path, "x")


# --- a full disk ------------------------------------------------------------------------------


class _FullDisk:
    """A file object whose writes fail with ENOSPC after ``room`` bytes (as a full disk does)."""

    def __init__(self, f, room: int = 0):
        self.f, self.room = f, room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.mark.parametrize("writer", ["json", "torch"])
def test_a_full_disk_says_so_and_names_the_folder(tmp_path, monkeypatch, writer):
    import torch

    path = tmp_path / "out" / ("r.json" if writer == "json" else "last.pt")
    if writer == "json":
        write_json_atomic(path, {"ok": 1})
    else:
        io.torch_save_atomic(path, {"ok": torch.ones(1)})
    before = path.read_bytes()
    fdopen = os.fdopen
    monkeypatch.setattr(io.os, "fdopen", lambda fd, mode: _FullDisk(fdopen(fd, mode), room=64))
    with pytest.raises(GanbenchError) as info:
        if writer == "json":
            write_json_atomic(path, {"big": "x" * 10_000})
        else:
            io.torch_save_atomic(path, {"big": torch.zeros(100_000)})
    message = str(info.value)
    assert "No space left on device" in message and str(path.parent) in message
    assert "enforce fail" not in message
    assert path.read_bytes() == before  # nothing corrupted
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # the temporary file is gone
