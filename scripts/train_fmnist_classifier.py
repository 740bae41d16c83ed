"""Train the ganbench Fashion-MNIST classifier from a recipe (deterministic on CPU for a given seed,
thread count and torch build).

    python scripts/train_fmnist_classifier.py --recipe recipes/extractors/fmnist_classifier.yaml

Trains on the full train split (no model selection, so the test split is only ever used for the one
reported accuracy), writes the state dict atomically (``--out``, default ``fmnist_classifier.pt`` here),
and writes ``<out>.json`` beside it with the test accuracy, the sha256 of the weights, the recipe, the
wall time and library versions. It says whether the weights equal the shipped
``ganbench/assets/fmnist_classifier.pt``; to replace the shipped classifier, copy both files there and
update ``ASSET_SHA256`` in ``ganbench/evaluation/extractors/fmnist_classifier.py``.

A development script, not part of the installed package: it runs from a checkout, with ganbench
installed (``pip install -e .``).
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ganbench import __version__
from ganbench.data.fashion_mnist_files import fashion_mnist_arrays
from ganbench.evaluation.extractors.fmnist_classifier import ASSET_SHA256, FMNISTNet, normalize
from ganbench.evaluation.weights import file_sha256
from ganbench.io import torch_save_atomic, write_json_atomic
from ganbench.schema import from_dict, load_yaml

REPRODUCE = "python scripts/train_fmnist_classifier.py --recipe recipes/extractors/fmnist_classifier.yaml"


@dataclass
class ClassifierRecipe:
    seed: int = 0
    epochs: int = 6
    batch_size: int = 128
    lr: float = 3e-3  # peak of the one-cycle schedule (AdamW)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    hflip: bool = True  # random horizontal flips (clothes are left-right symmetric)
    shift: int = 0  # random integer translations of up to this many pixels (0 = off)
    threads: int = 2  # torch intra-op threads: part of the recipe, reductions depend on it


def augment(x: torch.Tensor, recipe: ClassifierRecipe, gen: torch.Generator) -> torch.Tensor:
    """Random flips and integer shifts (zero fill) of a float batch N×1×28×28, drawn from ``gen``."""
    n = len(x)
    if recipe.hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
    if recipe.shift > 0:
        d = torch.randint(-recipe.shift, recipe.shift + 1, (n, 2), generator=gen).float()
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        theta[:, :, 2] = -2 * d / 28  # whole-pixel translation in normalised coordinates
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1
    return x


@torch.no_grad()
def accuracy(net: FMNISTNet, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    net.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        _, logits = net(normalize(images[i : i + batch_size, None]))
        correct += int((logits.argmax(1) == labels[i : i + batch_size]).sum())
    return correct / len(images)


def train(recipe: ClassifierRecipe, root: str | None = None, log=print) -> tuple[FMNISTNet, dict]:
    """Train by ``recipe`` → (the network in eval mode, metadata with the test accuracy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        return _train(recipe, root, log)
    finally:
        torch.set_num_threads(threads)


def _train(recipe: ClassifierRecipe, root: str | None, log) -> tuple[FMNISTNet, dict]:
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    x_train, y_train = fashion_mnist_arrays("train", root)
    x_test, y_test = fashion_mnist_arrays("test", root)
    net = FMNISTNet()
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / recipe.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=recipe.epochs * steps_per_epoch)
    start = time.time()
    history = []
    for epoch in range(recipe.epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=gen)
        total_loss, correct = 0.0, 0
        for i in range(0, len(order), recipe.batch_size):
            idx = order[i : i + recipe.batch_size]
            x = augment(normalize(x_train[idx, None]), recipe, gen)
            _, logits = net(x)
            loss = F.cross_entropy(logits, y_train[idx], label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y_train[idx]).sum())
        row = {
            "epoch": epoch + 1,
            "train_loss": total_loss / len(order),
            "train_accuracy": correct / len(order),
            "elapsed_s": time.time() - start,
        }
        history.append(row)
        log(
            f"epoch {row['epoch']}: loss {row['train_loss']:.4f}, train acc {row['train_accuracy']:.4f}, "
            f"{row['elapsed_s']:.0f} s"
        )
    train_time = time.time() - start
    test_acc = accuracy(net, x_test, y_test)
    log(f"test accuracy {test_acc:.4f} ({train_time:.0f} s training)")
    meta = {
        "test_accuracy": test_acc,
        "reproduce": REPRODUCE,
        "train_time_s": train_time,
        "history": history,
        "recipe": asdict(recipe),
        "versions": {
            "ganbench": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    return net.eval(), meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", required=True, help="YAML recipe (recipes/extractors/fmnist_classifier.yaml)")
    p.add_argument(
        "--out",
        default="fmnist_classifier.pt",
        help="where to write the state dict (.pt; default: fmnist_classifier.pt here); metadata: .json",
    )
    p.add_argument("--root", default=None, help="Fashion-MNIST root (default: ganbench's lookup)")
    args = p.parse_args(argv)
    recipe = from_dict(ClassifierRecipe, load_yaml(args.recipe), f"{args.recipe}:")
    net, meta = train(recipe, args.root)
    out = Path(args.out)
    torch_save_atomic(out, net.state_dict())
    meta["sha256"] = file_sha256(out)
    write_json_atomic(out.with_suffix(".json"), meta)
    print(f"wrote {out} (sha256 {meta['sha256']}) and {out.with_suffix('.json')}")
    same = meta["sha256"] == ASSET_SHA256
    print(
        "the weights equal the shipped classifier's"
        if same
        else "the weights differ from the shipped classifier's"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
