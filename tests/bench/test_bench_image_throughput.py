"""Image training throughput on the CPU at 28×28 Fashion-MNIST, per architecture.

``test_recipe_throughput_vs_minimal_loop[arch]``: recipes/fmnist/<arch>.yaml as shipped (its batch,
n_critic, loss, conditioning, EMA, ortho_reg), ganbench's ``Trainer.train_step`` against a minimal
hand-written PyTorch loop on the same networks (built by the same family, same init seed), in the same
run: G steps/s, real images/s (= steps/s × batch × n_critic, the record's ``samples_per_s``) and the
ratio. Both loops do the same work per G step: n_critic D updates (fresh real batch, detached fakes,
the recipe's loss) and one G update, plus EMA and ortho_reg where the recipe has them. Neither
checkpoints nor evaluates (that cost is per run, not per step; see the grid test). The two loops
alternate step by step (ABBA order), each after one untimed step, so a change of load on the shared
machine hits both; the ratio is the median of the per-pair ratios. Target: ≤ 10 % overhead, asserted
for DCGAN (40 pairs); the full-width ResNet/SAGAN/BigGAN steps take tens of seconds on two shared
cores, so they are timed over two pairs each and only gross overhead (> 50 %) fails.

``test_fmnist_grid_run_cost[arch]``: the recipes/grids/fmnist.yaml runs of that architecture (hinge ×
{none, gp, sn}): CPU seconds per step at batch 64, FLOPs per step (torch's flop formulas, counted at
batch 2 and scaled: the work is linear in the batch), the CPU cost of a 20 000-step run with its 12
evaluations, and a GPU **estimate** from the FLOPs, calibrated on the one H100 measurement in
docs/models.md (BigGAN 128×128, ch 96, batch 32: 0.16 s per D+G step in fp32).

Run: pytest tests/bench/test_bench_image_throughput.py --benchmark-enable --benchmark-only -s
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganbench.config import load_config
from ganbench.evaluation.images import DEFAULT_BATCH_SIZE
from ganbench.models.layers import ortho_penalty
from ganbench.objectives.techniques import ortho_parameters
from ganbench.registries import DATASETS, MODELS, load_all
from ganbench.runners.grid import load_grid
from ganbench.training.trainer import Trainer

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

ROOT = Path(__file__).resolve().parents[2]
ARCHS = ("dcgan", "resnet", "sagan", "biggan")
THREADS = 2  # the machine's cores (shared); `ganbench train` uses torch's default, the same
# Timed G steps per loop and architecture: a few dozen D/G updates for DCGAN; two G steps of the
# full-width nets, which do 5 (ResNet), 1 (SAGAN) and 4 (BigGAN) D updates per G step. Every
# measurement follows an untimed step of the same shapes (the first convolution of a shape builds its
# oneDNN kernels, a process-wide cache that would bill whichever loop ran first).
RECIPE_STEPS = {"dcgan": 40, "resnet": 2, "sagan": 2, "biggan": 2}
GRID_STEPS = {"dcgan": 30, "resnet": 1, "sagan": 1, "biggan": 1}
MAX_RATIO = {"dcgan": 1.10, "resnet": 1.5, "sagan": 1.5, "biggan": 1.5}
H100_BIGGAN128_S_PER_STEP = 0.16  # docs/models.md: measured, fp32, no gradient penalty


@pytest.fixture(autouse=True)
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


def recipe(arch: str):
    return load_config(
        ROOT / "recipes" / "fmnist" / f"{arch}.yaml",
        ["runtime.device=cpu", "runtime.progress=false", f"runtime.threads={THREADS}"],
    )


# --- the two loops ----------------------------------------------------------------------------


def ganbench_stepper(cfg, run_dir: Path) -> Callable[[], None]:
    """One G step of ganbench's trainer (train_step, its logs read back as floats) per call."""
    trainer = Trainer(cfg, run_dir, progress=False)
    trainer.setup()
    batches = trainer.data.stream(cfg.train.batch_size, cfg.seed)
    steps = itertools.count()

    def step() -> None:
        logs = trainer.train_step(next(steps), batches)
        {k: float(v) for k, v in logs.items()}  # what a logging step does

    return step


