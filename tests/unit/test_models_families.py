"""The convolutional families: every family × conditioning × resolution builds, with the right
shapes and ranges; labels reach the outputs; spectral norm, truncation, options, validation."""

from __future__ import annotations

import pytest
import torch

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig
from ganbench.data.base import DataSource
from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.models.biggan import BigGANGenerator, truncate, truncated_noise
from ganbench.models.layers import has_spectral_norm, spectral_norm_layers
from ganbench.registries import LIPSCHITZ, MODELS, load_all

load_all()

FAMILIES = {
    "dcgan": ((28, 32, 64, 128), ("none", "concat", "acgan", "projection")),
    "resnet": ((28, 32, 48, 64, 128), ("none", "concat", "acgan", "projection")),
    "sagan": ((28, 32, 48, 64, 128), ("none", "acgan", "projection")),
    "biggan": ((28, 32, 64, 128), ("none", "acgan", "projection")),
}
# small widths keep the tests fast; self-attention needs >= 8 channels where it sits
SMALL = {
    "dcgan": ({"ch": 4}, {"ch": 4}),
    "resnet": ({"ch": 4}, {"ch": 4}),
    "sagan": ({"ch": 8}, {"ch": 8}),
    "biggan": ({"ch": 4, "shared_dim": 8}, {"ch": 8}),
}
K = 5


class Images(DataSource):
    kind = "images"

    def __init__(self, res: int, channels: int = 3, num_classes: int | None = K) -> None:
        self.sample_shape = (channels, res, res)
        self.num_classes = num_classes


class Points(DataSource):
    kind = "points"
    sample_shape = (2,)


def cfg_for(family: str, cond: str = "none", z_dim: int = 16, g=None, d=None, **objective) -> RunConfig:
    g0, d0 = SMALL[family]
    return RunConfig(
        data=DataConfig(name="fashion-mnist"),
        model=ModelConfig(
            name=family, z_dim=z_dim, conditioning=cond, g={**g0, **(g or {})}, d={**d0, **(d or {})}
        ),
        objective=ObjectiveConfig(**objective),
    )


def build(family: str, cond: str = "none", res: int = 32, channels: int = 3, **kw):
    cfg = cfg_for(family, cond, **kw)
    return MODELS.get(family).build(cfg, Images(res, channels))


CASES = [(f, r, c) for f, (rs, cs) in FAMILIES.items() for r in rs for c in cs]


@pytest.mark.parametrize("family,res,cond", CASES, ids=[f"{f}-{r}-{c}" for f, r, c in CASES])
def test_builds_with_shapes_and_range(family: str, res: int, cond: str) -> None:
    torch.manual_seed(0)
    channels = 1 if res == 28 else 3
    G, D = build(family, cond, res, channels)
    assert G.z_dim == 16
    n = 3
    z = torch.randn(n, 16)
    y = torch.randint(K, (n,))
    with torch.no_grad():
        x = G(z, y)
        assert x.shape == (n, channels, res, res)
        assert x.min() >= -1 and x.max() <= 1
        D.eval()  # training-mode forwards advance the spectral-norm power iteration
        logits = D(x, y)
        out = D(x, y, return_aux=True)
    assert logits.shape == (n,)
    assert isinstance(out, DOutput)
    assert torch.allclose(out.logits, logits)
    assert out.features.dim() == 2 and out.features.shape[0] == n
    if cond == "acgan":
        assert out.class_logits.shape == (n, K)
    else:
        assert out.class_logits is None
    assert torch.isfinite(out.features).all()


def _d_moves_with_labels(D, x: torch.Tensor) -> bool:
    y1, y2 = torch.zeros(len(x), dtype=torch.long), torch.full((len(x),), 3)
    with torch.no_grad():
        a, b = D(x, y1, return_aux=True), D(x, y2, return_aux=True)
    if a.class_logits is not None:  # acgan: the adversarial logit ignores y, the loss uses it
        return False
    return not torch.allclose(a.logits, b.logits)


