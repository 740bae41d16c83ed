"""Data-parallel evaluation pieces (ganbench.evaluation.sharded) in one process: the slicing rule,
and the wrappers in a 1-rank gloo group (the 2-rank behaviour: tests/integration/test_distributed.py)."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist

from ganbench.evaluation.extractors.base import FeatureExtractor
from ganbench.evaluation.reference import reference_statistics
from ganbench.evaluation.sharded import ShardedExtractor, agree, local_slice


class Tiny(FeatureExtractor):
    name, dim, num_classes, weights_hash = "tiny", 3, 2, "none"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def compute(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.seen.append(len(images))
        x = images.float().flatten(1)
        return x[:, :3], x[:, :2] * 2


@pytest.mark.parametrize("n", [1, 5, 8])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_slices_cover_the_batch_in_order(n: int, world: int) -> None:
    x = torch.arange(n)
    parts = [local_slice(x, r, world) for r in range(world)]
    assert len({len(p) for p in parts}) == 1  # equal sizes, as all_gather needs
    assert torch.equal(torch.cat(parts)[:n], x)
    assert bool((torch.cat(parts)[n:] == x[0]).all())  # padding: copies of the first row


@pytest.fixture
def one_rank_group():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_sharded_extractor_is_its_base(one_rank_group, tmp_path) -> None:
    base = Tiny()
    sharded = ShardedExtractor(base)
    images = torch.randint(0, 256, (5, 1, 2, 2), dtype=torch.uint8)
    f, lg = sharded(images)
    f0, lg0 = base(images)
    assert torch.equal(f, f0) and torch.equal(lg, lg0)
    assert sharded.provenance() == base.provenance()
    assert agree({"a": 1}) == [{"a": 1}]
    # the reference cache: computed once through the wrapper, then a hit (key = the base's identity)
    factory = lambda: [images]  # noqa: E731
    got = reference_statistics("d", "train", 2, sharded, factory, cache_dir=tmp_path)
    assert got["cache"] == "computed: no cache entry" and got["stats_sha256"]
    again = reference_statistics("d", "train", 2, base, factory, cache_dir=tmp_path)
    assert again["cache"] == "hit" and again["stats_sha256"] == got["stats_sha256"]
