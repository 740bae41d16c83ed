"""What the convolutional image families share: config validation and building (G, D) for a dataset.

A family subclasses :class:`ImageFamily`, names its generator / discriminator classes, its
resolutions and its conditionings (with the reason for each one it rejects). The networks take
``(resolution, channels, conditioning, num_classes)`` from the dataset and everything else from
``model.g`` / ``model.d`` as keyword arguments, which ``check_params`` validates.

Each network class exposes ``plan(resolution, **kwargs)``: the architecture it would build, or a
ValueError saying why it cannot. Validation calls it when ``data.resolution`` is given, so bad
options fail before any data is read; otherwise they fail at build time, still before training.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from torch import nn

from ganbench.errors import ConfigError
from ganbench.registries import CONDITIONINGS, TECHNIQUES
from ganbench.schema import check_params

T = TypeVar("T", bound=type)

G_SKIP = ("z_dim", "resolution", "channels", "conditioning", "num_classes")
D_SKIP = ("resolution", "channels", "conditioning", "num_classes")


def d_input_multiplier(cfg: Any) -> int:
    """How many times the data's width D's input is: the product of what each training technique
    declares (packing: m samples per input, objectives/packing.py); 1 without such techniques."""
    m = 1
    for name, params in cfg.objective.techniques.items():
        m *= TECHNIQUES.get(name, "objective.techniques").d_input_multiplier(params or {})
    return m


class ImageFamily:
    name: ClassVar[str] = ""
    generator: ClassVar[type[nn.Module]]
    discriminator: ClassVar[type[nn.Module]]
    resolutions: ClassVar[tuple[int, ...]] = ()
    conditionings: ClassVar[tuple[str, ...]] = ("none",)
    unsupported: ClassVar[dict[str, str]] = {}  # conditioning -> why this family rejects it
    provides_features: ClassVar[bool] = True  # D(x, y, return_aux=True).features is set
    packs_d_input: ClassVar[bool] = True  # build() widens D's input by d_input_multiplier (packing)

    # --- validation ---------------------------------------------------------------------------
    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        g = check_params(cls.generator, cfg.model.g, f"{where}: model.g", skip=G_SKIP)
        d = check_params(cls.discriminator, cfg.model.d, f"{where}: model.d", skip=D_SKIP)
        cond = cfg.model.conditioning
        if cond not in cls.conditionings:
            reason = cls.unsupported.get(cond, "")
            raise ConfigError(
                f"{where}: model.conditioning: the {cls.name} family does not support {cond!r}"
                f"{': ' + reason if reason else ''}; valid choices: {', '.join(cls.conditionings)}"
            )
        res = cfg.data.resolution
        if res is not None:
            cls._check_resolution(res, f"{where}: data.resolution")
            cls._plan(cfg, res, g, d, where)
        cls.check_combination(cfg, d, where)

    @classmethod
    def check_combination(cls, cfg: Any, d: dict[str, Any], where: str) -> None:
        """Family hook: reject option combinations with the rest of the config."""

    @classmethod
    def _check_resolution(cls, res: int, where: str) -> None:
        if res not in cls.resolutions:
            raise ConfigError(
                f"{where}: the {cls.name} family has no {res}×{res} architecture; "
                f"supported resolutions: {', '.join(map(str, cls.resolutions))}"
            )

    @classmethod
    def _plan(cls, cfg: Any, res: int, g: dict[str, Any], d: dict[str, Any], where: str) -> None:
        for key, net, kwargs in (
            ("g", cls.generator, {"z_dim": cfg.model.z_dim, **g}),
            ("d", cls.discriminator, d),
        ):
            try:
                net.plan(res, **kwargs)  # type: ignore[attr-defined]
            except ValueError as e:
                raise ConfigError(f"{where}: model.{key}: {e}") from None

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def d_kwargs(cls, cfg: Any) -> dict[str, Any]:
        """Family hook: D keyword arguments (defaults that depend on the rest of the config)."""
        return dict(cfg.model.d)

    @classmethod
    def build(cls, cfg: Any, data: Any) -> tuple[nn.Module, nn.Module]:
        if getattr(data, "kind", None) != "images":
            raise ConfigError(
                f"model.name: {cls.name!r} needs image data, but {cfg.data.name!r} holds "
                f"{getattr(data, 'kind', 'unknown')}; use the mlp family for points"
            )
        c, h, w = data.sample_shape
        if h != w:
            raise ConfigError(f"data: the {cls.name} family needs square images, got {h}×{w}")
        cls._check_resolution(h, f"data ({cfg.data.name!r}, {h}×{w})")
        cond = cfg.model.conditioning
        labelled = CONDITIONINGS.get(cond, "model.conditioning").needs_labels
        if labelled and not data.num_classes:
            raise ConfigError(
                f"model.conditioning: {cond!r} needs class labels, but dataset {cfg.data.name!r} "
                f"is unlabelled; use 'none'"
            )
        num_classes = data.num_classes if labelled else None
        try:
            G = cls.generator(cfg.model.z_dim, h, c, cond, num_classes, **cfg.model.g)
        except ValueError as e:
            raise ConfigError(f"model.g: {e}") from None
        try:
            D = cls.discriminator(h, c * d_input_multiplier(cfg), cond, num_classes, **cls.d_kwargs(cfg))
        except ValueError as e:
            raise ConfigError(f"model.d: {e}") from None
        return G, D


def resolution_plan(table: dict[int, Any], resolution: int, family: str) -> Any:
    try:
        return table[resolution]
    except KeyError:
        supported = ", ".join(map(str, sorted(table)))
        raise ValueError(
            f"{family}: no {resolution}×{resolution} architecture; supported: {supported}"
        ) from None


def with_defaults(**defaults: Any) -> Callable[[T], T]:
    """Class decorator: the parent network's constructor with other defaults for some of its keyword
    arguments, e.g. ``@with_defaults(sn=True, init="ortho")`` on SAGAN's generator over ResNet's.

    A family that reuses another's network states only the defaults it changes, so the signature
    lives once. ``inspect.signature`` (what ``check_params`` validates and error messages list) shows
    the parent's parameters with these defaults; the networks and their state-dict keys are the
    parent's. A name that is not a keyword-only parameter of the parent is a TypeError at import.
    """

    def wrap(cls: T) -> T:
        parent_init = cls.__mro__[1].__init__
        sig = inspect.signature(parent_init)
        keyword_only = {n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}
        unknown = sorted(set(defaults) - keyword_only)
        if unknown:
            raise TypeError(f"{cls.__name__}: no keyword-only parameter(s) {', '.join(unknown)} to default")

        @functools.wraps(parent_init)  # keeps the annotations (get_type_hints) of the parent
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            parent_init(self, *args, **{**defaults, **kwargs})

        params = [p.replace(default=defaults[n]) if n in defaults else p for n, p in sig.parameters.items()]
        __init__.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = __init__  # type: ignore[misc]
        return cls

    return wrap
