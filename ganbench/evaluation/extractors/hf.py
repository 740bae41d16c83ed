"""Local Hugging Face model folders for the ``dinov2`` and ``clip`` extractors (the ``modern`` extra).

A model folder is the Hugging Face layout: ``config.json`` plus ``model.safetensors`` (preferred),
``pytorch_model.bin``, or a sharded ``model.safetensors.index.json``. It is found, in order:

1. the ``weights`` parameter (a folder, or a weights file inside one);
2. the extractor's environment variable (``GANBENCH_DINOV2_WEIGHTS``, ``GANBENCH_CLIP_WEIGHTS``);
3. ``<dir>/<folder name>`` for each folder in ``$GANBENCH_WEIGHTS_DIR``, then in the ganbench weights
   cache (``$GANBENCH_CACHE/weights``, default ``~/.cache/ganbench/weights``);
4. the Hugging Face hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
   ``~/.cache/huggingface/hub``): ``models--<org>--<name>/snapshots/<refs/main>``.

Nothing is downloaded: models load with ``from_pretrained(folder, local_files_only=True)`` and never
``trust_remote_code``. ``transformers`` is imported only when one of these extractors is built, so
``import ganbench`` does not need it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganbench.errors import ConfigError, WeightsError
from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.base import FeatureExtractor
from ganbench.evaluation.options import option_name

EXTRA = "modern"
INSTALL_HINT = f"pip install 'ganbench[{EXTRA}]'"  # the extra that brings transformers
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # in order of preference
SHARD_INDEX = "model.safetensors.index.json"


def require_transformers(who: str) -> Any:
    """Import ``transformers``, or say which extra to install."""
    try:
        import transformers
    except ImportError as e:
        raise ConfigError(
            f"feature extractor {who!r} needs the Hugging Face `transformers` package, which is not "
            f"installed ({e}); install it with: {INSTALL_HINT}"
        ) from e
    return transformers


@dataclass(frozen=True)
class HFModel:
    """One downloadable model: what to call it, where to look for it."""

    model_id: str  # the Hugging Face hub id, e.g. "facebook/dinov2-large"
    env_var: str  # the environment variable naming its folder
    used_by: str  # for messages: "dinov2 (model vitl14)"

    @property
    def folder_name(self) -> str:
        """The folder name under $GANBENCH_WEIGHTS_DIR / the weights cache: the id's last part."""
        return self.model_id.split("/")[-1]


def hf_hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _hub_snapshot(m: HFModel) -> Path:
    """The hub cache's snapshot of ``m`` that refs/main points to (the path need not exist)."""
    repo = hf_hub_cache() / f"models--{m.model_id.replace('/', '--')}"
    ref = repo / "refs" / "main"
    if ref.is_file():
        return repo / "snapshots" / ref.read_text().strip()
    snapshots = sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
    return snapshots[-1] if len(snapshots) == 1 else repo / "snapshots" / "<refs/main>"


def candidates(m: HFModel) -> list[tuple[str, Path]]:
    """The places searched for ``m`` after an explicit path, in order: (how it was named, folder)."""
    out: list[tuple[str, Path]] = []
    env = os.environ.get(m.env_var)
    if env:
        out.append((f"${m.env_var}", Path(env).expanduser()))
    dirs = os.environ.get("GANBENCH_WEIGHTS_DIR")
    if dirs:
        out += [
            ("$GANBENCH_WEIGHTS_DIR", Path(d).expanduser() / m.folder_name)
            for d in dirs.split(os.pathsep)
            if d
        ]
    out.append(("ganbench weights cache", W.weights_cache_dir() / m.folder_name))
    out.append(("Hugging Face hub cache", _hub_snapshot(m)))
    return out


def weight_files(folder: Path) -> list[Path] | None:
    """The weights file(s) of a model folder (safetensors preferred), or None when it is not one."""
    if not (folder / "config.json").is_file():
        return None
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return [folder / name]
    index = folder / SHARD_INDEX
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text()).get("weight_map", {}).values()))
        files = [folder / s for s in shards]
        if files and all(f.is_file() for f in files):
            return files
    return None


