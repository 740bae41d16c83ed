"""Run configuration: plain dataclasses, loaded from YAML, validated up front, hashed to a run id.

Every error names the file, the dotted key and the valid choices, and is raised before training.
Component hyperparameters (``params`` mappings) are checked against the keyword arguments of the
registered factory, so a new component needs no separate schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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


@dataclass
class TrainConfig:
    steps: int = 2000  # generator updates
    n_critic: int = 1  # discriminator updates per generator update
    batch_size: int = 256
    ema_decay: float | None = None  # EMA of G weights; None = off
    checkpoint_every: int = 500
    log_every: int = 50
    lipschitz_estimate_every: int = 500  # estimate D's Lipschitz constant every N steps (0 = off)


@dataclass
class EvalConfig:
    every: int = 0  # evaluate at step 0 and every N steps during training (0 = at the end only)
    n_samples: int = 2500
    seed: int = 2024  # seed of the reported evaluation
    selection_seed: int = 7  # seed used to select the best checkpoint (never the reported one)
    metrics: list[str] = field(default_factory=lambda: ["modes"])
    extractor: str | None = None  # None = the dataset's default
    use_ema: bool = True  # evaluate the EMA generator when there is one
    select_best: bool = False  # report the best checkpoint by the selection metric
    selection_metric: str | None = None
    # images: where the reference statistics come from and how metrics/extractor are set up
    reference_split: str = "train"  # real split of the reference statistics
    n_real: int | None = None  # real images in the reference statistics (None = the whole split)
    extractor_params: dict[str, Any] = field(default_factory=dict)  # e.g. {mode: clean, weights: PATH}
    metric_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. {kid: {num_subsets: 50}}


@dataclass
class RuntimeConfig:
    """How to run, not what to compute: excluded from the run id."""

    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # torch intra-op threads (None = torch's default)
    amp: Literal["off", "bf16", "fp16"] = "off"
    channels_last: bool = False
    compile: bool = False
    progress: bool = True
    cpus: float = 1.0  # CPUs a scheduler (the ray executor) reserves for this run
    gpus: float = 0.0  # GPUs it reserves; a fraction (e.g. 0.25) lets small runs share one GPU


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
        """Check names against the registries and numbers against their ranges. Returns self."""
        from ganbench import registries as R

        R.load_all()
        w = where

        def positive(value: float, key: str, allow_zero: bool = False) -> None:
            if value < 0 or (value == 0 and not allow_zero):
                raise ConfigError(f"{w}: {key} must be {'>= 0' if allow_zero else '> 0'}, got {value}")

        R.DATASETS.get(self.data.name, f"{w}: data.name")
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
        check_eval_config(self.eval, self.data.name, w)
        positive(self.model.z_dim, "model.z_dim")
        positive(self.train.steps, "train.steps")
        positive(self.train.n_critic, "train.n_critic")
        positive(self.train.batch_size, "train.batch_size")
        positive(self.train.checkpoint_every, "train.checkpoint_every", allow_zero=True)
        positive(self.train.log_every, "train.log_every")
        positive(self.train.lipschitz_estimate_every, "train.lipschitz_estimate_every", allow_zero=True)
        positive(self.eval.every, "eval.every", allow_zero=True)
        positive(self.eval.n_samples, "eval.n_samples")
        positive(self.optim.lr_g, "optim.lr_g")
        positive(self.optim.lr_d, "optim.lr_d")
        if self.train.ema_decay is not None and not 0 < self.train.ema_decay < 1:
            raise ConfigError(f"{w}: train.ema_decay must be in (0, 1) or null, got {self.train.ema_decay}")
        if self.eval.seed == self.eval.selection_seed:
            raise ConfigError(
                f"{w}: eval.seed and eval.selection_seed must differ (docs/protocols.md: checkpoint "
                f"selection uses a different evaluation seed from the reported number), both are "
                f"{self.eval.seed}"
            )
        dev = self.runtime.device
        if not (dev in ("auto", "cpu", "cuda", "mps") or dev.startswith("cuda:")):
            raise ConfigError(f"{w}: runtime.device {dev!r}; valid choices: auto, cpu, cuda, cuda:N, mps")
        return self


def check_eval_config(eval_cfg: EvalConfig, dataset_name: str, where: str = "config") -> None:
    """The evaluation keys, asked of the components: each metric's data kind and parameters, the
    extractor (``eval.extractor`` or the dataset's default) and its parameters."""
    from ganbench import registries as R

    R.load_all()
    e, w = eval_cfg, where
    dataset = R.DATASETS.get(dataset_name, f"{w}: data.name")
    if e.n_real is not None and e.n_real < 2:
        raise ConfigError(f"{w}: eval.n_real must be >= 2 or null (the whole split), got {e.n_real}")
    for name in e.metrics:
        R.METRICS.get(name, f"{w}: eval.metrics")
    for name, params in e.metric_params.items():
        if name not in e.metrics:
            raise ConfigError(
                f"{w}: eval.metric_params.{name}: {name!r} is not in eval.metrics ({', '.join(e.metrics)})"
            )
        if not isinstance(params, dict):
            raise ConfigError(f"{w}: eval.metric_params.{name}: expected a mapping, got {params!r}")
        R.METRICS.get(name).check_params(params, f"{w}: eval.metric_params.{name}")
    extractor = e.extractor or dataset.default_extractor
    if extractor is None:
        if e.extractor is None and e.extractor_params:
            raise ConfigError(
                f"{w}: eval.extractor_params: dataset {dataset_name!r} is scored without a feature extractor"
            )
        return
    factory = R.EXTRACTORS.get(extractor, f"{w}: eval.extractor")
    check_params(factory, e.extractor_params, f"{w}: eval.extractor_params", skip=("device",))


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
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping of sections, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    merged = load_recipe_dict(path.parent / base, (*_seen, path))
    return deep_merge(merged, data)
