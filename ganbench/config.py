"""Run configuration: plain dataclasses, loaded from YAML, validated up front, hashed to a run id.

Every error names the file, the dotted key and the valid choices, and is raised before training.
Component hyperparameters (``params`` mappings) are checked against the keyword arguments of the
registered factory, so a new component needs no separate schema.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ganbench.errors import ConfigError

# ---------------------------------------------------------------------------------------------
# typed loading of nested dataclasses


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check_value(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against annotation ``tp``; return it (ints widened to float where asked)."""
    if tp is Any or tp is inspect.Parameter.empty:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return check_value(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(
                f"{where}: {value!r} is not allowed; valid choices: {', '.join(map(str, args))}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(check_value(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        out = [check_value(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    return value


def from_dict(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrong types raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(names)}"
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        key_where = f"{where}.{f.name}" if where and not where.endswith(":") else f"{where} {f.name}".strip()
        if f.name in data:
            kwargs[f.name] = check_value(data[f.name], hints[f.name], key_where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key_where}: missing required key")
    return cls(**kwargs)


def check_params(
    factory: Any, params: dict[str, Any], where: str, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate a ``params`` mapping against the keyword arguments of ``factory``.

    Positional parameters listed in ``skip`` (e.g. the network being wrapped) are not user-settable.
    """
    target = factory.__init__ if inspect.isclass(factory) else factory
    sig = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: fall back to no type checks
        hints = {}
    accepted = {
        n: p
        for n, p in sig.parameters.items()
        if n not in ("self", *skip) and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) or "(none)"
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(map(repr, unknown))}; valid: {valid}")
    out = {}
    for name, value in params.items():
        out[name] = check_value(value, hints.get(name, Any), f"{where}.{name}")
    return out


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
        for metric in self.eval.metrics:
            R.METRICS.get(metric, f"{w}: eval.metrics")
        if self.eval.extractor is not None:
            R.EXTRACTORS.get(self.eval.extractor, f"{w}: eval.extractor")
        from ganbench.evaluation.images import check_eval_params

        check_eval_params(self.eval, self.data.name, w)
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
                f"{w}: eval.seed and eval.selection_seed must differ (PROTOCOLS.md: checkpoint selection "
                f"uses a different evaluation seed from the reported number), both are {self.eval.seed}"
            )
        dev = self.runtime.device
        if not (dev in ("auto", "cpu", "cuda", "mps") or dev.startswith("cuda:")):
            raise ConfigError(f"{w}: runtime.device {dev!r}; valid choices: auto, cpu, cuda, cuda:N, mps")
        return self


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


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: malformed YAML: {e}") from e


def set_dotted(d: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, creating mappings on the way."""
    parts = key.split(".")
    node = d
    for p in parts[:-1]:
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        elif not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {key!r}: {p!r} is not a mapping")
        node = nxt
    node[parts[-1]] = copy.deepcopy(value)


def get_dotted(d: dict[str, Any], key: str, default: Any = None) -> Any:
    node: Any = d
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return default
        node = node[p]
    return node


def config_from_dict(data: dict[str, Any], where: str = "config") -> RunConfig:
    return from_dict(RunConfig, data, where).validate(where)


def parse_override(text: str) -> tuple[str, Any]:
    """``train.steps=500`` -> ("train.steps", 500); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. train.steps=500")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw)


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


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("params",):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out
