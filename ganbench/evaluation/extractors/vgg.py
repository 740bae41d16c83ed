"""VGG16 fc2 features (4096-d, after ReLU) for precision/recall (Kynkäänniemi et al. 2019).

Network: torchvision's ``vgg16`` with its ImageNet weights file ``vgg16-397923af.pth``
(``VGG16_Weights.IMAGENET1K_V1``), loaded with ``torch.load(weights_only=True)``.

Preprocessing, as torch-fidelity's ``vgg16`` extractor (the reference package that uses these same
weights, and which the tests compare against): uint8 → float [0, 255], TF1-style bilinear resize to
224×224 (any input size, up or down), ImageNet normalisation (x − 255·mean) / (255·std); output
``classifier[:5]`` = fc1 → ReLU → dropout (off in eval) → fc2 → ReLU.

Not the same network as stylegan2-ada-pytorch's precision/recall, which uses NVIDIA's TorchScript
``vgg16.pt`` (a port of the original authors' TensorFlow VGG16, resizing inside): numbers from the two
are not interchangeable, which is why the extractor and its weights hash are in every record.
"""

from __future__ import annotations

import torch
import torchvision

from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.base import FeatureExtractor, Output, to_rgb
from ganbench.evaluation.extractors.resize import resize_bilinear_tf1
from ganbench.registries import EXTRACTORS

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VGG16Extractor(FeatureExtractor):
    name = "vgg16"
    mode = "fc2_relu"
    dim = 4096
    num_classes = None
    preprocessing = "TF1 bilinear 224 on [0,255], ImageNet mean/std x255 (as torch-fidelity vgg16)"

    def __init__(self, net: torchvision.models.VGG, weights_hash: str, weights_file: str | None) -> None:
        super().__init__()
        self.features_net = net.features
        self.avgpool = net.avgpool
        self.fc = net.classifier[:5]  # fc1, ReLU, Dropout, fc2, ReLU
        self.register_buffer("mean", 255 * torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", 255 * torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.weights_hash = weights_hash
        self.weights_file = weights_file
        self.eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x = resize_bilinear_tf1(to_rgb(images).float(), (224, 224), exact=True)
        return (x - self.mean) / self.std

    def compute(self, images: torch.Tensor) -> Output:
        x = self.avgpool(self.features_net(self.preprocess(images)))
        return self.fc(x.flatten(1)), None


@EXTRACTORS.register("vgg16")
def vgg16(weights: str | None = None, device: str | torch.device = "cpu") -> VGG16Extractor:
    """VGG16 fc2 extractor. ``weights``: None (resolve ``vgg16-397923af.pth``), its path, or
    ``"random-init"`` (torchvision's own initialisation under a fixed seed; plumbing tests only)."""
    if weights == W.RANDOM_INIT:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = torchvision.models.vgg16(weights=None)
        digest, path = W.RANDOM_INIT, None
    else:
        p, digest = W.resolve("vgg16", weights)
        net = torchvision.models.vgg16(weights=None)
        net.load_state_dict(torch.load(p, map_location="cpu", weights_only=True))
        path = str(p)
    net.eval().requires_grad_(False)
    return VGG16Extractor(net, digest, path).to(device)
