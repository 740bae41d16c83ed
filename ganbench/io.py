"""Atomic writes and safe reads: a crash mid-write never leaves a half-written record or checkpoint.

Every file ganbench writes goes through :func:`atomic_write`: the bytes go to a temporary file in
the destination folder, are fsynced, and ``os.replace`` moves them over the path, so a reader sees
the old file or the new one, never half of one. Two exceptions keep the user's files what they are:

- a path that is a device, FIFO or socket (``/dev/null``, ``/dev/stdout`` on a terminal or a pipe)
  is written through, in place: renaming a file over it would replace the device node;
- a symlink is followed: its target is replaced atomically and the link itself stays a link.

A full disk (or quota) during a write is reported as "No space left on device" naming the folder,
whatever library was writing (torch wraps the OSError in its own enforce message).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ganbench.errors import GanbenchError

# mkstemp creates 0600 files; records and tables on a shared results folder should get the mode
# any other file of this user gets (read once at import: os.umask can only be read by setting it).
_UMASK = os.umask(0)
os.umask(_UMASK)

_FULL = (errno.ENOSPC, errno.EDQUOT)


def _destination(path: Path) -> tuple[Path, bool]:
    """(the path to write, whether to write through it in place instead of replacing it)."""
    try:
        st = os.stat(path)  # follows symlinks: what a reader of ``path`` would open
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise GanbenchError(f"{path}: a parent of this path is a file, not a folder") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise GanbenchError(f"{path}: is a folder; give a file name to write")
    if st is not None and not stat.S_ISREG(st.st_mode):
        return path, True  # device, FIFO, socket: never renamed over
    if path.is_symlink():
        return Path(os.path.realpath(path)), False  # replace the target, keep the link
    return path, False


def _full_disk(e: BaseException) -> OSError | None:
    """The ENOSPC/EDQUOT OSError behind ``e`` (itself or anywhere in its cause/context chain)."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in _FULL:
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _no_space(path: Path, err: OSError) -> GanbenchError:
    folder = path.parent.resolve()
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:.1f} MiB free"
    except OSError:
        free = "free space unknown"
    what = "disk quota exceeded" if err.errno == errno.EDQUOT else "No space left on device"
    return GanbenchError(
        f"{path}: {what} writing to {folder} ({free}); free some space there or write elsewhere "
        f"(the previous file, if any, is unchanged)"
    )


def atomic_write(path: str | Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write a file by calling ``write(f)`` on a binary file object (see the module docstring)."""
    path = Path(path)
    dest, through = _destination(path)
    try:
        if through:
            with open(dest, "wb") as f:
                write(f)
            return
        _replace(dest, write)
    except GanbenchError:
        raise
    except BaseException as e:
        full = _full_disk(e)
        if full is not None:
            raise _no_space(dest, full) from full
        raise


def _replace(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(obj: Any) -> Any:
    """NaN/inf become null-safe strings so the file stays strict JSON (KL may be NaN by protocol)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return _jsonable(obj.item())
    return obj


def _restore_floats(obj: Any) -> Any:
    if isinstance(obj, str) and obj in ("NaN", "Infinity", "-Infinity"):
        return float(obj.lower().replace("infinity", "inf"))
    if isinstance(obj, dict):
        return {k: _restore_floats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore_floats(v) for v in obj]
    return obj


def folder_write_problem(folder: str | Path) -> tuple[Path, str | None]:
    """Whether files can be made in ``folder`` before any work: ``(probed, problem)``, where
    ``probed`` is the folder or, when it does not exist yet, its nearest existing parent, and
    ``problem`` is None, ``"file"`` (a file stands where a folder must be) or the OS's reason
    (read-only file system, permission)."""
    probed = Path(folder)
    while not probed.exists() and probed != probed.parent:
        probed = probed.parent
    if not probed.is_dir():
        return probed, "file"
    try:
        with tempfile.TemporaryFile(dir=probed):
            pass
    except OSError as e:
        return probed, str(e.strerror or e)
    return probed, None


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (NaN/inf as strings, see :func:`read_json`)."""
    data = json.dumps(_jsonable(obj), indent=2, sort_keys=False, allow_nan=False).encode() + b"\n"
    write_bytes_atomic(path, data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def savez_atomic(path: str | Path, **arrays: Any) -> None:
    """``numpy.savez`` (uncompressed) of ``arrays``, written atomically."""
    import numpy as np  # costly-ish (~0.1 s) and only the statistics cache writes arrays

    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_json(path: str | Path) -> Any:
    """Read JSON written by :func:`write_json_atomic`; a corrupt file raises an error naming it."""
    path = Path(path)
    try:
        return _restore_floats(json.loads(path.read_text()))
    except json.JSONDecodeError as e:
        raise GanbenchError(f"{path}: not valid JSON ({e}); the file is truncated or corrupt") from e


def torch_save_atomic(path: str | Path, obj: Any) -> None:
    import torch  # costly (~2 s): io is on the CLI's --help path (records), which must stay light

    atomic_write(path, lambda f: torch.save(obj, f))


def torch_load_safe(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a ganbench-written file with ``weights_only=True``: no arbitrary unpickling."""
    import torch  # costly: see torch_save_atomic

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises several types for truncated zips
        raise GanbenchError(f"{path}: cannot be loaded as a ganbench checkpoint ({e})") from e


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
