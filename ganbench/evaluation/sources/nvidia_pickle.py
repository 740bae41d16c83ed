"""NVIDIA StyleGAN2/3 network pickles, read without running any code from them.

``network-snapshot-*.pkl`` files of stylegan2-ada-pytorch and stylegan3 are plain pickles of a dict
``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs', ...}``. Each network is a
``torch_utils.persistence`` object: it pickles as a call of
``torch_utils.persistence._reconstruct_persistent_obj(meta)``, ``meta`` holding the Python source of
its module (``module_src``, which NVIDIA's loader executes), the class name, the persistence version
and the object's ``__dict__`` (parameters, buffers, nested networks, constructor arguments).

:class:`SafeUnpickler` resolves only the globals of :data:`ALLOWED`, each to a stand-in written here:

- the persistence reconstruction → a :class:`PersistentObject` record (``module_src`` is parsed
  with :mod:`ast` to tell which NVIDIA file it is, never executed);
- torch's tensor and parameter rebuilds → tensors built from the storage, checked first;
- ``torch.storage._load_from_bytes`` (a nested ``torch.load(weights_only=False)`` in torch) →
  ``torch.load(weights_only=True)``, which must give a storage;
- ``EasyDict`` / ``OrderedDict`` / ``set`` → plain containers; numpy scalars, dtypes and arrays
  (stylegan3 keeps some) → numpy values built from their bytes.

Every other global (``os.system``, ``builtins.eval``, ``torch.load``, ...) is refused with an error
naming the file and the global. :func:`load_nvidia_generator` rebuilds G or G_ema as ganbench's own
network (``registries.NVIDIA_NETWORKS``) and loads the captured state strictly;
:func:`write_nvidia_pickle` writes networks in NVIDIA's format (tests, export).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import inspect
import io
import math
import pickle
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganbench.errors import ConfigError, GanbenchError, SourceError
from ganbench.evaluation.sources.base import option_name
from ganbench.evaluation.sources.generator import GeneratorSource
from ganbench.io import sha256_file, write_bytes_atomic
from ganbench.registries import NVIDIA_NETWORKS, SOURCES, load_all

# torch_utils.persistence._version in every release of stylegan2-ada-pytorch and stylegan3
PERSISTENCE_VERSIONS = (6,)
GENERATOR_KEYS = ("G_ema", "G")  # the pickle's generators; D and augment_pipe are not generators
RECONSTRUCT = ("torch_utils.persistence", "_reconstruct_persistent_obj")
TF_NETWORK = ("dnnlib.tflib.network", "Network")  # the TensorFlow-era class (NVIDIA's legacy.py)
TF_REASON = (
    "a TensorFlow-era pickle (dnnlib.tflib.network.Network, from NVIDIA's TensorFlow StyleGAN/StyleGAN2): "
    "not supported, because its weights are TensorFlow variables in TensorFlow's layout, whose "
    "conversion (NVIDIA's legacy.py convert_tf_generator) ganbench does not implement, and its "
    "network is defined by TensorFlow build code in the pickle; convert it once to a PyTorch pickle "
    "with NVIDIA's legacy.py (in an environment you trust) and evaluate that"
)


@dataclass
class PersistentObject:
    """One ``torch_utils.persistence`` object as captured from its ``meta``; nothing was executed.

    ``module`` is the NVIDIA module its source was recognised as (:func:`identify_module`), None when
    it is none of them; ``classes`` the top-level classes that source defines."""

    class_name: str
    module: str | None
    version: int
    init_args: tuple[Any, ...]
    init_kwargs: dict[str, Any]
    state: dict[str, Any]
    classes: tuple[str, ...] = ()
    source_sha256: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.module}.{self.class_name}"

    def state_dict(self, prefix: str = "") -> OrderedDict[str, torch.Tensor]:
        """Parameters and persistent buffers of this object and its nested ones (``_modules``),
        keyed as ``nn.Module.state_dict`` keys them."""
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for section in ("_parameters", "_buffers"):
            for name, value in (self.state.get(section) or {}).items():
                if value is None or (section == "_buffers" and name in skip):
                    continue
                if not isinstance(value, torch.Tensor):
                    raise SourceError(f"{prefix}{name}: a {type(value).__name__}, not a tensor")
                out[prefix + name] = value
        for name, child in (self.state.get("_modules") or {}).items():
            if child is None:
                continue
            if not isinstance(child, PersistentObject):
                raise SourceError(f"{prefix}{name}: a {type(child).__name__}, not a network")
            out.update(child.state_dict(f"{prefix}{name}."))
        return out


# --- recognising NVIDIA's files from their source (parsed, not run) --------------------------------


def _defined(src: str) -> tuple[set[str], dict[str, set[str]]]:
    """Top-level classes of ``src`` and each one's ``forward`` parameters."""
    tree = ast.parse(src.lstrip("\ufeff"))
    classes, forward = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "forward":
                    a = item.args
                    forward[node.name] = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    return classes, forward