def ganbench_loop(cfg, run_dir: Path, steps: int, warmup: int) -> float:
    """Seconds per G step of ganbench's trainer."""
    step = ganbench_stepper(cfg, run_dir)
    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def minimal_stepper(cfg, data) -> Callable[[], None]:
    """The same step written out by hand: Adam, the recipe's loss, n_critic, labels, EMA, ortho_reg."""
    torch.manual_seed(cfg.seed)
    G, D = MODELS.get(cfg.model.name).build(cfg, data)
    o, tc = cfg.optim, cfg.train
    opt_g = torch.optim.Adam(G.parameters(), o.lr_g, betas=o.betas)
    opt_d = torch.optim.Adam(D.parameters(), o.lr_d, betas=o.betas)
    ema = copy.deepcopy(G).requires_grad_(False) if tc.ema_decay else None
    ortho = cfg.objective.techniques.get("ortho_reg")
    ortho_params = ortho_parameters(G) if ortho is not None else []
    classes = data.num_classes if cfg.model.conditioning != "none" else None
    hinge = cfg.objective.loss == "hinge"
    assert cfg.objective.loss in ("hinge", "nonsaturating") and cfg.objective.lipschitz == "none"
    bs, z_dim = tc.batch_size, cfg.model.z_dim
    stream = data.stream(bs, cfg.seed)

    def latents():
        y = torch.randint(classes, (bs,)) if classes else None
        return torch.randn(bs, z_dim), y

    def step():
        for _ in range(tc.n_critic):
            real, y_real = next(stream)
            z, y = latents()
            with torch.no_grad():
                fake = G(z, y)
            r, f = D(real, y_real if classes else None), D(fake, y)
            loss_d = (
                F.relu(1 - r).mean() + F.relu(1 + f).mean()
                if hinge
                else F.softplus(-r).mean() + F.softplus(f).mean()
            )
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        D.requires_grad_(False)
        z, y = latents()
        f = D(G(z, y), y)
        loss_g = -f.mean() if hinge else F.softplus(-f).mean()
        if ortho_params:
            loss_g = loss_g + ortho["weight"] * sum(ortho_penalty(p) for p in ortho_params)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        if ema is not None:
            with torch.no_grad():
                for pe, p in zip(ema.state_dict().values(), G.state_dict().values()):
                    if pe.is_floating_point():
                        pe.lerp_(p, 1 - tc.ema_decay)
                    else:
                        pe.copy_(p)
        loss_d.item(), loss_g.item()  # what a logging step does

    return step


def paired_times(a: Callable[[], None], b: Callable[[], None], pairs: int) -> list[tuple[float, float]]:
    """Seconds of ``a`` and of ``b`` per step, alternating A B B A ... after one untimed step each."""
    a(), b()
    out = []
    for i in range(pairs):
        order = (a, b) if i % 2 == 0 else (b, a)
        times = {}
        for fn in order:
            t0 = time.perf_counter()
            fn()
            times[fn] = time.perf_counter() - t0
        out.append((times[a], times[b]))
    return out


@pytest.mark.parametrize("arch", ARCHS)
def test_recipe_throughput_vs_minimal_loop(benchmark, tmp_path, arch):
    cfg = recipe(arch)
    data = DATASETS.get(cfg.data.name)(cfg.data)
    steps = RECIPE_STEPS[arch]

    def both():
        return paired_times(minimal_stepper(cfg, data), ganbench_stepper(cfg, tmp_path / "run"), steps)

    pairs = benchmark.pedantic(both, rounds=1, iterations=1)
    base = statistics.median(p[0] for p in pairs)
    ours = statistics.median(p[1] for p in pairs)
    ratio = statistics.median(p[1] / p[0] for p in pairs)
    per_step = cfg.train.batch_size * cfg.train.n_critic
    info = {
        "batch_size": cfg.train.batch_size,
        "n_critic": cfg.train.n_critic,
        "timed_steps": steps,
        "pairs": pairs,
        "minimal_s_per_step": base,
        "ganbench_s_per_step": ours,
        "minimal_steps_per_s": 1 / base,
        "ganbench_steps_per_s": 1 / ours,
        "minimal_images_per_s": per_step / base,
        "ganbench_images_per_s": per_step / ours,
        "ratio": ratio,
    }
    benchmark.extra_info.update(info)
    print(
        f"\n{arch:6s} recipe (batch {cfg.train.batch_size}, n_critic {cfg.train.n_critic}, {steps} steps): "
        f"minimal {1 / base:.3g} G steps/s = {per_step / base:.3g} img/s; "
        f"ganbench {1 / ours:.3g} G steps/s = {per_step / ours:.3g} img/s; ratio {ratio:.3f}"
    )
    assert ratio <= MAX_RATIO[arch], f"{arch}: ganbench step {100 * (ratio - 1):.0f}% slower than minimal"


