"""DINOv2 CLS-token features (ViT-B/14: 768-d, ViT-L/14: 1024-d), the feature space of dgm-eval
(Stein et al. 2023, "Exposing flaws of generative model evaluation metrics"), where Fréchet distance
agrees with human judgement better than on Inception features.

Network: ``transformers``' ``Dinov2Model`` (the ``modern`` extra) on a local copy of
``facebook/dinov2-large`` (``model="vitl14"``, the default, as dgm-eval's) or ``facebook/dinov2-base``
(``model="vitb14"``); see ``hf.py`` for where the folder is looked for. Features are the CLS token of
the last layer after the final LayerNorm (``pooler_output``): what dgm-eval takes, since it calls the
torch-hub DINOv2's ``forward``, which returns ``head(x_norm_clstoken)`` with an identity head.

Preprocessing, as dgm-eval's ``DINOv2Encoder.transform`` in its default mode (no ``--clean_resize``),
which receives a PIL RGB image: torchvision ``Resize((224, 224), BICUBIC)`` on that PIL image, i.e.
PIL's bicubic ``Image.resize`` on 8-bit RGB (antialiased when shrinking, rounded to uint8), then
``ToTensor`` (/255) and ImageNet mean/std. Gray images are repeated to 3 channels (dgm-eval's
``convert('RGB')`` does the same). Not torch's ``F.interpolate(bicubic)``: on tensors the results differ.

At 224 px the 37×37 position embeddings (trained at 518) are resized to 16×16 by bicubic
``interpolate(size=...)``, as facebookresearch/dinov2 does since its PR #378 (2024); the torch-hub code
before it used ``scale_factor`` with a 0.1 offset, so dgm-eval features computed with that older hub
code differ slightly from these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganbench.errors import ConfigError
from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors import hf
from ganbench.evaluation.extractors.base import Output, to_rgb
from ganbench.registries import EXTRACTORS

RESOLUTION = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PREPROCESSING = (
    "PIL bicubic 224x224 on uint8 RGB (torchvision Resize on PIL, as dgm-eval), /255, ImageNet mean/std; "
    "CLS token after the last LayerNorm"
)

# The architectures (the published checkpoints' config.json values that fix the shapes).
ARCHS: dict[str, dict[str, Any]] = {
    "vitb14": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12},
    "vitl14": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16},
}
MODELS = {
    "vitb14": hf.HFModel("facebook/dinov2-base", "GANBENCH_DINOV2_WEIGHTS", "dinov2 (model vitb14)"),
    "vitl14": hf.HFModel("facebook/dinov2-large", "GANBENCH_DINOV2_WEIGHTS", "dinov2 (model vitl14)"),
}
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "mlp_ratio": 2, "image_size": 28}


class Dinov2Extractor(hf.HFExtractor):
    name = "dinov2"
    preprocessing = PREPROCESSING

    def __init__(
        self, mode: str, net: Any, model_id: str, weights_hash: str, weights_file: str | None
    ) -> None:
        # mode: the architecture (vitb14 / vitl14; "tiny" for the test configuration)
        dim = int(net.config.hidden_size)
        super().__init__(mode, net, dim, model_id, weights_hash, weights_file, IMAGENET_MEAN, IMAGENET_STD)

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 N×{1,3}×H×W → uint8 N×3×224×224 (PIL bicubic, as dgm-eval)."""
        return hf.pil_bicubic(to_rgb(images), (RESOLUTION, RESOLUTION))

    def compute(self, images: torch.Tensor) -> Output:
        return self.net(pixel_values=self.preprocess(images)).pooler_output, None


def _check_arch(config: Any, model: str, folder: Path) -> None:
    """Refuse a folder whose network is not the architecture it would be recorded as."""
    want = {**ARCHS[model], "patch_size": 14, "model_type": "dinov2"}
    got = {k: getattr(config, k, None) for k in want}
    if got != want:
        raise ConfigError(
            f"dinov2 model {model!r}: {folder} holds {got}, not {MODELS[model].model_id} ({want}); pass the "
            f"folder of {MODELS[model].model_id}, or choose the model it is ({', '.join(ARCHS)})"
        )


@EXTRACTORS.register("dinov2")
def dinov2(
    model: str = "vitl14", weights: str | None = None, device: str | torch.device = "cpu"
) -> Dinov2Extractor:
    """DINOv2 extractor. ``model``: ``vitl14`` (default, as dgm-eval) or ``vitb14``. ``weights``: None
    (look for the model folder, see ``hf.py``), a folder in the Hugging Face layout (or a weights file in
    one), ``"random-init"`` (the model's architecture, fixed-seed random weights) or
    ``"random-init:tiny"`` (hidden 32, 2 layers: plumbing tests only, never a default)."""
    if model not in ARCHS:
        raise ConfigError(f"dinov2 model {model!r}; valid choices: {', '.join(ARCHS)}")
    transformers = hf.require_transformers("dinov2")
    config_of = {
        "full": lambda: transformers.Dinov2Config(**ARCHS[model], image_size=518, patch_size=14),
        "tiny": lambda: transformers.Dinov2Config(**TINY, patch_size=14),
    }
    config = hf.parse_random_init(weights, config_of, "dinov2")
    if config is not None:
        tiny = str(weights).endswith(":tiny")
        net = hf.build_random(transformers.Dinov2Model, config)
        mode, model_id = ("tiny", str(weights)) if tiny else (model, MODELS[model].model_id)
        return Dinov2Extractor(mode, net, model_id, W.RANDOM_INIT, None).to(device)
    folder, files = hf.resolve_folder(MODELS[model], weights)
    _check_arch(transformers.Dinov2Config.from_pretrained(str(folder), local_files_only=True), model, folder)
    net = hf.load_pretrained(transformers.Dinov2Model, folder, files)
    digest = hf.weights_digest(files)
    return Dinov2Extractor(model, net, MODELS[model].model_id, digest, str(folder)).to(device)
