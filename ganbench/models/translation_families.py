"""The translation families, ``pix2pix`` and ``cyclegan``: which networks, on which data.

A translation family builds an ``nn.ModuleDict`` of its networks (the generation families build
``(G, D)``; ``task`` tells the runner which trainer to use):

- ``pix2pix``: ``G`` (U-Net, A → B) and ``D`` (conditional PatchGAN on the pair (a, b));
- ``cyclegan``: ``G`` (A → B), ``F`` (B → A), both ResNet generators, and one unconditional
  PatchGAN per domain, ``D_B`` (real b vs G(a)) and ``D_A`` (real a vs F(b)).

Facts the rest asks: ``task``, ``needs_pairs`` (Pix2Pix's L1 term and conditional D need aligned
pairs), ``two_way`` (the backward translator F exists, so cycle and identity terms can work),
``g_step_first`` (CycleGAN's code updates G before D within a step, Pix2Pix's D before G). A recipe
names its reconstruction terms (``objective.techniques``): without them a run is the papers'
"GAN alone" ablation.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from torch import nn

from ganbench.errors import ConfigError
from ganbench.evaluation.translation import check_translation_metrics
from ganbench.models.translators import PatchDiscriminator, ResnetGenerator, UNetGenerator
from ganbench.registries import CONDITIONINGS, DATASETS, LIPSCHITZ, MODELS, TECHNIQUES
from ganbench.schema import check_params

G_SKIP = ("resolution", "in_channels", "out_channels")
D_SKIP = ("resolution", "channels", "cond_channels")


class TranslationFamily:
    name: ClassVar[str] = ""
    task: ClassVar[str] = "translation"
    generator: ClassVar[type[nn.Module]]
    discriminator: ClassVar[type[nn.Module]] = PatchDiscriminator
    needs_pairs: ClassVar[bool] = False
    two_way: ClassVar[bool] = False
    provides_features: ClassVar[bool] = False  # feature matching has no translation form here
    g_step_first: ClassVar[bool] = False
    pool_size: ClassVar[int] = 0  # past fakes D sees (CycleGAN: 50, Shrivastava et al. 2017)

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        w = where
        dataset = DATASETS.get(cfg.data.name, f"{w}: data.name")
        if getattr(dataset, "kind", None) != "translation":
            able = [n for n in DATASETS.names() if DATASETS.get(n).kind == "translation"]
            raise ConfigError(
                f"{w}: model.name {cls.name!r} translates images and needs a translation dataset, but "
                f"{cfg.data.name!r} holds {dataset.kind}; translation datasets: {', '.join(able)}"
            )
        if cls.needs_pairs and not dataset.paired:
            raise ConfigError(
                f"{w}: model.name {cls.name!r} needs paired data (its L1 term and conditional D compare "
                f"G(a) with a's own b), but {cfg.data.name!r} is unpaired; use cyclegan for unpaired data"
            )
        if CONDITIONINGS.get(cfg.model.conditioning, f"{w}: model.conditioning").needs_labels:
            raise ConfigError(
                f"{w}: model.conditioning: {cls.name} is conditioned on its input image, not on a class; "
                f"use 'none'"
            )
        cls.check_training(cfg, w)
        check_translation_metrics(cfg.eval.metrics or [], cfg.data.name, dataset.paired, w)
        g = check_params(cls.generator, cfg.model.g, f"{w}: model.g", skip=G_SKIP)
        d = check_params(cls.discriminator, cfg.model.d, f"{w}: model.d", skip=D_SKIP)
        for tname in cfg.objective.techniques:
            tech = TECHNIQUES.get(tname, f"{w}: objective.techniques")
            if getattr(tech, "task", "generation") != "translation":
                valid = [
                    n for n in TECHNIQUES.names() if getattr(TECHNIQUES.get(n), "task", "") == "translation"
                ]
                raise ConfigError(
                    f"{w}: objective.techniques.{tname} is a technique of generation, not translation; "
                    f"translation techniques: {', '.join(valid)}"
                )
            if tech.needs_backward_translator and not cls.two_way:
                raise ConfigError(
                    f"{w}: objective.techniques.{tname} needs the backward translator F (B → A), which "
                    f"{cls.name} does not have; it is a cyclegan term"
                )
        lip = LIPSCHITZ.get(cfg.objective.lipschitz, f"{w}: objective.lipschitz")
        norm = d.get("norm", _default(cls.discriminator, "norm"))
        if lip.needs_input_gradients and norm == "batch":
            raise ConfigError(
                f"{w}: objective.lipschitz {cfg.objective.lipschitz!r} penalises D's gradient per sample, "
                f"which batch norm in D mixes across the batch; set model.d.norm to instance or none"
            )
        if cfg.data.resolution is not None:
            for key, net, kwargs in (("g", cls.generator, g), ("d", cls.discriminator, d)):
                plan = net.plan  # type: ignore[attr-defined]
                planned = {k: v for k, v in kwargs.items() if k in inspect.signature(plan).parameters}
                try:
                    plan(cfg.data.resolution, **planned)
                except ValueError as e:
                    raise ConfigError(f"{w}: model.{key}: {e}") from None

    @classmethod
    def check_training(cls, cfg: Any, w: str) -> None:
        """The generation trainer's options the translation trainer does not have, refused by name."""
        unsupported = {
            "train.n_critic": (cfg.train.n_critic != 1, "both papers take one D step per G step"),
            "train.ema_decay": (cfg.train.ema_decay is not None, "the papers evaluate G itself"),
            "eval.select_best": (cfg.eval.select_best, "the papers report the last checkpoint"),
            "runtime.amp": (cfg.runtime.amp != "off", "mixed precision is not implemented for translation"),
            "runtime.compile": (cfg.runtime.compile, "torch.compile is not implemented for translation"),
        }
        for key, (set_, why) in unsupported.items():
            if set_:
                raise ConfigError(
                    f"{w}: {key} is not supported by {cls.name} runs ({why}); leave it at its default"
                )

    @classmethod
    def build(cls, cfg: Any, data: Any) -> nn.ModuleDict:
        c_a, h, w = data.input_shape
        c_b = data.sample_shape[0]
        if h != w:
            raise ConfigError(f"data: {cls.name} needs square images, got {h}×{w}")
        try:
            return cls.networks(cfg, h, c_a, c_b)
        except ValueError as e:
            raise ConfigError(f"model: {e}") from None

    @classmethod
    def networks(cls, cfg: Any, res: int, c_a: int, c_b: int) -> nn.ModuleDict:
        raise NotImplementedError


def _default(cls: type, name: str) -> Any:
    return inspect.signature(cls.__init__).parameters[name].default


@MODELS.register("pix2pix")
class Pix2Pix(TranslationFamily):
    name = "pix2pix"
    generator = UNetGenerator
    needs_pairs = True

    @classmethod
    def networks(cls, cfg: Any, res: int, c_a: int, c_b: int) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                "G": UNetGenerator(res, c_a, c_b, **cfg.model.g),
                "D": PatchDiscriminator(res, c_b, c_a, **cfg.model.d),
            }
        )


@MODELS.register("cyclegan")
class CycleGAN(TranslationFamily):
    name = "cyclegan"
    generator = ResnetGenerator
    two_way = True
    g_step_first = True
    pool_size = 50

    @classmethod
    def networks(cls, cfg: Any, res: int, c_a: int, c_b: int) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                "G": ResnetGenerator(res, c_a, c_b, **cfg.model.g),
                "F": ResnetGenerator(res, c_b, c_a, **cfg.model.g),
                "D_B": PatchDiscriminator(res, c_b, **cfg.model.d),
                "D_A": PatchDiscriminator(res, c_a, **cfg.model.d),
            }
        )
