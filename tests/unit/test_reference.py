"""Reference-statistics cache: values, reuse only on an exact key match, corruption → recompute."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.extractors.identity import IdentityExtractor
from ganbench.evaluation.reference import entry_paths, reference_key, reference_statistics, statistics


class Source:
    """An images-iterable factory that counts how often it is called (a cache miss calls it)."""

    def __init__(
        self, n: int = 50, dim: int = 4, batch: int = 16, labels: bool = False, seed: int = 0
    ) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 256, (n, 1, 2, dim // 2), dtype=torch.uint8, generator=gen)
        self.y = torch.arange(n) % 3 if labels else None
        self.batch = batch
        self.calls = 0

    def __call__(self):
        self.calls += 1
        for i in range(0, len(self.x), self.batch):
            xb = self.x[i : i + self.batch]
            yield (xb, self.y[i : i + self.batch]) if self.y is not None else xb


def _stats(src, ext, tmp_path, **kw):
    kw.setdefault("cache_dir", tmp_path)
    return reference_statistics("toyset", "test", 2, ext, src, **kw)


def test_values_equal_numpy_and_second_call_is_a_hit(tmp_path):
    src, ext = Source(), IdentityExtractor()
    first = _stats(src, ext, tmp_path)
    assert first["cache"] == "computed: no cache entry" and src.calls == 1
    feats = src.x.reshape(50, -1).double().numpy()
    np.testing.assert_allclose(first["mu"], feats.mean(0), rtol=1e-12)
    np.testing.assert_allclose(first["sigma"], np.cov(feats, rowvar=False, ddof=1), rtol=1e-12)
    assert first["mu"].dtype == np.float64 and first["n"] == 50
    second = _stats(src, ext, tmp_path)
    assert second["cache"] == "hit" and src.calls == 1
    np.testing.assert_array_equal(second["mu"], first["mu"])
    np.testing.assert_array_equal(second["sigma"], first["sigma"])
    assert torch.equal(second["features"], first["features"])
    assert second["stats_sha256"] == first["stats_sha256"] and second["key"] == first["key"]
    # atomic writes leave exactly the entry and its manifest
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npz"]


@pytest.mark.parametrize(
    "change",
    ["weights_hash", "mode", "preprocessing_version", "n", "split", "resolution"],
)
def test_any_key_change_recomputes(tmp_path, change):
    src, ext = Source(), IdentityExtractor()
    _stats(src, ext, tmp_path)
    kw = {}
    if change in ("weights_hash", "mode", "preprocessing_version"):
        setattr(ext, change, "other")
    elif change == "n":
        kw["n"] = 40
    out = reference_statistics(
        "toyset",
        "train" if change == "split" else "test",
        3 if change == "resolution" else 2,
        ext,
        src,
        cache_dir=tmp_path,
        **kw,
    )
    assert out["cache"].startswith("computed") and src.calls == 2
    assert (
        out["key"][change if change != "n" else "n"]
        != reference_key("toyset", "test", 2, IdentityExtractor(), None)[change]
    )


def test_a_manifest_with_another_key_is_never_reused(tmp_path):
    src, ext = Source(), IdentityExtractor()
    first = _stats(src, ext, tmp_path)
    _, manifest = entry_paths(first["key"], tmp_path)
    meta = json.loads(manifest.read_text())
    meta["key"]["weights_hash"] = "0" * 64  # e.g. written by another version, same file name
    manifest.write_text(json.dumps(meta))
    out = _stats(src, ext, tmp_path)
    assert out["cache"].startswith("computed: key mismatch") and src.calls == 2
    assert _stats(src, ext, tmp_path)["cache"] == "hit"  # the rewritten entry is valid again


@pytest.mark.parametrize("damage", ["truncate_npz", "flip_npz_byte", "garbage_manifest", "delete_npz"])
def test_corrupt_entries_are_detected_and_recomputed(tmp_path, damage):
    src, ext = Source(), IdentityExtractor()
    first = _stats(src, ext, tmp_path)
    npz, manifest = entry_paths(first["key"], tmp_path)
    if damage == "truncate_npz":
        npz.write_bytes(npz.read_bytes()[:100])
    elif damage == "flip_npz_byte":
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        npz.write_bytes(bytes(data))
    elif damage == "garbage_manifest":
        manifest.write_text('{"key": ')
    else:
        npz.unlink()
    out = _stats(src, ext, tmp_path)
    assert out["cache"].startswith("computed:") and out["cache"] != "computed: no cache entry"
    assert src.calls == 2
    np.testing.assert_array_equal(out["sigma"], first["sigma"])
    assert _stats(src, ext, tmp_path)["cache"] == "hit"


def test_features_and_labels(tmp_path):
    src, ext = Source(labels=True), IdentityExtractor()
    no_feats = _stats(src, ext, tmp_path, with_features=False)
    assert no_feats["features"] is None and torch.equal(no_feats["labels"], src.y)
    # features asked for later: the entry without them is not enough
    with_feats = _stats(src, ext, tmp_path)
    assert with_feats["cache"].startswith("computed: the cached entry has no features") and src.calls == 2
    assert with_feats["features"].shape == (50, 4) and with_feats["features"].dtype == torch.float32
    hit = _stats(src, ext, tmp_path, with_features=False)
    assert hit["cache"] == "hit" and torch.equal(hit["labels"], src.y)


def test_n_takes_the_first_images_and_too_few_is_an_error(tmp_path):
    src, ext = Source(), IdentityExtractor()
    out = _stats(src, ext, tmp_path, n=20)
    assert out["n"] == 20 and out["key"]["n"] == 20
    mu, sigma = statistics(src.x[:20].reshape(20, -1).float())
    np.testing.assert_allclose(out["mu"], mu)
    np.testing.assert_allclose(out["sigma"], sigma)
    with pytest.raises(SourceError, match="asked for n=60 images, the source gave only 50"):
        _stats(src, ext, tmp_path, n=60)
