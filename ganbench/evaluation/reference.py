"""Reference statistics (μ, Σ and optionally the features) of a real split, cached on disk.

A cache entry is a ``.npz`` plus a JSON manifest. The manifest holds the full key (dataset, split,
resolution, extractor, mode, weights hash, n, the extractor's preprocessing version and the cache
format) and the sha256 of the ``.npz``. An entry is reused only when the key matches exactly, the
``.npz`` has that sha256 and its arrays have the expected shapes; anything else (a stale key, a
truncated or edited file) is recomputed and overwritten, never reused. Files are written atomically
(the manifest last, so a crash leaves no manifest that points at a half-written ``.npz``).

Σ is the unbiased covariance (N − 1) in float64, as docs/protocols.md pins it for the Fréchet distance.

With an extractor shared by the ranks of a process group (``collective``: a
:class:`~ganbench.evaluation.sharded.ShardedExtractor`, every rank calls :func:`reference_statistics`
together) the entry is used when it is valid on every rank; otherwise every rank takes part in the
extraction (each extracts its share of every batch) and rank 0 alone writes the entry: no two ranks
write the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganbench import __version__
from ganbench.cache import cache_root
from ganbench.errors import GanbenchError, SourceError
from ganbench.evaluation.extractors.base import FeatureExtractor
from ganbench.evaluation.sharded import agree, process_world
from ganbench.evaluation.statistics import FeatureStatistics, extract_features
from ganbench.io import read_json, savez_atomic, sha256_file, write_json_atomic

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the layout of the .npz / manifest changes

Batch = torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]


def reference_key(
    dataset_name: str, split: str, resolution: int | None, extractor: FeatureExtractor, n: int | None
) -> dict[str, Any]:
    """Everything a cached entry must match to be reused."""
    return {
        "dataset": dataset_name,
        "split": split,
        "resolution": resolution,
        "extractor": extractor.name,
        "mode": extractor.mode,
        "weights_hash": extractor.weights_hash,
        "n": n,
        "preprocessing_version": extractor.preprocessing_version,
        "cache_format": CACHE_FORMAT,
    }


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def reference_cache_dir() -> Path:
    return cache_root() / "reference_stats"


def entry_paths(key: dict[str, Any], cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(``.npz``, manifest) paths of a key: a readable stem plus the first 16 hex of the key digest."""
    folder = Path(cache_dir) if cache_dir is not None else reference_cache_dir()
    parts = [key["dataset"], key["split"], key["resolution"] or "native", key["extractor"], key["mode"]]
    parts.append(key["n"] if key["n"] is not None else "all")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(map(str, parts))) + f"-{key_digest(key)[:16]}"
    return folder / f"{stem}.npz", folder / f"{stem}.json"


# --------------------------------------------------------------------------------------------------
# reading a cached entry


def _load_entry(
    npz: Path, manifest: Path, key: dict[str, Any], dim: int, need_features: bool
) -> tuple[dict | None, str]:
    """(stats, "") when the entry is valid for ``key``; (None, why not) otherwise."""
    if not manifest.is_file():
        return None, "no cache entry"
    try:
        meta = read_json(manifest)
    except GanbenchError as e:
        return None, f"corrupt manifest ({e})"
    if not isinstance(meta, dict) or meta.get("key") != key:
        return (
            None,
            f"key mismatch (cached {meta.get('key') if isinstance(meta, dict) else meta!r}, wanted {key})",
        )
    if not npz.is_file():
        return None, f"{npz.name} is missing"
    digest = sha256_file(npz)
    if digest != meta.get("npz_sha256"):
        return None, f"{npz.name} does not match the sha256 in its manifest (corrupt or modified)"
    if need_features and not meta.get("has_features"):
        return None, "the cached entry has no features and features were asked for"
    try:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except Exception as e:  # zipfile / ValueError on a damaged archive
        return None, f"{npz.name} cannot be read ({e})"
    count = meta.get("count")
    mu = arrays.get("mu", np.empty(0))
    dim = dim or (mu.shape[0] if mu.ndim == 1 else -1)  # extractors of free width (identity): from mu
    ok = (
        arrays.get("mu", np.empty(0)).shape == (dim,)
        and arrays.get("sigma", np.empty(0)).shape == (dim, dim)
        and (not meta.get("has_features") or arrays.get("features", np.empty(0)).shape == (count, dim))
    )
    if not ok:
        return None, f"{npz.name} has arrays of unexpected shapes"
    stats = {
        "mu": arrays["mu"],
        "sigma": arrays["sigma"],
        "features": torch.from_numpy(arrays["features"]) if "features" in arrays else None,
        "labels": torch.from_numpy(arrays["labels"]) if "labels" in arrays else None,
        "n": count,
        "key": key,
        "stats_sha256": digest,
        "path": str(npz),
    }
    return stats, ""


