"""Tests of weight lookup: a machine with no weights anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest


def no_weights_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_var: str) -> Path:
    """Empty ganbench and Hugging Face caches under ``tmp_path``, and none of the variables that name
    weights (``env_var``: the extractor's own); returns ``tmp_path``."""
    for var in (env_var, "GANBENCH_WEIGHTS_DIR", "HF_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path