# --- the fmnist grid: CPU cost per run, GPU estimate ------------------------------------------


class FlopCount(TorchDispatchMode):
    """FLOPs of every dispatched op torch's flop counter knows (convolutions, matmuls, their
    backward). torch's FlopCounterMode gives the same totals but its module hooks break
    ``torch.autograd.grad`` inside a gradient penalty, hence this hook-free version."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's protocol
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.flops += count(*args, **kwargs, out_val=out)
        return out


def step_flops(cfg, run_dir: Path, batch: int = 2) -> float:
    """FLOPs of one ganbench train_step of ``cfg`` at ``batch``, scaled to the config's batch."""
    small = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=batch))
    trainer = Trainer(small, run_dir, progress=False)
    trainer.setup()
    batches = trainer.data.stream(batch, cfg.seed)
    with FlopCount() as counter:
        trainer.train_step(0, batches)
    return counter.flops * cfg.train.batch_size / batch


def biggan128_step_flops(batch: int = 32) -> float:
    """FLOPs of the H100-measured step: BigGAN 128×128, ch 96, z 120, 1000 classes, one D + one G
    update, hinge. Counted on the meta device (shapes only, no arithmetic); the init scheme does not
    change the count, so torch's default (no QR of the big matrices) keeps the build quick."""
    from ganbench.config import config_from_dict

    nets = {"ch": 96, "init": "default"}
    cfg = config_from_dict(
        {
            "data": {"name": "fashion-mnist", "resolution": 128, "channels": 3},  # shape only
            "model": {"name": "biggan", "z_dim": 120, "conditioning": "projection", "g": nets, "d": nets},
            "objective": {"loss": "hinge"},
            "eval": {"metrics": ["fid"]},
        }
    )
    data = SimpleNamespace(kind="images", name="imagenet", sample_shape=(3, 128, 128), num_classes=1000)
    G, D = (net.to("meta") for net in MODELS.get("biggan").build(cfg, data))
    z, y = torch.randn(batch, 120, device="meta"), torch.randint(1000, (batch,), device="meta")
    real = torch.randn(batch, 3, 128, 128, device="meta")
    with FlopCount() as counter:
        with torch.no_grad():
            fake = G(z, y)
        (F.relu(1 - D(real, y)).mean() + F.relu(1 + D(fake, y)).mean()).backward()
        D.requires_grad_(False)
        (-D(G(z, y), y).mean()).backward()
    return counter.flops


@pytest.fixture(scope="module")
def h100_flops_per_s():
    """Sustained FLOP/s of the one H100 measurement we have (an anchor for the GPU estimates)."""
    return biggan128_step_flops() / H100_BIGGAN128_S_PER_STEP


def _cpu(cfg):
    return dataclasses.replace(cfg, runtime=dataclasses.replace(cfg.runtime, device="cpu", threads=THREADS))


