"""Generator sources: a callable ``G(z)`` / ``G(z, y)``, a TorchScript file, ``module:factory``.

Latents follow the pinned protocol of :func:`sample_latents`, which the trainer's evaluations use
too (:func:`ganbench.evaluation.evaluator.generate`), so a run folder evaluated here gives the
numbers its training run recorded for the same seed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganbench.errors import ConfigError, GanbenchError, SourceError
from ganbench.evaluation.arrays import as_labels
from ganbench.evaluation.sources.base import (
    Batch,
    EvalSource,
    RangeWatch,
    ValueRange,
    float_to_uint8,
    option_name,
    parse_range,
)
from ganbench.io import sha256_file
from ganbench.registries import SOURCES

LATENTS = "z ~ N(0, I) for all n from torch.Generator().manual_seed(seed), then uniform labels"


def sample_latents(
    n: int,
    z_dim: int,
    seed: int,
    num_classes: int | None = None,
    labels: torch.Tensor | None = None,
    who: str = "generator",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The pinned latent protocol: all ``n`` latents z ~ N(0, I) from one CPU
    ``torch.Generator().manual_seed(seed)`` (the same numbers on any device), then, for a
    conditional generator not given ``labels``, uniform labels from the same generator. Given
    ``labels`` are checked (n of them, in 0..num_classes-1) and used as they are.

    Committed records were evaluated with exactly this sequence: do not reorder the draws.
    """
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)
    if labels is not None:
        return z, as_labels(labels, f"{who}: requested labels", n, num_classes)
    if num_classes:
        return z, torch.randint(num_classes, (n,), generator=gen)
    return z, None


