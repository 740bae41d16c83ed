"""Run configuration: plain dataclasses, loaded from YAML, validated up front, hashed to a run id.

Every error names the file, the dotted key and the valid choices, and is raised before training.
Component hyperparameters (``params`` mappings) are checked against the keyword arguments of the
registered factory, so a new component needs no separate schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganbench import registries as R
from ganbench.errors import ConfigError
from ganbench.schema import check_params, deep_merge, from_dict, load_yaml, parse_override, set_dotted

# ---------------------------------------------------------------------------------------------
# the run configuration


@dataclass
class DataConfig:
    name: str = "ring8"
    root: str | None = None  # image datasets: where the files are (None = the dataset's default)
    split: str = "train"
    resolution: int | None = None  # None = the dataset's native size
    channels: int | None = None  # None = native; 1 or 3 to convert
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    name: str = "mlp"
    z_dim: int = 2
    conditioning: str = "none"
    conditioning_params: dict[str, Any] = field(default_factory=dict)  # e.g. acgan: class_weight_d
    g: dict[str, Any] = field(default_factory=dict)  # generator kwargs of the model family
    d: dict[str, Any] = field(default_factory=dict)  # discriminator kwargs


@dataclass
class ObjectiveConfig:
    loss: str = "nonsaturating"
    loss_params: dict[str, Any] = field(default_factory=dict)
    lipschitz: str = "none"
    lipschitz_params: dict[str, Any] = field(default_factory=dict)
    techniques: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> params


@dataclass
class OptimConfig:
    name: Literal["adam", "rmsprop"] = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    # the learning rates decay linearly to 0 over the last N generator steps (Pix2Pix/CycleGAN's
    # schedule); None = constant. Translation runs only, for now
    decay_steps: int | None = None


@dataclass
class GrowingConfig:
    """Progressive growing (Karras et al. 2018), counted in real images shown to D (batch size ×
    n_critic per generator step). The first resolution trains for ``stabilise_images``; each later
    one fades its block in over ``fade_images`` (α 0 → 1) and then stabilises for
    ``stabilise_images``; the last one fades in and trains to the end of ``train.steps``.
    ``training/growing.py`` turns this into the state of each step."""

    resolutions: list[int] = field(default_factory=list)  # e.g. [4, 8, 16, 32]; the last = the data's
    fade_images: int = 800_000  # the paper's 800k
    stabilise_images: int = 800_000
    batch_sizes: list[int] | None = None  # one per resolution; None = train.batch_size throughout

    def batch_size_at(self, phase: int, default: int) -> int:
        return self.batch_sizes[phase] if self.batch_sizes else default

    def phase_steps(self, batch_size: int, n_critic: int) -> list[int]:
        """Generator steps of every phase but the last (which runs to the end of training): a phase
        ends at the first step whose images reach its length, so it may overshoot by < one step."""
        steps = []
        for i in range(len(self.resolutions) - 1):
            images = self.stabilise_images + (self.fade_images if i > 0 else 0)
            per_step = self.batch_size_at(i, batch_size) * n_critic
            steps.append(-(-images // per_step))
        return steps

    def fade_steps(self, phase: int, batch_size: int, n_critic: int) -> int:
        """Generator steps of phase ``phase``'s fade-in (0 for the first phase)."""
        if phase == 0:
            return 0
        return -(-self.fade_images // (self.batch_size_at(phase, batch_size) * n_critic))


@dataclass
class TrainConfig:
    steps: int = 2000  # generator updates
    n_critic: int = 1  # discriminator updates per generator update
    batch_size: int = 256
    ema_decay: float | None = None  # EMA of G weights, a fixed β per step; None = off
    # StyleGAN's form instead of ema_decay: a half-life of ema_kimg thousand images (β = 0.5^(batch /
    # (1000·ema_kimg))), ramped up to it over the first images as ema_rampup × images seen when set
    ema_kimg: float | None = None
    ema_rampup: float | None = None
    checkpoint_every: int = 500
    log_every: int = 50
    lipschitz_estimate_every: int = 500  # estimate D's Lipschitz constant every N steps (0 = off)
    growing: GrowingConfig | None = None  # progressive growing; None = off (run ids unchanged)


@dataclass
class EvalConfig:
    every: int = 0  # evaluate at step 0 and every N steps during training (0 = at the end only)
    n_samples: int = 2500
    seed: int = 2024  # seed of the reported evaluation
    selection_seed: int = 7  # seed used to select the best checkpoint (never the reported one)
    metrics: list[str] | None = None  # None = the dataset's default_metrics (validate fills it in)
    extractor: str | None = None  # None = the dataset's default
    use_ema: bool = True  # evaluate the EMA generator when there is one
    select_best: bool = False  # report the best checkpoint by the selection metric
    selection_metric: str | None = None
    # images: where the reference statistics come from and how metrics/extractor are set up
    reference_split: str = "train"  # real split of the reference statistics
    n_real: int | None = None  # real images in the reference statistics (None = the whole split)
    extractor_params: dict[str, Any] = field(default_factory=dict)  # e.g. {mode: clean, weights: PATH}
    metric_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. {kid: {num_subsets: 50}}
    # percentile-bootstrap CIs over the generated samples: N resamples (None = off), at this level
    # (None = 0.95); None values leave run ids unchanged (_canon drops them)
    bootstrap: int | None = None
    bootstrap_level: float | None = None


@dataclass
class RuntimeConfig:
    """How to run, not what to compute: excluded from the run id."""

    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # torch intra-op threads. None = sized to the work: 1 for tiny networks (the toy MLPs), else the
    # run's CPUs (training/device.py: resolve_threads)
    threads: int | None = None
    amp: Literal["off", "bf16", "fp16"] = "off"
    channels_last: bool = False
    compile: bool = False
    progress: bool = True
    # The CPUs one run may use: the ray executor reserves them (None: 1); None elsewhere = the
    # machine's cores (OMP_NUM_THREADS when set) shared among the local executor's --workers
    cpus: float | None = None
    gpus: float = 0.0  # GPUs it reserves; a fraction (e.g. 0.25) lets small runs share one GPU
    # Data-parallel runs (torchrun; training/distributed.py). Batch-norm statistics over the global
    # batch, so the result does not depend on the world size (which is not in the run id); false:
    # per-rank statistics over train.batch_size / world size (faster, a different model)
    sync_batchnorm: bool = True
    # seconds a rank waits for the others (rendezvous at start, every collective after): a missing or
    # killed rank ends the run with an error after this long instead of a hang
    dist_timeout_s: float = 600.0
    # processes (ranks) the executors launch the run on, with torchrun (runners/launch.py). None =
    # one per GPU when runtime.gpus is a whole number >= 2, else 1; on the CPU (gpus 0) N gloo ranks
    processes: int | None = None

    @property
    def world_size(self) -> int:
        """The processes an executor launches the run on (``processes``, or its default)."""
        if self.processes is not None:
            return self.processes
        return int(self.gpus) if self.gpus >= 2 and float(self.gpus).is_integer() else 1


@dataclass
class RunConfig:
    seed: int = 0
    name: str = ""  # optional label; excluded from the run id
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    # --- identity -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def canonical(self) -> dict[str, Any]:
        """What determines the result: everything but the runtime section and the label."""
        d = self.to_dict()
        d.pop("runtime")
        d.pop("name")
        return d

    @property
    def config_hash(self) -> str:
        blob = json.dumps(_canon(self.canonical()), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def run_id(self) -> str:
        slug = "-".join(
            [self.data.name, self.model.name, self.objective.loss, self.objective.lipschitz, f"s{self.seed}"]
        )
        return f"{slug}-{self.config_hash[:10]}"

    # --- validation ---------------------------------------------------------------------------
    def validate(self, where: str = "config") -> RunConfig:
        """Check every key: names against the registries, component parameters against their
        factories, ``data.params`` against the dataset class (without opening it), numbers against
        their ranges and the optimiser settings against torch's. Fills in defaults that depend on
        the dataset (``eval.metrics``). Returns self."""
        R.load_all()
        w = where
        dataset = R.DATASETS.get(self.data.name, f"{w}: data.name")
        dataset.check_config(self.data, w)
        model = R.MODELS.get(self.model.name, f"{w}: model.name")
        conditioning = R.CONDITIONINGS.get(self.model.conditioning, f"{w}: model.conditioning")
        loss = R.LOSSES.get(self.objective.loss, f"{w}: objective.loss")
        lip = R.LIPSCHITZ.get(self.objective.lipschitz, f"{w}: objective.lipschitz")
        check_params(loss, self.objective.loss_params, f"{w}: objective.loss_params")
        check_params(lip, self.objective.lipschitz_params, f"{w}: objective.lipschitz_params")
        for tname, tparams in self.objective.techniques.items():
            tech = R.TECHNIQUES.get(tname, f"{w}: objective.techniques")
            check_params(tech, tparams or {}, f"{w}: objective.techniques.{tname}")
            if hasattr(tech, "validate"):
                tech.validate(self, w)
        conditioning().validate(self, w)
        if hasattr(model, "validate"):
            model.validate(self, w)
        if self.eval.metrics is None:
            self.eval.metrics = list(dataset.default_metrics)
        check_eval_config(self.eval, self.data.name, w)
        _check_ranges(self, w)
        if self.train.growing is not None:
            _check_growing(self, model, dataset, w)
        _check_optimiser(self.optim, w)
        _check_schedule(self, w)
        _check_runtime(self.runtime, w)
        check_processes(self, w)
        return self


# The largest budgets validation lets through, with the reason each is the limit.
MAX_STEPS = 100_000_000  # 10^8 generator steps: 11 days even at the toy MLP's rate (below)
FASTEST_STEPS_PER_S = 100.0  # toy MLP 128x3, batch 256, one CPU thread, measured (docs/executors.md)
MIN_BOOTSTRAP = 10  # bootstrap resamples: fewer cannot place a 2.5 % percentile
MAX_EVAL_SAMPLES = 10_000_000  # evaluation holds every sample's features in memory (50 000 is usual)


def _check_ranges(cfg: RunConfig, w: str) -> None:
    def positive(value: float, key: str, allow_zero: bool = False) -> None:
        if value < 0 or (value == 0 and not allow_zero):
            raise ConfigError(f"{w}: {key} must be {'>= 0' if allow_zero else '> 0'}, got {value}")

    positive(cfg.model.z_dim, "model.z_dim")
    positive(cfg.train.steps, "train.steps")
    positive(cfg.train.n_critic, "train.n_critic")
    positive(cfg.train.batch_size, "train.batch_size")
    positive(cfg.train.checkpoint_every, "train.checkpoint_every", allow_zero=True)
    positive(cfg.train.log_every, "train.log_every")
    positive(cfg.train.lipschitz_estimate_every, "train.lipschitz_estimate_every", allow_zero=True)
    positive(cfg.eval.every, "eval.every", allow_zero=True)
    if cfg.train.steps > MAX_STEPS:
        days = cfg.train.steps / FASTEST_STEPS_PER_S / 86400
        raise ConfigError(
            f"{w}: train.steps={cfg.train.steps} is beyond any training budget: at "
            f"{FASTEST_STEPS_PER_S:g} steps/s (the toy MLP on one core, the fastest ganbench trains) it "
            f"would take {days:,.0f} days; the limit is {MAX_STEPS:,} steps"
        )
    if cfg.train.ema_decay is not None and not 0 < cfg.train.ema_decay < 1:
        raise ConfigError(f"{w}: train.ema_decay must be in (0, 1) or null, got {cfg.train.ema_decay}")
    t = cfg.train
    if t.ema_kimg is not None and t.ema_decay is not None:
        raise ConfigError(
            f"{w}: train.ema_decay and train.ema_kimg both set; they are two ways to give the same EMA "
            f"(a β per step, or a half-life in thousands of images): set one"
        )
    if t.ema_kimg is not None and not t.ema_kimg > 0:
        raise ConfigError(f"{w}: train.ema_kimg must be > 0 (thousands of images) or null, got {t.ema_kimg}")
    if t.ema_rampup is not None and (t.ema_kimg is None or not t.ema_rampup > 0):
        raise ConfigError(
            f"{w}: train.ema_rampup ramps up the half-life train.ema_kimg: it needs train.ema_kimg and "
            f"must be > 0, got ema_rampup={t.ema_rampup}, ema_kimg={t.ema_kimg}"
        )
    if cfg.eval.seed == cfg.eval.selection_seed:
        raise ConfigError(
            f"{w}: eval.seed and eval.selection_seed must differ (docs/protocols.md: checkpoint selection "
            f"uses a different evaluation seed from the reported number), both are {cfg.eval.seed}"
        )


def _check_growing(cfg: RunConfig, model: Any, dataset: Any, w: str) -> None:
    """The growing schedule against the family, the data's resolution and the budget."""
    g, k = cfg.train.growing, f"{w}: train.growing"
    assert g is not None
    if not getattr(model, "grows", False):
        able = [n for n in R.MODELS.names() if getattr(R.MODELS.get(n), "grows", False)]
        raise ConfigError(
            f"{k}: the {cfg.model.name!r} family's networks do not grow (no set_growth, "
            f"models/growing.py); families that do: {', '.join(able) or 'none'}"
        )
    res = g.resolutions
    if len(res) < 2:
        raise ConfigError(
            f"{k}.resolutions must list at least two resolutions (e.g. [4, 8, 16, 32]), got {res}"
        )
    if res[0] < 4 or res[0] & (res[0] - 1) or any(b != 2 * a for a, b in zip(res, res[1:])):
        raise ConfigError(
            f"{k}.resolutions must start at a power of two >= 4 and double at each step "
            f"(e.g. [4, 8, 16, 32]), got {res}"
        )
    native = getattr(dataset, "native", None)  # VisionDatasets know their files' size unopened
    data_res = cfg.data.resolution or cfg.data.params.get("crop") or (min(native[1:]) if native else None)
    if data_res is not None and res[-1] != data_res:
        raise ConfigError(
            f"{k}.resolutions ends at {res[-1]}, but the data is {data_res}×{data_res} (data.resolution): "
            f"the last resolution must be the data's"
        )
    for key in ("fade_images", "stabilise_images"):
        if getattr(g, key) <= 0:
            raise ConfigError(f"{k}.{key} must be > 0 images, got {getattr(g, key)}")
    if g.batch_sizes is not None:
        if len(g.batch_sizes) != len(res) or any(b <= 0 for b in g.batch_sizes):
            raise ConfigError(
                f"{k}.batch_sizes must hold one batch size > 0 per resolution ({len(res)}: {res}) or be "
                f"null (train.batch_size throughout), got {g.batch_sizes}"
            )
    bs, nc = cfg.train.batch_size, cfg.train.n_critic
    reach = sum(g.phase_steps(bs, nc))
    faded = reach + g.fade_steps(len(res) - 1, bs, nc)
    if cfg.train.steps <= faded:
        raise ConfigError(
            f"{k}: the fade-in of the last resolution ({res[-1]}×{res[-1]}) is longer than its phase: it "
            f"starts at step {reach} and ends at step {faded} ({g.fade_images} images), but train.steps "
            f"is {cfg.train.steps}; raise train.steps above {faded} or shorten fade_images / "
            f"stabilise_images"
        )


def _check_schedule(cfg: RunConfig, w: str) -> None:
    decay = cfg.optim.decay_steps
    if decay is None:
        return
    if getattr(R.MODELS.get(cfg.model.name), "task", "generation") != "translation":
        raise ConfigError(
            f"{w}: optim.decay_steps: the learning-rate decay is implemented for translation runs "
            f"(pix2pix, cyclegan) only; remove it for {cfg.model.name!r}"
        )
    if not 0 <= decay <= cfg.train.steps:
        raise ConfigError(
            f"{w}: optim.decay_steps must be in 0..train.steps ({cfg.train.steps}), got {decay}"
        )


def _check_optimiser(o: OptimConfig, w: str) -> None:
    """The rules torch's optimisers enforce at construction, checked with the recipe."""
    for key in ("lr_g", "lr_d"):
        if not getattr(o, key) > 0:
            raise ConfigError(f"{w}: optim.{key} must be > 0, got {getattr(o, key)}")
    for i, beta in enumerate(o.betas):
        if not 0 <= beta < 1:
            raise ConfigError(f"{w}: optim.betas[{i}] must be in [0, 1), got {beta} (Adam's moment decay)")
    if not o.weight_decay >= 0:
        raise ConfigError(f"{w}: optim.weight_decay must be >= 0, got {o.weight_decay}")


def _check_runtime(r: RuntimeConfig, w: str) -> None:
    dev = r.device
    if not (dev in ("auto", "cpu", "cuda", "mps") or dev.startswith("cuda:")):
        raise ConfigError(f"{w}: runtime.device {dev!r}; valid choices: auto, cpu, cuda, cuda:N, mps")
    if r.threads is not None and r.threads < 1:
        raise ConfigError(f"{w}: runtime.threads must be >= 1 or null (sized to the work), got {r.threads}")
    if r.cpus is not None and not r.cpus > 0:
        raise ConfigError(f"{w}: runtime.cpus must be > 0 or null, got {r.cpus}")
    if not r.dist_timeout_s > 0:
        raise ConfigError(f"{w}: runtime.dist_timeout_s must be > 0 (seconds), got {r.dist_timeout_s}")


def check_global_batch(batch_size: int, world_size: int, key: str = "train.batch_size") -> int:
    """The per-rank batch; a global batch not divisible by the world size is refused. (The one
    check: the trainer runs it under torchrun, validation for ``runtime.processes``.)"""
    if batch_size % world_size:
        raise ConfigError(
            f"{key}={batch_size} is the global batch and must be divisible by the world size "
            f"{world_size} (torchrun --nproc_per_node x --nnodes, or runtime.processes): use a multiple "
            f"of {world_size}, e.g. {batch_size // world_size * world_size or world_size}"
        )
    return batch_size // world_size


def check_processes(cfg: RunConfig, w: str) -> None:
    """``runtime.processes``: a positive integer, no more than the GPUs reserved, dividing the global
    batch (every phase's, with growing)."""
    r = cfg.runtime
    n = r.processes
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigError(
            f"{w}: runtime.processes must be a positive integer (ranks launched with torchrun) or null "
            f"(one per GPU of runtime.gpus), got {n!r}"
        )
    size = r.world_size
    if size > 1 and 0 < r.gpus < 1:
        raise ConfigError(
            f"{w}: runtime.processes={size} with runtime.gpus={r.gpus:g}: the ranks of a run cannot share "
            "one GPU; reserve a whole GPU per process (runtime.gpus >= runtime.processes) or train on the "
            "CPU (runtime.gpus: 0)"
        )
    if r.gpus >= 1 and size > r.gpus:
        raise ConfigError(
            f"{w}: runtime.processes={size} exceeds runtime.gpus={r.gpus:g}: one process per GPU at most "
            f"(set runtime.processes <= {int(r.gpus)}, or reserve more GPUs)"
        )
    if size > 1:
        check_global_batch(cfg.train.batch_size, size, f"{w}: train.batch_size")
        growing = cfg.train.growing
        for phase, bs in enumerate((growing.batch_sizes or []) if growing is not None else []):
            check_global_batch(bs, size, f"{w}: train.growing.batch_sizes[{phase}]")


def check_eval_config(
    eval_cfg: EvalConfig, dataset_name: str, where: str = "config", key: Callable[[str], str] | None = None
) -> None:
    """The evaluation keys, asked of the components: each metric's data kind and parameters, the
    extractor (``eval.extractor`` or the dataset's default) and its parameters. ``key`` spells an
    EvalConfig field in messages (default: the recipe's ``eval.<field>``; ``ganbench eval`` gives
    its flags)."""
    R.load_all()
    e, w = eval_cfg, where
    k = key or (lambda name: f"eval.{name}")
    dataset = R.DATASETS.get(dataset_name, f"{w}: data.name")
    if e.n_real is not None and e.n_real < 2:
        raise ConfigError(f"{w}: {k('n_real')} must be >= 2 or null (the whole split), got {e.n_real}")
    for key in ("n_samples", "n_real"):
        n = getattr(e, key)
        if n is not None and n > MAX_EVAL_SAMPLES:
            raise ConfigError(
                f"{w}: {k(key)}={n} is more than evaluation can hold: it keeps every sample's features "
                f"in memory, up to {MAX_EVAL_SAMPLES:,} samples (the protocols use 2 500 to 50 000)"
            )
    if not e.n_samples > 0:
        raise ConfigError(f"{w}: {k('n_samples')} must be > 0, got {e.n_samples}")
    if e.bootstrap is not None and (isinstance(e.bootstrap, bool) or e.bootstrap < MIN_BOOTSTRAP):
        raise ConfigError(
            f"{w}: {k('bootstrap')} must be >= {MIN_BOOTSTRAP} resamples or null (off), got {e.bootstrap} "
            f"(a 95 % percentile interval from fewer resamples is its extreme values)"
        )
    if e.bootstrap_level is not None and not 0 < e.bootstrap_level < 1:
        raise ConfigError(
            f"{w}: {k('bootstrap_level')} must be in (0, 1) or null (0.95), got {e.bootstrap_level}"
        )
    if e.bootstrap is not None and dataset.kind != "images":
        raise ConfigError(
            f"{w}: {k('bootstrap')}: bootstrap intervals are computed by the image evaluation; dataset "
            f"{dataset_name!r} holds {dataset.kind}"
        )
    metrics = list(dataset.default_metrics) if e.metrics is None else e.metrics
    if not metrics:
        raise ConfigError(
            f"{w}: {k('metrics')} is empty; name at least one, e.g. {dataset.default_metrics[0]}"
        )
    for name in metrics:
        metric = R.METRICS.get(name, f"{w}: {k('metrics')}")
        kinds = dataset.metric_kinds or (dataset.kind,)  # translated images are images, too
        if metric.data_kind not in kinds:
            fitting = [m for m in R.METRICS.names() if R.METRICS.get(m).data_kind in kinds]
            raise ConfigError(
                f"{w}: {k('metrics')}: {name!r} scores {metric.data_kind}, but dataset {dataset_name!r} "
                f"holds {dataset.kind}; metrics for {dataset.kind}: {', '.join(fitting)}"
            )
    for name, params in e.metric_params.items():
        if name not in metrics:
            raise ConfigError(
                f"{w}: {k('metric_params')}.{name}: {name!r} is not in {k('metrics')} ({', '.join(metrics)})"
            )
        if not isinstance(params, dict):
            raise ConfigError(f"{w}: {k('metric_params')}.{name}: expected a mapping, got {params!r}")
        R.METRICS.get(name).check_params(params, f"{w}: {k('metric_params')}.{name}")
    extractor = e.extractor or dataset.default_extractor
    if extractor is None:
        if e.extractor is None and e.extractor_params:
            raise ConfigError(
                f"{w}: {k('extractor_params')}: dataset {dataset_name!r} is scored without a feature "
                f"extractor"
            )
        return
    factory = R.EXTRACTORS.get(extractor, f"{w}: {k('extractor')}")
    check_params(factory, e.extractor_params, f"{w}: {k('extractor_params')}", skip=("device",))


def _canon(obj: Any) -> Any:
    """Canonical JSON form: tuples as lists; keys whose value is empty (None, {}, []) are dropped,
    so adding an optional field to the schema later does not change existing run ids."""
    if isinstance(obj, dict):
        return {k: _canon(v) for k, v in sorted(obj.items()) if v not in (None, {}, [], ())}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------
# YAML IO and dotted overrides


def config_from_dict(data: dict[str, Any], where: str = "config") -> RunConfig:
    return from_dict(RunConfig, data, where).validate(where)


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Load a recipe YAML (optionally ``base:`` another recipe) and apply KEY=VALUE overrides."""
    data = load_recipe_dict(path)
    for text in overrides or []:
        key, value = parse_override(text)
        set_dotted(data, key, value)
    return config_from_dict(data, str(path))


def load_recipe_dict(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a recipe, resolving ``base: other.yaml`` (relative to the file) recursively."""
    path = Path(path).resolve()
    if path in _seen:
        raise ConfigError(f"{path}: recipes include each other in a cycle")
    data = load_yaml(path)
    if data is None:  # not the built-in defaults, silently: an empty file is a mistake
        raise ConfigError(f"{path}: empty recipe; write its sections (data, model, ...) or give another file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping of sections, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    merged = load_recipe_dict(path.parent / base, (*_seen, path))
    return deep_merge(merged, data)
