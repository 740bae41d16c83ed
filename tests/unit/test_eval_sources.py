"""Evaluation sources, input checks and the stacked mode metric, without trained extractor weights."""

from __future__ import annotations

import math
import warnings

import numpy as np
import PIL.Image
import pytest
import torch
from torch import nn

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.evaluator import generate
from ganbench.evaluation.extractors.base import FeatureExtractor, quantize_to_uint8
from ganbench.evaluation.images import extract_source
from ganbench.evaluation.sources import (
    ArraySource,
    CallableSource,
    FolderSource,
    GeneratorSource,
    conform,
    detect_kind,
    float_to_uint8,
    open_source,
    parse_range,
    sample_latents,
)
from ganbench.evaluation.stacked import PerChannelExtractor, stacked_mode_coverage
from ganbench.registries import EXTRACTORS, METRICS, load_all

load_all()


def _images(n=20, c=1, h=8, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, c, h, h), dtype=np.uint8)


def _read_all(source, n=None, seed=0, bs=7):
    xs, ys = zip(*source.batches(n or source.size, bs, seed), strict=True)
    return torch.cat(xs), (torch.cat(ys) if ys[0] is not None else None)


# --- value ranges and quantisation -----------------------------------------------------------


@pytest.mark.parametrize(
    "text,scale,offset", [("-1,1", 127.5, -1.0), ("0,1", 255.0, 0.0), ("0,255", 1.0, 0.0)]
)
def test_float_ranges_round_trip_to_the_same_uint8(text, scale, offset):
    u = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    x = u.double() / scale + offset
    assert torch.equal(float_to_uint8(x, parse_range(text, "t"), "t"), u)


def test_minus_one_one_is_the_protocol_quantisation():
    x = torch.linspace(-1.1, 1.1, 1000).reshape(10, 1, 10, 10)
    assert torch.equal(float_to_uint8(x, (-1.0, 1.0), "t"), quantize_to_uint8(x))


def test_out_of_range_and_nan_are_errors():
    with pytest.raises(SourceError, match=r"declared range is \[-1, 1\]"):
        float_to_uint8(torch.full((2, 1, 4, 4), 200.0), (-1.0, 1.0), "src")
    x = torch.zeros(3, 1, 4, 4)
    x[1, 0, 0, 0] = float("nan")
    with pytest.raises(SourceError, match="sample 1 contains NaN"):
        float_to_uint8(x, (-1.0, 1.0), "src")
    with pytest.raises(ConfigError, match="LO,HI"):
        parse_range("minus one", "src")


# --- conforming to the reference shape -------------------------------------------------------


def test_conform_channels_and_sizes():
    gray = torch.from_numpy(_images(4, 1, 8))
    assert torch.equal(conform(gray, (3, 8, 8), "s"), gray.expand(-1, 3, -1, -1))
    assert torch.equal(conform(gray.expand(-1, 3, -1, -1), (1, 8, 8), "s"), gray)
    colour = torch.from_numpy(_images(4, 3, 8))
    with pytest.raises(SourceError, match="colour"):
        conform(colour, (1, 8, 8), "s")
    with pytest.raises(SourceError, match=r"8×8 but the reference images are 16×16.*resize=True"):
        conform(gray, (1, 16, 16), "s")
    assert conform(colour, (1, 16, 16), "s", resize=True).shape == (4, 1, 16, 16)


# --- arrays ----------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["nchw", "nhwc", "nhw"])
def test_array_layouts_read_the_same_images(tmp_path, layout):
    x = _images(20, 1, 8)
    stored = {"nchw": x, "nhwc": x.transpose(0, 2, 3, 1), "nhw": x[:, 0]}[layout]
    np.save(tmp_path / "a.npy", stored)
    src = ArraySource(str(tmp_path / "a.npy"))
    got, labels = _read_all(src)
    assert labels is None and got.shape == (20, 1, 8, 8)
    order = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    assert torch.equal(got, torch.from_numpy(x)[order])