class GeneratorSource(EvalSource):
    """Any callable ``G(z)`` / ``G(z, y)`` returning float images N×C×H×W in ``value_range``.

    ``value_range`` None means [-1, 1] by default, not declared: outputs that contradict it (e.g. no
    value below 0, i.e. [0, 1] images) are then refused rather than scored wrong (:class:`RangeWatch`);
    a declared range (the trainer's own generators declare "-1,1") only warns."""

    kind = "generator"
    float_output = True

    def __init__(
        self,
        G: Callable[..., Any],
        name: str,
        z_dim: int | None = None,
        num_classes: int | None = None,
        value_range: str | ValueRange | None = "-1,1",
    ) -> None:
        super().__init__(name)
        self.G = G
        z_dim = z_dim if z_dim is not None else _int_attr(G, "z_dim")
        if z_dim is None:
            raise SourceError(
                f"{self}: the generator has no integer z_dim attribute; pass {option_name('z_dim')}"
            )
        if z_dim < 1:
            raise ConfigError(f"{self}: z_dim must be >= 1, got {z_dim}")
        self.z_dim = int(z_dim)
        self.num_classes = num_classes if num_classes is not None else _int_attr(G, "num_classes")
        if self.num_classes is not None and self.num_classes < 1:
            raise ConfigError(f"{self}: num_classes must be >= 1, got {self.num_classes}")
        self.conditional = self.num_classes is not None
        self.range_declared = value_range is not None
        self.value_range = parse_range(value_range or "-1,1", str(self))
        self.device = torch.device("cpu")

    def to(self, device: torch.device | str) -> GeneratorSource:
        self.device = torch.device(device)
        if isinstance(self.G, (nn.Module, torch.jit.ScriptModule)):
            self.G = self.G.to(self.device)
        return self

    def latents(
        self, n: int, seed: int, labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:func:`sample_latents` for this generator."""
        if labels is not None and not self.conditional:
            raise SourceError(f"{self}: labels were asked for but the generator is unconditional")
        return sample_latents(n, self.z_dim, seed, self.num_classes, labels, str(self))

    @torch.no_grad()
    def batches(
        self, n: int, batch_size: int, seed: int, labels: torch.Tensor | None = None
    ) -> Iterator[Batch]:
        self.check_count(n, batch_size)
        z, labels = self.latents(n, seed, labels)
        module = self.G if isinstance(self.G, nn.Module) else None
        was_training = module.training if module is not None else False
        if module is not None:
            module.eval()
        watch = RangeWatch(self.value_range, str(self), self.range_declared, source=self)
        try:
            for i in range(0, n, batch_size):
                zb = z[i : i + batch_size].to(self.device)
                yb = labels[i : i + batch_size] if labels is not None else None
                try:
                    out = self.G(zb) if yb is None else self.G(zb, yb.to(self.device))
                except GanbenchError:
                    raise
                except Exception as e:  # the user's code failed: say where and with what inputs
                    args = f"z {tuple(zb.shape)}" + (f" and y {tuple(yb.shape)}" if yb is not None else "")
                    raise SourceError(
                        f"{self}: calling the generator with {args} failed: {type(e).__name__}: {e}"
                    ) from e
                images = self._check_output(out, len(zb), watch)
                if i + batch_size >= n:
                    watch.finish()  # judged on the last batch: the consumer may not ask past it
                yield images, yb
        finally:
            if module is not None:
                module.train(was_training)

    def _check_output(self, out: Any, n: int, watch: RangeWatch | None = None) -> torch.Tensor:
        expected = (
            f"a float tensor of shape ({n}, C, H, W) with C = 1 or 3, values in {list(self.value_range)}"
        )
        if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
            raise SourceError(f"{self}: the generator returned a {type(out).__name__}; expected {expected}")
        if not isinstance(out, torch.Tensor):
            raise SourceError(f"{self}: the generator returned {type(out).__name__}; expected {expected}")
        if out.ndim != 4 or out.shape[0] != n or out.shape[1] not in (1, 3):
            raise SourceError(f"{self}: the generator returned shape {tuple(out.shape)}; expected {expected}")
        if not out.is_floating_point():
            raise SourceError(f"{self}: the generator returned dtype {out.dtype}; expected {expected}")
        return float_to_uint8(out.detach().float().cpu(), self.value_range, str(self), watch=watch)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "z_dim": self.z_dim,
            "conditional": self.conditional,
            "value_range": list(self.value_range),
            "value_range_declared": self.range_declared,
            "latents": LATENTS,
        }


def _int_attr(obj: Any, name: str) -> int | None:
    try:
        value = getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - TorchScript modules raise on some attribute lookups
        return None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


@SOURCES.register("torchscript")
class TorchScriptSource(GeneratorSource):
    """A TorchScript generator file (``torch.jit.save``), called as ``G(z)`` or ``G(z, y)``."""

    kind = "torchscript"

    def __init__(
        self,
        path: str,
        z_dim: int | None = None,
        num_classes: int | None = None,
        value_range: str | None = None,
    ) -> None:
        p = Path(path)
        if not p.is_file():
            raise SourceError(f"torchscript source {p}: file not found")
        G = load_torchscript(p, "torchscript source", "generator")
        self.sha256 = sha256_file(p)
        super().__init__(G, str(p), z_dim, num_classes, value_range)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "path": str(Path(self.name).resolve()), "sha256": self.sha256}


@SOURCES.register("callable")
class CallableSource(GeneratorSource):
    """``package.module:factory`` or ``path/to/file.py:factory``: ``factory()`` returns the generator
    (an ``nn.Module`` or any callable). This imports and runs that code: use it on code you trust."""

    kind = "callable"

    def __init__(
        self,
        spec: str,
        z_dim: int | None = None,
        num_classes: int | None = None,
        value_range: str | None = None,
    ) -> None:
        G = call_factory(spec, "callable source", "the generator (an nn.Module or a function of z [, y])")
        super().__init__(G, spec, z_dim, num_classes, value_range)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "spec": self.name, "generator_type": type(self.G).__name__}


FACTORY_HINT = (
    "ganbench needs the code that builds the network: write a factory that builds it and loads the "
    "weights, e.g. in load_g.py `def make(): G = MyGenerator(); "
    "G.load_state_dict(torch.load('G.pt', weights_only=True)); return G`, then evaluate "
    "load_g.py:make (docs/evaluation.md, 'Evaluating a checkpoint trained elsewhere')"
)


def load_torchscript(p: Path, who: str, what: str) -> Any:
    """The TorchScript ``what`` (generator, translator) saved at ``p``; a file that is not one is
    refused saying what it is instead, when torch.save wrote it (``who`` starts the message)."""
    try:
        with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript; it is still a format we read
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(p), map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises RuntimeError/ValueError for non-TorchScript files
        kind = torch_file_kind(p)
        if kind is not None:  # torch's own advice ("likely corrupted") misleads for these
            raise SourceError(f"{who} {p}: {kind}, not a TorchScript {what}; {FACTORY_HINT}") from None
        raise SourceError(
            f"{who} {p}: not a TorchScript file "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            f"save the {what} with torch.jit.save(torch.jit.script(G), path)"
        ) from None


def call_factory(spec: str, who: str, returns: str) -> Any:
    """``factory()`` of the ``module:factory`` / ``file.py:factory`` named by ``spec`` (this imports and
    runs that code); what it returns must be callable (``returns`` says what it should be)."""
    factory = load_factory(spec)
    try:
        made = factory()
    except Exception as e:
        raise SourceError(f"{who} {spec}: the factory raised {type(e).__name__}: {e}") from e
    if not callable(made):
        raise SourceError(
            f"{who} {spec}: the factory returned {type(made).__name__}, which is not callable; "
            f"it must return {returns}"
        )
    return made


def torch_file_kind(p: Path) -> str | None:
    """What a file that is not TorchScript is, when it is a ``torch.save`` file; read without
    unpickling: the zip's entry names, then ``torch.load(weights_only=True)`` (tensors and plain
    containers only). None when it is none of those (TorchScript, damaged, something else)."""
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        with open(p, "rb") as f:
            head = f.read(2)
        # torch.save's legacy (pre-1.6) format and plain pickles start with the pickle protocol byte
        return "a pickle file (perhaps a legacy torch.save)" if head[:1] == b"\x80" else None
    if any("/code/" in n for n in names) or not any(n.endswith("data.pkl") for n in names):
        return None  # TorchScript archives hold code/; anything else is not torch.save's layout
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - refused: it holds Python objects beyond tensors
        return (
            "a torch.save file holding Python objects (a pickled model or checkpoint); ganbench does not "
            "unpickle files it did not write"
        )
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return f"a torch.save state dict ({len(obj)} tensors, e.g. {next(iter(obj))!r})"
    if isinstance(obj, dict):
        keys = ", ".join(repr(k) for k in list(obj)[:6]) + (", ..." if len(obj) > 6 else "")
        return f"a torch.save checkpoint (a dict of {keys}: load the generator's entry in the factory)"
    return f"a torch.save file holding a {type(obj).__name__}"


def load_factory(spec: str) -> Callable[[], Any]:
    """The object named by ``module:attr`` or ``file.py:attr`` (the current folder is importable)."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise SourceError(
            f"callable source {spec!r}: expected package.module:factory or path/to/file.py:factory"
        )
    try:
        if where.endswith(".py") or Path(where).is_file():
            path = Path(where).resolve()
            if not path.is_file():
                raise SourceError(f"callable source {spec!r}: {where} not found")
            mod_name = f"_ganbench_eval_{path.stem}_{abs(hash(str(path)))}"
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: the user's own modules
            module = importlib.import_module(where)
    except GanbenchError:
        raise
    except Exception as e:
        raise SourceError(
            f"callable source {spec!r}: importing {where} failed: {type(e).__name__}: {e}"
        ) from e
    try:
        factory = getattr(module, attr)
    except AttributeError:
        raise SourceError(f"callable source {spec!r}: {where} has no attribute {attr!r}") from None
    if not callable(factory):
        raise SourceError(f"callable source {spec!r}: {attr} is a {type(factory).__name__}, not a factory")
    return factory
