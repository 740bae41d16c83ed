"""Inception-V3 pool3 features (2048-d) and unbiased logits (1008) in the three pinned modes.

=====================  ===========================================  =====================================
mode                   preprocessing (uint8 N×C×H×W in)             network
=====================  ===========================================  =====================================
``clean`` (default)    clean-fid's resizer: PIL bicubic to 299 on   NVIDIA ``inception-2015-12-05.pt``
                       float32 planes, clip to [0, 255], no         TorchScript, ``.layers`` on
                       re-quantisation; then (x − 128)/128          the resized input (= clean-fid)
``legacy_tensorflow``  none outside: the TorchScript resizes        the same TorchScript, called as
                       inside (TF1 bilinear), then (x − 128)/128    ``net(x, return_features=True)``
``legacy_pytorch``     torch bilinear resize to 299                 pytorch-fid's FID Inception,
                       (align_corners=False), x/255, then 2x − 1    ``pt_inception-2015-12-05-6726825d.pth``
=====================  ===========================================  =====================================

Gray images are repeated to 3 channels first. Logits for IS are pool3 · Wᵀ with no output bias
(stylegan2-ada's ``no_output_bias=True``, torch-fidelity's ``logits_unbiased``).

``weights="random-init"`` (mode ``legacy_pytorch`` only) swaps in pytorch-fid's architecture with
fixed-seed random weights; it exists for plumbing tests, is recorded as such and is never the default.
The TorchScript modes always run NVIDIA's file, which ganbench does not rebuild (the tests script a
stand-in with its interface, tests/helpers/inception_standin.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from cleanfid.resize import make_resizer

from ganbench.errors import ConfigError
from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.base import FeatureExtractor, Output, to_rgb
from ganbench.evaluation.extractors.inception_arch import Pool3, fid_inception_v3, random_init_
from ganbench.evaluation.extractors.resize import resize_bilinear_tf1
from ganbench.registries import EXTRACTORS

MODES = ("clean", "legacy_tensorflow", "legacy_pytorch")
WEIGHTS_KEY = {
    "clean": "inception-torchscript",
    "legacy_tensorflow": "inception-torchscript",
    "legacy_pytorch": "inception-pytorch-fid",
}
PREPROCESSING = {
    "clean": "clean-fid PIL bicubic 299 on float32 planes, clip [0,255], (x-128)/128",
    "legacy_tensorflow": "inside the TorchScript: TF1 bilinear 299 (affine_grid/grid_sample), (x-128)/128",
    "legacy_pytorch": "torch bilinear 299 (align_corners=False) on [0,255], x/255, 2x-1",
}

_clean_resize = make_resizer("PIL", False, "bicubic", (299, 299))  # clean-fid's own "clean" resizer


def resize_for_mode(images: torch.Tensor, mode: str) -> torch.Tensor:
    """uint8 N×C×H×W → float32 N×3×299×299 in [0, 255]: the mode's resize, before normalisation.
    (In ``legacy_tensorflow`` the TorchScript does this inside; returned here for inspection/tests.)"""
    x = to_rgb(images)
    if mode == "clean":
        planes = [_clean_resize(img.permute(1, 2, 0).cpu().numpy()) for img in x]
        return torch.from_numpy(np.stack(planes)).permute(0, 3, 1, 2).contiguous()
    if mode == "legacy_pytorch":
        out = F.interpolate(x.float(), size=(299, 299), mode="bilinear", align_corners=False)
        return out.clamp(0, 255)  # as clean-fid's legacy_pytorch resizer (a no-op for bilinear)
    if mode == "legacy_tensorflow":
        return resize_bilinear_tf1(x.float(), (299, 299))
    raise ConfigError(f"inception mode {mode!r}; valid choices: {', '.join(MODES)}")


class InceptionExtractor(FeatureExtractor):
    name = "inception"
    dim = 2048
    num_classes = 1008
    channels = (1, 3)

    def __init__(self, mode: str, net: torch.nn.Module, weights_hash: str, weights_file: str | None) -> None:
        super().__init__()
        self.mode = mode
        self.net = net  # NVIDIA's TorchScript for clean / legacy_tensorflow; Inception3 otherwise
        self.pool3 = Pool3(net) if mode == "legacy_pytorch" else None
        self.weights_hash = weights_hash
        self.weights_file = weights_file
        self.preprocessing = PREPROCESSING[mode]
        self.eval()

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        return resize_for_mode(images, self.mode)

    def _out_weight(self) -> torch.Tensor:
        return self.net.fc.weight if self.mode == "legacy_pytorch" else self.net.output.weight

    def compute(self, images: torch.Tensor) -> Output:
        n = len(images)
        if self.mode == "clean":
            x = self.resize(images).to(self.device)
            feats = self.net.layers((x - 128) / 128).reshape(n, 2048)
        elif self.mode == "legacy_tensorflow":
            feats = self.net(to_rgb(images).float(), return_features=True).reshape(n, 2048)
        else:
            x = self.resize(images) / 255
            assert self.pool3 is not None
            feats = self.pool3(2 * x - 1)
        logits = feats @ self._out_weight().T  # no output bias (docs/protocols.md, Inception Score)
        return feats, logits


def _load_net(mode: str, weights: str | None) -> tuple[torch.nn.Module, str, str | None]:
    if weights == W.RANDOM_INIT:
        if mode != "legacy_pytorch":
            # a random network of another architecture would not be the mode it is recorded as
            raise ConfigError(
                f"inception mode {mode!r}: weights 'random-init' exists for mode legacy_pytorch only "
                "(pytorch-fid's architecture); the TorchScript modes run NVIDIA's inception-2015-12-05.pt: "
                "pass its path as weights (`ganbench weights` says where to get it)"
            )
        return random_init_(fid_inception_v3()).eval().requires_grad_(False), W.RANDOM_INIT, None
    path, digest = W.resolve(WEIGHTS_KEY[mode], weights)
    if mode == "legacy_pytorch":
        net = fid_inception_v3()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        with warnings.catch_warnings():  # torch.jit.load is deprecated, but the official file is TorchScript
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.jit.load(str(path), map_location="cpu")  # NVIDIA's official TorchScript file
    for p in net.parameters():  # (ScriptModules do not support requires_grad_)
        p.requires_grad_(False)
    return net.eval(), digest, str(path)


@EXTRACTORS.register("inception")
def inception(
    mode: str = "clean", weights: str | None = None, device: str | torch.device = "cpu"
) -> InceptionExtractor:
    """Inception-V3 extractor. ``weights``: None (resolve the official file, see ``weights.py``), a
    path to that file, or ``"random-init"`` (mode legacy_pytorch; plumbing tests only)."""
    if mode not in MODES:
        raise ConfigError(f"inception mode {mode!r}; valid choices: {', '.join(MODES)}")
    net, digest, path = _load_net(mode, weights)
    return InceptionExtractor(mode, net, digest, path).to(device)
