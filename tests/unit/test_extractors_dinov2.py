"""The dinov2 extractor on tiny random configurations: the library's own forward pass, dgm-eval's
resize (torchvision Resize on a PIL image = PIL bicubic), the weights search and its error, provenance."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision.transforms as TF
from PIL import Image

transformers = pytest.importorskip("transformers")

from ganbench.errors import ConfigError, WeightsError  # noqa: E402
from ganbench.evaluation.extractors import dinov2 as D  # noqa: E402
from ganbench.evaluation.extractors import hf  # noqa: E402
from tests.helpers.weights import no_weights_anywhere  # noqa: E402

TINY_ARCH = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    return no_weights_anywhere(tmp_path, monkeypatch, "GANBENCH_DINOV2_WEIGHTS")


@pytest.fixture
def tiny_folder(isolated, monkeypatch):
    """A tiny random Dinov2Model saved in the Hugging Face layout; 'vitl14' made to expect its shapes."""
    monkeypatch.setitem(D.ARCHS, "vitl14", TINY_ARCH)
    config = transformers.Dinov2Config(**TINY_ARCH, mlp_ratio=2, image_size=28, patch_size=14)
    torch.manual_seed(1)
    model = transformers.Dinov2Model(config).eval()
    with torch.no_grad():  # layerscale 1 and zero biases by default: randomise everything
        for p in model.parameters():
            p.normal_(0, 0.2)
    folder = isolated / "dinov2-large"
    model.save_pretrained(folder)
    return folder


def known_image(h: int = 40, w: int = 52, c: int = 3) -> torch.Tensor:
    """A deterministic image with edges, gradients and noise: uint8 c×h×w."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // (w - 1)), (yy * 255 // (h - 1)), ((xx // 5 + yy // 5) % 2) * 255], -1)
    noise = np.random.default_rng(0).integers(0, 40, size=(h, w, 3))
    img = np.clip(rgb + noise - 20, 0, 255).astype(np.uint8)[..., :c]
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def dgm_eval_transform(img: torch.Tensor) -> torch.Tensor:
    """dgm-eval's DINOv2Encoder.transform (default, no clean_resize) on the PIL RGB image it is given."""
    pil = Image.fromarray(img.permute(1, 2, 0).numpy()).convert("RGB")
    x = TF.Compose([TF.Resize((224, 224), TF.InterpolationMode.BICUBIC), TF.ToTensor()])(pil)
    return TF.Normalize(np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]))(x)


@pytest.mark.parametrize("size", [(40, 52), (300, 260), (224, 224), (28, 28)])
def test_resize_is_pil_bicubic_as_dgm_eval(size):
    img = known_image(*size)
    ours = D.Dinov2Extractor.resize(None, img[None])[0]  # type: ignore[arg-type]  (needs no state)
    pil = Image.fromarray(img.permute(1, 2, 0).numpy()).resize((224, 224), Image.BICUBIC)
    assert torch.equal(ours, torch.from_numpy(np.array(pil)).permute(2, 0, 1))  # bit-identical uint8
    # torchvision's Resize on the PIL image (dgm-eval's call) is the same PIL resize
    tv = TF.Resize((224, 224), TF.InterpolationMode.BICUBIC)(Image.fromarray(img.permute(1, 2, 0).numpy()))
    assert torch.equal(ours, torch.from_numpy(np.array(tv)).permute(2, 0, 1))


def test_resize_differs_from_torch_bicubic_on_tensors():
    """Why the PIL path matters: torch's bicubic on float tensors is a different resize."""
    img = known_image(300, 260)
    ours = D.Dinov2Extractor.resize(None, img[None]).float()  # type: ignore[arg-type]
    torch_bicubic = torch.nn.functional.interpolate(
        img[None].float(), size=(224, 224), mode="bicubic", align_corners=False, antialias=True
    )
    assert (ours - torch_bicubic).abs().max() > 1  # more than rounding


def test_features_equal_the_library_forward_on_dgm_eval_input(tiny_folder):
    ext = D.dinov2(weights=str(tiny_folder))
    images = torch.stack([known_image(40, 52), known_image(300, 260)[:, :40, :52]])
    feats, logits = ext(images)
    assert logits is None and feats.shape == (2, 32) and ext.dim == 32
    ref_model = transformers.Dinov2Model.from_pretrained(tiny_folder, local_files_only=True).eval()
    x = torch.stack([dgm_eval_transform(img) for img in images]).float()
    with torch.no_grad():
        ref = ref_model(pixel_values=x).pooler_output  # = last_hidden_state[:, 0] after the LayerNorm
        assert torch.equal(ref, ref_model(pixel_values=x).last_hidden_state[:, 0])
    torch.testing.assert_close(feats, ref, rtol=1e-5, atol=1e-5)
    assert torch.allclose(ext.preprocess(images), x, atol=1e-6)