# module -> (classes its file defines, a test on MappingNetwork.forward's parameters or None).
# stylegan3's networks_stylegan2.py is stylegan2-ada-pytorch's networks.py with update_emas in place
# of skip_w_avg_update; networks_stylegan3.py alone has SynthesisInput.
FINGERPRINTS: dict[str, tuple[frozenset[str], Callable[[set[str]], bool] | None]] = {
    "training.networks_stylegan3": (frozenset({"SynthesisInput", "SynthesisLayer", "Generator"}), None),
    "training.networks_stylegan2": (
        frozenset({"SynthesisBlock", "MappingNetwork", "Generator", "Discriminator"}),
        lambda mapping_forward: "update_emas" in mapping_forward,
    ),
    "training.networks": (
        frozenset({"SynthesisBlock", "MappingNetwork", "Generator", "Discriminator"}),
        lambda mapping_forward: "update_emas" not in mapping_forward,
    ),
    "training.augment": (frozenset({"AugmentPipe"}), None),
}


def identify_module(module_src: str) -> tuple[str | None, tuple[str, ...]]:
    """The NVIDIA module ``module_src`` is (None: none of :data:`FINGERPRINTS`) and the classes it
    defines. The pickle does not hold the module's name (NVIDIA imports the source under a random
    one), so the file is told by what it defines."""
    try:
        classes, forward = _defined(module_src)
    except (SyntaxError, ValueError):
        return None, ()
    for module, (needed, test) in FINGERPRINTS.items():
        if needed <= classes and (test is None or test(forward.get("MappingNetwork", set()))):
            return module, tuple(sorted(classes))
    return None, tuple(sorted(classes))


def stub_source(module: str) -> str:
    """A stand-in ``module_src`` that :func:`identify_module` recognises as ``module`` (what
    :func:`write_nvidia_pickle` writes when it is given no source: ganbench never ships NVIDIA's)."""
    needed, _ = FINGERPRINTS[module]
    lines = [f"# written by ganbench as a stand-in for NVIDIA's {module}; not NVIDIA's code", ""]
    for name in sorted(needed | ({"MappingNetwork"} if module != "training.augment" else set())):
        if name == "MappingNetwork":
            arg = "update_emas" if module != "training.networks" else "skip_w_avg_update"
            forward = f"    def forward(self, z, c, {arg}=False):"
            lines += [f"class {name}:", forward, "        raise NotImplementedError", ""]
        else:
            lines += [f"class {name}:", "    pass", ""]
    return "\n".join(lines)


# --- the restricted unpickler -------------------------------------------------------------------


