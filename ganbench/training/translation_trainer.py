"""The training loop of image-to-image translation (Pix2Pix, CycleGAN). Like the generation trainer
it knows no architecture: the family builds the networks (``G``, ``D`` or ``G``, ``F``, ``D_A``,
``D_B``), the registered adversarial loss and Lipschitz method score D, the translation terms
(L1, cycle, identity) add to G's loss. Read it top to bottom: setup → resume → loop → record.

One step (both papers): translate the batch; update D on real pairs vs translated ones (CycleGAN:
vs fakes drawn from the image pool of past translations), with the D loss halved as both papers'
code does; update G on the adversarial loss of its translations plus the terms. CycleGAN's code
updates G before D (``g_step_first``), Pix2Pix's D before G; the translations are computed once,
before both updates, either way. The learning rates are constant, then decay linearly to 0 over
the last ``optim.decay_steps`` steps (the papers' schedule).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ganbench.config import RunConfig
from ganbench.devices import resolve_device
from ganbench.errors import DivergedError
from ganbench.evaluation.translation import evaluate_translator
from ganbench.objectives.lipschitz import estimate_lipschitz
from ganbench.objectives.translation import ImagePool, TranslationStep
from ganbench.records import new_record, write_record
from ganbench.registries import DATASETS, LIPSCHITZ, LOSSES, MODELS, TECHNIQUES, load_all
from ganbench.training.checkpoint import (
    LAST,
    CorruptCheckpointError,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from ganbench.training.device import default_threads
from ganbench.training.optim import linear_decay, make_optimiser
from ganbench.training.samples import SAMPLES_PNG

D_LOSS_SCALE = 0.5  # both papers' code: loss_D = (loss_D_real + loss_D_fake) * 0.5


class TranslationTrainer:
    """Train one translation run config into ``run_dir`` and write its record (``stop_at``, ``fresh``:
    as the generation trainer's)."""

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
        self.stop_at, self.fresh = stop_at, fresh
        self.history: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.wall_before = 0.0
        self.session_eval_s = 0.0
        self.baseline: dict[str, Any] | None = None

    # --- setup -----------------------------------------------------------------------------------
    def setup(self) -> None:
        load_all()
        cfg = self.cfg
        self.device = resolve_device(cfg.runtime.device)
        torch.manual_seed(cfg.seed)
        self.data = DATASETS.get(cfg.data.name, "data.name")(cfg.data)
        self.family = MODELS.get(cfg.model.name, "model.name")
        nets = self.family.build(cfg, self.data)
        torch.set_num_threads(cfg.runtime.threads or default_threads(None, cfg.runtime.cpus))
        self.loss = LOSSES.get(cfg.objective.loss)(**cfg.objective.loss_params)
        self.lipschitz = LIPSCHITZ.get(cfg.objective.lipschitz)(**cfg.objective.lipschitz_params)
        self.d_names = [k for k in nets if k.startswith("D")]
        for name in self.d_names:
            nets[name] = self.lipschitz.prepare(nets[name])
        self.nets = nets.to(self.device)
        self.terms = [TECHNIQUES.get(n)(**(p or {})) for n, p in cfg.objective.techniques.items()]
        self.identity = any(t.needs_identity for t in self.terms)
        g_params = [p for k in nets if not k.startswith("D") for p in nets[k].parameters()]
        d_params = [p for k in self.d_names for p in nets[k].parameters()]
        self.opt_g = make_optimiser(cfg.optim, g_params, cfg.optim.lr_g)
        self.opt_d = make_optimiser(cfg.optim, d_params, cfg.optim.lr_d)
        decay = getattr(cfg.optim, "decay_steps", None) or 0
        self.sched = [
            torch.optim.lr_scheduler.LambdaLR(o, linear_decay(cfg.train.steps, decay))
            for o in (self.opt_g, self.opt_d)
        ]
        # CycleGAN's pools of past fakes, one per domain (Pix2Pix's conditional D sees the newest)
        size = self.family.pool_size
        self.pools = {d: ImagePool(size, seed=cfg.seed + i) for i, d in enumerate(self.d_names)}

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self, step: int) -> dict[str, Any]:
        return {
            "run_id": self.cfg.run_id,
            "config_hash": self.cfg.config_hash,
            "step": step,
            "nets": self.nets.state_dict(),
            "G": self.nets["G"].state_dict(),  # the evaluated translator, as ganbench eval loads it
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched": [s.state_dict() for s in self.sched],
            "pools": {k: p.state_dict() for k, p in self.pools.items()},
            "rng_cpu": torch.get_rng_state(),
            "history": self.history,
            "evals": self.evals,
            "baseline": self.baseline,
            "wall_time_s": self.wall_before + (time.perf_counter() - self.t0),
        }

    def resume(self) -> int:
        path = checkpoint_path(self.run_dir, LAST)
        if self.fresh or not path.exists():
            return 0
        try:
            state = load_checkpoint(path, self.cfg.config_hash)
        except CorruptCheckpointError as e:
            raise CorruptCheckpointError(
                f"{e}; to start this run over: ganbench train RECIPE --force"
            ) from None
        self.nets.load_state_dict(state["nets"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for s, saved in zip(self.sched, state["sched"], strict=True):
            s.load_state_dict(saved)
        for k, p in self.pools.items():
            p.load_state_dict(state["pools"][k])
        torch.set_rng_state(state["rng_cpu"])
        self.history, self.evals = list(state["history"]), list(state["evals"])
        self.baseline, self.wall_before = state["baseline"], float(state["wall_time_s"])
        return int(state["step"])

    # --- one step --------------------------------------------------------------------------------
    def d_loss(
        self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor | None
    ) -> torch.Tensor:
        loss = D_LOSS_SCALE * self.loss.d_loss(D(real, cond), D(fake, cond))
        penalty = self.lipschitz.penalty(D, real, fake, cond, cond)
        return loss if penalty is None else loss + penalty

    def train_step(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
        nets, two_way = self.nets, self.family.two_way
        s = TranslationStep(a=a, b=b, fake_b=nets["G"](a))
        if two_way:
            s.fake_a = nets["F"](b)
            s.rec_a, s.rec_b = nets["F"](s.fake_b), nets["G"](s.fake_a)
            if self.identity:
                s.same_b, s.same_a = nets["G"](b), nets["F"](a)
        logs: dict[str, float] = {}
        if self.family.g_step_first:
            logs |= self.g_update(s)
            logs |= self.d_update(s)
        else:
            logs |= self.d_update(s)
            logs |= self.g_update(s)
        for sched in self.sched:
            sched.step()
        return logs

    def d_update(self, s: TranslationStep) -> dict[str, float]:
        nets = self.nets
        for name in self.d_names:
            nets[name].requires_grad_(True)
        if self.family.two_way:  # unconditional D per domain, on pooled fakes
            loss_b = self.d_loss(nets["D_B"], s.b, self.pools["D_B"].query(s.fake_b.detach()), None)
            loss_a = self.d_loss(nets["D_A"], s.a, self.pools["D_A"].query(s.fake_a.detach()), None)
            total, logs = loss_a + loss_b, {"d_loss_a": loss_a.item(), "d_loss_b": loss_b.item()}
        else:  # conditional D on (a, b) pairs
            total = self.d_loss(nets["D"], s.b, s.fake_b.detach(), s.a)
            logs = {"d_loss": total.item()}
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self.opt_d.step()
        for name in self.d_names:
            self.lipschitz.after_d_step(nets[name])
        return logs

    def g_update(self, s: TranslationStep) -> dict[str, float]:
        nets = self.nets
        for name in self.d_names:
            nets[name].requires_grad_(False)  # gradients through D to G only
        if self.family.two_way:
            adv = self.loss.g_loss(nets["D_B"](s.fake_b)) + self.loss.g_loss(nets["D_A"](s.fake_a))
        else:
            adv = self.loss.g_loss(nets["D"](s.fake_b, s.a))
        total, logs = adv, {"g_loss": adv.item()}
        for t in self.terms:
            term = t.g_term(s)
            total = total + term
            logs[f"g_{t.name}"] = term.item()
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        return logs

    # --- evaluation ------------------------------------------------------------------------------
    def lipschitz_estimate(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
        """The generation trainer's estimate of max ‖∇D‖, on the D that scores B images (Pix2Pix's
        conditional D at the batch's own inputs)."""
        gen = torch.Generator().manual_seed(self.cfg.eval.seed)
        with torch.no_grad():
            fake = self.nets["G"](a)
        name, cond = ("D_B", None) if self.family.two_way else ("D", a)
        return estimate_lipschitz(self.nets[name], b, fake, cond, cond, generator=gen)

    def evaluate(
        self, seed: int, baseline: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any], torch.Tensor]:
        G, F = self.nets["G"], self.nets["F"] if self.family.two_way else None
        try:
            return evaluate_translator(
                G, self.data, self.cfg.eval, seed, self.device, F, with_baseline=baseline
            )
        finally:
            self.nets.train()

    def periodic_eval(self, step: int) -> None:
        t0 = time.perf_counter()
        metrics, provenance, _ = self.evaluate(self.cfg.eval.selection_seed, baseline=self.baseline is None)
        if self.baseline is None:
            self.baseline = provenance.get("identity_baseline")
        self.session_eval_s += time.perf_counter() - t0
        self.evals.append({"step": step, **metrics})

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any] | None:
        self.t0 = time.perf_counter()
        self.setup()
        start = self.resume()
        cfg, tc = self.cfg, self.cfg.train
        end = min(tc.steps, self.stop_at) if self.stop_at is not None else tc.steps
        batches = self.data.stream(tc.batch_size, cfg.seed, start)
        session_t0 = time.perf_counter()
        bar = tqdm(
            total=tc.steps, initial=start, disable=not self.progress, desc=cfg.run_id[:48], leave=False
        )
        status, error, ran = "finished", None, 0
        if cfg.eval.every and start == 0 and end > 0:
            self.periodic_eval(0)
        self.nets.train()
        try:
            for step in range(start, end):
                a, b = next(batches)
                logs = self.train_step(a.to(self.device), b.to(self.device))
                done, ran = step + 1, ran + 1
                if done % tc.log_every == 0 or done == tc.steps:
                    entry = {"step": done, "lr_g": self.opt_g.param_groups[0]["lr"], **logs}
                    if tc.lipschitz_estimate_every and (
                        done % tc.lipschitz_estimate_every == 0 or done == tc.steps
                    ):
                        entry.update(self.lipschitz_estimate(a.to(self.device), b.to(self.device)))
                    self.history.append(entry)
                    bad = [k for k, v in entry.items() if isinstance(v, float) and not math.isfinite(v)]
                    if bad:
                        raise DivergedError(f"non-finite {', '.join(bad)} at step {done}")
                    bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k in ("d_loss", "g_loss")})
                if cfg.eval.every and done % cfg.eval.every == 0:
                    self.periodic_eval(done)
                if tc.checkpoint_every and done % tc.checkpoint_every == 0 or done == end:
                    save_checkpoint(self.run_dir, self.state_dict(done))
                bar.update(1)
        except DivergedError as e:
            status, error = "diverged", str(e)
        finally:
            bar.close()
        if status == "finished" and end < tc.steps:
            return None
        return self.finish(status, error, ran, time.perf_counter() - session_t0)

    def finish(
        self, status: str, error: str | None, session_steps: int, session_wall: float
    ) -> dict[str, Any]:
        cfg = self.cfg
        metrics, provenance, rows = self.evaluate(cfg.eval.seed, baseline=self.baseline is None)
        if self.history and "lipschitz_max" in self.history[-1]:
            metrics.update({k: v for k, v in self.history[-1].items() if k.startswith("lipschitz_")})
        if self.baseline is None:
            self.baseline = provenance.pop("identity_baseline", None)
        save_rows(rows, self.run_dir / SAMPLES_PNG)
        train_s = session_wall - self.session_eval_s
        rate = session_steps / train_s if train_s > 0 else float("nan")
        record = new_record(
            cfg,
            status,
            metrics=metrics,
            history=self.history,
            evals=self.evals,
            error=error,
            compute={
                "wall_time_s": self.wall_before + (time.perf_counter() - self.t0),
                "steps_per_s": rate,
                "samples_per_s": rate * cfg.train.batch_size,
                "periodic_eval_s": self.session_eval_s,
                "device": str(self.device),
                "threads": torch.get_num_threads(),
            },
            provenance={
                "task": "translation",
                "eval_seed": cfg.eval.seed,
                "dataset": self.data.describe(),
                "evaluation": provenance,
                "identity_baseline": self.baseline,  # the do-nothing translator's numbers
            },
        )
        write_record(self.run_dir, record)
        return record


def save_rows(rows: torch.Tensor, path: Path) -> None:
    """The sample figure: one row per test image, [input | output | target] (uint8 k×cols×C×H×W)."""
    from torchvision.utils import save_image

    k, cols = rows.shape[:2]
    grid = rows.flatten(0, 1).float() / 255.0
    if grid.shape[1] == 1:
        grid = grid.expand(-1, 3, -1, -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path, nrow=cols, padding=1, pad_value=1.0)
