"""Train the ganbench self-supervised Fashion-MNIST encoder (SimCLR) from a recipe (deterministic on
CPU for a given seed, thread count and torch build).

    python scripts/train_fmnist_simclr.py --recipe recipes/extractors/fmnist_simclr.yaml

SimCLR (Chen et al. 2020): each training image gives two views by random augmentation; an encoder
f and a projection head g map them to z = g(f(x)); the NT-Xent loss (softmax cross-entropy over
cosine similarities / temperature) pulls the two views of an image together and pushes the other
2N − 2 views of the batch away. The head is dropped: f's 128-d output is the feature.

Augmentations (torchvision.transforms.v2, drawn per image), chosen for 28×28 grayscale:
- RandomResizedCrop(28, scale=(crop_min, 1)): SimCLR's essential augmentation. The lower bound is
  0.25, not ImageNet's 0.08: an 8 % crop of a 28×28 garment is a 8×8 patch of cloth with nothing
  left to match;
- RandomHorizontalFlip: clothes are left-right symmetric (the classifier's recipe uses it too);
- ColorJitter(brightness, contrast) with probability p_jitter: the grey-level analogue of SimCLR's
  colour distortion, so the network cannot match views by their intensity histogram; hue and
  saturation do not exist in gray, and RandomGrayscale is a no-op;
- no Gaussian blur and no noise: SimCLR drops blur on small images (its CIFAR-10 setting), and an
  encoder made invariant to blur or noise could not see those defects in generated images, which
  is what ganbench's metric sanity suite checks it for.

Trains on the full train split; labels are read only after training, for the one reported number:
the k-nearest-neighbour accuracy on the test split (cosine similarity, k = 20, majority vote,
train-split features as the memory bank, scikit-learn). Writes the encoder's state dict atomically
(``--out``, default ``fmnist_simclr.pt`` here) and ``<out>.json`` beside it with that accuracy, the
sha256 of the weights, the recipe, the wall time, library versions, and the numbers of the short
schedule the tests re-run (``short_check``). It says whether the weights equal the shipped
``ganbench/assets/fmnist_simclr.pt``; to replace it, copy both files there and update
``ASSET_SHA256`` in ``ganbench/evaluation/extractors/fmnist_simclr.py``.

A development script, not part of the installed package: it runs from a checkout, with ganbench
installed (``pip install -e .``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from ganbench import __version__
from ganbench.data.fashion_mnist_files import fashion_mnist_arrays
from ganbench.evaluation.extractors.fmnist_classifier import normalize
from ganbench.evaluation.extractors.fmnist_simclr import ASSET_SHA256, ProjectionHead, SimCLREncoder
from ganbench.evaluation.weights import file_sha256
from ganbench.io import torch_save_atomic, write_json_atomic
from ganbench.schema import from_dict, load_yaml

REPRODUCE = "python scripts/train_fmnist_simclr.py --recipe recipes/extractors/fmnist_simclr.yaml"
KNN_K = 20


@dataclass
class SimCLRRecipe:
    seed: int = 0
    epochs: int = 8
    batch_size: int = 256  # N images, 2N views: 2N - 2 negatives per view
    lr: float = 2e-3  # peak of the one-cycle schedule (AdamW)
    weight_decay: float = 1e-4
    temperature: float = 0.5  # NT-Xent τ (SimCLR's CIFAR-10 value for batches of a few hundred)
    crop_min: float = 0.25  # RandomResizedCrop's smallest area fraction
    jitter: float = 0.4  # ColorJitter brightness and contrast strength
    p_jitter: float = 0.8
    train_subset: int | None = None  # first N training images (None = all 60 000; the tests' short run)
    test_subset: int | None = None  # first N test images for the kNN check (None = all 10 000)
    threads: int = 1  # torch intra-op threads: part of the recipe, reductions depend on it


# The short schedule the tests re-run in seconds (its numbers are recorded in the asset's json)
SHORT = {"epochs": 1, "train_subset": 2048, "test_subset": 1000}


def short_recipe(recipe: SimCLRRecipe) -> SimCLRRecipe:
    return replace(recipe, **SHORT)


def augmentation(recipe: SimCLRRecipe) -> v2.Compose:
    """One view of a uint8 1×28×28 image (see the module docstring for the choices)."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(28, scale=(recipe.crop_min, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomApply(
                [v2.ColorJitter(brightness=recipe.jitter, contrast=recipe.jitter)], p=recipe.p_jitter
            ),
        ]
    )


def views(images: torch.Tensor, transform: v2.Compose) -> torch.Tensor:
    """A random view of each uint8 image N×1×28×28, drawn per image (a v2 transform given a batch
    would draw one crop for all), normalised to [-1, 1]."""
    return normalize(torch.stack([transform(im) for im in images]))


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent loss for a batch of positive pairs (z1[i], z2[i]): for each of the 2N views,
    cross-entropy of its partner against the 2N − 1 others, by cosine similarity / τ. Written here:
    no maintained library in the environment ships it for plain tensors."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))  # a view is not its own negative
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


