"""Translation datasets: the Fashion-MNIST tasks, the two folder layouts, their streams and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from ganbench.config import DataConfig
from ganbench.data.fmnist_translation import (
    ClassToClass,
    EdgesToGarment,
    InpaintGarment,
    SneakerToBoot,
    SuperResolveGarment,
    TShirtToShirt,
)
from ganbench.data.translation import Domain, TranslationSource, UnpairedTranslationSource
from ganbench.data.translation_folders import AlignedFolder, UnalignedFolder
from ganbench.errors import ConfigError
from ganbench.registries import DATASETS, load_all


def _domain(n: int, seed: int, labels: bool = False) -> Domain:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    return Domain(x, torch.arange(n) % 3 if labels else None)


def _paired(n: int = 10) -> TranslationSource:
    a = _domain(n, 0)
    b = Domain(255 - a.images)  # B is a function of A: pairs are checkable
    return TranslationSource(a, b, name="t", split="train", splits=("train",))


# --- the source ----------------------------------------------------------------------------------
def test_a_paired_stream_keeps_the_pairs_and_resumes_exactly() -> None:
    ds = _paired()
    batches = ds.stream(4, seed=3)
    first = [next(batches) for _ in range(5)]
    for xa, xb in first:
        assert torch.allclose(xb, -xa, atol=1e-6)  # 255 − u in [-1, 1] is −x
    resumed = ds.stream(4, seed=3, start=2)
    for xa, xb in first[2:]:
        ra, rb = next(resumed)
        assert torch.equal(ra, xa) and torch.equal(rb, xb)


def test_an_unpaired_stream_draws_the_domains_independently() -> None:
    a, b = _domain(12, 0), _domain(12, 1)
    ds = UnpairedTranslationSource(a, Domain(a.images.clone()), name="u", split="train", splits=("train",))
    xa, xb = next(ds.stream(12, seed=0))
    assert not torch.equal(xa, xb)  # the same images, in two different orders
    assert sorted(xa.flatten(1).sum(1).tolist()) == pytest.approx(sorted(xb.flatten(1).sum(1).tolist()))
    again = next(ds.stream(12, seed=0))
    assert torch.equal(again[0], xa) and torch.equal(again[1], xb)
    assert b is not None


def test_paired_domains_must_match_in_count_and_size() -> None:
    with pytest.raises(ConfigError, match="as many A as B images, got 4 and 3"):
        TranslationSource(_domain(4, 0), _domain(3, 1), name="t", split="train", splits=("train",))
    small = Domain(torch.zeros(4, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="domains A and B differ in size"):
        TranslationSource(_domain(4, 0), small, name="t", split="train", splits=("train",))


def test_target_labels_are_the_ground_truth_class_or_the_target_class() -> None:
    a, b = _domain(6, 0), _domain(6, 1, labels=True)
    paired = TranslationSource(a, b, name="t", split="train", splits=("train",))
    assert paired.target_labels().tolist() == [0, 1, 2, 0, 1, 2]
    unpaired = UnpairedTranslationSource(a, b, name="u", split="train", splits=("train",), target_class=9)
    assert unpaired.target_labels().tolist() == [9] * 6
    assert (
        TranslationSource(a, Domain(b.images), name="t", split="train", splits=("train",)).target_labels()
        is None
    )


# --- Fashion-MNIST tasks -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def garments() -> tuple[torch.Tensor, torch.Tensor]:
    from ganbench.data.fashion_mnist_files import fashion_mnist_arrays

    return fashion_mnist_arrays("test")


def test_every_task_is_registered() -> None:
    load_all()
    for name in (
        "fmnist-edges2garment", "fmnist-inpaint", "fmnist-superres", "fmnist-class2class",
        "fmnist-sneaker2boot", "fmnist-tshirt2shirt", "translation-aligned", "translation-unaligned",
    ):  # fmt: skip
        assert DATASETS.get(name).kind == "translation"


def test_edges_are_binary_canny_edges_of_the_garment(garments) -> None:
    b = garments[0][:64].unsqueeze(1)
    edges = EdgesToGarment.canny_edges(b, 0.1, 0.2)
    assert set(edges.unique().tolist()) <= {0, 255}
    on = edges > 0
    assert 0.05 < on.float().mean() < 0.4  # outlines, not the whole garment nor nothing
    # edges lie where the intensity changes: the 3×3 range of the image is far larger on them
    x = b.float()
    local_range = torch.nn.functional.max_pool2d(x, 3, 1, 1) + torch.nn.functional.max_pool2d(-x, 3, 1, 1)
    assert local_range[on].mean() > 3 * local_range[~on].mean()


def test_inpaint_hides_a_grey_square_and_keeps_the_rest(garments) -> None:
    b = garments[0][:32].unsqueeze(1)
    a = InpaintGarment.make_input(b, "test", mask_size=10, mask_position="random")
    hole = a != b
    grey = a == 128
    assert (hole <= grey).all()  # every changed pixel is grey
    assert (grey.flatten(1).sum(1) >= 100).all()  # a 10×10 grey square in each image
    again = InpaintGarment.make_input(b, "test", mask_size=10, mask_position="random")
    assert torch.equal(a, again)  # fixed per split, whatever the run
    centre = InpaintGarment.make_input(b, "test", mask_size=10, mask_position="centre")
    assert (centre[:, :, 9:19, 9:19] == 128).all() and torch.equal(centre[:, :, :9], b[:, :, :9])


def test_superres_input_is_the_pooled_garment_on_the_full_grid(garments) -> None:
    b = garments[0][:8].unsqueeze(1)
    a = SuperResolveGarment.make_input(b, "test", factor=2)
    assert a.shape == b.shape
    assert torch.equal(a[..., ::2, ::2], a[..., 1::2, 1::2])  # 2×2 blocks of one value
    block = b[0, 0, :2, 10:12].float().mean().round()
    assert a[0, 0, 0, 10] == block


def test_class_to_class_tasks_hold_one_class_per_domain() -> None:
    ds = SneakerToBoot(DataConfig(name="fmnist-sneaker2boot", split="test"))
    assert ds.a.labels.unique().tolist() == [7] and ds.b.labels.unique().tolist() == [9]
    assert len(ds.a) == len(ds.b) == 1000 and not ds.paired
    assert ds.target_labels().unique().tolist() == [9]
    shirts = TShirtToShirt(DataConfig(name="fmnist-tshirt2shirt", split="test"))
    assert shirts.describe()["a_class"] == "T-shirt/top" and shirts.describe()["b_class"] == "Shirt"


def test_task_parameters_are_checked_with_the_key_named() -> None:
    with pytest.raises(ConfigError, match="a_class and b_class are both 3"):
        ClassToClass.check_params({"a_class": 3, "b_class": 3})
    with pytest.raises(ConfigError, match=r"data.params.b_class must be in 0..9, got 12"):
        ClassToClass.check_params({"b_class": 12})
    with pytest.raises(ConfigError, match="mask_size must be in 1..27"):
        InpaintGarment.check_inputs(28, {"mask_size": 30, "mask_position": "random"})
    with pytest.raises(ConfigError, match="mask_position 'middle'; valid choices: random, centre"):
        InpaintGarment.check_inputs(28, {"mask_size": 8, "mask_position": "middle"})
    with pytest.raises(ConfigError, match="factor must be >= 2 and divide the resolution 28, got 3"):
        SuperResolveGarment.check_inputs(28, {"factor": 3})
    with pytest.raises(ConfigError, match="unknown"):
        SneakerToBoot.check_params({"a_class": 1})  # the named tasks take no classes


# --- folders -------------------------------------------------------------------------------------
def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(array).save(path)


def test_an_aligned_folder_splits_each_file_into_a_and_b(tmp_path: Path) -> None:
    for i in range(3):
        left = np.full((16, 16, 3), 10 * i, np.uint8)
        right = np.full((16, 16, 3), 200 + i, np.uint8)
        _save(tmp_path / "train" / f"{i}.png", np.concatenate([left, right], axis=1))
    _save(tmp_path / "val" / "0.png", np.zeros((16, 32, 3), np.uint8))
    ds = AlignedFolder(DataConfig(name="translation-aligned", root=str(tmp_path)))
    assert ds.a.images.shape == (3, 3, 16, 16) and ds.splits == ("train", "val")
    assert ds.a.images[:, 0, 0, 0].tolist() == [0, 10, 20] and ds.b.images[:, 0, 0, 0].tolist() == [
        200,
        201,
        202,
    ]
    swapped = AlignedFolder(
        DataConfig(name="translation-aligned", root=str(tmp_path), params={"direction": "BtoA"})
    )
    assert torch.equal(swapped.a.images, ds.b.images)
    assert len(ds.domain("A", split="val")) == 1
    small = AlignedFolder(DataConfig(name="translation-aligned", root=str(tmp_path), resolution=8))
    assert small.b.images.shape == (3, 3, 8, 8)


def test_an_aligned_file_that_is_not_twice_as_wide_is_named(tmp_path: Path) -> None:
    _save(tmp_path / "train" / "ok.png", np.zeros((16, 32), np.uint8))
    _save(tmp_path / "train" / "square.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(ConfigError, match=r"square.png: an aligned translation image must be twice as wide"):
        AlignedFolder(DataConfig(name="translation-aligned", root=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"data.split 'test': .* has no test/ folder; found: train"):
        AlignedFolder(DataConfig(name="translation-aligned", root=str(tmp_path), split="test"))
    with pytest.raises(ConfigError, match="needs data.root"):
        AlignedFolder(DataConfig(name="translation-aligned"))


def test_an_unaligned_folder_reads_both_domains(tmp_path: Path) -> None:
    for d, n in (("trainA", 3), ("trainB", 5), ("testA", 1), ("testB", 1)):
        for i in range(n):
            _save(tmp_path / d / f"{i}.png", np.full((12, 12), 40 * i, np.uint8))
    ds = UnalignedFolder(DataConfig(name="translation-unaligned", root=str(tmp_path)))
    assert (len(ds.a), len(ds.b)) == (3, 5) and ds.splits == ("test", "train") and not ds.paired
    xa, xb = next(ds.stream(3, seed=0))
    assert xa.shape == xb.shape == (3, 1, 12, 12)


def test_an_unaligned_folder_without_train_b_says_what_is_missing(tmp_path: Path) -> None:
    _save(tmp_path / "trainA" / "0.png", np.zeros((8, 8), np.uint8))
    _save(tmp_path / "testB" / "0.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ConfigError, match=r"missing trainB/ for data.split 'train'; found: testB, trainA"):
        UnalignedFolder(DataConfig(name="translation-unaligned", root=str(tmp_path)))
