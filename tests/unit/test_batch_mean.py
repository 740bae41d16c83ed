"""models.layers.batch_mean: the global batch's mean under a process group (2 gloo ranks spawned
here), so StyleGAN's and StyleGAN2's tracked w_avg is the single process's on every rank."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganbench.models.layers import batch_mean
from ganbench.models.stylegan import StyleGANGenerator
from ganbench.models.stylegan2 import StyleGAN2Generator

SMALL = dict(w_dim=8, mapping_layers=2, channel_base=64, channel_max=8)
Z = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))


def _generators() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    v1 = StyleGANGenerator(8, 8, 1, w_dim=8, mapping_layers=2, style_mixing_prob=0.0)
    torch.manual_seed(0)
    v2 = StyleGAN2Generator(8, 8, 1, style_mixing_prob=0.0, **SMALL)
    return [v1, v2]


def _w_avgs(gens: list[torch.nn.Module], z: torch.Tensor) -> list[torch.Tensor]:
    out = []
    for G in gens:
        with torch.no_grad():
            G(z)
        out.append(G.w_avg.clone())
    return out


def _rank(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        rows = Z[rank * 3 : rank * 3 + 3]  # unequal-size slices would be fine too: sums and counts
        torch.save(
            {"mean": batch_mean(rows), "w_avg": _w_avgs(_generators(), rows)}, Path(out_dir) / f"{rank}.pt"
        )
    finally:
        dist.destroy_process_group()


def test_single_process_is_the_plain_mean() -> None:
    assert torch.equal(batch_mean(Z), Z.mean(dim=0))


def test_two_ranks_get_the_global_batch_mean_and_the_single_process_w_avg(tmp_path) -> None:
    mp.spawn(_rank, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"{r}.pt", weights_only=True) for r in range(2)]
    one = _w_avgs(_generators(), Z)  # one process on the whole batch
    for got in ranks:
        torch.testing.assert_close(got["mean"], Z.mean(dim=0), rtol=1e-6, atol=1e-7)
        for w_rank, w_one in zip(got["w_avg"], one, strict=True):
            assert w_one.abs().max() > 0  # the mapping moved it
            torch.testing.assert_close(w_rank, w_one, rtol=1e-5, atol=1e-7)
    for a, b in zip(ranks[0]["w_avg"], ranks[1]["w_avg"], strict=True):
        assert torch.equal(a, b)  # the same on every rank
