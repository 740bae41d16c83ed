"""An evaluation record (``ganbench eval``) in the shape of a run record, so that ``ganbench
leaderboard`` ranks an external network (an NVIDIA pickle, a TorchScript file, ...) beside ganbench's
own runs: one "external" row per evaluated file.

The leaderboard reads ``record.json`` files with a run id, a status, a config and the evaluation's
provenance under ``provenance.evaluation``. Here the config says what was evaluated
(``model.name: external``, ``external.*``: the source, its kind, its sha256 when it is a file, and
its sampling options), the reference dataset as ``data.name`` and the evaluation settings as
``eval.*``, under the names a training run's record uses, so that records measured alike share a
column group and records measured differently do not.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganbench.records import new_record

EXTERNAL_MODEL = "external"
# the source's own facts kept as external.* config keys (rows): what was evaluated, and how it was sampled
_SOURCE_KEYS = ("kind", "sha256", "network", "class", "truncation_psi", "noise_mode", "resolution", "c_dim")


def run_record(eval_record: dict[str, Any]) -> dict[str, Any]:
    """The run-record form of ``eval_record`` (what :meth:`EvaluationResult.to_record` returns)."""
    settings, prov = eval_record["config"], dict(eval_record["provenance"])
    source = prov.get("source") or {}
    external = {"source": Path(str(settings["source"])).name}
    external.update({k: source[k] for k in _SOURCE_KEYS if source.get(k) is not None})
    config = {
        "name": f"external:{external['source']}",
        "seed": None,  # no training seed: one evaluated network is one "seed"
        "data": {"name": settings["reference"]},
        "model": {"name": EXTERNAL_MODEL},
        "external": external,
        "eval": {
            "metrics": settings["metrics"],
            "n_samples": settings["n"],
            "n_real": settings["n_real"],
            "seed": settings["seed"],
            "reference_split": settings["split"],
            "extractor": settings["extractor"],
            "extractor_params": settings["extractor_params"],
            "metric_params": settings["metric_params"],
            # resized images are a setting of their own; training runs never resize (no such key)
            **({"resize": True} if settings.get("resize") else {}),
        },
    }
    versions = prov.pop("versions", {})
    canonical = json.dumps(config, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return new_record(
        _ExternalConfig(f"external-{digest}", digest, config),
        "finished",
        metrics=eval_record["metrics"],
        compute=eval_record.get("compute") or {},
        provenance={"versions": versions, "external": True, "evaluation": prov},
    )


@dataclass(frozen=True)
class _ExternalConfig:
    """What ``records.new_record`` asks of a run config, for an evaluated file: no training seed."""

    run_id: str
    config_hash: str
    config: dict[str, Any]
    seed: None = None

    def to_dict(self) -> dict[str, Any]:
        return self.config