def weights_digest(files: list[Path]) -> str:
    """sha256 of the weights: of the file itself when there is one (as ``sha256sum`` prints it), else
    of the sorted ``"<sha256>  <name>"`` lines of the shards."""
    digests = [W.file_sha256(f) for f in files]
    if len(files) == 1:
        return digests[0]
    lines = "".join(
        f"{d}  {f.name}\n" for d, f in sorted(zip(digests, files, strict=True), key=lambda t: t[1].name)
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def _layout() -> str:
    return f"config.json + {' or '.join(WEIGHT_FILES)}"


def resolve_folder(m: HFModel, weights: str | Path | None) -> tuple[Path, list[Path]]:
    """``(folder, weights files)`` of ``m``: the explicit ``weights`` path, else the first place that
    holds a complete model folder; otherwise a WeightsError listing every place searched."""
    if weights is not None:
        p = Path(weights).expanduser()
        folder = p.parent if p.is_file() else p  # a weights file names its folder
        files = weight_files(folder)
        if files is None:
            raise WeightsError(
                f"{option_name('weights', str(weights))}: not a Hugging Face model folder ({_layout()}) "
                f"for {m.used_by}; download {m.model_id} on a machine with network access (see below) "
                f"and pass its folder.\n{_how_to_get(m)}"
            )
        return folder, files
    searched: list[str] = []
    for how, folder in candidates(m):
        files = weight_files(folder)
        if files is not None:
            return folder, files
        searched.append(f"    {folder}  ({how})")
    if not os.environ.get(m.env_var):
        searched.insert(0, f"    ${m.env_var}  (not set)")
    raise WeightsError(
        f"missing model folder {m.model_id} ({m.used_by}): {_layout()} in the Hugging Face layout.\n"
        f"  searched:\n" + "\n".join(searched) + f"\n  download: never (ganbench loads these models from "
        f"local files only)\n{_how_to_get(m)}"
    )


def _how_to_get(m: HFModel) -> str:
    target = W.weights_cache_dir() / m.folder_name
    return (
        f"On a machine with network access: `hf download {m.model_id} --local-dir {m.folder_name}` "
        f"(huggingface_hub's CLI; or `git clone https://huggingface.co/{m.model_id}`), then copy the folder "
        f"to {target} (or anywhere, with `export {m.env_var}=/that/folder`), or pass it as "
        f"{option_name('weights', f'/path/to/{m.folder_name}')}."
    )


def load_pretrained(cls: Any, folder: Path, files: list[Path]) -> Any:
    """``cls.from_pretrained`` on a local folder: offline, float32, no remote code, safetensors when
    the folder has them (``pytorch_model.bin`` is read by transformers with ``weights_only=True``)."""
    logging = require_transformers("transformers").utils.logging
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()  # a CLIP folder's text tower is reported as "unexpected keys": expected
    logging.disable_progress_bar()
    try:
        model, info = cls.from_pretrained(
            str(folder),
            output_loading_info=True,
            local_files_only=True,
            use_safetensors=files[0].suffix == ".safetensors",
            dtype=torch.float32,  # transformers 5 defaults to the checkpoint's dtype; features are float32
            trust_remote_code=False,
        )
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
    # transformers fills missing weights with random ones and only logs it: a half-random network must
    # not give numbers, so refuse (mismatched shapes already raise in from_pretrained).
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightsError(f"{folder}: the weights lack {len(missing)} tensors of {cls.__name__}: {shown}")
    return model.eval().requires_grad_(False)


def build_random(cls: Any, config: Any, seed: int = 0) -> Any:
    """``cls(config)`` with transformers' own initialisation under a fixed seed (plumbing tests)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(config)
    return model.float().eval().requires_grad_(False)


def parse_random_init(weights: str | None, choices: dict[str, Callable[[], Any]], who: str) -> Any | None:
    """The config of ``weights="random-init[:<name>]"`` (None for any other value)."""
    if weights is None or not str(weights).startswith(W.RANDOM_INIT):
        return None
    name = str(weights)[len(W.RANDOM_INIT) :].lstrip(":") or "full"
    if name not in choices:
        valid = ", ".join(f"{W.RANDOM_INIT}:{c}" if c != "full" else W.RANDOM_INIT for c in choices)
        raise ConfigError(f"{who}: {option_name('weights', str(weights))}; valid random weights: {valid}")
    return choices[name]()


def pil_bicubic(images: torch.Tensor, size: tuple[int, int], crop_square: bool = False) -> torch.Tensor:
    """uint8 N×3×H×W → uint8 N×3×size[0]×size[1] by PIL's ``Image.resize(..., BICUBIC)`` on each 8-bit
    RGB image (what torchvision's ``Resize`` does on PIL images, and what CMMD calls); PIL widens the
    kernel when it shrinks (antialiasing) and rounds to uint8. ``crop_square`` first crops the central
    square of side min(H, W) at offset ((H − s) // 2, (W − s) // 2), as CMMD's ``_center_crop_and_resize``."""
    out = []
    for img in images.cpu():
        pil = Image.fromarray(np.ascontiguousarray(img.permute(1, 2, 0).numpy()))  # H×W×3 uint8: RGB
        if crop_square:
            w, h = pil.size
            s = min(w, h)
            top, left = (h - s) // 2, (w - s) // 2
            pil = pil.crop((left, top, left + s, top + s))
        out.append(np.asarray(pil.resize((size[1], size[0]), resample=Image.BICUBIC)))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


class HFExtractor(FeatureExtractor):
    """What the transformers-backed extractors share: the network, its model id and weights, and
    the normalisation after each one's own resize. Subclasses set ``name``/``preprocessing`` and
    implement ``resize`` (uint8 → uint8 N×3×S×S) and ``compute``."""

    num_classes = None
    channels = (1, 3)
    preprocessing_version = "1"

    def __init__(
        self,
        mode: str,
        net: Any,
        dim: int,
        model_id: str,
        weights_hash: str,
        weights_file: str | None,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
    ) -> None:
        super().__init__()
        self.mode, self.net, self.dim = mode, net, dim
        self.model_id, self.weights_hash, self.weights_file = model_id, weights_hash, weights_file
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """The network's input: resized, /255, the model's mean/std (float32 on the device)."""
        x = self.resize(images).to(self.device, torch.float32) / 255
        return (x - self.mean) / self.std

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "model_id": self.model_id}
