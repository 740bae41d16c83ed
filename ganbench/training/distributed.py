"""Data-parallel training: one run on several processes (``torchrun --nproc_per_node N``).

The design, in one paragraph. ``train.batch_size`` is the GLOBAL batch. Every rank draws the same
global batch from the same deterministic stream (batches are a function of (seed, step)) and keeps
its slice ``[rank·b, (rank+1)·b)``; the same for the latents and for per-sample random draws of the
objective (GP's ε, see :func:`per_sample_draws`). So the union over ranks of a step's samples is the
single-process batch, every rank's RNG states stay identical, and a checkpoint does not depend on
the world size. Gradients are averaged by an explicit all-reduce over a flat bucket after each
backward (:func:`all_reduce_grads`) instead of the DDP wrapper: DDP's reducer hooks do not support
the double backward of GP/R1 in every mode, and the explicit mean is exact (up to the reduction
order of the sum). Since every rank starts from the same weights (same seed) and applies the same
averaged gradient, parameters, spectral-norm ``u`` vectors (computed from the same W), the G EMA and
state that is a function of the parameters (historical averaging's running means) stay identical on
every rank without further communication. Batch norm: :func:`convert_batchnorm` makes its training
statistics global (``runtime.sync_batchnorm``, default on: the run's result must not depend on the
world size, which is not part of the run id).
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ganbench.config import check_global_batch
from ganbench.devices import distributed_active
from ganbench.errors import GanbenchError
from ganbench.objectives.draws import global_draws

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(GanbenchError):
    """The process group could not be formed (a missing rank, a bad environment)."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes checkpoints, records, samples and the progress bar."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


SINGLE = World()


def env_world(env: dict[str, str] | None = None) -> World:
    """The world torchrun describes in the environment; a single process when WORLD_SIZE is unset."""
    env = dict(os.environ) if env is None else env
    if "WORLD_SIZE" not in env:
        return SINGLE
    try:
        size, rank = int(env["WORLD_SIZE"]), int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        got = {k: env.get(k) for k in ENV_KEYS}
        raise DistributedError(
            f"torchrun environment: RANK/WORLD_SIZE/LOCAL_RANK must be integers, got {got}"
        ) from None
    if size < 1 or not 0 <= rank < size:
        raise DistributedError(f"torchrun environment: RANK={rank} is not in [0, WORLD_SIZE={size})")
    return World(rank, size, local)


def current() -> World:
    """The world of this process: the initialised process group, else a single process."""
    if distributed_active():
        return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return SINGLE


def init(device_name: str = "auto", timeout_s: float = 600.0) -> World:
    """Join the process group torchrun set up (nccl on CUDA, gloo on CPU); idempotent. A single
    process (no WORLD_SIZE, or WORLD_SIZE=1) forms no group. A rank that does not arrive within
    ``timeout_s`` (``runtime.dist_timeout_s``) gives a clear error instead of a hang; the same
    timeout bounds every later collective, so a killed rank stops the others."""
    if distributed_active():
        return current()
    world = env_world()
    if not world.parallel:
        return world
    for key in ("MASTER_ADDR", "MASTER_PORT"):
        if key not in os.environ:
            raise DistributedError(f"WORLD_SIZE={world.size} but {key} is not set: launch with torchrun")
    cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(world.local_rank)
    try:
        dist.init_process_group(
            backend, rank=world.rank, world_size=world.size, timeout=datetime.timedelta(seconds=timeout_s)
        )
    except (RuntimeError, dist.DistError) as e:  # DistStoreError: the rendezvous timed out
        where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        raise DistributedError(
            f"rank {world.rank} of {world.size}: the process group at {where} did not form within "
            f"{timeout_s:g} s (runtime.dist_timeout_s): a rank is missing or cannot reach rank 0 ({e})"
        ) from None
    return world


def close() -> None:
    if distributed_active():
        dist.destroy_process_group()


def device_for(device: torch.device, world: World) -> torch.device:
    """Rank r uses GPU LOCAL_RANK (one process per GPU, as torchrun starts them)."""
    if world.parallel and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


def check_batch(batch_size: int, world_size: int, key: str = "train.batch_size") -> int:
    """The per-rank batch; a global batch not divisible by the world size is refused (the one check,
    :func:`ganbench.config.check_global_batch`, which validation runs for ``runtime.processes``)."""
    return check_global_batch(batch_size, world_size, key)


def shard(x: torch.Tensor | None, world: World) -> torch.Tensor | None:
    """Rank r's slice of a global batch (dim 0)."""
    if x is None or not world.parallel:
        return x
    b = check_batch(len(x), world.size, "a global batch")
    return x[world.rank * b : (world.rank + 1) * b]


