"""The training loop. It knows nothing of architectures or losses: the model family builds G and D,
the objective gives the D and G losses (adversarial loss + Lipschitz method + extra terms), the
checkpointer saves, the evaluator scores. Read it top to bottom: setup → resume → loop → record.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ganbench.config import RunConfig
from ganbench.devices import resolve_device
from ganbench.errors import DivergedError, GanbenchError
from ganbench.evaluation.evaluator import evaluate, generate
from ganbench.evaluation.metric import is_better
from ganbench.objectives.build import build_objective
from ganbench.objectives.lipschitz import estimate_lipschitz
from ganbench.records import new_record, write_record
from ganbench.registries import CONDITIONINGS, DATASETS, MODELS, load_all
from ganbench.training import distributed
from ganbench.training.checkpoint import (
    BEST,
    LAST,
    CorruptCheckpointError,
    checkpoint_path,
    load_checkpoint,
    load_generator_weights,
    save_checkpoint,
)
from ganbench.training.device import resolve_threads
from ganbench.training.ema import make_ema, uses_ema
from ganbench.training.growing import Growth, Schedule
from ganbench.training.optim import make_optimiser
from ganbench.training.samples import SAMPLES_PER_CLASS, save_samples

_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Trainer:
    """Train one run config into ``run_dir`` and write its record.

    ``stop_at`` ends the session after that many generator steps (checkpoint written, no record):
    it stands for an interrupted run in tests and lets a run be trained in slices.
    ``fresh`` trains from step 0 whatever checkpoint the folder holds (``ganbench train --force``);
    the folder's old record stays until the new one replaces it.
    """

    data_parallel = True  # runs under torchrun: one rank per process (training/distributed.py)

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: str | Path,
        progress: bool | None = None,
        stop_at: int | None = None,
        fresh: bool = False,
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.progress = cfg.runtime.progress if progress is None else progress
        self.stop_at = stop_at
        self.fresh = fresh
        self.history: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.wall_before = 0.0  # wall time of earlier sessions of a resumed run
        self.eval_provenance: dict[str, Any] | None = None  # of the last evaluation (images)
        self.session_eval_s = 0.0  # periodic evaluation time this session: not training throughput
        self.start = 0  # the step this session started at (after resume)
        self.world = distributed.SINGLE  # set in setup: under torchrun, this process's rank

    # --- setup -----------------------------------------------------------------------------------
    def setup(self) -> None:
        load_all()
        cfg = self.cfg
        # under torchrun: join the process group; rank r trains on GPU LOCAL_RANK (distributed.py)
        self.world = distributed.init(cfg.runtime.device, cfg.runtime.dist_timeout_s)
        self.device = distributed.device_for(resolve_device(cfg.runtime.device), self.world)
        if self.world.parallel and self.device.type == "cuda":
            torch.cuda.set_device(self.device)  # the default device of this rank's kernels
        torch.manual_seed(cfg.seed)  # weight initialisation and the global RNG (penalty sampling)
        self.data = DATASETS.get(cfg.data.name, "data.name")(cfg.data)
        self.family = MODELS.get(cfg.model.name, "model.name")
        G, D = self.family.build(cfg, self.data)
        # the one thread setting: runtime.threads, else sized to the networks' work and the run's CPUs
        labelled = CONDITIONINGS.get(cfg.model.conditioning).needs_labels
        torch.set_num_threads(resolve_threads(cfg.runtime, G, D, cfg.train.batch_size, labelled))
        self.objective = build_objective(cfg)
        D = self.objective.attach(G, D)
        if self.world.parallel and cfg.runtime.sync_batchnorm:
            # batch-norm statistics over the global batch: the run does not depend on the world size
            G, D = distributed.convert_batchnorm(G), distributed.convert_batchnorm(D)
        memory_format = torch.channels_last if cfg.runtime.channels_last else torch.preserve_format
        self.G = G.to(self.device, memory_format=memory_format)
        self.D = D.to(self.device, memory_format=memory_format)
        self.conditional = CONDITIONINGS.get(cfg.model.conditioning).needs_labels
        if self.conditional and not self.data.num_classes:
            raise GanbenchError(
                f"model.conditioning={cfg.model.conditioning!r} needs labels, but dataset "
                f"{cfg.data.name!r} has none"
            )
        obj = self.objective  # lazy regularisers take extra steps: Adam is rescaled for them
        self.opt_g = make_optimiser(cfg.optim, self.G.parameters(), cfg.optim.lr_g, obj.g_interval)
        self.opt_d = make_optimiser(cfg.optim, self.D.parameters(), cfg.optim.lr_d, obj.d_interval)
        self.ema = make_ema(self.G, cfg.train) if uses_ema(cfg.train) else None
        # the schedule: resolution, fade-in and batch size of each step (one phase when not growing)
        self.schedule = Schedule(cfg)
        for phase in self.schedule.phases:  # the global batch of every phase is split over the ranks
            distributed.check_batch(phase.batch_size, self.world.size)
        self.growth = Growth(self.schedule, [self.G, self.D] + ([self.ema.module] if self.ema else []))
        self.z_gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 1_000_003)
        amp = cfg.runtime.amp
        self.autocast = (
            (lambda: torch.autocast(self.device.type, dtype=_AMP_DTYPES[amp]))
            if amp != "off"
            else contextlib.nullcontext
        )
        enabled = amp == "fp16"
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=enabled)
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=enabled)
        # Compiled views of the networks for the hot loop; state is always read from the originals.
        self.G_run, self.D_run = self.G, self.D
        if cfg.runtime.compile:
            self.G_run = torch.compile(self.G)
            # torch.compile cannot differentiate twice through a compiled D (input-gradient penalties)
            if not self.objective.lipschitz.needs_input_gradients:
                self.D_run = torch.compile(self.D)

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self, step: int) -> dict[str, Any]:
        state = {
            "run_id": self.cfg.run_id,
            "config_hash": self.cfg.config_hash,
            "step": step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_z": self.z_gen.get_state(),
            "history": self.history,
            "evals": self.evals,
            "best": self.best,
            "wall_time_s": self.wall_before + (time.perf_counter() - self.t0),
        }
        if self.ema is not None:
            state["G_ema"] = self.ema.state_dict()
        # terms with state (historical averaging's running means) resume where they were
        state["terms"] = {t.name: t.state_dict() for t in self.objective.terms if hasattr(t, "state_dict")}
        if self.device.type == "cuda":
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def resume(self) -> int:
        """Load the last checkpoint when there is one (and the run is not ``fresh``); returns the step
        to start from."""
        path = checkpoint_path(self.run_dir, LAST)
        if self.fresh or not path.exists():
            return 0  # a fresh run overwrites last.pt at its first checkpoint
        try:
            state = load_checkpoint(path, self.cfg.config_hash)
        except CorruptCheckpointError as e:
            raise CorruptCheckpointError(
                f"{e}; to start this run over from step 0, keeping the file as {LAST}.corrupt-<time>: "
                "ganbench train RECIPE --force (or ganbench grid FILE --restart-corrupt)"
            ) from None
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        if self.ema is not None:
            self.ema.load_state_dict(state["G_ema"])
        for t in self.objective.terms:
            if t.name in state.get("terms", {}):
                t.load_state_dict(state["terms"][t.name])
        torch.set_rng_state(state["rng_cpu"])
        self.z_gen.set_state(state["rng_z"])
        if "rng_cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng_cuda"], self.device)
        self.history = list(state["history"])
        self.evals = list(state["evals"])
        self.best = state["best"]
        self.wall_before = float(state["wall_time_s"])
        return int(state["step"])

    # --- one step --------------------------------------------------------------------------------
    def latents(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` latents (and labels) for this rank: every rank draws the global batch's and keeps
        its slice, so the ranks together use the single process's latents."""
        n_all = n * self.world.size
        z = torch.randn(n_all, self.G.z_dim, device=self.device, generator=self.z_gen)
        y = None
        if self.conditional:
            y = torch.randint(self.data.num_classes, (n_all,), device=self.device, generator=self.z_gen)
        return distributed.shard(z, self.world), distributed.shard(y, self.world)

    def _backward(self, loss: torch.Tensor, scaler: torch.amp.GradScaler, opt: torch.optim.Optimizer) -> None:
        """Backward, then the gradients averaged over the ranks (an explicit all-reduce: exact, and it
        works with the double backward of GP/R1, where DDP's reducer hooks do not in every mode)."""
        scaler.scale(loss).backward()
        distributed.all_reduce_grads(distributed.optimiser_params(opt), self.world)

    def _draws(self, n: int) -> Any:
        """The objective's per-sample random draws (GP's ε) as the single process's, sliced."""
        return distributed.per_sample_draws(self.world, n)

    def _to_device(self, x: torch.Tensor | None) -> torch.Tensor | None:
        if x is None:
            return None
        if self.cfg.runtime.channels_last and x.dim() == 4:
            return x.to(self.device, non_blocking=True, memory_format=torch.channels_last)
        return x.to(self.device, non_blocking=True)

    def follow_schedule(self, step: int, batches: Any) -> Any:
        """Set the networks to ``step``'s resolution and fade-in; returns the data stream, a new one
        where the schedule changes the batch size."""
        self.growth.apply(self.schedule.at(step))
        if step != self.start and self.schedule.starts_segment(step):
            return self.stream(step)
        return batches

    def stream(self, step: int) -> Any:
        """The data stream at ``step``: every rank reads the global batches and keeps its slice."""
        batches = self.schedule.stream(self.data, self.cfg.seed, step)
        return distributed.sharded_stream(batches, self.world) if self.world.parallel else batches

    def train_step(self, step: int, batches: Any) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        logs: dict[str, torch.Tensor] = {}
        self.D.requires_grad_(True)
        for _ in range(cfg.train.n_critic):
            real, y_real = next(batches)
            real, y_real = self._to_device(real), self._to_device(y_real)
            real = self.growth.blend_reals(real)  # faded in like G's output (growing only)
            z, y_fake = self.latents(len(real))  # the batch size of this step (growing changes it)
            with torch.no_grad(), self.autocast(), self._draws(len(real)):  # G's noise inputs too
                fake = self.G_run(z, y_fake)
            with self.autocast(), self._draws(len(real)):
                loss_d, logs = self.objective.d_loss(self.D_run, real, y_real, fake, y_fake, step)
            self._optimiser_step(loss_d, self.opt_d, self.scaler_d)
            # under autocast like every loss; the penalty picks its own precision (penalty_precision)
            with self.autocast(), self._draws(len(real)):
                reg_d, reg_logs = self.objective.d_lazy_loss(self.D_run, real, y_real, fake, y_fake, step)
            if reg_d is not None:  # lazy penalty: its own step (StyleGAN2's Dreg)
                self._optimiser_step(reg_d, self.opt_d, self.scaler_d)
                logs.update(reg_logs)
            self.objective.lipschitz.after_d_step(self.D)
        # G step: D's parameter gradients are not needed, only the gradient through D to G.
        self.D.requires_grad_(False)
        z, y_fake = self.latents(len(real))
        with self.autocast(), self._draws(len(real)):
            fake = self.G_run(z, y_fake)
            loss_g, logs_g = self.objective.g_loss(self.D_run, fake, y_fake, real, y_real, step)
        self._optimiser_step(loss_g, self.opt_g, self.scaler_g)
        with self.autocast(), self._draws(len(real)):
            reg_g, reg_logs_g = self.objective.g_lazy_loss(self.G_run, step)
        if reg_g is not None:  # lazy G regulariser (path length): its own step (StyleGAN2's Greg)
            self._optimiser_step(reg_g, self.opt_g, self.scaler_g)
            logs_g.update(reg_logs_g)
        if self.ema is not None:
            self.ema.update_parameters(self.G)
        self._last_batch = (real, y_real, fake.detach(), y_fake)
        return {**logs, **logs_g}

    def _optimiser_step(
        self, loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler
    ) -> None:
        """One update of ``opt`` from ``loss``: the loss steps and the lazy regularisers' own steps."""
        opt.zero_grad(set_to_none=True)
        self._backward(loss, scaler, opt)
        scaler.step(opt)
        scaler.update()

    # --- evaluation ------------------------------------------------------------------------------
    def eval_generator(self) -> nn.Module:
        return self.ema.module if (self.ema is not None and self.cfg.eval.use_ema) else self.G

    def evaluate(self, G: nn.Module, seed: int) -> tuple[dict[str, Any], torch.Tensor]:
        self.eval_provenance = None
        # every rank generates its share of the samples (evaluator.py); the metrics are the same on all
        metrics, samples = evaluate(G, self.data, self.cfg.eval, seed, self.device)
        # image evaluation returns its provenance (extractor, reference stats, counts) with the metrics
        self.eval_provenance = metrics.pop("_provenance", None)
        return metrics, samples

    def lipschitz_estimate(self) -> dict[str, float]:
        # on the global batch (gathered), as one process would; every rank computes the same
        real, y_real, fake, y_fake = (
            None if t is None else distributed.gather(t, self.world) for t in self._last_batch
        )
        gen = torch.Generator().manual_seed(self.cfg.eval.seed)
        return estimate_lipschitz(self.D, real.float(), fake.float(), y_real, y_fake, generator=gen)

    def periodic_eval(self, step: int) -> None:
        """Evaluate on the *selection* seed; keep the best checkpoint when asked."""
        t0 = time.perf_counter()
        metrics, _ = self.evaluate(self.eval_generator(), self.cfg.eval.selection_seed)
        self.session_eval_s += time.perf_counter() - t0
        self.evals.append({"step": step, **self.progress_labels(step), **metrics})
        key = self.cfg.eval.selection_metric or self.cfg.eval.metrics[0]
        value = metrics.get(key)
        if (
            self.cfg.eval.select_best
            and self.schedule.fully_grown(step)  # an earlier resolution is another generator
            and value is not None
            and (self.best is None or is_better(key, value, self.best["value"]))
        ):
            self.best = {"step": step, "metric": key, "value": value}
            if self.world.main:  # the ranks' weights are identical: one writes
                save_checkpoint(self.run_dir, {"step": step, "G": self.eval_generator().state_dict()}, BEST)
            distributed.barrier(self.world)  # finish() may read best.pt on every rank

    def progress_labels(self, done: int) -> dict[str, Any]:
        """What a history entry or evaluation after ``done`` steps is labelled with: the real images D
        has seen and, when growing, the resolution the generator was trained at."""
        labels: dict[str, Any] = {"images_seen": self.schedule.images_seen(done)}
        if self.schedule.grows:
            labels["resolution"] = self.schedule.evaluated_state(done).resolution
        return labels

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any] | None:
        """Train (resuming if a checkpoint exists), evaluate, write the record and return it.
        Returns None when stopped early by ``stop_at``."""
        self.t0 = time.perf_counter()
        self.setup()
        self.start = start = self.resume()
        cfg = self.cfg
        steps, tc = cfg.train.steps, cfg.train
        end = min(steps, self.stop_at) if self.stop_at is not None else steps
        batches = self.stream(start)
        self.growth.apply(self.schedule.evaluated_state(start))  # as trained so far (step 0: the first)
        session_t0 = time.perf_counter()
        bar = tqdm(
            total=steps,
            initial=start,
            disable=not (self.progress and self.world.main),
            desc=cfg.run_id[:48],
            leave=False,
        )
        status, error, ran = "finished", None, 0
        if cfg.eval.every and start == 0 and end > 0:
            self.periodic_eval(0)  # metric-vs-step curves start at the untrained generator
        try:
            for step in range(start, end):
                batches = self.follow_schedule(step, batches)
                logs = self.train_step(step, batches)
                done, ran = step + 1, ran + 1
                if done % tc.log_every == 0 or done == steps:
                    logs = distributed.average_logs(logs, self.world)  # the global batch's losses
                    entry = {
                        "step": done,
                        **self.progress_labels(done),
                        **{k: float(v) for k, v in logs.items()},
                    }
                    if tc.lipschitz_estimate_every and (
                        done % tc.lipschitz_estimate_every == 0 or done == steps
                    ):
                        entry.update(self.lipschitz_estimate())
                    self.history.append(entry)
                    bad = [k for k, v in entry.items() if isinstance(v, float) and not math.isfinite(v)]
                    if bad:
                        raise DivergedError(f"non-finite {', '.join(bad)} at step {done}")
                    bar.set_postfix({k: f"{entry[k]:.3g}" for k in ("d_loss", "g_loss") if k in entry})
                if cfg.eval.every and done % cfg.eval.every == 0:
                    self.periodic_eval(done)
                if tc.checkpoint_every and done % tc.checkpoint_every == 0 or done == end:
                    # rank 0 writes (atomically); the ranks' states are identical (distributed.py)
                    if self.world.main:
                        save_checkpoint(self.run_dir, self.state_dict(done))
                    distributed.barrier(self.world)  # no rank goes on (or exits) before it is written
                bar.update(1)
        except DivergedError as e:
            status, error = "diverged", str(e)
        finally:
            bar.close()
        if status == "finished" and end < steps:
            return None  # stopped early on purpose; the checkpoint is the state
        return self.finish(status, error, ran, time.perf_counter() - session_t0)

    def finish(
        self, status: str, error: str | None, session_steps: int, session_wall: float
    ) -> dict[str, Any]:
        cfg = self.cfg
        G_final = self.eval_generator()
        if self.best is not None:
            G_final = copy.deepcopy(G_final)
            G_final.load_state_dict(load_generator_weights(self.run_dir, "best")[0])
        metrics: dict[str, Any] = {}
        try:
            metrics, samples = self.evaluate(G_final, cfg.eval.seed)
            if self.history and "lipschitz_max" in self.history[-1]:
                metrics.update({k: v for k, v in self.history[-1].items() if k.startswith("lipschitz_")})
            if self.world.main:
                self.save_samples(samples, G_final)
            family_evaluation = getattr(self.family, "final_evaluation", None)  # optional contract
            if family_evaluation is not None and self.world.main:  # single-process code: rank 0 runs it
                metrics.update(family_evaluation(G_final, self.data, cfg, self.run_dir, self.device))
        except GanbenchError as e:
            if status == "finished":
                raise
            error = f"{error}; final evaluation failed: {e}"
        wall = self.wall_before + (time.perf_counter() - self.t0)
        train_s = session_wall - self.session_eval_s  # steps/s of training, not of the evaluations
        rate = session_steps / train_s if train_s > 0 else float("nan")
        images = self.schedule.images_seen(self.start + session_steps) - self.schedule.images_seen(self.start)
        record = new_record(
            cfg,
            status,
            metrics=metrics,
            history=self.history,
            evals=self.evals,
            error=error,
            compute={
                "wall_time_s": wall,
                "steps_per_s": rate,  # generator steps per second in the last session
                "samples_per_s": images / train_s if train_s > 0 else float("nan"),  # real samples seen per s
                "images_seen": self.schedule.images_seen(self.start + session_steps),  # by D, in all
                "periodic_eval_s": self.session_eval_s,  # of the last session, outside steps_per_s
                "device": str(self.device),
                "device_name": torch.cuda.get_device_name(self.device)
                if self.device.type == "cuda"
                else "cpu",
                "threads": torch.get_num_threads(),
                "amp": cfg.runtime.amp,
                "world_size": self.world.size,  # processes (GPUs) of the run: torchrun's world
            },
            provenance={
                "eval_seed": cfg.eval.seed,
                "selection_seed": cfg.eval.selection_seed,
                "n_fake": cfg.eval.n_samples,
                "dataset": self.data.describe(),
                "evaluated": "best" if self.best else ("ema" if G_final is not self.G else "final"),
                "best": self.best,
                "evaluation": self.eval_provenance,
            },
        )
        if self.world.main:
            write_record(self.run_dir, record)
        return record

    def save_samples(self, samples: torch.Tensor, G: nn.Module) -> None:
        if self.conditional and self.data.kind != "points":
            # a conditional generator is judged class by class: one row of the grid per class
            labels = torch.arange(self.data.num_classes).repeat_interleave(SAMPLES_PER_CLASS)
            samples, _ = generate(G, len(labels), self.cfg.eval.seed, self.device, labels=labels)
            save_samples(samples, self.data, self.run_dir, self.cfg.run_id, SAMPLES_PER_CLASS, limit=None)
            return
        save_samples(samples, self.data, self.run_dir, title=self.cfg.run_id)