LABEL_CASES = [(f, c) for f, (_, cs) in FAMILIES.items() for c in ("concat", "projection") if c in cs]


@pytest.mark.parametrize("family,cond", LABEL_CASES)
def test_labels_change_d_output_and_g_output(family: str, cond: str) -> None:
    torch.manual_seed(0)
    G, D = build(family, cond, 32)
    D.eval(), G.eval()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert _d_moves_with_labels(D, x)  # projection embedding / one-hot input maps
    z = torch.randn(4, 16)
    with torch.no_grad():
        if cond == "projection":  # class BN starts at gain 1 / bias 0: perturb to see the label
            for p in G.parameters():
                p.add_(0.05 * torch.randn_like(p))
        a, b = G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.full((4,), 3))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_projection_and_class_bn_embeddings_get_gradients(family: str) -> None:
    torch.manual_seed(0)
    G, D = build(family, "projection", 32)
    x = G(torch.randn(4, 16), torch.tensor([0, 1, 2, 3]))
    D(x, torch.tensor([0, 1, 2, 3])).sum().backward()
    embed = D.head.embed
    w = embed.parametrizations.weight.original if has_spectral_norm(embed) else embed.weight
    assert w.grad is not None and w.grad[:4].abs().sum() > 0
    g_embeds = [m for n, m in G.named_modules() if isinstance(m, torch.nn.Embedding)]
    assert g_embeds, "a conditional G has class embeddings (class BN or BigGAN's shared embedding)"
    assert all(m.weight.grad is not None and m.weight.grad.abs().sum() > 0 for m in g_embeds)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_acgan_head_classifies_and_gets_gradients(family: str) -> None:
    torch.manual_seed(0)
    G, D = build(family, "acgan", 32)
    x = G(torch.randn(4, 16), torch.tensor([0, 1, 2, 3]))
    out = D(x, torch.tensor([0, 1, 2, 3]), return_aux=True)
    torch.nn.functional.cross_entropy(out.class_logits, torch.tensor([0, 1, 2, 3])).backward()
    head = D.head.classifier
    w = head.parametrizations.weight.original if has_spectral_norm(head) else head.weight
    assert w.grad is not None and w.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def _top_singular_values(net) -> list[float]:
    out = []
    for m in spectral_norm_layers(net):
        w = m.weight.detach()  # the normalised weight, as a matrix (out, rest) as torch's SN sees it
        out.append(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item())
    return out


@pytest.mark.parametrize(
    "family,nets", [("resnet", "D"), ("sagan", "GD"), ("biggan", "GD")], ids=["resnet", "sagan", "biggan"]
)
def test_spectral_norm_by_design(family: str, nets: str) -> None:
    torch.manual_seed(0)
    G, D = build(family, "projection", 32)
    for _ in range(5):  # power iterations run in training-mode forward passes
        x = G(torch.randn(8, 16), torch.randint(K, (8,)))
        D(x.detach(), torch.randint(K, (8,)))
    for name, net in (("G", G), ("D", D)):
        sigmas = _top_singular_values(net)
        if name in nets:
            assert len(sigmas) > 5
            assert max(abs(s - 1) for s in sigmas) < 0.05, sigmas
        else:
            assert sigmas == []
    # D: every conv / linear / embedding is normalised (projection embedding included)
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding))]
    assert all(has_spectral_norm(m) for m in layers)


def test_sn_lipschitz_method_leaves_family_normalised_layers_alone() -> None:
    _, D = build("resnet", "projection", 32)
    before = {id(m): len(m.parametrizations.weight) for m in spectral_norm_layers(D)}
    LIPSCHITZ.get("sn")().prepare(D)
    after = {id(m): len(m.parametrizations.weight) for m in spectral_norm_layers(D)}
    assert before == after  # no layer normalised twice


def test_family_sn_switch_off() -> None:
    G, D = build("biggan", "projection", 32, g={"sn": False}, d={"sn": False})
    assert spectral_norm_layers(G) == [] and spectral_norm_layers(D) == []