class _Refused(GanbenchError):
    pass


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> torch.Tensor:
    if not isinstance(storage, torch.storage.TypedStorage):
        raise _Refused(f"a tensor rebuilt from a {type(storage).__name__}, not a storage")
    ints = [storage_offset, *tuple(size), *tuple(stride)]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints) or len(size) != len(stride):
        raise _Refused(f"a tensor with offset {storage_offset!r}, size {size!r}, stride {stride!r}")
    t = torch.empty((0,), dtype=storage.dtype)
    # set_ checks the view fits the storage
    return t.set_(storage._untyped_storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any = None) -> nn.Parameter:
    if not isinstance(data, torch.Tensor):
        raise _Refused(f"a parameter of a {type(data).__name__}, not a tensor")
    return nn.Parameter(data, requires_grad=bool(requires_grad))


def _load_from_bytes(b: Any) -> torch.storage.TypedStorage:
    if not isinstance(b, bytes):
        raise _Refused(f"storage bytes of type {type(b).__name__}")
    # torch's own _load_from_bytes is torch.load(weights_only=False): any code. weights_only=True
    # reads tensors and storages only, and anything else in the bytes is refused by torch
    try:
        out = torch.load(io.BytesIO(b), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError/RuntimeError for bad bytes
        raise _Refused(
            f"a storage that torch.load(weights_only=True) refuses ({type(e).__name__}: {e})"
        ) from None
    if not isinstance(out, torch.storage.TypedStorage):
        raise _Refused(f"storage bytes holding a {type(out).__name__}, not a storage")
    return out


class _NumpyDtype:
    """numpy.dtype(...) as pickled: built from its type string, numeric kinds only."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(spec, str):
            raise _Refused(f"a numpy dtype {spec!r}")
        self.spec, self.byteorder = spec, "="

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]

    def dtype(self) -> np.dtype:
        dt = np.dtype(self.spec)
        if dt.kind not in "biufc":
            raise _Refused(f"a numpy value of dtype {self.spec!r} (numbers only)")
        return dt.newbyteorder(self.byteorder) if self.byteorder in "<>" else dt


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, _NumpyDtype) or not isinstance(data, bytes):
        raise _Refused("a numpy scalar that is not a number's bytes")
    return np.frombuffer(data, dtype=dtype.dtype(), count=1)[0].item()


class _NumpyArray:
    """numpy's ndarray reconstruction: the BUILD state gives shape, dtype and raw bytes."""

    array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise _Refused("a numpy array state that is not (version, shape, dtype, fortran, bytes)")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _NumpyDtype) or not isinstance(raw, bytes):
            raise _Refused("a numpy array of objects (numbers only)")
        arr = np.frombuffer(raw, dtype=dtype.dtype()).copy()
        self.array = arr.reshape(tuple(shape), order="F" if fortran else "C")


def _numpy_reconstruct(cls: Any, shape: Any, dtype_code: Any) -> _NumpyArray:
    return _NumpyArray()


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    raise AssertionError("replaced by SafeUnpickler._reconstruct")  # pragma: no cover


def _tuple(*args: Any) -> tuple[Any, ...]:
    return tuple(*args)


# (module, name) -> stand-in; a name is allowed under each module path numpy or dnnlib used
ALLOWED: dict[tuple[str, str], Any] = {
    RECONSTRUCT: _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch", "Size"): _tuple,
    ("collections", "OrderedDict"): OrderedDict,
    ("dnnlib.util", "EasyDict"): dict,
    ("dnnlib", "EasyDict"): dict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): _NumpyDtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): _NumpyArray,
}


def allowed_globals() -> list[str]:
    return sorted(f"{m}.{n}" for m, n in ALLOWED)