def test_array_subset_is_seeded(tmp_path):
    np.save(tmp_path / "a.npy", _images(50, 3, 4))
    src = ArraySource(str(tmp_path / "a.npy"))
    a, _ = _read_all(src, 10, seed=1)
    b, _ = _read_all(src, 10, seed=1)
    c, _ = _read_all(src, 10, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(SourceError, match="holds 50 images, 51 were asked for"):
        _read_all(src, 51)


def test_npz_keys_labels_and_float_range(tmp_path):
    x = _images(12, 3, 4)
    y = np.arange(12) % 3
    np.savez(tmp_path / "a.npz", samples=x.astype(np.float32) / 255.0, labels=y)
    with pytest.raises(
        SourceError,
        match=r"no array 'images' .*the file holds 'samples' float32 \(12, 3, 4, 4\), "
        r"'labels' int64 \(12,\): name the images with key='samples'",
    ):
        ArraySource(str(tmp_path / "a.npz"))
    with pytest.raises(SourceError, match="declare its value range"):
        ArraySource(str(tmp_path / "a.npz"), key="samples")
    src = ArraySource(str(tmp_path / "a.npz"), key="samples", value_range="0,1")
    got, labels = _read_all(src)
    order = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    assert torch.equal(got, torch.from_numpy(x)[order])
    assert torch.equal(labels, torch.from_numpy(y)[order]) and src.num_classes == 3


def test_bad_arrays(tmp_path):
    cases = {
        "shape": (np.zeros((4, 5, 8, 8), np.uint8), "shape \\(4, 5, 8, 8\\)"),
        "ambiguous": (np.zeros((4, 3, 8, 3), np.uint8), "layout='nchw'"),
        "dtype": (np.zeros((4, 1, 8, 8), np.int32), "dtype int32"),
        "empty": (np.zeros((0, 1, 8, 8), np.uint8), "holds no images"),
    }
    for name, (arr, message) in cases.items():
        np.save(tmp_path / f"{name}.npy", arr)
        with pytest.raises(SourceError, match=message):
            ArraySource(str(tmp_path / f"{name}.npy"))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SourceError, match="without unpickling"):
        ArraySource(str(tmp_path / "obj.npy"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(SourceError, match="junk.npz"):
        ArraySource(str(tmp_path / "junk.npz"))
    x = np.zeros((4, 1, 8, 8), np.float32)
    x[2, 0, 3, 3] = np.inf
    np.save(tmp_path / "inf.npy", x)
    with pytest.raises(SourceError, match="NaN or inf"):
        _read_all(ArraySource(str(tmp_path / "inf.npy"), value_range="-1,1"))
    x = np.zeros((30, 1, 4, 4), np.float32)
    x[17, 0, 1, 1] = np.nan
    np.save(tmp_path / "nan17.npy", x)
    with pytest.raises(SourceError, match="sample 17 of the file contains NaN"):  # not its batch position
        _read_all(ArraySource(str(tmp_path / "nan17.npy"), value_range="-1,1"), seed=3)
    np.savez(tmp_path / "lab.npz", images=_images(4), labels=np.array([0.5, 1, 2, 3]))
    with pytest.raises(SourceError, match="labels must be integers"):
        ArraySource(str(tmp_path / "lab.npz"))


# --- folders ---------------------------------------------------------------------------------


def _write_png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(arr).save(path)


def test_folder_labels_from_integer_names(tmp_path):
    x = _images(6, 1, 8)
    for i, cls in enumerate(["2", "2", "10", "10", "10", "7"]):
        _write_png(tmp_path / cls / f"{i}.png", x[i, 0])
    src = FolderSource(str(tmp_path))
    assert src.size == 6 and src.num_classes == 11
    got, labels = _read_all(src)
    by_image = {bytes(img.numpy()): int(y) for img, y in zip(got, labels, strict=True)}
    expected = {bytes(x[i]): int(c) for i, c in enumerate(["2", "2", "10", "10", "10", "7"])}
    assert by_image == expected  # "10" is class 10, not the first folder in sorted order


def test_folder_errors_name_the_file(tmp_path):
    x = _images(3, 3, 8)
    for i in range(2):
        _write_png(tmp_path / f"{i}.png", x[i].transpose(1, 2, 0))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(SourceError, match="broken.png: cannot read this image"):
        _read_all(FolderSource(str(tmp_path)))
    (tmp_path / "broken.png").unlink()
    _write_png(tmp_path / "big.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(SourceError, match="png is .* but other images are .*; all images must have one size"):
        _read_all(FolderSource(str(tmp_path)), bs=10)
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images found"):
        FolderSource(str(tmp_path / "empty"))


# --- generators ------------------------------------------------------------------------------


class TinyG(nn.Module):
    def __init__(self, z_dim=4, num_classes=None, shape=(1, 6, 6)):
        super().__init__()
        self.z_dim, self.num_classes, self.shape = z_dim, num_classes, shape
        self.lin = nn.Linear(z_dim + (num_classes or 0), int(np.prod(shape)))

    def forward(self, z, y=None):
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).float()], 1)
        return torch.tanh(self.lin(z)).reshape(len(z), *self.shape)


class ScriptableG(nn.Module):
    def __init__(self):
        super().__init__()
        self.z_dim = 4
        self.lin = nn.Linear(4, 36)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(z)).reshape(-1, 1, 6, 6)


