"""Feature-extractor weights files: a table of the known files and where to find them.

Resolution order for a known file:
1. an explicit path (``weights="/path/to/file"``);
2. the folders in ``$GANBENCH_WEIGHTS_DIR`` (``os.pathsep``-separated);
3. the ganbench cache (``$GANBENCH_CACHE/weights``, default ``~/.cache/ganbench/weights``);
4. where the reference packages cache them: torch hub (``$TORCH_HOME/hub/checkpoints``, used by
   pytorch-fid, torch-fidelity and torchvision) and clean-fid (``/tmp`` on Linux/macOS);
5. a download into the ganbench cache, when the network allows (short timeout; disabled by
   ``GANBENCH_OFFLINE=1`` or ``download=False``).

Every file found is checked against its sha256: a wrong checksum is an error, never a silent skip.
Offline, :class:`WeightsError` names the file, its sha256, its URL and where to put it.
"""

from __future__ import annotations

import os
import platform
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ganbench.cache import cache_root
from ganbench.errors import ConfigError, WeightsError
from ganbench.evaluation.options import option_name
from ganbench.io import sha256_file

RANDOM_INIT = "random-init"  # weights= value for plumbing tests; recorded as such, never the default
DOWNLOAD_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KnownWeights:
    key: str  # the name extractors and ``ganbench weights`` use
    filename: str
    sha256: str  # full hex digest of the file
    url: str
    used_by: str
    aliases: tuple[str, ...] = ()  # other names of the byte-identical file in other packages' caches
    clean_fid_cache: bool = False  # clean-fid downloads this file to /tmp (cleanfid/features.py)


# sha256 values: the full digests of the official files as recorded by several independent projects
# (k-diffusion pins the NVIDIA file's digest; torchvision/pytorch-fid file names carry the first
# 8 hex digits of the sha256, which these digests match).
KNOWN_WEIGHTS: dict[str, KnownWeights] = {
    w.key: w
    for w in (
        KnownWeights(
            key="inception-torchscript",
            filename="inception-2015-12-05.pt",
            sha256="f58cb9b6ec323ed63459aa4fb441fe750cfe39fafad6da5cb504a16f19e958f4",
            url="https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
            used_by="inception (modes clean, legacy_tensorflow); clean-fid, stylegan2-ada",
            clean_fid_cache=True,
        ),
        KnownWeights(
            key="inception-pytorch-fid",
            filename="pt_inception-2015-12-05-6726825d.pth",
            sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
            url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
            used_by="inception (mode legacy_pytorch); pytorch-fid",
            aliases=("weights-inception-2015-12-05-6726825d.pth",),  # torch-fidelity's re-upload
        ),
        KnownWeights(
            key="vgg16",
            filename="vgg16-397923af.pth",
            sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
            url="https://download.pytorch.org/models/vgg16-397923af.pth",
            used_by="vgg16 (precision/recall); torchvision VGG16_Weights.IMAGENET1K_V1, torch-fidelity",
        ),
    )
}


def known(key: str) -> KnownWeights:
    try:
        return KNOWN_WEIGHTS[key]
    except KeyError:
        raise ConfigError(f"unknown weights {key!r}; valid choices: {', '.join(KNOWN_WEIGHTS)}") from None


def weights_cache_dir() -> Path:
    return cache_root() / "weights"


def search_dirs(w: KnownWeights, extra: Sequence[str | Path] = ()) -> list[Path]:
    """The folders searched for ``w``, in order (they need not exist)."""
    dirs = [Path(d) for d in extra]
    env = os.environ.get("GANBENCH_WEIGHTS_DIR")
    if env:
        dirs += [Path(d).expanduser() for d in env.split(os.pathsep) if d]
    dirs.append(weights_cache_dir())
    dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    if w.clean_fid_cache:
        dirs.append(Path("./") if platform.system() == "Windows" else Path("/tmp"))
    return dirs


def file_sha256(path: str | Path) -> str:
    """sha256 of a file (not memoised: a file rewritten in place must be re-checked)."""
    return sha256_file(path)


def verify(w: KnownWeights, path: str | Path) -> str:
    """Check ``path`` against ``w.sha256``; returns the digest, raises WeightsError on mismatch."""
    digest = file_sha256(path)
    if digest != w.sha256:
        raise WeightsError(
            f"{path}: sha256 {digest} does not match the expected {w.sha256} of {w.filename} "
            f"({w.used_by}). The file is corrupt, truncated or a different file: delete it and fetch "
            f"{w.url}"
        )
    return digest


def find(w: KnownWeights, extra_dirs: Sequence[str | Path] = ()) -> Path | None:
    """The first existing candidate file for ``w`` (not verified), or None."""
    for d in search_dirs(w, extra_dirs):
        for name in (w.filename, *w.aliases):
            candidate = d / name
            if candidate.is_file():
                return candidate
    return None


def _offline() -> bool:
    return os.environ.get("GANBENCH_OFFLINE", "").lower() in ("1", "true", "yes")


def download(w: KnownWeights, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Fetch ``w`` into the ganbench cache (verified before it is moved into place)."""
    target_dir = weights_cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=f".{w.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with urllib.request.urlopen(w.url, timeout=timeout) as response, os.fdopen(fd, "wb") as f:
            while block := response.read(1 << 20):
                f.write(block)
        verify(w, tmp)
        target = target_dir / w.filename
        os.replace(tmp, target)
        return target
    finally:
        tmp.unlink(missing_ok=True)


def _missing_message(w: KnownWeights, searched: list[Path], why: str) -> str:
    dirs = "\n".join(f"    {d}" for d in searched)
    return (
        f"missing weights file {w.filename} ({w.used_by}).\n"
        f"  sha256: {w.sha256}\n"
        f"  URL:    {w.url}\n"
        f"  searched:\n{dirs}\n"
        f"  download: {why}\n"
        f"Fetch the file from the URL on a machine with network access and put it in "
        f"{weights_cache_dir()} (or a folder named by $GANBENCH_WEIGHTS_DIR), or pass its path as "
        f"{option_name('weights', f'/path/to/{w.filename}')}. `ganbench weights --verify` checks what is "
        f"found."
    )


def resolve(
    key: str,
    path: str | Path | None = None,
    extra_dirs: Sequence[str | Path] = (),
    allow_download: bool | None = None,
) -> tuple[Path, str]:
    """``(path, sha256)`` of the verified weights file ``key`` (see the module docstring for the order)."""
    w = known(key)
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise WeightsError(
                f"{option_name('weights', str(path))}: file not found (expected {w.filename}, "
                f"sha256 {w.sha256}, from {w.url})"
            )
        return p, verify(w, p)
    found = find(w, extra_dirs)
    if found is not None:
        return found, verify(w, found)
    searched = search_dirs(w, extra_dirs)
    if allow_download is None:
        allow_download = not _offline()
    if not allow_download:
        raise WeightsError(_missing_message(w, searched, "disabled (GANBENCH_OFFLINE=1 or download=False)"))
    try:
        target = download(w)
    except WeightsError:
        raise
    except Exception as e:  # URLError, timeouts, HTTP errors: the network does not allow it
        raise WeightsError(_missing_message(w, searched, f"failed ({type(e).__name__}: {e})")) from e
    return target, w.sha256
