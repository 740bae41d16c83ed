"""A per-run lock, so that two drivers (grids, ``ganbench train``) on one results folder never train
the same run at once: ``<run dir>/run.lock``, created atomically (``O_CREAT | O_EXCL``), holding the
holder's pid, host, driver session and start time. The holder touches it every ``HEARTBEAT_S``.

A lock is **stale** (its holder is gone, and the next driver takes it) when

- it was taken by the same driver session (a Ray retry: Ray re-runs a task only after its worker died);
- the holder is on this host and its pid is not alive (``kill -9``, a crash);
- its last heartbeat is older than ``STALE_AFTER_S``, whatever the host (a dead node of a cluster,
  whose pid cannot be checked from here; also a reused pid on this host).

Breaking a stale lock renames it aside first and checks it is still the one judged stale, so two
drivers breaking it at once do not both end up holding it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ganbench.errors import GanbenchError

LOCK_FILE = "run.lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0  # 10 missed heartbeats; leaves room for clock skew on a shared filesystem


class RunLockedError(GanbenchError):
    """Another live driver holds the run's lock."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path, self.holder = path, holder
        super().__init__(
            f"{path.parent.name}: being trained by {describe(holder)} (lock {path}); wait for it to end, "
            f"or, if that process is gone, delete the lock (it goes stale by itself {STALE_AFTER_S:.0f} s "
            "after its last heartbeat)"
        )


def describe(holder: dict[str, Any]) -> str:
    since = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, float) else "?"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {when}"


def read_holder(path: Path) -> dict[str, Any] | None:
    """The holder written in a lock file; {} when it cannot be read (being written, or garbled);
    None when there is no lock."""
    try:
        data = json.loads(path.read_bytes() or b"{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def is_stale(
    holder: dict[str, Any], heartbeat: float, session: str | None = None, now: float | None = None
) -> bool:
    """Whether a lock with ``holder`` and last heartbeat (its mtime) ``heartbeat`` has no live holder."""
    now = time.time() if now is None else now
    if now - heartbeat > STALE_AFTER_S:
        return True
    if session is not None and holder.get("session") == session:
        return True
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid)


class RunLock:
    """``with RunLock(run_dir, session):`` holds the run's lock (or raises :class:`RunLockedError`),
    keeps its heartbeat, and removes it on exit."""

    def __init__(self, run_dir: str | Path, session: str | None = None) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.session = session or uuid.uuid4().hex
        self.holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "session": self.session,
            "started": time.time(),
        }
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # a stale lock broken, then taken by someone else: look again
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                seen = self.path.read_bytes() if self.path.exists() else b""
                holder = read_holder(self.path)
                if holder is None:
                    continue  # released meanwhile
                try:
                    heartbeat = self.path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if not is_stale(holder, heartbeat, self.session):
                    raise RunLockedError(self.path, holder) from None
                self._break(seen)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self.holder, f)
                f.flush()
                os.fsync(f.fileno())
            self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="ganbench-run-lock")
            self._beat.start()
            return
        raise RunLockedError(self.path, read_holder(self.path) or {})

    def _break(self, seen: bytes) -> None:
        aside = self.path.with_name(f"{LOCK_FILE}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another driver broke it first
        if aside.read_bytes() != seen:  # a fresh lock taken meanwhile: put it back (link never overwrites)
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        aside.unlink(missing_ok=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:  # the folder went away or was broken into; nothing to keep alive
                return

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        if read_holder(self.path) == self.holder:  # never remove a lock that is no longer ours
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