class SafeUnpickler(pickle.Unpickler):
    """Resolves only :data:`ALLOWED` globals (to the stand-ins above); anything else raises a
    :class:`SourceError` naming ``path`` and the global. Nothing from the file is imported or run."""

    def __init__(self, file: Any, path: str | Path) -> None:
        super().__init__(file)
        self.path = str(path)
        self._modules: dict[str, tuple[str | None, tuple[str, ...], str]] = {}  # by source hash

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == TF_NETWORK:
            raise SourceError(f"{self.path}: {TF_REASON}")
        stand_in = ALLOWED.get((module, name))
        if stand_in is None:
            raise SourceError(
                f"{self.path}: the pickle asks for {module}.{name}, which ganbench does not allow: it never "
                f"imports or calls anything from a pickle but its allow-list ({', '.join(allowed_globals())})"
            )
        target = self._reconstruct if stand_in is _reconstruct_persistent_obj else stand_in
        # a fresh object per lookup: the pickle's BUILD opcode can set attributes on what find_class
        # returns, and that must not change the stand-ins of this module for later loads
        if isinstance(target, type):
            return type(target.__name__, (target,), {})
        return lambda *args, **kwargs: target(*args, **kwargs)

    def persistent_load(self, pid: Any) -> Any:
        raise SourceError(
            f"{self.path}: the pickle uses persistent ids ({str(pid)[:60]}), which NVIDIA's do not"
        )

    def _reconstruct(self, meta: Any) -> PersistentObject:
        if not isinstance(meta, dict):
            raise _Refused(f"persistence meta is a {type(meta).__name__}, not a dict")
        version = meta.get("version")
        if version not in PERSISTENCE_VERSIONS:
            raise SourceError(
                f"{self.path}: torch_utils.persistence version {version!r} (class "
                f"{meta.get('class_name')!r}); ganbench reads version(s) "
                f"{', '.join(map(str, PERSISTENCE_VERSIONS))}, those of stylegan2-ada-pytorch and stylegan3"
            )
        if meta.get("type") != "class":
            raise _Refused(f"persistence meta of type {meta.get('type')!r}, not 'class'")
        src, class_name, state = meta.get("module_src"), meta.get("class_name"), meta.get("state")
        if not isinstance(src, str) or not isinstance(class_name, str) or not isinstance(state, dict):
            raise _Refused("persistence meta without module_src, class_name and state")
        key = hashlib.sha256(src.encode("utf-8", "surrogatepass")).hexdigest()
        if key not in self._modules:
            self._modules[key] = (*identify_module(src), key)
        module, classes, src_hash = self._modules[key]
        state = dict(state)
        init_args = state.pop("_init_args", ())
        init_kwargs = state.pop("_init_kwargs", {})
        if not isinstance(init_args, (tuple, list)) or not isinstance(init_kwargs, dict):
            raise _Refused(f"{class_name}: constructor arguments that are not a tuple and a dict")
        return PersistentObject(
            class_name,
            module,
            int(version),
            tuple(init_args),
            _plain(init_kwargs),
            _plain(state),
            classes,
            src_hash,
        )


def _plain(obj: Any) -> Any:
    """numpy stand-ins → numpy arrays, nested containers kept."""
    if isinstance(obj, _NumpyArray):
        return obj.array
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


def read_nvidia_pickle(path: str | Path) -> Any:
    """The contents of an NVIDIA network pickle, networks as :class:`PersistentObject` records."""
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"{p}: file not found")
    with open(p, "rb") as f:
        try:
            return SafeUnpickler(f, p).load()
        except GanbenchError as e:
            if isinstance(e, _Refused):
                raise SourceError(f"{p}: not an NVIDIA network pickle: {e}") from None
            raise
        except (EOFError, pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError) as e:
            raise SourceError(
                f"{p}: truncated or corrupt pickle ({type(e).__name__}: {e}); an NVIDIA network "
                f"pickle is network-snapshot-*.pkl as written by stylegan2-ada-pytorch or stylegan3"
            ) from None
        except Exception as e:  # noqa: BLE001 - a stand-in's check failed on malformed data
            raise SourceError(f"{p}: unreadable pickle ({type(e).__name__}: {e})") from None


# --- rebuilding a generator ----------------------------------------------------------------------


