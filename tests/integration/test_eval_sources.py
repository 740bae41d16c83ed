"""``ganbench eval`` on every source kind against real Fashion-MNIST with the shipped classifier.

The reference is the first 3000 train images (cached once per test cache); the "generated" sets are
real test images (small FID), noise (large FID), real images with true vs shuffled labels (small
vs large intra-FID), and generators built from those. Small n keeps each call to seconds.
"""

import math
import textwrap

import numpy as np
import PIL.Image
import pytest
import torch
from torch import nn

from ganbench.cli import main
from ganbench.config import DataConfig
from ganbench.io import read_json
from ganbench.registries import DATASETS, load_all

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

N_REAL = 3000
N_FAKE = 1000
REF = ["--reference", "fashion-mnist", "--split", "train", "--n-real", str(N_REAL)]


def ev(out_dir, source, *args, ref=REF):
    """Run ``ganbench eval`` and return its result record."""
    out = out_dir / f"result-{len(list(out_dir.glob('result-*.json')))}.json"
    argv = ["eval", str(source), *ref, "--no-progress", "--batch-size", "500", "--out", str(out), *args]
    assert main(argv) == 0, argv
    return read_json(out)


def ev_error(capsys, source, *args, ref=REF):
    """Run ``ganbench eval`` expecting a user error (exit 2); return the message."""
    capsys.readouterr()
    assert main(["eval", str(source), *ref, "--no-progress", *args]) == 2
    return capsys.readouterr().err


@pytest.fixture(scope="module")
def fm_test():
    data = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test"))
    return data.images, data.labels  # uint8 10000×1×28×28, int64


@pytest.fixture(scope="module")
def files(tmp_path_factory, fm_test):
    """The sources on disk: the first 1000 test images as npz (+labels), NHWC float npy, PNG folder;
    shuffled labels; noise."""
    d = tmp_path_factory.mktemp("eval_sources")
    x, y = fm_test[0][:N_FAKE].numpy(), fm_test[1][:N_FAKE].numpy()
    np.savez(d / "real.npz", images=x, labels=y)
    shuffled = np.random.default_rng(0).permutation(y)
    np.savez(d / "shuffled.npz", images=x, labels=shuffled)
    np.save(d / "real_nhwc_float.npy", x.transpose(0, 2, 3, 1).astype(np.float32) / 255.0)
    np.save(d / "noise.npy", np.random.default_rng(1).integers(0, 256, x.shape, dtype=np.uint8))
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        (d / "folder" / str(label)).mkdir(parents=True, exist_ok=True)
        PIL.Image.fromarray(img[0]).save(d / "folder" / str(label) / f"{i:05d}.png")
    return d


# --- sanity of the numbers and of the record -------------------------------------------------


def test_real_images_score_well_and_noise_badly(files, tmp_path):
    from ganbench.evaluation.extractors.fmnist_classifier import ASSET_SHA256

    real = ev(tmp_path, files / "real.npz", "--metrics", "fid", "kid", "is", "prdc")
    noise = ev(tmp_path, files / "noise.npy", "--metrics", "fid", "kid", "is", "prdc")
    m, z = real["metrics"], noise["metrics"]
    assert m["fid"] * 50 < z["fid"], (m["fid"], z["fid"])
    assert abs(m["kid"]) < 0.02 < z["kid"]
    assert m["is"] > 5 > z["is"] >= 1  # 10 balanced classes, confidently classified
    assert m["precision"] > 0.6 and m["recall"] > 0.6 and m["coverage"] > 0.6
    # Noise falls into two classes (Shirt, Bag) whose real k-NN balls include outliers with large
    # radii, so its *precision* is high (~0.64): the outlier sensitivity of P/R that density and
    # coverage were designed against (Naeem et al. 2020). Recall, coverage and density expose it.
    assert z["recall"] < 0.05 and z["coverage"] < 0.05 and z["density"] < m["density"] / 2
    prov = real["provenance"]
    assert prov["extractor"]["extractor"] == "fmnist-classifier"
    assert prov["extractor"]["weights_hash"] == ASSET_SHA256
    assert prov["reference"]["dataset"] == "fashion-mnist" and prov["reference"]["split"] == "train"
    assert prov["reference"]["n_real"] == N_REAL and len(prov["reference"]["stats_sha256"]) == 64
    assert prov["n_fake"] == N_FAKE and prov["eval_seed"] == 2024
    assert prov["source"]["kind"] == "array" and prov["source"]["has_labels"]
    assert "torch" in prov["versions"] and real["compute"]["device"] == "cpu"


