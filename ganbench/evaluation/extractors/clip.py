"""CLIP ViT-L/14 image embeddings at 336 px (768-d, L2-normalised): the feature space of CMMD
(Jayasumana et al. 2024, "Rethinking FID"; google-research ``cmmd``).

Network: ``transformers``' ``CLIPVisionModelWithProjection`` (the ``modern`` extra) on a local copy of
``openai/clip-vit-large-patch14-336`` (see ``hf.py`` for where the folder is looked for; the full
CLIP folder works, its text tower is not loaded). Features are ``image_embeds`` = visual projection of
the post-LayerNorm CLS token, divided by its L2 norm: CMMD's scenic CLIP ``encode_image(normalize=True)``.

Preprocessing, as CMMD's reference (``io_util._center_crop_and_resize`` then ``embedding._clip_preprocess``):
crop the central square of side min(H, W) (offsets (H − s) // 2, (W − s) // 2), **PIL** bicubic
``Image.resize`` to 336×336 on the 8-bit RGB image (antialiased when shrinking, rounded to uint8), /255,
then CLIP's mean/std. CMMD's second resize, ``jax.image.resize(..., 'bicubic')`` to 336×336, is the
identity on an image already 336×336, so it is omitted. CMMD crops before resizing, while OpenAI's CLIP
transform resizes the shorter side first and then crops: the two agree on square images (all GAN
samples) and differ by resampling detail otherwise; ganbench follows CMMD. Gray images are repeated to
3 channels (CMMD tiles them the same way).
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

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PREPROCESSING = (
    "centre square crop, PIL bicubic 336x336 on uint8 RGB (as CMMD io_util), /255, CLIP mean/std; "
    "projected CLS embedding, L2-normalised"
)
MODEL = hf.HFModel(
    "openai/clip-vit-large-patch14-336", "GANBENCH_CLIP_WEIGHTS", "clip (ViT-L/14 336 px, CMMD)"
)
# The published checkpoint's vision-tower shapes (its config.json).
ARCH: dict[str, Any] = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 336,
    "projection_dim": 768,
}
TINY: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "patch_size": 14,
    "image_size": 56,
    "projection_dim": 16,
}


class ClipExtractor(hf.HFExtractor):
    name = "clip"
    preprocessing = PREPROCESSING

    def __init__(
        self, mode: str, net: Any, model_id: str, weights_hash: str, weights_file: str | None
    ) -> None:
        # mode "vitl14-336"; "tiny" for the test configuration
        dim = int(net.config.projection_dim)
        super().__init__(mode, net, dim, model_id, weights_hash, weights_file, CLIP_MEAN, CLIP_STD)
        self.resolution = int(net.config.image_size)  # 336 for the real model: its native input size

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 N×{1,3}×H×W → uint8 N×3×336×336 (centre square crop + PIL bicubic, as CMMD)."""
        return hf.pil_bicubic(to_rgb(images), (self.resolution, self.resolution), crop_square=True)

    def compute(self, images: torch.Tensor) -> Output:
        emb = self.net(pixel_values=self.preprocess(images)).image_embeds
        return emb / emb.norm(dim=-1, keepdim=True), None  # as CMMD (scenic encode_image, normalize=True)


def _check_arch(config: Any, folder: Path) -> None:
    """Refuse a folder whose vision tower is not ViT-L/14 at 336 px (it would be recorded as one)."""
    got = {k: getattr(config, k, None) for k in ARCH}
    if got != ARCH:
        raise ConfigError(
            f"clip: {folder} holds a CLIP vision tower {got}, not {MODEL.model_id} ({ARCH}), the model CMMD "
            "uses; pass the folder of that model"
        )


@EXTRACTORS.register("clip")
def clip(weights: str | None = None, device: str | torch.device = "cpu") -> ClipExtractor:
    """CLIP ViT-L/14-336 extractor (CMMD). ``weights``: None (look for the model folder, see ``hf.py``),
    a folder in the Hugging Face layout (or a weights file in one), ``"random-init"`` (ViT-L/14-336 with
    fixed-seed random weights) or ``"random-init:tiny"`` (hidden 32, 2 layers, 56 px: plumbing tests only,
    never a default)."""
    transformers = hf.require_transformers("clip")
    config_of = {
        "full": lambda: transformers.CLIPVisionConfig(**ARCH),
        "tiny": lambda: transformers.CLIPVisionConfig(**TINY),
    }
    config = hf.parse_random_init(weights, config_of, "clip")
    if config is not None:
        tiny = str(weights).endswith(":tiny")
        net = hf.build_random(transformers.CLIPVisionModelWithProjection, config)
        mode, model_id = ("tiny", str(weights)) if tiny else ("vitl14-336", MODEL.model_id)
        return ClipExtractor(mode, net, model_id, W.RANDOM_INIT, None).to(device)
    folder, files = hf.resolve_folder(MODEL, weights)
    # A full CLIP folder's config.json is a CLIPConfig: from_pretrained takes its vision_config.
    _check_arch(transformers.CLIPVisionConfig.from_pretrained(str(folder), local_files_only=True), folder)
    net = hf.load_pretrained(transformers.CLIPVisionModelWithProjection, folder, files)
    return ClipExtractor("vitl14-336", net, MODEL.model_id, hf.weights_digest(files), str(folder)).to(device)