# --------------------------------------------------------------------------------------------------
# computing an entry


def statistics(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) in float64 numpy; Σ is the unbiased (N − 1) covariance (the one accumulator)."""
    mu, sigma = FeatureStatistics(name="reference features").add(features).mean_cov()
    return mu.cpu().numpy(), sigma.cpu().numpy()


def reference_statistics(
    dataset_name: str,
    split: str,
    resolution: int | None,
    extractor: FeatureExtractor,
    images_iterable_factory: Callable[[], Iterable[Batch]],
    n: int | None = None,
    cache_dir: str | Path | None = None,
    with_features: bool = True,
    progress: bool = False,
    total: int | None = None,
) -> dict[str, Any]:
    """Reference statistics of a real split, from the cache when a valid entry matches.

    ``images_iterable_factory()`` returns a fresh iterable of uint8 batches N×C×H×W, or of
    ``(images, labels)`` pairs (labels are then stored too, for per-class metrics); it is only called
    on a cache miss. ``n``: use the first n images (None = all). ``with_features``: keep the features
    (kNN metrics: precision/recall, density/coverage, KID need them); without them the features
    stream through the accumulator and are never held. ``total``: how many images the iterable
    gives when ``n`` is None (sizes the progress bar).

    Returns ``mu``, ``sigma`` (float64 numpy), ``features`` (float32 tensor or None), ``labels``
    (int64 tensor or None), ``n``, ``key``, ``stats_sha256`` (of the .npz, for provenance), ``path``
    and ``cache`` ("hit", or "computed: <why the cache was not used>").
    """
    key = reference_key(dataset_name, split, resolution, extractor, n)
    npz, manifest = entry_paths(key, cache_dir)
    stats, why = _load_entry(npz, manifest, key, extractor.dim, with_features)
    # an extractor shared by the ranks (every rank calls this together): they decide together, a hit
    # only when the entry is valid on every rank (a cache not shared between nodes, or one written
    # meanwhile by another run), else every rank takes part in the sharded extraction
    together = bool(getattr(extractor, "collective", False))
    rank = process_world()[0] if together else 0
    answers = agree((stats is not None, why)) if together else [(stats is not None, why)]
    misses = [(r, w) for r, (hit, w) in enumerate(answers) if not hit]
    if not misses:
        assert stats is not None
        stats["cache"] = "hit"
        return stats
    first, why = misses[0]
    why = why if first == 0 else f"rank {first}: {why}"  # the same reason on every rank
    if rank == 0 and why != "no cache entry":
        log.warning("reference statistics %s: recomputing: %s", npz.name, why)
    got = extract_features(
        extractor,
        images_iterable_factory(),
        "reference statistics",
        n,
        keep_features=with_features,
        progress=progress,
        total=total,
        desc=f"reference features ({extractor.name})",
    )
    if got.n < 2:
        raise SourceError(f"reference statistics need at least 2 images, got {got.n}")
    if extractor.dim and got.stats.dim != extractor.dim:
        raise SourceError(f"{extractor.name} gave {got.stats.dim}-d features, expected {extractor.dim}")
    mu, sigma = (t.cpu().numpy() for t in got.stats.mean_cov())
    feats, labels = got.features, got.labels
    arrays = {"mu": mu, "sigma": sigma}
    if with_features:
        arrays["features"] = feats.numpy().astype(np.float32, copy=False)
    if labels is not None:
        arrays["labels"] = labels.numpy()
    digest = None
    if rank == 0:  # under torchrun every rank holds the same statistics; one writes them
        savez_atomic(npz, **arrays)
        digest = sha256_file(npz)
        write_json_atomic(
            manifest,
            {
                "key": key,
                "key_sha256": key_digest(key),
                "npz_sha256": digest,
                "count": got.n,
                "has_features": with_features,
                "has_labels": labels is not None,
                "extractor": extractor.provenance(),
                "ganbench_version": __version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )
    if together:
        digest = agree(digest)[0]  # rank 0's: every rank returns the same provenance
    return {
        "mu": mu,
        "sigma": sigma,
        "features": feats,
        "labels": labels,
        "n": got.n,
        "key": key,
        "stats_sha256": digest,
        "path": str(npz),
        "cache": f"computed: {why}",
    }
