"""The per-run lock (runners/lock.py): atomic, exclusive, stale locks detected and taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ganbench.runners import lock as lockmod
from ganbench.runners.lock import LOCK_FILE, STALE_AFTER_S, RunLock, RunLockedError, is_stale


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def write_lock(run_dir, holder, age_s: float = 0.0):
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    path.write_text(json.dumps(holder))
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


HERE = socket.gethostname()


def test_stale_rules():
    now = time.time()
    alive = {"pid": os.getpid(), "host": HERE, "session": "a"}
    assert not is_stale(alive, now)
    assert is_stale({**alive, "pid": dead_pid()}, now)  # this host, pid gone (kill -9, crash)
    other = {"pid": 1, "host": "another-node", "session": "a"}
    assert not is_stale(other, now)  # another host: its pid means nothing here, the heartbeat decides
    assert is_stale(other, now - STALE_AFTER_S - 1)
    assert is_stale(alive, now - STALE_AFTER_S - 1)  # a reused pid on this host: the heartbeat decides
    assert is_stale(other, now, session="a")  # an earlier attempt of this driver session (a Ray retry)
    assert not is_stale({}, now)  # being written: held
    assert is_stale({}, now - STALE_AFTER_S - 1)


def test_exclusive_then_released(tmp_path):
    with RunLock(tmp_path) as held:
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == HERE and holder["started"] <= time.time()
        with pytest.raises(RunLockedError, match=f"being trained by pid {os.getpid()} on {HERE}") as e:
            RunLock(tmp_path).acquire()
        assert e.value.holder == held.holder
        assert "delete the lock" in str(e.value)
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_stale_lock_is_taken_over(tmp_path):
    write_lock(tmp_path, {"pid": dead_pid(), "host": HERE, "session": "x", "started": 1.0})
    with RunLock(tmp_path) as lock:
        assert json.loads((tmp_path / LOCK_FILE).read_text()) == lock.holder
    write_lock(tmp_path, {"pid": 1, "host": "node-7", "session": "x"}, age_s=STALE_AFTER_S + 5)
    with RunLock(tmp_path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind


def test_a_live_lock_on_another_host_is_respected(tmp_path):
    write_lock(tmp_path, {"pid": 1, "host": "node-7", "session": "x", "started": time.time()})
    with pytest.raises(RunLockedError, match="pid 1 on node-7"):
        RunLock(tmp_path).acquire()
    assert (tmp_path / LOCK_FILE).exists()


def test_release_never_removes_a_lock_that_is_not_ours(tmp_path):
    lock = RunLock(tmp_path)
    lock.acquire()
    write_lock(tmp_path, {"pid": 1, "host": "node-7"})  # broken into and taken meanwhile
    lock.release()
    assert (tmp_path / LOCK_FILE).exists()


def test_heartbeat_keeps_the_lock_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(lockmod, "HEARTBEAT_S", 0.05)
    with RunLock(tmp_path):
        path = tmp_path / LOCK_FILE
        os.utime(path, (1.0, 1.0))
        deadline = time.time() + 5
        while path.stat().st_mtime < 10 and time.time() < deadline:
            time.sleep(0.05)
        assert time.time() - path.stat().st_mtime < STALE_AFTER_S