def test_gray_is_repeated_to_rgb_and_batching_does_not_matter(tiny_folder):
    ext = D.dinov2(weights=str(tiny_folder))
    gray = known_image(30, 30, c=1)[None].repeat(3, 1, 1, 1)
    torch.testing.assert_close(ext(gray)[0], ext(gray.repeat(1, 3, 1, 1))[0])
    torch.testing.assert_close(ext(gray[:1])[0], ext(gray)[0][:1], rtol=1e-5, atol=1e-5)


def test_provenance_and_weights_hash(tiny_folder):
    ext = D.dinov2(weights=str(tiny_folder / "model.safetensors"))  # a weights file names its folder
    digest = hashlib.sha256((tiny_folder / "model.safetensors").read_bytes()).hexdigest()
    prov = ext.provenance()
    assert prov["extractor"] == "dinov2" and prov["mode"] == "vitl14"
    assert prov["model_id"] == "facebook/dinov2-large"
    assert prov["weights_hash"] == digest and prov["weights_file"] == str(tiny_folder)
    assert prov["preprocessing"] == D.PREPROCESSING and "PIL bicubic 224" in prov["preprocessing"]
    assert prov["preprocessing_version"] == "1" and prov["dim"] == 32


def test_found_through_the_environment_and_the_cache(tiny_folder, monkeypatch, isolated):
    monkeypatch.setenv("GANBENCH_DINOV2_WEIGHTS", str(tiny_folder))
    assert D.dinov2().weights_file == str(tiny_folder)
    monkeypatch.delenv("GANBENCH_DINOV2_WEIGHTS")
    cached = isolated / "cache" / "weights" / "dinov2-large"
    cached.parent.mkdir(parents=True)
    tiny_folder.rename(cached)
    assert D.dinov2().weights_file == str(cached)


def test_missing_weights_error_names_places_and_model_id(isolated):
    with pytest.raises(WeightsError) as e:
        D.dinov2()
    msg = str(e.value)
    assert "facebook/dinov2-large" in msg and "$GANBENCH_DINOV2_WEIGHTS" in msg
    assert str(isolated / "cache" / "weights" / "dinov2-large") in msg
    assert str(isolated / "hub" / "models--facebook--dinov2-large") in msg
    assert "config.json" in msg and "hf download facebook/dinov2-large" in msg
    with pytest.raises(WeightsError, match="dinov2-base"):
        D.dinov2(model="vitb14")
    with pytest.raises(WeightsError, match=r"weights='/nowhere': not a Hugging Face model folder"):
        D.dinov2(weights="/nowhere")


def test_wrong_architecture_and_bad_options_are_refused(tiny_folder, monkeypatch):
    monkeypatch.setitem(D.ARCHS, "vitl14", {**TINY_ARCH, "hidden_size": 1024})
    with pytest.raises(ConfigError, match="not facebook/dinov2-large"):
        D.dinov2(weights=str(tiny_folder))
    with pytest.raises(ConfigError, match="valid choices: vitb14, vitl14"):
        D.dinov2(model="vitg14")
    with pytest.raises(ConfigError, match="random-init:tiny"):
        D.dinov2(weights="random-init:huge")


def test_random_init_tiny_is_recorded_as_such():
    ext = D.dinov2(weights="random-init:tiny")
    assert ext.weights_hash == "random-init" and ext.mode == "tiny" and ext.dim == 32
    a = ext(known_image()[None])[0]
    torch.testing.assert_close(a, D.dinov2(weights="random-init:tiny")(known_image()[None])[0])  # seeded


def test_missing_tensors_are_refused(tiny_folder):
    from safetensors.torch import load_file, save_file

    state = load_file(tiny_folder / "model.safetensors")
    save_file({k: v for k, v in state.items() if "layernorm" not in k}, tiny_folder / "model.safetensors")
    with pytest.raises(WeightsError, match="lack 2 tensors"):
        D.dinov2(weights=str(tiny_folder))


def test_without_transformers_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'ganbench\[modern\]'"):
        D.dinov2(weights="random-init:tiny")
    assert hf.EXTRA == "modern"


def test_importing_ganbench_does_not_import_transformers():
    code = (
        "import sys, ganbench, ganbench.evaluation.extractors\n"
        "from ganbench.registries import load_all\n"
        "load_all()\n"
        "assert 'transformers' not in sys.modules, 'transformers imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