@pytest.mark.parametrize("num_classes", [None, 5])
def test_generator_source_draws_what_the_trainer_draws(num_classes):
    torch.manual_seed(0)
    G = TinyG(num_classes=num_classes)
    samples, labels = generate(G, 50, seed=3, num_classes=num_classes)
    got, got_labels = _read_all(GeneratorSource(G, "tiny"), 50, seed=3, bs=16)
    assert torch.equal(got, quantize_to_uint8(samples))
    assert (got_labels is None) == (labels is None)
    if labels is not None:
        assert torch.equal(got_labels, labels)


@pytest.mark.parametrize("num_classes", [None, 5])
def test_the_pinned_latent_sequence(num_classes):
    # committed records were evaluated with exactly this: all z first, then labels, one CPU generator
    gen = torch.Generator().manual_seed(11)
    z_expected = torch.randn(40, 7, generator=gen)
    y_expected = torch.randint(5, (40,), generator=gen) if num_classes else None
    z, y = sample_latents(40, 7, 11, num_classes)
    assert torch.equal(z, z_expected) and (y is None) == (num_classes is None)
    if num_classes:
        assert torch.equal(y, y_expected)
    given = torch.tensor([4, 0, 1])
    z3, y3 = sample_latents(3, 7, 11, 5, labels=given)
    assert torch.equal(z3, torch.randn(3, 7, generator=torch.Generator().manual_seed(11)))
    assert torch.equal(y3, given)
    with pytest.raises(SourceError, match="label 5 is out of range for 5 classes"):
        sample_latents(1, 7, 11, 5, labels=torch.tensor([5]))


def test_generator_source_given_labels_and_errors():
    G = TinyG(num_classes=3)
    src = GeneratorSource(G, "tiny")
    wanted = torch.tensor([0, 0, 1, 2, 2, 2])
    got = torch.cat([y for _, y in src.batches(6, 4, 0, wanted)])
    assert torch.equal(got, wanted)
    with pytest.raises(SourceError, match="out of range for 3 classes"):
        list(src.batches(2, 4, 0, torch.tensor([0, 3])))
    with pytest.raises(SourceError, match="no integer z_dim attribute; pass z_dim"):
        GeneratorSource(lambda z: z, "fn")
    bad = GeneratorSource(lambda z: torch.zeros(len(z), 5, 6, 6), "five-channels", z_dim=2)
    with pytest.raises(SourceError, match=r"returned shape \(4, 5, 6, 6\); expected a float tensor"):
        list(bad.batches(4, 4, 0))
    wrong_n = GeneratorSource(lambda z: torch.zeros(1, 1, 6, 6), "one", z_dim=2)
    with pytest.raises(SourceError, match="returned shape"):
        list(wrong_n.batches(4, 4, 0))
    crash = GeneratorSource(lambda z: z @ torch.zeros(3, 3), "crash", z_dim=2)
    with pytest.raises(SourceError, match=r"calling the generator with z \(4, 2\) failed"):
        list(crash.batches(4, 4, 0))
    as_uint8 = GeneratorSource(lambda z: torch.zeros(len(z), 1, 6, 6, dtype=torch.uint8), "u8", z_dim=2)
    with pytest.raises(SourceError, match="dtype torch.uint8"):
        list(as_uint8.batches(4, 4, 0))


def test_callable_and_torchscript_sources(tmp_path, monkeypatch):
    (tmp_path / "mygen.py").write_text(
        "import torch\n"
        "class G(torch.nn.Module):\n"
        "    z_dim = 3\n"
        "    def forward(self, z):\n"
        "        return torch.tanh(z.sum(1)).reshape(-1, 1, 1, 1).expand(-1, 1, 4, 4)\n"
        "def factory():\n"
        "    return G()\n"
        "def broken():\n"
        "    raise RuntimeError('no weights here')\n"
        "not_callable = 3\n"
    )
    from_file = CallableSource(f"{tmp_path / 'mygen.py'}:factory")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    from_module = open_source("mygen:factory")
    assert from_module.kind == "callable" and from_file.z_dim == 3
    a, _ = _read_all(from_file, 10)
    b, _ = _read_all(from_module, 10)
    assert torch.equal(a, b)
    with pytest.raises(SourceError, match="factory raised RuntimeError: no weights here"):
        open_source("mygen:broken")
    with pytest.raises(SourceError, match="not a factory"):
        open_source("mygen:not_callable")
    with pytest.raises(SourceError, match="has no attribute 'nope'"):
        open_source("mygen:nope")
    with pytest.raises(SourceError, match="importing no_such_module failed"):
        open_source("no_such_module:f")
    eager = ScriptableG()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.10+ deprecates TorchScript; still read
        torch.jit.script(eager).save(str(tmp_path / "g.pt"))
        torch.jit.trace(eager, torch.zeros(2, 4)).save(str(tmp_path / "traced.pt"))
    ts = open_source(str(tmp_path / "g.pt"))
    assert ts.kind == "torchscript" and ts.z_dim == 4 and not ts.conditional
    assert torch.equal(_read_all(ts, 9)[0], _read_all(GeneratorSource(eager, "eager"), 9)[0])
    with pytest.raises(SourceError, match="pass z_dim"):
        open_source(str(tmp_path / "traced.pt"))  # tracing keeps no attributes
    traced = open_source(str(tmp_path / "traced.pt"), z_dim=4)
    assert torch.equal(_read_all(traced, 9)[0], _read_all(ts, 9)[0])
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(SourceError, match="not a TorchScript file"):
        open_source(str(tmp_path / "junk.pt"))
    with pytest.raises(
        ConfigError,
        match="layout does not apply to the torchscript source; its options: z_dim, num_classes, value_range",
    ):
        open_source(str(tmp_path / "g.pt"), layout="nchw")