def _mismatches(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor], limit: int = 5) -> str:
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    shapes = [
        f"{k} {tuple(got[k].shape)} vs {tuple(expected[k].shape)}"
        for k in expected
        if k in got and got[k].shape != expected[k].shape
    ]
    parts = []
    for what, keys in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("shape (pickle vs kwargs)", shapes),
    ):
        if keys:
            more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
            parts.append(f"{what}: {', '.join(keys[:limit])}{more}")
    return "; ".join(parts)


def load_nvidia_generator(path: str | Path, network: str = "G_ema") -> tuple[nn.Module, dict[str, Any]]:
    """ganbench's own network for the pickle's ``network`` (G_ema or G), with its weights, and what
    was read (class, kwargs, c_dim, resolution, the file's sha256, persistence version)."""
    p = Path(path)
    if network not in GENERATOR_KEYS:
        raise ConfigError(
            f"{p}: network {network!r}; the generators of an NVIDIA pickle: {', '.join(GENERATOR_KEYS)}"
        )
    data = read_nvidia_pickle(p)
    if not isinstance(data, dict):
        raise SourceError(
            f"{p}: holds a {type(data).__name__}, not NVIDIA's dict of networks (G, D, G_ema, ...)"
        )
    if network not in data:
        raise ConfigError(
            f"{p}: no {network!r} in the pickle; it holds {', '.join(map(str, data)) or 'nothing'}"
        )
    obj = data[network]
    if not isinstance(obj, PersistentObject):
        raise SourceError(f"{p}: {network} is a {type(obj).__name__}, not a persistent NVIDIA network")
    if obj.module is None:
        raise SourceError(
            f"{p}: {network} is a {obj.class_name} from a module that is none of NVIDIA's "
            f"({', '.join(FINGERPRINTS)}); its source defines {', '.join(obj.classes) or 'no classes'}"
        )
    load_all()  # the model modules register the builders
    if obj.qualified_name not in NVIDIA_NETWORKS:
        raise SourceError(
            f"{p}: {network} is {obj.qualified_name}, which ganbench cannot rebuild; it rebuilds "
            f"{', '.join(NVIDIA_NETWORKS.names()) or 'no classes (none registered)'}"
        )
    try:
        G = NVIDIA_NETWORKS.get(obj.qualified_name)(obj.init_args, obj.init_kwargs)
    except GanbenchError:
        raise
    except (ValueError, TypeError) as e:
        raise SourceError(f"{p}: {network} ({obj.qualified_name}): {e}") from None
    state = obj.state_dict()
    expected = G.state_dict()
    problem = _mismatches(expected, state)
    if problem:
        raise SourceError(
            f"{p}: {network}'s weights do not fit the network its kwargs describe "
            f"({obj.qualified_name}): {problem}"
        )
    G.load_state_dict(state, strict=True)
    G.eval().requires_grad_(False)
    kwargs = dict(obj.init_kwargs)
    info = {
        "class": obj.qualified_name,
        "network": network,
        "init_args": list(obj.init_args),
        "init_kwargs": kwargs,
        "c_dim": int(kwargs.get("c_dim", obj.init_args[1] if len(obj.init_args) > 1 else 0) or 0),
        "resolution": kwargs.get("img_resolution", obj.init_args[3] if len(obj.init_args) > 3 else None),
        "sha256": sha256_file(p),
        "persistence_version": obj.version,
        "module_src_sha256": obj.source_sha256,
        "keys": [str(k) for k in data],
    }
    return G, info


# --- the evaluation source ----------------------------------------------------------------------

NOISE_MODES = ("random", "const", "none")  # NVIDIA's; their metrics draw random noise
LABELS = (
    "uniform over the c_dim classes, one-hot as NVIDIA's c (NVIDIA's metrics draw the training set's labels)"
)