def test_float_nhwc_folder_and_uint8_nchw_give_the_same_numbers(files, tmp_path):
    ref = ev(tmp_path, files / "real.npz", "--metrics", "fid", "is")["metrics"]
    flt = ev(tmp_path, files / "real_nhwc_float.npy", "--range=0,1", "--metrics", "fid", "is")
    assert flt["provenance"]["source"]["layout"] == "nhwc"
    assert flt["metrics"] == ref  # exact: u/255 quantises back to u, same seeded order
    folder = ev(tmp_path, files / "folder", "--metrics", "fid")
    assert folder["provenance"]["source"]["kind"] == "folder"
    assert folder["metrics"]["fid"] == pytest.approx(ref["fid"], rel=1e-6)  # same set, another order


def test_intra_fid_true_labels_beat_shuffled_labels(files, tmp_path):
    true = ev(tmp_path, files / "real.npz", "--metrics", "intra_fid")["metrics"]
    shuffled = ev(tmp_path, files / "shuffled.npz", "--metrics", "intra_fid")["metrics"]
    assert true["intra_fid"] * 5 < shuffled["intra_fid"], (true["intra_fid"], shuffled["intra_fid"])
    per_class = [true[f"intra_fid_class_{c}"] for c in range(10)]
    assert true["intra_fid"] == pytest.approx(np.mean(per_class))
    folder = ev(tmp_path, files / "folder", "--metrics", "intra_fid")["metrics"]
    assert folder["intra_fid"] == pytest.approx(true["intra_fid"], rel=1e-6)


# --- generators ------------------------------------------------------------------------------


class BankG(nn.Module):
    """A "generator" that returns stored images picked by the latent (per class when conditional,
    shifted by ``offset`` classes to make a wrong-class generator)."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, conditional: bool = False, offset: int = 0
    ):
        super().__init__()
        self.z_dim = 8
        per = int(torch.bincount(labels).min())
        bank = torch.stack([images[labels == c][:per] for c in range(10)])  # 10×per×1×28×28
        self.register_buffer("bank", bank.float() / 127.5 - 1)
        self.per = per
        self.offset = offset
        self.conditional = conditional

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        idx = (z[:, 0].abs() * 1e6).long() % (self.per * 10)
        if y is None or not self.conditional:
            return self.bank.flatten(0, 1)[idx]
        return self.bank[(y + self.offset) % 10, idx % self.per]


def test_torchscript_generators(files, fm_test, tmp_path):
    images, labels = fm_test[0][N_FAKE:3000], fm_test[1][N_FAKE:3000]
    noise = ev(tmp_path, files / "noise.npy", "--metrics", "fid")["metrics"]["fid"]
    torch.jit.script(BankG(images, labels)).save(str(tmp_path / "g.pt"))
    res = ev(tmp_path, tmp_path / "g.pt", "--metrics", "fid", "--n", "1500")
    assert res["provenance"]["source"]["kind"] == "torchscript" and res["provenance"]["n_fake"] == 1500
    assert res["metrics"]["fid"] * 50 < noise
    for offset in (0, 3):
        torch.jit.script(BankG(images, labels, True, offset)).save(str(tmp_path / f"c{offset}.pt"))
    good = ev(
        tmp_path, tmp_path / "c0.pt", "--num-classes", "10", "--metrics", "intra_fid", "fid", "--n", "1000"
    )
    wrong = ev(
        tmp_path, tmp_path / "c3.pt", "--num-classes", "10", "--metrics", "intra_fid", "fid", "--n", "1000"
    )
    # as many fakes per class as reals of that class in the reference split
    assert good["provenance"]["n_fake_labelled"] == N_REAL and good["provenance"]["n_fake"] == 1000
    assert good["metrics"]["intra_fid"] * 5 < wrong["metrics"]["intra_fid"]
    # uniform labels: the class-shifted generator has the same marginal, so the same-order FID
    assert wrong["metrics"]["fid"] < 5 * good["metrics"]["fid"] + 1


def test_callable_sources(files, fm_test, tmp_path, monkeypatch):
    (tmp_path / "noisegen.py").write_text(
        textwrap.dedent(
            """
            import torch

            class Noise(torch.nn.Module):
                z_dim = 16

                def forward(self, z):
                    g = torch.Generator().manual_seed(int(z[0, 0].abs() * 1e6))
                    return torch.rand(len(z), 1, 28, 28, generator=g) * 2 - 1

            def make():
                return Noise()
            """
        )
    )
    noise = ev(tmp_path, f"{tmp_path / 'noisegen.py'}:make", "--metrics", "fid", "--n", "500")
    assert noise["provenance"]["source"]["kind"] == "callable" and noise["metrics"]["fid"] > 1
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    torch.save(fm_test[0][N_FAKE:3000].clone(), pkg / "bank.pt")
    (pkg / "gen.py").write_text(
        textwrap.dedent(
            """
            import pathlib, torch

            class Bank(torch.nn.Module):
                def __init__(self, images):
                    super().__init__()
                    self.register_buffer("images", images.float() / 127.5 - 1)

                def forward(self, z):
                    return self.images[(z[:, 0].abs() * 1e6).long() % len(self.images)]

            def load():
                return Bank(torch.load(pathlib.Path(__file__).with_name("bank.pt"), weights_only=True))
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = ev(tmp_path, "mypkg.gen:load", "--metrics", "fid", "--n", "500", "--z-dim", "8")
    assert real["metrics"]["fid"] * 50 < noise["metrics"]["fid"]