def test_biggan_shared_embedding_not_normalised() -> None:
    G, _ = build("biggan", "projection", 32)
    assert not has_spectral_norm(G.shared)
    assert has_spectral_norm(G.blocks[0].bn1.gain)


# --- BigGAN: truncation and skip-z ---------------------------------------------------------------


def test_truncate_bounds_and_is_deterministic() -> None:
    z = torch.randn(2000, 16, generator=torch.Generator().manual_seed(0))
    a = truncate(z, 0.5, torch.Generator().manual_seed(1))
    b = truncate(z, 0.5, torch.Generator().manual_seed(1))
    assert a.abs().max() <= 0.5 and torch.equal(a, b)
    keep = z.abs() <= 0.5
    assert torch.equal(a[keep], z[keep])  # entries inside the threshold are untouched
    # a N(0,1) truncated to [-0.5, 0.5] has variance 1 − 2·0.5·φ(0.5)/(2Φ(0.5)−1) ≈ 0.0797
    assert abs(a.var().item() - 0.0797) < 0.005
    with pytest.raises(ValueError, match="threshold"):
        truncate(z, 0.0)


def test_truncation_reduces_sample_variance() -> None:
    torch.manual_seed(0)
    G, _ = build("biggan", "projection", 32)
    G.eval()
    y = torch.randint(K, (256,), generator=torch.Generator().manual_seed(0))

    def spread(t: float | None) -> float:
        gen = torch.Generator().manual_seed(3)
        if t is None:
            x = G(torch.randn(256, 16, generator=gen), y)
        else:
            x = G.sample_truncated(256, t, y=y, generator=gen)
        return x.var(dim=0).mean().item()

    with torch.no_grad():
        full, mid, low = spread(None), spread(1.0), spread(0.1)
    assert low < mid < full
    assert low < 0.5 * full


def test_truncated_noise_shape() -> None:
    z = truncated_noise(10, 7, 0.3, torch.Generator().manual_seed(0))
    assert z.shape == (10, 7) and z.abs().max() <= 0.3


def test_biggan_hierarchical_z_reaches_every_block() -> None:
    torch.manual_seed(0)
    G = BigGANGenerator(17, 32, 3, "projection", K, ch=2, shared_dim=8)
    assert G.num_slots == 4  # first linear + 3 blocks
    assert G.fc.in_features == 5  # 17 split as 5, 4, 4, 4
    assert [b.bn1.gain.in_features for b in G.blocks] == [12, 12, 12]  # shared 8 + chunk 4
    G.eval()
    z, y = torch.randn(2, 17), torch.tensor([0, 1])
    with torch.no_grad():
        base = G(z, y)
        for lo, hi in ((0, 5), (5, 9), (9, 13), (13, 17)):
            z2 = z.clone()
            z2[:, lo:hi] += 1.0
            assert not torch.allclose(G(z2, y), base), (lo, hi)
    flat = BigGANGenerator(17, 32, 3, "none", None, ch=2, hier=False)
    assert flat.fc.in_features == 17 and flat.num_slots == 1


# --- D options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", list(FAMILIES))
def test_minibatch_options_change_features(family: str) -> None:
    torch.manual_seed(0)
    _, D0 = build(family, "none", 32)
    _, D1 = build(family, "none", 32, d={"minibatch_std": True})
    _, D2 = build(family, "none", 32, d={"minibatch_disc": True, "minibatch_disc_kernels": 7})
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    f0 = D0(x, return_aux=True).features.shape[1]
    f1 = D1(x, return_aux=True).features.shape[1]
    assert f1 > f0  # one more feature map before pooling / flattening
    assert D2.head.mbd is not None and D2.head.linear.in_features == f0 + 7
    # minibatch discrimination makes a sample's logit depend on the rest of the batch
    D2.eval()
    with torch.no_grad():
        a = D2(x)[0]
        b = D2(torch.cat([x[:1], -x[1:]]))[0]
    assert not torch.isclose(a, b)