def test_detect_kind(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "record.json").write_text("{}")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "a.npz").write_bytes(b"")
    (tmp_path / "g.pt").write_bytes(b"")
    assert detect_kind(str(tmp_path / "run")) == "run"
    assert detect_kind(str(tmp_path / "imgs")) == "folder"
    assert detect_kind(str(tmp_path / "a.npz")) == "array"
    assert detect_kind(str(tmp_path / "g.pt")) == "torchscript"
    assert detect_kind("pkg.mod:make") == "callable"
    with pytest.raises(SourceError, match="no such file or folder"):
        detect_kind(str(tmp_path / "missing.npy"))


# --- evaluator pieces ------------------------------------------------------------------------


class NaNExtractor(FeatureExtractor):
    name, dim = "nan-extractor", 2

    def __init__(self):
        super().__init__()

    def compute(self, images):
        return torch.full((len(images), 2), float("nan")), None


def test_nan_features_are_an_error():
    src = GeneratorSource(TinyG(), "tiny")
    with pytest.raises(SourceError, match="extractor 'nan-extractor' gave NaN or inf features for 8 samples"):
        extract_source(src, 8, 0, NaNExtractor(), (1, 6, 6), batch_size=4)


# --- evaluate_source: plan -> extract -> score -> provenance ----------------------------------


class FakeImages:
    """A tiny labelled image dataset (the DataSource attributes the evaluation reads); counts the
    reference passes, so a test can show that a bad count fails before any of them."""

    kind, name, split, default_extractor, stacked = "images", "fake", "train", "identity", False

    def __init__(self, n=60, num_classes=3, seed=5):
        self.images = torch.from_numpy(_images(n, 1, 6, seed=seed))
        self.labels = torch.arange(n) % num_classes
        self.num_classes, self.sample_shape, self.passes = num_classes, (1, 6, 6), 0

    def __len__(self):
        return len(self.images)

    def for_split(self, split):
        return self

    def describe(self):
        return {"name": self.name, "n": len(self)}

    def iter_uint8(self, batch_size, limit=None):
        self.passes += 1
        stop = len(self) if limit is None else limit
        for i in range(0, stop, batch_size):
            j = min(i + batch_size, stop)
            yield self.images[i:j], self.labels[i:j]


def _eval_cfg(**kw):
    from ganbench.config import EvalConfig

    return EvalConfig(**{"n_samples": 30, "metrics": ["fid"], "extractor": "identity", **kw})


def test_evaluate_source_numbers_equal_the_direct_computation(tmp_path):
    from ganbench.evaluation.functional import fid_from_features, intra_fid
    from ganbench.evaluation.images import evaluate_source

    data = FakeImages()
    x = _images(40, 1, 6, seed=9)
    y = np.arange(40) % 3
    np.savez(tmp_path / "fake.npz", images=x, labels=y)
    src = ArraySource(str(tmp_path / "fake.npz"))
    res = evaluate_source(src, data, _eval_cfg(metrics=["fid", "intra_fid"]), 0, cache_dir=tmp_path / "c")
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0))[:30]
    fake = torch.from_numpy(x).reshape(40, -1).float()[order]
    real = data.images.reshape(60, -1).float()
    assert res.metrics["fid"] == pytest.approx(fid_from_features(real, fake), rel=1e-10)
    expected = intra_fid(real, data.labels, fake, torch.from_numpy(y)[order])["intra_fid"]
    assert res.metrics["intra_fid"] == pytest.approx(expected, rel=1e-10)
    prov = res.provenance
    assert (
        prov["n_fake"] == 30 and prov["reference"]["n_real"] == 60 and prov["metrics"] == ["fid", "intra_fid"]
    )
    assert prov["labelled_samples"] == "the source's own labels" and prov["reference"]["cache"].startswith(
        "computed"
    )
    assert torch.equal(res.preview, torch.from_numpy(x)[order])  # the first (all 30) samples scored