# --- a ganbench run folder -------------------------------------------------------------------


def test_run_folder_reproduces_the_recorded_evaluation(tmp_path):
    from ganbench.config import EvalConfig, ModelConfig, RunConfig, TrainConfig
    from ganbench.training.trainer import Trainer

    cfg = RunConfig(
        seed=0,
        data=DataConfig(name="fashion-mnist", split="train"),
        model=ModelConfig(name="dcgan", z_dim=16, g={"ch": 4}, d={"ch": 4}),
        train=TrainConfig(steps=4, batch_size=16, log_every=2, checkpoint_every=0, ema_decay=0.5),
        eval=EvalConfig(n_samples=500, metrics=["fid", "kid"], n_real=N_REAL),
    ).validate("test")
    run_dir = tmp_path / "run"
    record = Trainer(cfg, run_dir, progress=False).run()
    assert record["status"] == "finished"
    assert "_provenance" not in record["metrics"]
    evaluation = record["provenance"]["evaluation"]
    assert evaluation["extractor"]["extractor"] == "fmnist-classifier" and evaluation["n_fake"] == 500
    assert evaluation["reference"]["n_real"] == N_REAL and evaluation["source"]["conditional"] is False
    # no options: the run's own dataset and its recipe's eval settings -> exactly the recorded numbers
    again = ev(tmp_path, run_dir, ref=[])
    assert {k: again["metrics"][k] for k in ("fid", "kid", "kid_std")} == {
        k: record["metrics"][k] for k in ("fid", "kid", "kid_std")
    }
    assert again["config"]["n"] == 500 and again["config"]["seed"] == cfg.eval.seed == 2024
    src = again["provenance"]["source"]
    assert src["kind"] == "run" and src["checkpoint"] == "last.pt" and src["weights"] == "ema"
    assert src["run_id"] == record["run_id"] and src["step"] == 4
    raw = ev(tmp_path, run_dir, "--no-ema", "--metrics", "fid", "--seed", "5", ref=[])
    assert raw["provenance"]["source"]["weights"] == "G" and raw["metrics"]["fid"] != record["metrics"]["fid"]
    assert raw["config"]["seed"] == 5 and raw["provenance"]["reference"]["n_real"] == N_REAL


# --- stacked mode coverage -------------------------------------------------------------------


