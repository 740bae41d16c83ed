"""Atomic writes and safe reads: a crash mid-write never leaves a half-written record or checkpoint."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ganbench.errors import GanbenchError

# mkstemp creates 0600 files; records and tables on a shared results folder should get the mode
# any other file of this user gets (read once at import: os.umask can only be read by setting it).
_UMASK = os.umask(0)
os.umask(_UMASK)


def _atomic_replace(path: Path, write: Any) -> None:
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


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON via a temporary file and ``os.replace``."""
    data = json.dumps(_jsonable(obj), indent=2, sort_keys=False, allow_nan=False).encode() + b"\n"
    _atomic_replace(Path(path), lambda f: f.write(data))


def write_text_atomic(path: str | Path, text: str) -> None:
    _atomic_replace(Path(path), lambda f: f.write(text.encode("utf-8")))


def read_json(path: str | Path) -> Any:
    """Read JSON written by :func:`write_json_atomic`; a corrupt file raises an error naming it."""
    path = Path(path)
    try:
        return _restore_floats(json.loads(path.read_text()))
    except json.JSONDecodeError as e:
        raise GanbenchError(f"{path}: not valid JSON ({e}); the file is truncated or corrupt") from e


def torch_save_atomic(path: str | Path, obj: Any) -> None:
    _atomic_replace(Path(path), lambda f: torch.save(obj, f))


def torch_load_safe(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a ganbench-written file with ``weights_only=True``: no arbitrary unpickling."""
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