def sharded_stream(batches: Iterator[Any], world: World) -> Iterator[Any]:
    """Every rank reads the same global batches and keeps its slice of each (images and labels).
    The cost is converting the whole global batch on every rank; for in-memory data that is small
    next to a step of the networks."""
    for batch in batches:
        yield tuple(shard(t, world) for t in batch)


def all_reduce_grads(params: Any, world: World) -> None:
    """Average the gradients of ``params`` over the ranks, in one flat bucket per dtype (exact: the
    mean of the per-rank means of equal shards is the global mean; only the summation order
    differs). Parameters without a gradient are skipped; they are the same on every rank since
    every rank runs the same graph."""
    if not world.parallel:
        return
    grads = [p.grad for p in params if p.grad is not None]
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for g in grads:
        by_dtype.setdefault(g.dtype, []).append(g)
    for group in by_dtype.values():
        flat = torch.cat([g.reshape(-1) for g in group])
        dist.all_reduce(flat)
        flat /= world.size
        offset = 0
        for g in group:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()


def optimiser_params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]


def average_logs(logs: dict[str, torch.Tensor], world: World) -> dict[str, torch.Tensor]:
    """Logged losses averaged over the ranks: the global batch's mean loss (logs that are not means,
    e.g. a maximum, become the mean of the per-rank values)."""
    if not world.parallel or not logs:
        return logs
    keys = sorted(logs)
    # a technique may log plain floats (path length's pl_mean)
    flat = torch.stack([torch.as_tensor(logs[k]).detach().float().reshape(()) for k in keys])
    dist.all_reduce(flat)
    flat /= world.size
    return dict(zip(keys, flat.unbind(), strict=True))


def gather(x: torch.Tensor, world: World) -> torch.Tensor:
    """The concatenation over ranks (in rank order) of equally sized tensors."""
    if not world.parallel:
        return x
    parts = [torch.empty_like(x) for _ in range(world.size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def barrier(world: World) -> None:
    if world.parallel:
        dist.barrier()


def per_sample_draws(world: World, local_n: int) -> contextlib.AbstractContextManager[None]:
    """Within this block, ``torch.rand``/``torch.randn`` calls whose first dimension is the local
    batch draw for the global batch and return this rank's slice: the objective's per-sample random
    numbers (GP's ε, path-length noise) are then those of the single process, and every rank's RNG
    advances identically (:func:`ganbench.objectives.draws.global_draws`). The objective needs no
    change for it. Draws of another shape are left alone (they are the same on every rank, whose RNG
    states are equal)."""
    return global_draws(world.rank, world.size, local_n)


class _AllReduceSum(torch.autograd.Function):
    """The sum over ranks, differentiable (its backward is itself: the gradient of a sum that every
    rank receives is the sum of the ranks' output gradients), hence twice differentiable too."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:  # noqa: ARG004 - autograd's signature
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # noqa: ARG004
        return _AllReduceSum.apply(grad)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are over the global batch (all ranks), on any backend
    (torch's SyncBatchNorm runs on GPUs only). The all-reduce is differentiable (and twice so), so
    GP/R1 through D work. Eval mode uses the running statistics, as batch norm does. Arguments after
    the input are ignored, as the generators' plain batch norm (models/layers.py) ignores the
    conditioning: a batch-norm subclass whose forward does more than batch norm must not be converted."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input (got {input.dim()}-D)")

    def forward(self, input: torch.Tensor, *_ignored: Any) -> torch.Tensor:
        world = current()
        if not (self.training and world.parallel):
            return super().forward(input)
        dims = [0] + list(range(2, input.dim()))
        n_local = input.numel() // input.shape[1]
        x = input.float()
        stats = torch.cat([x.sum(dims), (x * x).sum(dims)])
        stats = _AllReduceSum.apply(stats)
        n = n_local * world.size
        mean, sq = stats.chunk(2)
        mean, var = mean / n, sq / n - (mean / n) ** 2
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / max(n - 1, 1), alpha=m)
        shape = [1, -1] + [1] * (input.dim() - 2)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(input.dtype)


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Every BatchNorm1d/2d/3d of ``module`` as a :class:`GlobalBatchNorm` with the same parameters
    and buffers (the module itself when it is one)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in module.named_children():
        setattr(module, name, convert_batchnorm(child))
    return module


def same_on_all_ranks(module: nn.Module, world: World) -> bool:
    """True when every parameter and buffer of ``module`` is bitwise equal on all ranks."""
    if not world.parallel:
        return True
    tensors = [t.detach().float().reshape(-1) for t in (*module.parameters(), *module.buffers())]
    flat = torch.cat(tensors) if tensors else torch.zeros(1)
    lo, hi = flat.clone(), flat.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    return bool(torch.equal(lo, hi))