def test_dcgan_d_norm_follows_the_lipschitz_method() -> None:
    def norms(lip: str) -> set[str]:
        _, D = MODELS.get("dcgan").build(cfg_for("dcgan", lipschitz=lip), Images(32))
        return {type(m).__name__ for m in D.convs}

    assert "BatchNorm2d" in norms("none")
    assert "GroupNorm" in norms("gp") and "BatchNorm2d" not in norms("gp")
    assert "GroupNorm" in norms("r1")
    assert not {"BatchNorm2d", "GroupNorm"} & norms("sn")


def test_dcgan_28_goes_7_14_28() -> None:
    G, D = build("dcgan", "none", 28, 1)
    assert G.s0 == 7 and len(G.ups) == 1
    assert D.head.linear.in_features == 8 * 7 * 7  # ch 4 → 8 channels at 7×7


# --- validation ---------------------------------------------------------------------------------


def _validate(cfg: RunConfig) -> None:
    MODELS.get(cfg.model.name).validate(cfg, "recipe.yaml")


def test_validate_accepts_good_configs() -> None:
    for family, (_, conds) in FAMILIES.items():
        for cond in conds:
            cfg = cfg_for(family, cond)
            _validate(cfg)
            cfg.validate("recipe.yaml")  # the whole config, conditioning and model hooks included


def test_validate_rejects_unsupported_resolution() -> None:
    cfg = cfg_for("dcgan")
    cfg.data.resolution = 48
    with pytest.raises(ConfigError, match=r"recipe.yaml: data.resolution.*no 48×48.*28, 32, 64, 128"):
        _validate(cfg)


@pytest.mark.parametrize("family", ["sagan", "biggan"])
def test_validate_rejects_concat_with_reason(family: str) -> None:
    with pytest.raises(ConfigError, match=r"model.conditioning.*'concat'.*projection.*valid choices: none"):
        _validate(cfg_for(family, "concat"))


def test_validate_rejects_unknown_parameters() -> None:
    with pytest.raises(ConfigError, match=r"model.g: unknown parameter.*'width'.*valid: ch"):
        _validate(cfg_for("dcgan", g={"width": 3}))
    with pytest.raises(ConfigError, match=r"model.d.minibatch_std: expected true/false"):
        _validate(cfg_for("resnet", d={"minibatch_std": "yes"}))


def test_validate_rejects_bad_attention_resolution() -> None:
    cfg = cfg_for("sagan", g={"attn_res": 7})
    cfg.data.resolution = 28
    with pytest.raises(ConfigError, match=r"model.g: attn_res=7.*valid: 14, 28"):
        _validate(cfg)
    cfg = cfg_for("sagan", d={"attn_res": 28})
    cfg.data.resolution = 28
    with pytest.raises(ConfigError, match=r"model.d: attn_res=28.*valid: 14"):
        _validate(cfg)
    # without data.resolution the same error comes at build time, as a ConfigError
    with pytest.raises(ConfigError, match=r"model.g: attn_res=7"):
        build("sagan", "none", 28, 1, g={"attn_res": 7})


def test_validate_rejects_batch_norm_with_gradient_penalty() -> None:
    with pytest.raises(ConfigError, match=r"model.d.norm: batch norm.*'gp'.*norm: layer"):
        _validate(cfg_for("dcgan", d={"norm": "batch"}, lipschitz="gp"))
    _validate(cfg_for("dcgan", d={"norm": "layer"}, lipschitz="gp"))


def test_validate_rejects_short_z_for_skip_z() -> None:
    cfg = cfg_for("biggan", z_dim=3)
    cfg.data.resolution = 32
    with pytest.raises(ConfigError, match=r"z_dim must be >= 4"):
        _validate(cfg)
    cfg.model.g["hier"] = False
    _validate(cfg)


def test_build_rejects_labels_on_unlabelled_data() -> None:
    for cond in ("concat", "acgan", "projection"):
        with pytest.raises(ConfigError, match=rf"'{cond}' needs class labels.*unlabelled"):
            MODELS.get("dcgan").build(cfg_for("dcgan", cond), Images(32, num_classes=None))


