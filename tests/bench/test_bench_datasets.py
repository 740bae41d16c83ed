"""Image batch throughput: ganbench's in-memory stream vs the usual torch DataLoader over torchvision's
FashionMNIST with ToTensor-style transforms, in the same run. Target: ganbench ≥ 10× faster.

Both give shuffled batches of 64 float images in [-1, 1] at 28×28 (and 32×32 RGB, resized); the
DataLoader runs in the main process (num_workers=0), as a CPU trainer sharing two cores would.
"""

import itertools
import time

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from ganbench.config import DataConfig
from ganbench.data import fashion_mnist_files
from ganbench.data.vision import FashionMNIST

BATCHES = 100
BATCH = 64

pytestmark = pytest.mark.skipif(not FashionMNIST.present(), reason="Fashion-MNIST files not available")


def reference_loader(resolution: int, channels: int) -> DataLoader:
    steps = [v2.ToImage()]
    if resolution != 28:
        steps.append(v2.Resize(resolution, antialias=True))
    if channels == 3:
        steps.append(v2.RGB())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * channels, [0.5] * channels)]
    ds = fashion_mnist_files.fashion_mnist("train")
    ds.transform = v2.Compose(steps)
    return DataLoader(ds, batch_size=BATCH, shuffle=True, drop_last=True, num_workers=0)


def time_batches(it) -> float:
    t0 = time.perf_counter()
    for x, _ in itertools.islice(it, BATCHES):
        assert x.shape[0] == BATCH
    return time.perf_counter() - t0


@pytest.mark.parametrize("resolution, channels", [(28, 1), (32, 3)])
def test_stream_throughput_vs_dataloader(benchmark, resolution, channels):
    ours_ds = FashionMNIST(DataConfig(name="fashion-mnist", resolution=resolution, channels=channels))
    ref = reference_loader(resolution, channels)

    def both():
        return [(time_batches(iter(ref)), time_batches(ours_ds.stream(BATCH, seed=r))) for r in range(2)]

    pairs = benchmark.pedantic(both, rounds=1, iterations=1)
    base = min(p[0] for p in pairs)
    ours = min(p[1] for p in pairs)
    ratio = base / ours
    benchmark.extra_info.update(
        {
            "dataloader_batches_per_s": BATCHES / base,
            "ganbench_batches_per_s": BATCHES / ours,
            "speedup": ratio,
        }
    )
    print(
        f"\nDataLoader {BATCHES / base:.0f} batches/s, ganbench {BATCHES / ours:.0f} batches/s, ×{ratio:.1f}"
    )
    assert ratio >= 10, f"ganbench stream only {ratio:.1f}× faster than a DataLoader"