class _Sampling(nn.Module):
    """G(z, y) with the chosen truncation ψ and noise mode (only for a G that takes one)."""

    def __init__(self, G: nn.Module, truncation_psi: float, noise_mode: str | None) -> None:
        super().__init__()
        self.G, self.truncation_psi, self.noise_mode = G, truncation_psi, noise_mode
        self.z_dim = int(G.z_dim)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        kwargs: dict[str, Any] = {"truncation_psi": self.truncation_psi}
        if self.noise_mode is not None:
            kwargs["noise_mode"] = self.noise_mode
        return self.G(z, y, **kwargs)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj.tolist() if isinstance(obj, (np.ndarray, np.generic)) else obj


def takes_noise_mode(G: nn.Module) -> bool:
    """Whether G has noise inputs to set (StyleGAN2's forward takes ``noise_mode``; StyleGAN3 has none)."""
    return "noise_mode" in inspect.signature(G.forward).parameters


@SOURCES.register("nvidia-pickle")
class NvidiaPickleSource(GeneratorSource):
    """An NVIDIA StyleGAN2/3 ``network-snapshot-*.pkl``, read by :func:`load_nvidia_generator` (no code
    from the file runs) into ganbench's own network: ``network`` G_ema (default) or G, truncation
    ``truncation_psi`` (1: none), ``noise_mode`` random (default, as NVIDIA's metrics) / const / none.
    A conditional pickle (c_dim > 0) gets labels drawn uniformly over its classes."""

    kind = "nvidia-pickle"

    def __init__(
        self,
        path: str,
        network: str = "G_ema",
        truncation_psi: float = 1.0,
        noise_mode: str | None = None,
    ) -> None:
        if network not in GENERATOR_KEYS:
            raise ConfigError(
                f"nvidia-pickle source {path}: {option_name('network', network)}; valid: "
                f"{', '.join(option_name('network', k) for k in GENERATOR_KEYS)}"
            )
        if not math.isfinite(float(truncation_psi)):
            raise ConfigError(f"nvidia-pickle source {path}: {option_name('truncation_psi', truncation_psi)}")
        if noise_mode is not None and noise_mode not in NOISE_MODES:
            raise ConfigError(
                f"nvidia-pickle source {path}: {option_name('noise_mode', noise_mode)}; valid: "
                f"{', '.join(option_name('noise_mode', m) for m in NOISE_MODES)}"
            )
        G, self.info = load_nvidia_generator(path, network)
        if takes_noise_mode(G):
            noise_mode = noise_mode or NOISE_MODES[0]
        elif noise_mode is not None:
            raise ConfigError(
                f"nvidia-pickle source {path}: {option_name('noise_mode', noise_mode)}, but its {network} "
                f"({self.info['class']}) has no noise inputs"
            )
        self.truncation_psi, self.noise_mode = float(truncation_psi), noise_mode
        c_dim = self.info["c_dim"]
        super().__init__(_Sampling(G, self.truncation_psi, noise_mode), path, None, c_dim or None, "-1,1")

    def describe(self) -> dict[str, Any]:
        info = self.info
        return {
            **super().describe(),
            "path": str(Path(self.name).resolve()),
            "sha256": info["sha256"],
            "external": True,
            "executed": "nothing (restricted unpickler, allow-listed stand-ins only)",
            "network": info["network"],
            "class": info["class"],
            "init_kwargs": _jsonable(info["init_kwargs"]),
            "c_dim": info["c_dim"],
            "resolution": info["resolution"],
            "persistence_version": info["persistence_version"],
            "truncation_psi": self.truncation_psi,
            "noise_mode": self.noise_mode or "n/a (no noise inputs)",
            **({"labels": LABELS} if info["c_dim"] else {}),
        }


# --- writing NVIDIA's format ----------------------------------------------------------------------


