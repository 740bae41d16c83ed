"""The style evaluation (evaluation/style.py): PPL on generators whose path length is known by hand,
the official percentile filter, the crossover groups, the mixing and truncation images, the LPIPS
distance's weights lookup, and the family's final evaluation end to end on Fashion-MNIST."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ganbench.config import DataConfig, EvalConfig
from ganbench.errors import ConfigError, WeightsError
from ganbench.evaluation import style as S
from ganbench.evaluation import weights as W
from ganbench.evaluation.metric import output_info
from ganbench.models.stylegan import StyleGANGenerator
from ganbench.registries import DATASETS, load_all

load_all()
FMNIST = DATASETS.get("fashion-mnist").present()


class LinearStyleG(nn.Module):
    """w = M z (no normalisation), x = S w as a 1×4×4 image: every path length is known in closed form."""

    has_mapping_network = True
    num_classes = None

    def __init__(self, z_dim: int = 6, scale: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.z_dim, self.num_ws, self.layer_resolutions = z_dim, 2, (4, 4)
        self.M = torch.randn(z_dim, z_dim, generator=g, dtype=torch.float64) if scale != 0 else None
        self.S = torch.randn(16, z_dim, generator=g, dtype=torch.float64)
        self.identity = False
        self.register_buffer("w_avg", torch.zeros(z_dim))

    def mapping(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return z if self.identity else z.double() @ self.M.T

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        w = ws[:, 0].double()
        x = w if self.identity else w @ self.S.T
        return x.reshape(len(w), 1, 4, -1) if not self.identity else x.reshape(len(w), 1, 1, -1)

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        return self.w_avg + psi * (ws - self.w_avg)


def squared_l2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).flatten(1).square().sum(1)


def latents(n: int, z_dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The protocol's draws for one batch: 2n z's (pairs interleaved), then t ~ U(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2 * n, z_dim, generator=g)
    t = torch.rand(n, generator=g)
    return z[0::2].double(), z[1::2].double(), t


def test_ppl_in_w_of_a_linear_generator_is_the_squared_image_distance_of_the_endpoints() -> None:
    """Linear f and g: lerp in W moves the image by ε·S·M·(z₁ − z₀), so each length is ‖SM(z₁ − z₀)‖²."""
    G = LinearStyleG()
    n = 100
    got = S.path_lengths(G, squared_l2, n, "w", seed=3)
    z0, z1, _ = latents(n, G.z_dim, 3)
    expected = ((z1 - z0) @ (G.S @ G.M).T).square().sum(1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert S.ppl_filter_mean(got) == pytest.approx(S.ppl_filter_mean(expected), rel=1e-6)


def test_ppl_in_z_of_an_isometry_is_the_squared_great_circle_angle() -> None:
    """g∘f = identity on the slerp's unit sphere: the image moves along a great circle at speed θ
    (the angle between z₀ and z₁), so each length is θ² (to O(ε); the float32 slerp of the protocol
    rounds each image to ~1e-7, 1e-3 of an ε step)."""
    G = LinearStyleG()
    G.identity = True
    n = 100  # one batch: the draws below are the protocol's
    got = S.path_lengths(G, squared_l2, n, "z", seed=4)
    z0, z1, _ = latents(n, G.z_dim, 4)
    cos = (z0 * z1).sum(1) / (z0.norm(dim=1) * z1.norm(dim=1))
    theta = torch.acos(cos).numpy()
    np.testing.assert_allclose(got, theta**2, rtol=1e-2)
    value = S.ppl_filter_mean(got)
    assert value == pytest.approx(S.ppl_filter_mean(theta**2), rel=3e-3)
    # the z-space ppl of the identity in 6-d is far from the w-space one of the linear map
    assert value < 5


def test_ppl_sampling_end_uses_t_zero_and_epsilon_scales_out() -> None:
    G = LinearStyleG()
    a = S.path_lengths(G, squared_l2, 100, "w", seed=1, sampling="end")
    b = S.path_lengths(G, squared_l2, 100, "w", seed=1, sampling="end", epsilon=1e-3)
    np.testing.assert_allclose(a, b, rtol=1e-6)  # linear: the 1/ε² scaling cancels ε exactly


def test_percentile_filter_is_the_official_lower_higher_one() -> None:
    d = np.arange(1000.0)
    d[-5:] = 1e9  # outliers
    rng = np.random.default_rng(0)
    rng.shuffle(d)
    # numpy's lower 1st percentile of 1000 values is the 10th smallest (9.0), the higher 99th the
    # 991st (990.0): the mean of 9..990 is 499.5, the outliers and the 9 smallest are out
    assert S.ppl_filter_mean(d) == pytest.approx(499.5)
    assert np.percentile(d, 1, method="lower") == 9.0 and np.percentile(d, 99, method="higher") == 990.0


def test_slerp_ends_and_midpoint() -> None:
    a, b = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 2.0, 0.0]])
    torch.testing.assert_close(S.slerp(a, b, torch.tensor([0.0])), a)
    torch.testing.assert_close(S.slerp(a, b, torch.tensor([1.0])), b / 2)
    mid = S.slerp(a, b, torch.tensor([0.5]))
    torch.testing.assert_close(mid, torch.tensor([[math.sqrt(0.5), math.sqrt(0.5), 0.0]]))


def test_crossover_groups() -> None:
    g32 = S.crossover_groups(tuple(r for r in (4, 8, 16, 32) for _ in range(2)))
    assert g32 == {"coarse": [0, 1], "middle": [2, 3, 4, 5], "fine": [6, 7]}
    g256 = S.crossover_groups(tuple(r for r in (4, 8, 16, 32, 64, 128, 256) for _ in range(2)))
    assert g256 == {"coarse": [0, 1, 2, 3], "middle": [4, 5, 6, 7], "fine": list(range(8, 14))}


def small_stylegan(**kw) -> StyleGANGenerator:
    torch.manual_seed(0)
    G = StyleGANGenerator(
        16, 32, 1, **{"w_dim": 16, "mapping_layers": 2, "fmap_base": 64, "fmap_max": 16, **kw}
    )
    G.w_avg.copy_(torch.randn(16))
    return G.eval()


def test_mixing_images_take_b_styles_at_the_groups_layers() -> None:
    G = small_stylegan()
    mixed, a, b = S.mixing_images(G, 2, 3, seed=0, device="cpu")
    assert (
        set(mixed) == {"coarse", "middle", "fine"} and a.shape == (2, 1, 32, 32) and b.shape == (3, 1, 32, 32)
    )
    gen = torch.Generator().manual_seed(0)
    za, zb = torch.randn(2, 16, generator=gen), torch.randn(3, 16, generator=gen)
    with torch.no_grad():
        wa, wb = G.broadcast(G.mapping(za)), G.broadcast(G.mapping(zb))
        ws = wa[1:2].clone()
        ws[:, 2:6] = wb[2:3, 2:6]  # A_1 with B_2's middle styles
        cell = mixed["middle"][1 * 3 + 2 : 1 * 3 + 3]
        # (batched convolutions differ from single ones in the last float digits)
        torch.testing.assert_close(cell, G.synthesis(ws).clamp(-1, 1), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(a, G.synthesis(wa).clamp(-1, 1), atol=1e-4, rtol=1e-4)
        assert float((cell - a[1:2]).abs().max()) > 1e-2 and float((cell - b[2:3]).abs().max()) > 1e-2


def test_truncation_images_rows_are_the_psis() -> None:
    G = small_stylegan()
    images = S.truncation_images(G, (1.0, 0.0), 3, seed=0, device="cpu")
    assert images.shape == (6, 1, 32, 32)
    torch.testing.assert_close(images[3:], images[3:4].expand(3, -1, -1, -1))  # ψ = 0: all w̄
    assert float((images[0] - images[1]).abs().max()) > 1e-3


def test_generators_without_a_mapping_network_are_refused() -> None:
    G = small_stylegan(mapping_layers=0, style_mixing_prob=0.0)
    with pytest.raises(ConfigError, match="has no mapping network"):
        S.style_evaluation(G, None, EvalConfig(), "/nonexistent")


def test_record_keys_are_declared() -> None:
    assert output_info("ppl_w_lpips-vgg").better == "lower"
    assert output_info("ppl_z_fmnist-classifier").role == "detail"
    assert output_info("trunc_psi0.7_fid").role == "detail"
    # each ψ's key has its own column header and the direction of its metric
    assert (output_info("trunc_psi0.7_fid").better, output_info("trunc_psi0_precision").better) == (
        "lower",
        "higher",
    )
    headers = {output_info(f"trunc_psi{p}_fid").header for p in ("1", "0.7", "0.5", "0")}
    assert len(headers) == 4
    assert output_info("ppl_z_lpips-vgg").header != output_info("ppl_w_lpips-vgg").header


def test_lpips_offline_error_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lpips")
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANBENCH_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError, match=r"vgg16-397923af.pth(.|\n)*searched(.|\n)*w\n"):
        S.LPIPSDistance(None)
    with pytest.raises(WeightsError, match="file not found"):
        S.LPIPSDistance(str(tmp_path / "missing.pth"))
    # auto: LPIPS is missing, the Fashion-MNIST classifier's features stand in, named as such
    fmnist = DATASETS.get("fashion-mnist")
    assert S.make_ppl_distance("auto", fmnist, "cpu").key == "fmnist-classifier"
    with pytest.raises(WeightsError, match="feature stand-in exists for Fashion-MNIST only"):
        S.make_ppl_distance("auto", DATASETS.get("cifar10"), "cpu")


def test_lpips_random_init_plumbing_loads_the_package_linear_weights() -> None:
    lpips = pytest.importorskip("lpips")
    d = S.LPIPSDistance(W.RANDOM_INIT)
    lin = torch.load(
        Path(lpips.__file__).parent / "weights/v0.1/vgg.pth", map_location="cpu", weights_only=True
    )
    for k, v in lin.items():
        torch.testing.assert_close(d.net.state_dict()[k], v)
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    y = x.clone()
    y[:, :, 8:16, 8:16] += 0.5
    dist = d(x, y)
    assert dist.shape == (2,) and float(d(x, x).abs().max()) == 0 and bool((dist > 0).all())
    assert d.describe()["vgg16_weights_sha256"] == W.RANDOM_INIT


@pytest.mark.skipif(not FMNIST, reason="Fashion-MNIST files are not on this machine")
def test_style_evaluation_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    data = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", resolution=32))
    eval_cfg = EvalConfig(metrics=["fid"], n_samples=100, n_real=200, extractor="fmnist-classifier")
    G = small_stylegan()
    out = S.style_evaluation(
        G,
        data,
        eval_cfg,
        tmp_path / "run",
        psis=(1.0, 0.5, 0.0),
        ppl_samples=100,
        ppl_distance="fmnist-classifier",
    )
    assert set(out) == {
        "trunc_psi1_fid",
        "trunc_psi0.5_fid",
        "trunc_psi0_fid",
        "ppl_z_fmnist-classifier",
        "ppl_w_fmnist-classifier",
    }
    assert all(math.isfinite(v) and v > 0 for v in out.values())
    # ψ = 0 is one image repeated: far from the data
    assert out["trunc_psi0_fid"] > out["trunc_psi1_fid"]
    for name in (S.MIXING_PNG, S.TRUNCATION_PNG, S.STYLE_EVAL_FILE):
        assert (tmp_path / "run" / name).is_file()
    saved = json.loads((tmp_path / "run" / S.STYLE_EVAL_FILE).read_text())
    assert saved["metrics"] == out and saved["settings"]["ppl"]["distance"] == "fmnist-classifier"
    assert not G.training