def test_stacked_mode_coverage(tmp_path):
    data = DATASETS.get("stacked-fmnist")(DataConfig(name="stacked-fmnist", split="test"))
    x, y = next(data.iter_uint8(N_FAKE))
    np.savez(tmp_path / "stacked.npz", images=x.numpy(), labels=y.numpy())
    np.save(tmp_path / "collapsed.npy", x[:1].expand(N_FAKE, -1, -1, -1).numpy())
    ref = ["--reference", "stacked-fmnist", "--split", "test"]
    real = ev(tmp_path, tmp_path / "stacked.npz", "--metrics", "stacked_modes", ref=ref)
    m = real["metrics"]
    # 1000 samples from ~uniform modes: about 1000·(1 − e⁻¹) ≈ 632 distinct ones
    assert 550 < m["stacked_modes"] <= 700 and m["stacked_samples"] == N_FAKE
    assert real["provenance"]["extractor"]["mode"] == "gray28+per-channel"
    collapsed = ev(tmp_path, tmp_path / "collapsed.npy", "--metrics", "stacked_modes", ref=ref)["metrics"]
    assert collapsed["stacked_modes"] == 1 and collapsed["stacked_kl"] == pytest.approx(math.log(1000))


# --- bad input -------------------------------------------------------------------------------


def test_bad_inputs_name_the_source_and_what_was_expected(files, tmp_path, capsys):
    x = np.load(files / "real.npz")["images"]
    np.save(tmp_path / "float.npy", x.astype(np.float32))
    assert "declare its value range with --range=-1,1" in ev_error(capsys, tmp_path / "float.npy")
    err = ev_error(capsys, tmp_path / "float.npy", "--range=-1,1")
    assert "float.npy" in err and "values span [0, 255] but the declared range is [-1, 1]" in err
    bad = x.astype(np.float32) / 127.5 - 1
    bad[7, 0, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    assert "contains NaN or inf" in ev_error(
        capsys, tmp_path / "nan.npy", "--range=-1,1", "--batch-size", "2000"
    )
    np.save(tmp_path / "big.npy", np.zeros((10, 1, 32, 32), np.uint8))
    assert "32×32 but the reference images are 28×28" in ev_error(capsys, tmp_path / "big.npy")
    np.save(tmp_path / "five.npy", np.zeros((10, 5, 28, 28), np.uint8))
    assert "shape (10, 5, 28, 28); expected N×C×H×W" in ev_error(capsys, tmp_path / "five.npy")
    assert "needs at least 2 generated samples, got n=1" in ev_error(capsys, files / "real.npz", "--n", "1")
    assert "'prdc' needs at least 6" in ev_error(capsys, files / "real.npz", "--n", "5", "--metrics", "prdc")
    assert "holds 1000 images, 2000 were asked for" in ev_error(capsys, files / "real.npz", "--n", "2000")
    err = ev_error(capsys, files / "noise.npy", "--metrics", "intra_fid")
    assert "needs labelled samples" in err and "noise.npy" in err
    (tmp_path / "wrong.py").write_text(
        "import torch\ndef make():\n    return lambda z: torch.zeros(len(z), 28, 28)\n"
    )
    err = ev_error(capsys, f"{tmp_path / 'wrong.py'}:make", "--z-dim", "4")
    assert "wrong.py:make: the generator returned shape (250, 28, 28); expected a float tensor" in err
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        PIL.Image.fromarray(x[i, 0]).save(folder / f"{i}.png")
    (folder / "3.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    assert "3.png: cannot read this image" in ev_error(capsys, folder)
    assert "unknown metric 'fidd'; valid choices" in ev_error(capsys, files / "real.npz", "--metrics", "fidd")
    err = ev_error(capsys, files / "real.npz", "--mode", "clean")
    assert "--mode does not apply to extractor 'fmnist-classifier'; its options: --weights" in err
    err = ev_error(capsys, files / "real.npz", "--extractor", "identity", "--metrics", "is")
    assert "metric 'is' needs logits; extractor 'identity' gives features only" in err
    assert "reference dataset is required (--reference" in ev_error(capsys, files / "real.npz", ref=[])
    err = ev_error(capsys, files / "real.npz", "--layout", "nchw", "--num-classes", "3")
    assert "--num-classes does not apply to the array source; its options: --range, --key" in err
    assert "its options: --range, --key, --labels-key, --layout" in err
