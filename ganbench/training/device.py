"""The one thread setting (``runtime.threads``) and its default.

torch's default of one intra-op thread per core is the wrong default for most runs here: the toy
MLPs do tiny matrix products, where thread hand-offs cost more than they give, and a grid runs
several runs at a time on one machine. So ``runtime.threads`` unset means: one thread when a step's
work is tiny (measured, below), else the run's CPUs (``runtime.cpus``: the Ray reservation, or the
local executor's share of the cores, or the machine's cores for ``ganbench train``). Measured on a
busy 2-core machine: the toy recipe runs 7x faster at 1 thread than at torch's default of 2
(docs/executors.md), and 9-15x faster in the benchmark there.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import torch
from torch import nn

# Forward FLOPs of one batch through G and D below which extra threads do not pay. Measured
# (docs/executors.md): the toy MLP 128x3 at batch 256 (34 MFLOP) and DCGAN ch 8 at batch 32
# (18 MFLOP) run fastest on one thread; ResNet/SAGAN ch 16 at batch 32 (~530 MFLOP) gain from two.
TINY_BATCH_FLOPS = 1e8


@functools.cache
def machine_cpus() -> int:
    """The CPUs this process may use: torch's own default (``OMP_NUM_THREADS`` when set, else the
    cores), read once, before any run of this process changes it."""
    return max(1, torch.get_num_threads())


def forward_flops(G: nn.Module, D: nn.Module, z_dim: int, labelled: bool) -> float | None:
    """FLOPs of one sample through G then D, counted by torch on copies of the networks in eval
    mode (no state of the originals changes: batch-norm statistics, spectral-norm vectors, RNG).
    None when a network cannot be run this way (then the work counts as not tiny)."""
    from torch.utils.flop_counter import FlopCounterMode  # torch's own counter, on use

    g, d = copy.deepcopy(G).eval(), copy.deepcopy(D).eval()
    z = torch.zeros(1, z_dim)
    y = torch.zeros(1, dtype=torch.long) if labelled else None
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            d(g(z, y), y)
    except Exception:  # noqa: BLE001 - a sizing heuristic must never fail a run
        return None
    return float(counter.get_total_flops())


def default_threads(batch_flops: float | None, cpus: float | None) -> int:
    """Threads for a run whose forward pass costs ``batch_flops`` per batch and that may use
    ``cpus`` CPUs (None: the machine's)."""
    share = max(1, math.floor(cpus)) if cpus is not None else machine_cpus()
    if batch_flops is not None and batch_flops < TINY_BATCH_FLOPS:
        return 1
    return share


def resolve_threads(runtime: Any, G: nn.Module, D: nn.Module, batch_size: int, labelled: bool) -> int:
    """``runtime.threads`` when set, else :func:`default_threads` of the measured work."""
    if runtime.threads is not None:
        return int(runtime.threads)
    per_sample = forward_flops(G, D, getattr(G, "z_dim", 0), labelled)
    return default_threads(None if per_sample is None else per_sample * batch_size, runtime.cpus)