class _Global:
    """A stand-in for a global the writer emits by name without importing it (NVIDIA's
    ``torch_utils.persistence._reconstruct_persistent_obj``, which ganbench does not have)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle requires a callable in a reduce value
        raise TypeError(f"{self.module}.{self.name} is a name written into a pickle, not a function")


_RECONSTRUCT_GLOBAL = _Global(*RECONSTRUCT)
_HOOKS = ("hooks",)  # __dict__ entries whose names contain this: hook tables (empty ones written)


def _plain_value(v: Any) -> bool:
    if v is None or isinstance(v, (bool, int, float, str, torch.Tensor)):
        return True
    if isinstance(v, (tuple, list, set, frozenset)):
        return all(_plain_value(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain_value(x) for k, x in v.items())
    return False


class _NvidiaPickler(pickle._Pickler):  # the Python pickler: its dispatch table can be extended
    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(
        self,
        file: Any,
        top: dict[int, tuple[str, str, dict[str, Any]]],
        sources: dict[str, str],
        version: int,
    ) -> None:
        super().__init__(file, protocol=4)
        self.top, self.sources, self.version = top, sources, version

    def save_stand_in(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = save_stand_in

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, nn.Module):
            return NotImplemented
        module, class_name, init_kwargs = self.top.get(id(obj), (None, type(obj).__name__, {}))
        module = module or next(iter(self.sources))
        state: dict[str, Any] = {}
        for k, v in obj.__dict__.items():
            if k in ("_parameters", "_buffers", "_modules"):
                state[k] = OrderedDict(v)
            elif any(h in k for h in _HOOKS) and isinstance(v, dict):
                if v:
                    raise ValueError(f"{class_name}: hooks in {k} cannot be written to an NVIDIA pickle")
                state[k] = OrderedDict()
            elif _plain_value(v):
                state[k] = v
        state["_init_args"], state["_init_kwargs"] = (), dict(init_kwargs)
        meta = {
            "type": "class",
            "version": self.version,
            "module_src": self.sources[module],
            "class_name": class_name,
            "state": state,
        }
        return (_RECONSTRUCT_GLOBAL, (meta,))


def write_nvidia_pickle(
    path: str | Path,
    networks: dict[str, tuple[str, str, dict[str, Any], nn.Module]],
    module_src: dict[str, str] | str | None = None,
    extra: dict[str, Any] | None = None,
    version: int = PERSISTENCE_VERSIONS[-1],
) -> Path:
    """Write ``networks`` (key → (module, class name, constructor kwargs, network), e.g.
    ``{"G_ema": ("training.networks", "Generator", kwargs, G)}``) as NVIDIA's training loop pickles
    them: a dict whose networks are persistence objects (version 6), nested modules persistent too,
    tensors through torch's own reduce. ``module_src``: each module's source (a str: one for all);
    None: :func:`stub_source`. ``extra``: more entries of the dict (e.g. ``training_set_kwargs``);
    ``version``: the persistence version written (another than NVIDIA's only to test refusals)."""
    modules = {m for m, _, _, _ in networks.values()}
    if isinstance(module_src, str):
        sources = {m: module_src for m in modules}
    else:
        sources = {m: (module_src or {}).get(m) or stub_source(m) for m in modules}
    copies = {key: copy.deepcopy(net).cpu() for key, (_, _, _, net) in networks.items()}  # caller's stay put
    top = {id(copies[key]): (m, cls, kw) for key, (m, cls, kw, _) in networks.items()}
    data: dict[str, Any] = dict(copies)
    data.update(extra or {})
    buf = io.BytesIO()
    _NvidiaPickler(buf, top, sources, version).dump(data)
    write_bytes_atomic(Path(path), buf.getvalue())
    return Path(path)


__all__ = [
    "ALLOWED",
    "GENERATOR_KEYS",
    "NOISE_MODES",
    "NvidiaPickleSource",
    "PERSISTENCE_VERSIONS",
    "PersistentObject",
    "SafeUnpickler",
    "identify_module",
    "load_nvidia_generator",
    "read_nvidia_pickle",
    "stub_source",
    "write_nvidia_pickle",
]