def test_build_rejects_points_and_odd_sizes() -> None:
    with pytest.raises(ConfigError, match="needs image data"):
        MODELS.get("resnet").build(cfg_for("resnet"), Points())
    with pytest.raises(ConfigError, match=r"no 40×40 architecture.*28, 32, 48, 64, 128"):
        MODELS.get("resnet").build(cfg_for("resnet"), Images(40))


def test_conditional_nets_demand_labels() -> None:
    G, D = build("resnet", "projection", 32)
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        G(torch.randn(2, 16))
    with pytest.raises(ValueError, match="needs labels"):
        D(torch.zeros(2, 3, 32, 32))


def test_biggan_128_generator_matches_the_reference_size() -> None:
    """BigGAN-PyTorch's 128×128 G (ch 96, z 120, shared 128, 1000 classes) has 70,433,988 weights."""
    with torch.device("meta"):  # shapes only: no memory, no initialisation work
        G = BigGANGenerator(120, 128, 3, "projection", 1000, init="default", sn=False)
    assert sum(p.numel() for p in G.parameters()) == 70_433_988


# --- defaults of networks one family reuses from another ---------------------------------------------


def _networks() -> list[type]:
    return [net for name in FAMILIES for net in (MODELS.get(name).generator, MODELS.get(name).discriminator)]


def test_no_constructor_is_copied_to_change_defaults():
    # a subclass that writes its own __init__ with its parent's parameters (to change a default) is a
    # copy; with_defaults states only the changed defaults
    import inspect

    for net in _networks():
        parent = net.__mro__[1]
        own = "__init__" in vars(net) and not hasattr(vars(net)["__init__"], "__wrapped__")
        if own and parent is not torch.nn.Module:
            same = list(inspect.signature(net).parameters) == list(inspect.signature(parent).parameters)
            assert not same, f"{net.__name__} repeats {parent.__name__}'s constructor: use with_defaults"


def test_family_defaults_are_in_the_signature_and_reach_the_network():
    import inspect

    from ganbench.models.resnet import ResNetDiscriminator, ResNetGenerator

    expected = {  # (sn, init) defaults per network
        "ResNetGenerator": (False, "xavier"),
        "ResNetDiscriminator": (True, "xavier"),
        "SAGANGenerator": (True, "ortho"),
        "SAGANDiscriminator": (True, "ortho"),
        "BigGANGenerator": (True, "ortho"),
        "BigGANDiscriminator": (True, "ortho"),
    }
    for net in _networks():
        if net.__name__ in expected:
            params = inspect.signature(net).parameters
            assert (params["sn"].default, params["init"].default) == expected[net.__name__], net.__name__
    # SAGAN's G is ResNet's G with spectral norm on (and no spectral norm when asked for none)
    sagan_g = MODELS.get("sagan").generator

    assert spectral_norm_layers(sagan_g(16, 32, ch=8)) and not spectral_norm_layers(
        sagan_g(16, 32, ch=8, sn=False)
    )
    assert not spectral_norm_layers(ResNetGenerator(16, 32, ch=8))
    # the same parameters and state-dict keys as the parent built with those defaults
    sagan_d = MODELS.get("sagan").discriminator
    torch.manual_seed(0)
    ours = sagan_d(32, 3, ch=8).state_dict()
    torch.manual_seed(0)
    parent = ResNetDiscriminator.__new__(sagan_d)
    ResNetDiscriminator.__init__(parent, 32, 3, ch=8, sn=True, init="ortho")
    ref = parent.state_dict()
    assert list(ours) == list(ref) and all(torch.equal(ours[k], ref[k]) for k in ours)


def test_with_defaults_refuses_a_name_the_parent_does_not_take():
    from ganbench.models.family import with_defaults
    from ganbench.models.resnet import ResNetGenerator

    with pytest.raises(TypeError, match="no keyword-only parameter.*spectral"):

        @with_defaults(spectral=True)
        class Typo(ResNetGenerator):
            pass
