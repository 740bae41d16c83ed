"""Inception modes: preprocessing vs clean-fid / torch-fidelity, the architecture vs pytorch-fid, and the
plumbing of every mode with randomly initialised weights (the real weights cannot be downloaded here).

What is tested with real weights only by users: the NVIDIA TorchScript's own layers (we test its
interface and loading with a scripted stand-in of the same interface and preprocessing,
tests/helpers/inception_standin.py) and the numerical values of the official weights files.
"""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
import pytest
import torch

from ganbench.errors import ConfigError
from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.inception import MODES, inception, resize_for_mode
from ganbench.evaluation.extractors.inception_arch import fid_inception_v3
from ganbench.evaluation.extractors.resize import resize_bilinear_tf1
from tests.helpers.inception_standin import randomise_, scripted_standin

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def _images(n: int, c: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, c, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def _hwc(img: torch.Tensor) -> np.ndarray:
    return img.expand(3, -1, -1).permute(1, 2, 0).numpy()


# --- preprocessing vs the reference resizers --------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 28), (3, 32), (3, 40)])
def test_clean_and_legacy_pytorch_resize_equal_clean_fid(shape):
    from cleanfid.resize import build_resizer

    c, size = shape
    x = _images(3, c, size)
    for mode in ("clean", "legacy_pytorch"):
        ours = resize_for_mode(x, mode)
        ref = np.stack([build_resizer(mode)(_hwc(img)) for img in x])  # clean-fid: HWC float32
        assert ours.shape == (3, 3, 299, 299) and ours.dtype == torch.float32
        np.testing.assert_allclose(ours.permute(0, 2, 3, 1).numpy(), ref, rtol=0, atol=1e-4)


def test_legacy_tensorflow_resize_equals_tf1_bilinear():
    # clean-fid's legacy_tensorflow resizer is the identity (the TorchScript resizes inside); the
    # TF1 resize inside is compared with torch-fidelity's TF1-exact implementation.
    from cleanfid.resize import build_resizer
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as tf1

    x = _images(2, 3, 32)
    assert np.array_equal(build_resizer("legacy_tensorflow")(_hwc(x[0])), _hwc(x[0]))
    ref = tf1(x.float(), size=(299, 299), align_corners=False)
    # float32 sampling grid, as in the TorchScript: within 2e-3 of 255
    torch.testing.assert_close(resize_for_mode(x, "legacy_tensorflow"), ref, rtol=0, atol=2e-3)


@pytest.mark.parametrize(
    "src,dst", [((28, 28), (299, 299)), ((64, 48), (224, 224)), ((300, 310), (224, 224))]
)
def test_tf1_resize_exact_matches_torch_fidelity(src, dst):
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as tf1

    x = torch.randint(0, 256, (2, 3, *src), generator=torch.Generator().manual_seed(1)).float()
    ref = tf1(x.double(), size=dst, align_corners=False)
    # torch-fidelity rounds its scale to float32: ~1e-5 px, i.e. up to ~3e-3 of 255 at 300 px
    torch.testing.assert_close(resize_bilinear_tf1(x, dst, exact=True).double(), ref, rtol=0, atol=3e-3)
    assert resize_bilinear_tf1(x, src, exact=True).sub(x).abs().max() < 1e-4  # same size: identity


# --- architecture vs pytorch-fid ------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_state():
    # every parameter *and* batch-norm buffer random, so a weight loaded into the wrong layer shows
    return randomise_(fid_inception_v3(), seed=3).state_dict()


def _swap_two_batch_norms(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with the running statistics of two same-sized batch norms exchanged: a wrong mapping."""
    names = [k[: -len(".running_mean")] for k in state if k.endswith(".running_mean")]
    a, b = [n for n in names if state[f"{n}.running_mean"].shape == (192,)][:2]
    bad = dict(state)
    for stat in ("running_mean", "running_var", "weight", "bias"):
        bad[f"{a}.{stat}"], bad[f"{b}.{stat}"] = state[f"{b}.{stat}"], state[f"{a}.{stat}"]
    return bad


def test_legacy_pytorch_equals_pytorch_fid_with_the_same_weights(random_state, tmp_path, monkeypatch):
    import pytorch_fid.inception as pfi

    # the randomised batch norms are not the identity (reset BN would hide a wrong mapping)
    bn = [k for k in random_state if k.endswith("running_var")]
    assert len(bn) == 94 and all(
        not torch.equal(random_state[k], torch.ones_like(random_state[k])) for k in bn
    )

    # our weights path: a state-dict file loaded with weights_only=True, checksum checked
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(random_state, path)
    entry = W.KNOWN_WEIGHTS["inception-pytorch-fid"]
    monkeypatch.setitem(W.KNOWN_WEIGHTS, entry.key, dataclasses.replace(entry, sha256=W.file_sha256(path)))
    ext = inception(mode="legacy_pytorch", weights=str(path))
    assert ext.weights_hash == W.file_sha256(path) and ext.provenance()["weights_file"] == str(path)

    with mock.patch.object(pfi, "load_state_dict_from_url", return_value=random_state):
        ref_net = pfi.InceptionV3([3]).eval()  # resize_input=True, normalize_input=True
    x = _images(2, 3, 32, seed=5)
    with torch.no_grad():
        ref = ref_net(x.float() / 255)[0].flatten(1)
    feats, logits = ext(x)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008)
    torch.testing.assert_close(feats, ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(logits, feats @ random_state["fc.weight"].T, rtol=1e-5, atol=1e-5)
    # the comparison can fail: two batch norms' statistics swapped move the features far beyond it
    with mock.patch.object(pfi, "load_state_dict_from_url", return_value=_swap_two_batch_norms(random_state)):
        wrong = pfi.InceptionV3([3]).eval()
    with torch.no_grad():
        moved = (wrong(x.float() / 255)[0].flatten(1) - ref).abs().max()
    assert moved > 100 * (1e-5 + 1e-4 * ref.abs().max())


# --- TorchScript modes: loading and interface, with a scripted stand-in ---------------------------


@pytest.fixture(scope="module")
def standin_file(tmp_path_factory):
    """A TorchScript file with the NVIDIA file's interface (random weights), and the module itself."""
    path = tmp_path_factory.mktemp("ts") / "inception-2015-12-05.pt"
    return path, scripted_standin(path)


def _accept(monkeypatch, path) -> None:
    """Make ``path`` the known TorchScript file (its checksum), as the official one would be."""
    entry = W.KNOWN_WEIGHTS["inception-torchscript"]
    monkeypatch.setitem(W.KNOWN_WEIGHTS, entry.key, dataclasses.replace(entry, sha256=W.file_sha256(path)))


def test_torchscript_modes_equal_clean_fid_on_the_same_file(standin_file, monkeypatch):
    from cleanfid.inception_torchscript import InceptionV3W
    from cleanfid.resize import build_resizer

    path, _ = standin_file
    _accept(monkeypatch, path)
    x = _images(2, 3, 32, seed=7)
    for mode, resize_inside in (("clean", False), ("legacy_tensorflow", True)):
        ext = inception(mode=mode, weights=str(path))
        feats, logits = ext(x)
        # clean-fid's own pipeline on the same file: its resizer, then InceptionV3W
        ref_net = InceptionV3W(str(path.parent), download=False, resize_inside=resize_inside)
        batch = torch.from_numpy(np.stack([build_resizer(mode)(_hwc(img)) for img in x])).permute(0, 3, 1, 2)
        with torch.no_grad():
            ref = ref_net(batch.float())
        torch.testing.assert_close(feats, ref, rtol=1e-4, atol=1e-5)
        # IS logits: pool3 · W without bias
        torch.testing.assert_close(logits, ref @ ref_net.base.output.weight.T, rtol=1e-4, atol=1e-5)
        if resize_inside:  # = the TorchScript's own softmax with no_output_bias=True (stylegan2-ada's IS)
            with torch.no_grad():
                probs = ref_net.base(x.float(), no_output_bias=True)
            torch.testing.assert_close(torch.softmax(logits, 1), probs, rtol=1e-4, atol=1e-7)


def test_torchscript_modes_are_deterministic_and_batch_invariant(standin_file, monkeypatch, tmp_path):
    path, _ = standin_file
    _accept(monkeypatch, path)
    x = _images(3, 1, 28, seed=9)  # gray: repeated to RGB
    for mode in ("clean", "legacy_tensorflow"):
        ext = inception(mode=mode, weights=str(path))
        assert ext.weights_hash == W.file_sha256(path) and ext.weights_file == str(path)
        feats, logits = ext(x)
        assert feats.shape == (3, 2048) and logits.shape == (3, 1008)
        assert feats.std(0).mean() > 1e-4  # distinct inputs give distinct features
        single = torch.cat([ext.features(x[i : i + 1]) for i in range(3)])
        torch.testing.assert_close(feats, single, rtol=1e-4, atol=1e-5)
        # a second load of the file gives the same features
        torch.testing.assert_close(inception(mode=mode, weights=str(path)).features(x), feats)


def test_random_init_is_legacy_pytorch_only_deterministic_and_batch_invariant():
    x = _images(3, 1, 28, seed=9)
    ext = inception(mode="legacy_pytorch", weights="random-init")
    assert ext.weights_hash == "random-init" and ext.weights_file is None
    feats, logits = ext(x)
    assert feats.shape == (3, 2048) and logits.shape == (3, 1008)
    assert feats.std(0).mean() > 1e-4
    single = torch.cat([ext.features(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(feats, single, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(inception(mode="legacy_pytorch", weights="random-init").features(x), feats)
    # the TorchScript modes have no random stand-in in the package: the error says what to pass
    for mode in ("clean", "legacy_tensorflow"):
        with pytest.raises(ConfigError, match=r"legacy_pytorch only(.|\n)*inception-2015-12-05\.pt"):
            inception(mode=mode, weights="random-init")


def test_every_mode_records_its_provenance(standin_file, monkeypatch):
    path, _ = standin_file
    _accept(monkeypatch, path)
    for mode in MODES:
        weights = "random-init" if mode == "legacy_pytorch" else str(path)
        prov = inception(mode=mode, weights=weights).provenance()
        assert prov["mode"] == mode and prov["dim"] == 2048 and prov["num_classes"] == 1008
        expected = "random-init" if mode == "legacy_pytorch" else W.file_sha256(path)
        assert prov["weights_hash"] == expected and prov["preprocessing"]