@pytest.fixture(scope="module")
def eval_overhead_s(tmp_path_factory):
    """Seconds of one grid evaluation (10 000 samples, FID/KID/IS/PRDC vs 60 000 reals) beyond
    generating the samples: extractor, statistics, metrics. Measured with the cheap DCGAN; the
    reference statistics are computed (and cached) by a first, untimed evaluation."""
    cfg = next(
        c for c in load_grid(ROOT / "recipes" / "grids" / "fmnist.yaml").runs if c.model.name == "dcgan"
    )
    cfg = _cpu(cfg)
    trainer = Trainer(cfg, tmp_path_factory.mktemp("eval"), progress=False)
    trainer.setup()
    trainer.evaluate(trainer.G, cfg.eval.selection_seed)
    t0 = time.perf_counter()
    trainer.evaluate(trainer.G, cfg.eval.selection_seed)
    total = time.perf_counter() - t0
    return max(0.0, total - generation_s(trainer.G, cfg.eval.n_samples))


@torch.no_grad()
def generation_s(G, n: int) -> float:
    """Seconds to generate ``n`` samples in the evaluator's batches (timed on one batch)."""
    G.eval()
    classes = getattr(G, "num_classes", None)
    z = torch.randn(DEFAULT_BATCH_SIZE, G.z_dim)
    y = torch.randint(classes, (DEFAULT_BATCH_SIZE,)) if classes else None
    G(z[:8], y[:8] if y is not None else None)
    t0 = time.perf_counter()
    G(z, y)
    G.train()
    return (time.perf_counter() - t0) * n / DEFAULT_BATCH_SIZE


@pytest.mark.parametrize("arch", ARCHS)
def test_fmnist_grid_run_cost(benchmark, tmp_path, arch, h100_flops_per_s, eval_overhead_s):
    runs = [
        c
        for c in load_grid(ROOT / "recipes" / "grids" / "fmnist.yaml").runs
        if c.model.name == arch and c.objective.loss == "hinge"
    ]
    assert [c.objective.lipschitz for c in runs] == ["none", "gp", "sn"]
    steps = GRID_STEPS[arch]
    evals = runs[0].train.steps // runs[0].eval.every + 2  # step 0, every `every` steps, the final one

    def measure():
        out = {}
        ganbench_loop(_cpu(runs[0]), tmp_path / "warm", 1, 0)  # untimed: builds the kernels
        for cfg in runs:
            cfg = _cpu(cfg)
            lip = cfg.objective.lipschitz
            s = ganbench_loop(cfg, tmp_path / lip, steps, warmup=1 if arch == "dcgan" else 0)
            flops = step_flops(cfg, tmp_path / f"{lip}-flops")
            trainer = Trainer(cfg, tmp_path / f"{lip}-gen", progress=False)
            trainer.setup()
            eval_s = eval_overhead_s + generation_s(trainer.G, cfg.eval.n_samples)
            out[lip] = {
                "cpu_s_per_step": s,
                "cpu_images_per_s": cfg.train.batch_size * cfg.train.n_critic / s,
                "gflop_per_step": flops / 1e9,
                "cpu_eval_s": eval_s,
                "cpu_hours_per_run": (cfg.train.steps * s + evals * eval_s) / 3600,
                "gpu_est_s_per_step": flops / h100_flops_per_s,
                "gpu_est_minutes_train": cfg.train.steps * flops / h100_flops_per_s / 60,
            }
        return out

    out = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update({"h100_anchor_tflop_per_s": h100_flops_per_s / 1e12, **out})
    print(f"\n{arch}: fmnist grid (batch 64, n_critic 1), H100 anchor {h100_flops_per_s / 1e12:.1f} TFLOP/s")
    for lip, r in out.items():
        print(
            f"  {lip:4s} CPU {r['cpu_s_per_step']:.3g} s/step ({r['cpu_images_per_s']:.3g} img/s), "
            f"{r['gflop_per_step']:.0f} GFLOP/step, eval {r['cpu_eval_s']:.0f} s, "
            f"CPU run ≈ {r['cpu_hours_per_run']:.1f} h; GPU est. {1e3 * r['gpu_est_s_per_step']:.1f} ms/step "
            f"≈ {r['gpu_est_minutes_train']:.1f} min of training"
        )
    for r in out.values():
        assert 1 < r["gflop_per_step"] / r["cpu_s_per_step"] < 400, r  # GFLOP/s within what 2 cores can do
    # a gradient penalty differentiates D twice: it must cost more FLOPs than no penalty
    assert out["gp"]["gflop_per_step"] > out["none"]["gflop_per_step"]
