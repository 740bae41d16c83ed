"""Image datasets: preprocessing, deterministic/resumable streams, registered datasets, CLI."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from torch.utils.data import Subset
from torchvision import datasets as tvd

from ganbench.config import DataConfig
from ganbench.data.images import ImageDataSource
from ganbench.data.preprocess import Preprocess, to_float, to_uint8_chw
from ganbench.data.stacked import NUM_MODES, decode_modes, encode_modes
from ganbench.data.stream import IndexStream, epoch_permutation
from ganbench.data.vision import FashionMNIST
from ganbench.errors import ConfigError, GanbenchError
from ganbench.registries import DATASETS, load_all

load_all()


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Keep the ganbench cache (where Fashion-MNIST is decompressed) inside the test's tmp dir."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def fake(n=40, shape=(3, 40, 30), classes=7, **kw) -> ImageDataSource:
    return ImageDataSource(tvd.FakeData(n, shape, classes), num_workers=0, **kw)


def take(it, k):
    return list(itertools.islice(it, k))


def same_batches(a, b) -> bool:
    return all(
        torch.equal(xa, xb) and (ya is None and yb is None or torch.equal(ya, yb))
        for (xa, ya), (xb, yb) in zip(a, b, strict=True)
    )


# --- batch order ---------------------------------------------------------------------------------
def test_index_stream_epochs_are_permutations_without_ragged_tail():
    n, bs = 23, 5  # 4 full batches per epoch, 3 images dropped per epoch
    batches = take(iter(IndexStream(n, bs, seed=3)), 12)
    assert all(len(b) == bs for b in batches)
    for e in range(3):
        epoch = torch.cat(batches[4 * e : 4 * e + 4])
        assert len(set(epoch.tolist())) == 20  # no repeats inside an epoch
        assert torch.equal(epoch, epoch_permutation(n, 3, e)[:20])
    assert not torch.equal(batches[0], batches[4])  # epochs are reshuffled


@pytest.mark.parametrize("start", [0, 1, 3, 4, 9])
def test_index_stream_resume_matches_uninterrupted(start):
    full = take(iter(IndexStream(23, 5, seed=11)), 12)
    resumed = take(iter(IndexStream(23, 5, seed=11, start=start)), 12 - start)
    assert all(torch.equal(a, b) for a, b in zip(full[start:], resumed, strict=True))


def test_index_stream_rejects_too_small_dataset():
    with pytest.raises(ConfigError, match="fewer than one batch"):
        IndexStream(3, 5, seed=0)


# --- preprocessing -------------------------------------------------------------------------------
def test_float_images_quantise_back_to_the_same_uint8():
    u = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    x = to_float(u)
    assert x.min() == -1 and x.max() == 1
    back = (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)  # the evaluator's quantisation
    assert torch.equal(back, u)


def test_centre_crop_then_resize():
    img = torch.arange(6 * 4, dtype=torch.uint8).reshape(1, 6, 4)  # tall: crop rows 1..4
    assert torch.equal(Preprocess(4, 1)(img), img[:, 1:5, :])
    assert torch.equal(Preprocess(2, 1, crop=2)(img), img[:, 2:4, 1:3])
    with pytest.raises(ConfigError, match="data.params.crop=7"):
        Preprocess(4, 1, crop=7)(img)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size, resolution", [(40, 16), (28, 32), (28, 64)])
def test_resize_agrees_with_pil(interpolation, size, resolution):
    """torch's antialiased resize is the PIL filter: within one grey level of PIL's own resize (on a
    smooth image: PIL clamps between its two passes, which bicubic overshoot on noise would expose)."""
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    arr = (128 + 90 * np.sin(i / 3.0) * np.cos(j / 4.0)).round().astype(np.uint8)
    ours = Preprocess(resolution, 1, interpolation=interpolation)(to_uint8_chw(arr))[0]
    mode = PIL.Image.BILINEAR if interpolation == "bilinear" else PIL.Image.BICUBIC
    pil = torch.from_numpy(np.asarray(PIL.Image.fromarray(arr).resize((resolution, resolution), mode)).copy())
    assert (ours.int() - pil.int()).abs().max() <= 1


def test_channel_conversion_matches_pil():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    grey = Preprocess(12, 1)(to_uint8_chw(arr))
    pil = torch.from_numpy(np.asarray(PIL.Image.fromarray(arr).convert("L")).copy())
    assert grey.shape == (1, 12, 12)
    assert (grey[0].int() - pil.int()).abs().max() <= 1  # PIL rounds, torchvision truncates
    rgb = Preprocess(12, 3)(grey)
    assert rgb.shape == (3, 12, 12) and torch.equal(rgb[0], rgb[2]) and torch.equal(rgb[1], grey[0])


def test_pil_modes_are_normalised():
    rgba = PIL.Image.new("RGBA", (5, 4), (10, 20, 30, 0))
    assert to_uint8_chw(rgba).shape == (3, 4, 5)
    assert to_uint8_chw(PIL.Image.new("P", (5, 4))).shape == (3, 4, 5)
    assert to_uint8_chw(PIL.Image.new("LA", (5, 4))).shape == (1, 4, 5)


# --- the generic source --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "resolution, channels, expect",
    [(None, None, (3, 30, 30)), (16, None, (3, 16, 16)), (32, 1, (1, 32, 32)), (8, 3, (3, 8, 8))],
)
def test_shapes_and_value_range(resolution, channels, expect):
    ds = fake(resolution=resolution, channels=channels, in_memory=True)
    assert ds.kind == "images" and ds.sample_shape == expect and ds.native_shape == (3, 40, 30)
    x, y = next(ds.stream(8, seed=0))
    assert x.shape == (8, *expect) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    if resolution is None:  # FakeData's clipped noise reaches both ends (resizing averages it away)
        assert x.min() == -1 and x.max() == 1
    assert y.dtype == torch.int64 and ds.num_classes == 7 and int(y.max()) < 7


@pytest.mark.parametrize("in_memory", [True, False])
def test_stream_is_deterministic_and_resumes_exactly(in_memory):
    ds = fake(n=23, resolution=8, in_memory=in_memory)
    full = take(ds.stream(5, seed=4), 10)  # crosses two epoch boundaries (4 batches per epoch)
    assert same_batches(full, take(ds.stream(5, seed=4), 10))
    for start in (1, 4, 6):
        assert same_batches(full[start:], take(ds.stream(5, seed=4, start=start), 10 - start))
    other = take(ds.stream(5, seed=5), 1)[0]
    assert not torch.equal(other[0], full[0][0])


def test_in_memory_and_streaming_paths_agree():
    a = fake(n=23, resolution=12, channels=1, in_memory=True)
    b = fake(n=23, resolution=12, channels=1, in_memory=False)
    assert same_batches(take(a.stream(5, seed=1), 6), take(b.stream(5, seed=1), 6))
    ua = [x for x, _ in a.iter_uint8(7)]
    ub = [x for x, _ in b.iter_uint8(7)]
    assert [len(x) for x in ua] == [7, 7, 7, 2] and all(
        torch.equal(p, q) for p, q in zip(ua, ub, strict=True)
    )


def test_dataloader_workers_give_the_same_batches():
    single = fake(n=23, resolution=8, in_memory=False)
    workers = ImageDataSource(tvd.FakeData(23, (3, 40, 30), 7), resolution=8, in_memory=False, num_workers=2)
    assert same_batches(
        take(single.stream(5, seed=2, start=3), 5), take(workers.stream(5, seed=2, start=3), 5)
    )


def test_iter_uint8_fixed_order_and_limit():
    ds = fake(n=20, resolution=10, in_memory=True)
    batches = list(ds.iter_uint8(6, limit=15))
    assert [len(x) for x, _ in batches] == [6, 6, 3]
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    assert x.dtype == torch.uint8 and x.shape == (15, 3, 10, 10)
    fd = tvd.FakeData(20, (3, 40, 30), 7)
    assert torch.equal(x[3], Preprocess(10, 3)(to_uint8_chw(fd[3][0])))
    assert y.tolist() == [int(fd[i][1]) for i in range(15)]
    with pytest.raises(ConfigError, match="valid choices: train"):
        next(ds.iter_uint8(4, split="test"))


def test_unlabelled_dataset_gives_no_labels():
    class Unlabelled(torch.utils.data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            return torch.full((1, 6, 6), i * 10, dtype=torch.uint8), None

    for in_memory in (True, False):
        ds = ImageDataSource(Unlabelled(), in_memory=in_memory, num_workers=0)
        assert ds.num_classes is None
        x, y = next(ds.stream(4, seed=0))
        assert y is None and x.shape == (4, 1, 6, 6)


def test_bad_settings_are_rejected():
    with pytest.raises(ConfigError, match="data.params.crop"):
        fake(crop=31)
    with pytest.raises(ConfigError, match="data.channels"):
        fake(channels=2)


# --- tiny MNIST files in torchvision's IDX layout: the registered `mnist` end to end -------------------
def write_idx(root: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    header = np.array([0x0803, n, h, w], dtype=">i4").tobytes()
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
        np.array([0x0801, n], ">i4").tobytes() + labels.tobytes()
    )


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(1)
    for prefix, n in (("train", 30), ("t10k", 12)):
        write_idx(root, prefix, rng.integers(0, 256, (n, 28, 28), np.uint8), rng.integers(0, 10, n, np.uint8))
    return root


def test_mnist_from_idx_files(mnist_root):
    ds = DATASETS.get("mnist")(DataConfig(name="mnist", root=str(mnist_root), resolution=32))
    ref = tvd.MNIST(str(mnist_root), train=True)
    assert len(ds) == 30 and ds.sample_shape == (1, 32, 32) and ds.num_classes == 10 and ds.in_memory
    # the in-memory fast path equals the per-image path through torchvision's PIL images
    per_image = ImageDataSource(Subset(ref, range(30)), resolution=32, in_memory=True, num_workers=0)
    assert torch.equal(ds.images, per_image.images) and torch.equal(ds.labels, ref.targets)
    x, y = next(ds.iter_uint8(30, split="test"))
    assert x.shape == (12, 1, 32, 32) and torch.equal(y, tvd.MNIST(str(mnist_root), train=False).targets)
    info = ds.describe()
    assert info["name"] == "mnist" and info["num_images"] == 30 and info["resolution"] == 32
    assert info["root"] == str(mnist_root) and info["channels"] == 1 and info["num_classes"] == 10


@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100", "stl10", "celeba"])
def test_missing_data_names_dataset_root_and_remedy(name, tmp_path):
    with pytest.raises(ConfigError) as err:
        DATASETS.get(name)(DataConfig(name=name, root=str(tmp_path), split="test"))
    msg = str(err.value)
    assert repr(name) in msg and str(tmp_path) in msg and "data.params.download: true" in msg
    assert not DATASETS.get(name).present(tmp_path)


def test_params_and_split_are_validated(mnist_root):
    with pytest.raises(ConfigError, match=r"'mnist'.*data.params.*'colour'.*valid: download, crop"):
        DATASETS.get("mnist")(DataConfig(name="mnist", root=str(mnist_root), params={"colour": 1}))
    with pytest.raises(ConfigError, match=r"data.params.interpolation.*bilinear"):
        DATASETS.get("mnist")(DataConfig(name="mnist", root=str(mnist_root), params={"interpolation": "box"}))
    with pytest.raises(ConfigError, match=r"data.split 'valid'.*train, test"):
        DATASETS.get("mnist")(DataConfig(name="mnist", root=str(mnist_root), split="valid"))


# --- imagefolder ---------------------------------------------------------------------------------
def save(path: Path, value: int, size=(12, 10), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.new(mode, size, value if mode == "L" else (value, value, value)).save(path)


def test_imagefolder_with_class_subfolders(tmp_path):
    for i in range(3):
        save(tmp_path / "cat" / f"{i}.png", 10 + i)
        save(tmp_path / "dog" / "nested" / f"{i}.jpg", 200)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = DATASETS.get("imagefolder")(
        DataConfig(name="imagefolder", root=str(tmp_path), params={"num_workers": 0})
    )
    assert len(ds) == 6 and ds.num_classes == 2 and ds.sample_shape == (3, 10, 10) and not ds.in_memory
    assert ds.describe()["classes"] == ["cat", "dog"]
    x, y = next(ds.iter_uint8(6))
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    assert x[:3, 0, 0, 0].tolist() == [10, 11, 12]  # sorted file order
    assert abs(int(x[4].float().mean()) - 200) <= 2  # JPEG
    xs, ys = next(ds.stream(4, seed=0))
    assert xs.shape == (4, 3, 10, 10) and ys is not None


def test_imagefolder_flat_is_unlabelled_and_in_memory(tmp_path):
    for i in range(5):
        save(tmp_path / f"img{i}.png", 40 * i, size=(16, 16), mode="L")
    save(tmp_path / "more" / "x.PNG", 7, size=(20, 24))  # other size and mode: cropped, resized, greyed
    cfg = DataConfig(name="imagefolder", root=str(tmp_path), params={"in_memory": True, "num_workers": 0})
    ds = DATASETS.get("imagefolder")(cfg)
    assert ds.num_classes is None and ds.sample_shape == (1, 16, 16) and len(ds) == 6
    x, y = next(ds.stream(6, seed=1))
    assert y is None and x.shape == (6, 1, 16, 16)


def test_imagefolder_split_subfolders(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        for i in range(n):
            save(tmp_path / split / "a" / f"{i}.png", i)
    cfg = DataConfig(name="imagefolder", root=str(tmp_path), params={"num_workers": 0})
    ds = DATASETS.get("imagefolder")(cfg)
    assert len(ds) == 4 and ds.splits == ("test", "train")
    assert len(next(ds.iter_uint8(10, split="test"))[0]) == 2


def test_imagefolder_errors(tmp_path):
    with pytest.raises(ConfigError, match="needs data.root"):
        DATASETS.get("imagefolder")(DataConfig(name="imagefolder"))
    with pytest.raises(ConfigError, match="no images found"):
        DATASETS.get("imagefolder")(DataConfig(name="imagefolder", root=str(tmp_path)))
    save(tmp_path / "a.png", 1)
    save(tmp_path / "b.png", 2)
    (tmp_path / "c.png").write_bytes(b"\x89PNG broken")
    cfg = DataConfig(name="imagefolder", root=str(tmp_path), params={"num_workers": 0, "in_memory": True})
    with pytest.raises(GanbenchError, match=r"c\.png: cannot read this image"):
        DATASETS.get("imagefolder")(cfg)
    with pytest.raises(ConfigError, match="valid choices: train"):
        DATASETS.get("imagefolder")(DataConfig(name="imagefolder", root=str(tmp_path), split="test"))


# --- Fashion-MNIST (the Debian files on this machine) ---------------------------------------------
needs_fmnist = pytest.mark.skipif(not FashionMNIST.present(), reason="Fashion-MNIST files not available")


@pytest.fixture(scope="module")
def fmnist():
    return DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist"))


@needs_fmnist
def test_fashion_mnist_real_files(fmnist):
    assert len(fmnist) == 60000 and fmnist.num_classes == 10 and fmnist.sample_shape == (1, 28, 28)
    assert torch.bincount(fmnist.labels).tolist() == [6000] * 10
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
        first = np.frombuffer(f.read(16 + 2 * 784), np.uint8)[16:].reshape(2, 28, 28)
    assert torch.equal(fmnist.images[:2, 0], torch.from_numpy(first.copy()))
    x, y = next(fmnist.iter_uint8(10000, split="test"))
    assert x.shape == (10000, 1, 28, 28) and torch.bincount(y).tolist() == [1000] * 10


@needs_fmnist
def test_fashion_mnist_at_32_rgb(fmnist):
    ds = DATASETS.get("fashion-mnist")(
        DataConfig(name="fashion-mnist", split="test", resolution=32, channels=3)
    )
    assert ds.sample_shape == (3, 32, 32) and len(ds) == 10000
    x, _ = next(ds.iter_uint8(4))
    ref = Preprocess(32, 3)(next(fmnist.iter_uint8(4, split="test"))[0])
    assert torch.equal(x, ref)


# --- stacked-fmnist --------------------------------------------------------------------------------
def test_mode_codes_roundtrip():
    triples = torch.tensor([[0, 0, 0], [9, 9, 9], [1, 2, 3], [7, 0, 4]])
    assert encode_modes(triples).tolist() == [0, 999, 123, 704]
    assert torch.equal(decode_modes(encode_modes(triples)), triples)


@needs_fmnist
def test_stacked_fmnist_modes_and_independent_channels(fmnist):
    ds = DATASETS.get("stacked-fmnist")(DataConfig(name="stacked-fmnist"))
    assert len(ds) == 25600 and ds.num_classes == NUM_MODES and ds.sample_shape == (3, 28, 28)
    classes = decode_modes(ds.labels)
    assert len(ds.labels.unique()) == NUM_MODES  # every one of the 1000 modes is present
    # each channel is the base image its triple names, and its class is that image's label
    x, y = next(ds.iter_uint8(64))
    for j in range(3):
        assert torch.equal(x[:, j], fmnist.images[ds.triples[:64, j], 0])
        assert torch.equal(classes[:64, j], fmnist.labels[ds.triples[:64, j]])
    assert torch.equal(y, ds.labels[:64])
    # channels drawn independently: distinct images, and class pairs fill a 10×10 table evenly
    assert (ds.triples[:, 0] == ds.triples[:, 1]).sum() <= 3
    for a, b in ((0, 1), (1, 2), (0, 2)):
        table = torch.bincount(classes[:, a] * 10 + classes[:, b], minlength=100).double()
        chi2 = ((table - 256) ** 2 / 256).sum().item()
        assert chi2 < 150, chi2  # 99 dof: mean 99, sd 14
    # fixed by stack_seed, not by the training seed; test split stacks test images
    again = DATASETS.get("stacked-fmnist")(DataConfig(name="stacked-fmnist"))
    assert torch.equal(again.triples, ds.triples)
    other = DATASETS.get("stacked-fmnist")(
        DataConfig(name="stacked-fmnist", params={"stack_seed": 1, "size": 100})
    )
    assert len(other) == 100 and not torch.equal(other.triples, ds.triples[:100])
    xt, _ = next(ds.iter_uint8(8, split="test"))
    assert xt.shape == (8, 3, 28, 28)


@needs_fmnist
def test_stacked_fmnist_rejects_one_channel():
    with pytest.raises(ConfigError, match="data.channels must be 3"):
        DATASETS.get("stacked-fmnist")(DataConfig(name="stacked-fmnist", channels=1))


# --- CLI -------------------------------------------------------------------------------------------
def test_cli_lists_and_shows(tmp_path, capsys):
    from ganbench.cli import main

    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    for name in (
        "mnist",
        "fashion-mnist",
        "cifar10",
        "cifar100",
        "stl10",
        "celeba",
        "imagefolder",
        "stacked-fmnist",
    ):
        assert name in listing
    for i in range(5):
        save(tmp_path / "imgs" / f"{i}.png", 50 * i)
    out = tmp_path / "grid.png"
    args = ["datasets", "show", "imagefolder", "--root", str(tmp_path / "imgs"), "-n", "4", "--out", str(out)]
    assert main([*args, "--param", "num_workers=0"]) == 0
    assert PIL.Image.open(out).size == (2 + 2 * 12, 2 + 2 * 12)  # 2×2 grid of 10 px images, 2 px padding
    assert main(["datasets", "show", "cifar10", "--root", str(tmp_path)]) == 2
    assert "data.params.download: true" in capsys.readouterr().err


def test_listing_reports_presence_under_a_root(tmp_path):
    from ganbench.commands.datasets import list_datasets

    rows = {r["name"]: r for r in list_datasets(str(tmp_path))}
    assert rows["cifar10"]["present"] == "no" and rows["cifar10"]["classes"] == 10
    assert rows["imagefolder"]["present"] == "no"  # the empty tmp folder holds no images
    assert rows["ring8"]["kind"] == "points" and rows["ring8"]["classes"] == 8