@torch.no_grad()
def encode(net: SimCLREncoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    net.eval()
    return torch.cat(
        [net(normalize(images[i : i + batch_size, None])) for i in range(0, len(images), batch_size)]
    )


def knn_accuracy(
    train_feats: torch.Tensor, train_labels: torch.Tensor, test_feats: torch.Tensor, test_labels: torch.Tensor
) -> float:
    """Test accuracy of a k-NN vote (cosine, k = KNN_K) over the training features (scikit-learn)."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=KNN_K, metric="cosine", algorithm="brute", n_jobs=1)
    knn.fit(train_feats.numpy(), train_labels.numpy())
    return float((knn.predict(test_feats.numpy()) == test_labels.numpy()).mean())


def train(recipe: SimCLRRecipe, root: str | None = None, log=print) -> tuple[SimCLREncoder, dict]:
    """Train by ``recipe`` → (the encoder in eval mode, metadata with the kNN test accuracy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        return _train(recipe, root, log)
    finally:
        torch.set_num_threads(threads)


def _train(recipe: SimCLRRecipe, root: str | None, log) -> tuple[SimCLREncoder, dict]:
    torch.manual_seed(recipe.seed)  # weights and the augmentations (torchvision draws from it)
    gen = torch.Generator().manual_seed(recipe.seed)  # the batch order
    x_train, y_train = fashion_mnist_arrays("train", root)
    x_test, y_test = fashion_mnist_arrays("test", root)
    if recipe.train_subset is not None:
        x_train, y_train = x_train[: recipe.train_subset], y_train[: recipe.train_subset]
    if recipe.test_subset is not None:
        x_test, y_test = x_test[: recipe.test_subset], y_test[: recipe.test_subset]
    net, head = SimCLREncoder(), ProjectionHead()
    params = [*net.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = len(x_train) // recipe.batch_size  # full batches: the loss's negatives fixed
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=recipe.epochs * steps_per_epoch)
    transform = augmentation(recipe)
    start = time.time()
    history = []
    for epoch in range(recipe.epochs):
        net.train()
        head.train()
        order = torch.randperm(len(x_train), generator=gen)
        total_loss = 0.0
        for step in range(steps_per_epoch):
            images = x_train[order[step * recipe.batch_size : (step + 1) * recipe.batch_size], None]
            z1, z2 = head(net(views(images, transform))), head(net(views(images, transform)))
            loss = nt_xent(z1, z2, recipe.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach())
        row = {
            "epoch": epoch + 1,
            "train_loss": total_loss / steps_per_epoch,
            "elapsed_s": time.time() - start,
        }
        history.append(row)
        log(f"epoch {row['epoch']}: NT-Xent {row['train_loss']:.4f}, {row['elapsed_s']:.0f} s")
    train_time = time.time() - start
    acc = knn_accuracy(encode(net, x_train), y_train, encode(net, x_test), y_test)
    log(f"kNN (k={KNN_K}, cosine) test accuracy {acc:.4f} ({train_time:.0f} s training)")
    meta = {
        "knn_accuracy": acc,
        "knn": f"k={KNN_K}, cosine, majority vote; train-split features as the memory bank",
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
    p.add_argument("--recipe", required=True, help="YAML recipe (recipes/extractors/fmnist_simclr.yaml)")
    p.add_argument(
        "--out",
        default="fmnist_simclr.pt",
        help="where to write the encoder's state dict (.pt; default: fmnist_simclr.pt here); metadata: .json",
    )
    p.add_argument("--root", default=None, help="Fashion-MNIST root (default: ganbench's lookup)")
    args = p.parse_args(argv)
    recipe = from_dict(SimCLRRecipe, load_yaml(args.recipe), f"{args.recipe}:")
    net, meta = train(recipe, args.root)
    _, short = train(short_recipe(recipe), args.root, log=lambda s: None)
    meta["short_check"] = {
        "overrides": SHORT,
        "train_loss": short["history"][-1]["train_loss"],
        "knn_accuracy": short["knn_accuracy"],
    }
    out = Path(args.out)
    torch_save_atomic(out, net.state_dict())
    meta["sha256"] = file_sha256(out)
    write_json_atomic(out.with_suffix(".json"), meta)
    print(f"wrote {out} (sha256 {meta['sha256']}) and {out.with_suffix('.json')}")
    same = meta["sha256"] == ASSET_SHA256
    print(
        "the weights equal the shipped encoder's" if same else "the weights differ from the shipped encoder's"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