@pytest.mark.parametrize(
    "case, message",
    [
        ("n_above_file", "holds 40 images, 41 were asked for"),
        ("n_real_above_reference", "--n-real 61: the reference 'fake' \\(train\\) holds 60 images"),
        ("class_too_small", "needs at least 2 samples of every class; class 2 has 1"),
    ],
)
def test_counts_are_checked_before_any_reference_pass(tmp_path, case, message):
    from ganbench.evaluation.images import evaluate_source

    data = FakeImages()
    y = np.array([0, 1] * 19 + [2, 0])  # class 2 once
    np.savez(tmp_path / "fake.npz", images=_images(40, 1, 6), labels=y)
    src = ArraySource(str(tmp_path / "fake.npz"))
    cfg = {
        "n_above_file": _eval_cfg(n_samples=41),
        "n_real_above_reference": _eval_cfg(n_real=61),
        "class_too_small": _eval_cfg(n_samples=40, metrics=["intra_fid"]),
    }[case]
    with pytest.raises(SourceError, match=message):
        evaluate_source(src, data, cfg, 0, cache_dir=tmp_path / "c")
    assert data.passes == 0  # issue 16: the reference statistics were not computed first


def test_conditional_generators_get_as_many_fakes_per_class_as_reals(tmp_path):
    from ganbench.evaluation.images import evaluate_source

    data = FakeImages(n=60)
    src = GeneratorSource(TinyG(num_classes=3), "tiny")
    res = evaluate_source(src, data, _eval_cfg(metrics=["intra_fid", "fid"]), 1, cache_dir=tmp_path)
    assert res.provenance["n_fake_labelled"] == 60 and res.provenance["n_fake"] == 30
    assert {f"intra_fid_class_{c}" for c in range(3)} <= set(res.metrics) and np.isfinite(res.metrics["fid"])


# --- stacked mode coverage -------------------------------------------------------------------


def test_stacked_mode_coverage_values():
    uniform = stacked_mode_coverage(np.repeat(np.arange(1000), 3))
    assert uniform["stacked_modes"] == 1000 and uniform["stacked_kl"] == pytest.approx(0.0, abs=1e-12)
    one = stacked_mode_coverage(np.full(500, 7))
    assert one["stacked_modes"] == 1 and one["stacked_kl"] == pytest.approx(math.log(1000))
    two = stacked_mode_coverage(np.array([3, 999] * 10))
    assert two["stacked_modes"] == 2 and two["stacked_kl"] == pytest.approx(math.log(500))
    skewed = np.array([0] * 3 + [1])  # p = (3/4, 1/4)
    expected = 0.75 * math.log(750) + 0.25 * math.log(250)
    assert stacked_mode_coverage(skewed)["stacked_kl"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(SourceError, match="out of range"):
        stacked_mode_coverage(np.array([1000]))


def test_per_channel_extractor_classifies_each_channel():
    base = EXTRACTORS.get("fmnist-classifier")(weights="random-init")
    stacked = PerChannelExtractor(base)
    x = torch.from_numpy(_images(16, 3, 28, seed=1))
    feats, joint = stacked(x)
    per = [base(x[:, c : c + 1]) for c in range(3)]
    assert torch.allclose(feats, torch.cat([f for f, _ in per], dim=1))
    classes = torch.stack([lg.argmax(1) for _, lg in per], dim=1)
    assert torch.equal(joint.argmax(1), classes[:, 0] * 100 + classes[:, 1] * 10 + classes[:, 2])
    assert torch.allclose(torch.softmax(joint.double(), 1).sum(1), torch.ones(16, dtype=torch.float64))
    assert stacked.mode == "gray28+per-channel" and stacked.dim == 3 * base.dim
    metric = METRICS.get("stacked_modes")
    from ganbench.evaluation.inputs import EvalInputs

    out = metric(EvalInputs(fake_logits=joint))
    assert out["stacked_samples"] == 16 and out["stacked_modes"] == len(set(joint.argmax(1).tolist()))
    with pytest.raises(SourceError, match="1000 class triples"):
        metric(EvalInputs(fake_logits=torch.zeros(4, 10)))
