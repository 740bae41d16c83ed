"""Fashion-MNIST through torchvision's own ``FashionMNIST`` class, found offline where possible.

Lookup order:
1. ``root`` (if given) already holds it (``root/FashionMNIST/raw/...``, torchvision's layout);
2. the ganbench cache (``$GANBENCH_CACHE`` or ``~/.cache/ganbench``, sub-folder ``datasets``) holds it;
3. Debian's ``dataset-fashion-mnist`` package files (``/usr/share/datasets/fashion-mnist/*.gz``, the
   original IDX files) exist: they are decompressed once into the ganbench cache;
4. torchvision downloads it (into ``root``, else the ganbench cache);
5. otherwise a :class:`GanbenchError` names both ways to get the files.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import torch
from torchvision.datasets import FashionMNIST

from ganbench.cache import cache_root
from ganbench.errors import ConfigError, GanbenchError

SPLITS = ("train", "test")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # module attribute so tests can point it elsewhere

# Decompressed sizes of the original IDX files: a cheap integrity check of our own cache.
_IDX_SIZES = {
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}


def _is_train(split: str) -> bool:
    if split not in SPLITS:
        raise ConfigError(f"Fashion-MNIST split {split!r}; valid choices: {', '.join(SPLITS)}")
    return split == "train"


def dataset_cache_dir() -> Path:
    """The root that ganbench hands to torchvision when it manages the files itself."""
    return cache_root() / "datasets"


def _load(root: Path, train: bool) -> FashionMNIST | None:
    try:
        return FashionMNIST(str(root), train=train, download=False)
    except RuntimeError:  # torchvision: "Dataset not found"
        return None


def _cache_is_complete(root: Path) -> bool:
    raw = root / "FashionMNIST" / "raw"
    return all((raw / n).is_file() and (raw / n).stat().st_size == size for n, size in _IDX_SIZES.items())


def _decompress_debian(root: Path) -> None:
    """Decompress the four Debian ``.gz`` files into ``root/FashionMNIST/raw`` (atomic per file)."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, size in _IDX_SIZES.items():
        target = raw / name
        if target.is_file() and target.stat().st_size == size:
            continue
        # a private temporary name: parallel workers may decompress at the same time
        fd, tmp_name = tempfile.mkstemp(dir=raw, prefix=f".{name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        with gzip.open(DEBIAN_DIR / f"{name}.gz", "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst)
        if tmp.stat().st_size != size:
            tmp.unlink()
            raise GanbenchError(
                f"{DEBIAN_DIR / (name + '.gz')}: decompresses to an unexpected size (expected {size} bytes); "
                "the Debian package files look corrupt (reinstall dataset-fashion-mnist)"
            )
        tmp.replace(target)


def _debian_files_present() -> bool:
    return all((DEBIAN_DIR / f"{n}.gz").is_file() for n in _IDX_SIZES)


def fashion_mnist(split: str, root: str | None = None) -> FashionMNIST:
    """The Fashion-MNIST ``split`` ("train" or "test") as a torchvision ``FashionMNIST`` dataset."""
    train = _is_train(split)
    if root is not None:
        found = _load(Path(root), train)
        if found is not None:
            return found
    cache = dataset_cache_dir()
    if _cache_is_complete(cache):
        found = _load(cache, train)
        if found is not None:
            return found
    if _debian_files_present():
        _decompress_debian(cache)
        return FashionMNIST(str(cache), train=train, download=False)
    target = Path(root) if root is not None else cache
    try:
        return FashionMNIST(str(target), train=train, download=True)
    except Exception as e:  # torchvision raises RuntimeError / URLError / OSError when offline
        where = f"{root} (given root), " if root is not None else ""
        raise GanbenchError(
            f"Fashion-MNIST {split!r} not found in {where}{cache} (ganbench cache) or {DEBIAN_DIR} "
            f"(Debian files), and the download failed ({type(e).__name__}: {e}). Either install the "
            "Debian package (`apt-get install dataset-fashion-mnist`) or allow network access so "
            "torchvision can download it, or pass a root holding FashionMNIST/raw/*-ubyte."
        ) from e


def fashion_mnist_arrays(split: str, root: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)``: uint8 N×28×28 and int64 N, in file order (fast in-memory use)."""
    ds = fashion_mnist(split, root)
    return ds.data, ds.targets.to(torch.int64)
