"""The clip extractor (CMMD's feature space) on tiny random configurations: the library's own forward
pass, CMMD's preprocessing (centre square crop + PIL bicubic), the weights search and its error,
provenance."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

transformers = pytest.importorskip("transformers")

from ganbench.errors import ConfigError, WeightsError  # noqa: E402
from ganbench.evaluation.extractors import clip as C  # noqa: E402
from tests.helpers.weights import no_weights_anywhere  # noqa: E402

SCENIC_MEAN = np.array([0.48145466, 0.4578275, 0.40821073])  # scenic clip.IMAGE_MEAN / IMAGE_STD
SCENIC_STD = np.array([0.26862954, 0.26130258, 0.27577711])


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    return no_weights_anywhere(tmp_path, monkeypatch, "GANBENCH_CLIP_WEIGHTS")


@pytest.fixture
def tiny_folder(isolated, monkeypatch):
    """A tiny random *full* CLIPModel (vision + text, as the openai repository holds) saved in the Hugging
    Face layout; the extractor made to expect its vision shapes."""
    monkeypatch.setattr(C, "ARCH", dict(C.TINY))
    config = transformers.CLIPConfig(
        vision_config=dict(C.TINY),
        text_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=50000
        ),
        projection_dim=C.TINY["projection_dim"],
    )
    torch.manual_seed(2)
    model = transformers.CLIPModel(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    folder = isolated / "clip-vit-large-patch14-336"
    model.save_pretrained(folder)
    return folder


def known_image(h: int, w: int, c: int = 3) -> torch.Tensor:
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // (w - 1)), (yy * 255 // (h - 1)), ((xx // 7 + yy // 3) % 2) * 255], -1)
    noise = np.random.default_rng(1).integers(0, 40, size=(h, w, 3))
    img = np.clip(rgb + noise - 20, 0, 255).astype(np.uint8)[..., :c]
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def cmmd_read_image(img: torch.Tensor, size: int) -> np.ndarray:
    """google-research cmmd io_util._read_image + _center_crop_and_resize, on a PIL image of ``img``."""
    im = Image.fromarray(img.permute(1, 2, 0).numpy())
    w, h = im.size
    m = min(w, h)
    top, left = (h - m) // 2, (w - m) // 2
    im = im.crop((left, top, left + m, top + m)).resize((size, size), resample=Image.BICUBIC)
    return np.asarray(im).astype(np.float32)


def cmmd_input(img: torch.Tensor, size: int) -> torch.Tensor:
    """CMMD's network input: /255 (compute_embeddings_for_dir), then scenic's normalize_image (the jax
    bicubic resize to the same size is the identity)."""
    x = (cmmd_read_image(img, size) / 255.0 - SCENIC_MEAN) / SCENIC_STD
    return torch.from_numpy(x).permute(2, 0, 1).float()


@pytest.mark.parametrize("size", [(400, 500), (501, 336), (336, 336), (64, 64), (37, 90)])
def test_resize_is_cmmd_crop_and_pil_bicubic(size):
    img = known_image(*size)
    ext = C.clip(weights="random-init:tiny")
    ext.resolution = 336  # the real model's input size; the resize needs nothing else
    ours = ext.resize(img[None])[0]
    assert ours.shape == (3, 336, 336)
    ref = torch.from_numpy(cmmd_read_image(img, 336)).permute(2, 0, 1)
    assert torch.equal(ours.float(), ref)  # bit-identical
    torch.testing.assert_close(ext.preprocess(img[None])[0], cmmd_input(img, 336), rtol=0, atol=1e-5)


def test_embeddings_equal_the_library_forward_on_cmmd_input(tiny_folder):
    ext = C.clip(weights=str(tiny_folder))
    images = torch.stack(
        [known_image(70, 90), known_image(90, 120)[:, :70, :90], known_image(70, 90).flip(2)]
    )
    feats, logits = ext(images)
    assert logits is None and feats.shape == (3, 16) and ext.dim == 16
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(3))
    ref_model = transformers.CLIPVisionModelWithProjection.from_pretrained(tiny_folder, local_files_only=True)
    x = torch.stack([cmmd_input(img, 56) for img in images])
    with torch.no_grad():
        emb = ref_model.eval()(pixel_values=x).image_embeds
        # image_embeds = visual_projection(post_layernorm(CLS)), as scenic's ln_post(x[:, 0]) @ proj
        full = transformers.CLIPModel.from_pretrained(tiny_folder, local_files_only=True).eval()
        torch.testing.assert_close(full.get_image_features(pixel_values=x).pooler_output, emb)
    torch.testing.assert_close(feats, emb / emb.norm(dim=1, keepdim=True), rtol=1e-5, atol=1e-5)


def test_gray_is_repeated_to_rgb(tiny_folder):
    ext = C.clip(weights=str(tiny_folder))
    gray = known_image(60, 60, c=1)[None]
    torch.testing.assert_close(ext(gray)[0], ext(gray.repeat(1, 3, 1, 1))[0])


def test_provenance_and_weights_hash(tiny_folder):
    ext = C.clip(weights=str(tiny_folder))
    prov = ext.provenance()
    assert prov["extractor"] == "clip" and prov["mode"] == "vitl14-336"
    assert prov["model_id"] == "openai/clip-vit-large-patch14-336"
    assert (
        prov["weights_hash"] == hashlib.sha256((tiny_folder / "model.safetensors").read_bytes()).hexdigest()
    )
    assert prov["preprocessing"] == C.PREPROCESSING and "PIL bicubic 336" in prov["preprocessing"]
    assert prov["preprocessing_version"] == "1"


def test_found_through_the_environment_and_the_hub_cache(tiny_folder, monkeypatch, isolated):
    monkeypatch.setenv("GANBENCH_CLIP_WEIGHTS", str(tiny_folder))
    assert C.clip().weights_file == str(tiny_folder)
    monkeypatch.delenv("GANBENCH_CLIP_WEIGHTS")
    repo = isolated / "hub" / "models--openai--clip-vit-large-patch14-336"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123\n")
    (repo / "snapshots").mkdir()
    tiny_folder.rename(repo / "snapshots" / "abc123")
    assert C.clip().weights_file == str(repo / "snapshots" / "abc123")


def test_missing_weights_error_names_places_and_model_id(isolated, monkeypatch):
    monkeypatch.setenv("GANBENCH_WEIGHTS_DIR", str(isolated / "w"))
    with pytest.raises(WeightsError) as e:
        C.clip()
    msg = str(e.value)
    assert "openai/clip-vit-large-patch14-336" in msg and "$GANBENCH_CLIP_WEIGHTS" in msg
    assert str(isolated / "w" / "clip-vit-large-patch14-336") in msg
    assert str(isolated / "cache" / "weights" / "clip-vit-large-patch14-336") in msg
    assert "models--openai--clip-vit-large-patch14-336" in msg and "model.safetensors" in msg


def test_wrong_architecture_is_refused(tiny_folder, monkeypatch):
    monkeypatch.setattr(C, "ARCH", {**C.TINY, "image_size": 336})
    with pytest.raises(ConfigError, match="not openai/clip-vit-large-patch14-336"):
        C.clip(weights=str(tiny_folder))


def test_random_init_tiny_is_recorded_as_such():
    ext = C.clip(weights="random-init:tiny")
    assert ext.weights_hash == "random-init" and ext.mode == "tiny" and ext.resolution == 56
