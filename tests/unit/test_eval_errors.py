"""Issue 16, the ``ganbench eval`` cases: a contradicted value range, ``--out -``, a state dict or a
pickled checkpoint given as SOURCE, an .npz without ``images``, a refused run-folder checkpoint,
messages that name flags (CLI) or keyword arguments (Python), progress of the kNN stage, and folder
labels and hashes. CLI errors: exit 2, one line, no traceback, the file/flag and what to do."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import PIL.Image
import pytest
import torch
import yaml
from torch import nn

import ganbench
from ganbench.cli import main
from ganbench.config import DataConfig
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.sources import ArraySource, GeneratorSource, open_source
from ganbench.evaluation.sources.base import RANGE_CHECK_SAMPLES, RangeWarning
from ganbench.registries import DATASETS, SOURCES, load_all
from tests.helpers.cli import refused

load_all()
FMNIST = DATASETS.get("fashion-mnist").present()
needs_fmnist = pytest.mark.skipif(not FMNIST, reason="Fashion-MNIST files are not on this machine")
REF = ["--reference", "fashion-mnist", "--n-real", "200", "--no-progress"]


class Sigmoid(nn.Module):
    """A generator whose images are in [0, 1] (what the issue's user had)."""

    def __init__(self, shape=(1, 6, 6)) -> None:
        super().__init__()
        self.z_dim, self.shape = 4, shape
        self.lin = nn.Linear(4, int(np.prod(shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.lin(z)).reshape(len(z), *self.shape)


class Tanh(Sigmoid):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(z)).reshape(len(z), *self.shape)


def _drain(source, n: int, batch_size: int = 250) -> int:
    """Read ``n`` samples; return how many batches came before an error (or all of them)."""
    got = 0
    for _ in source.batches(n, batch_size, 0):
        got += 1
    return got


# --- 1. a value range the data contradicts ---------------------------------------------------


def test_zero_one_generator_under_the_default_range_is_refused_early():
    src = GeneratorSource(Sigmoid(), "sigmoid", value_range=None)  # the default, not declared
    batches = []
    with pytest.raises(SourceError) as e:
        for batch in src.batches(5000, 250, 0):
            batches.append(batch)
    msg = str(e.value)
    assert f"after {RANGE_CHECK_SAMPLES} samples every value lies in [0" in msg
    assert "range defaults to [-1, 1]" in msg and "value_range='0,1'" in msg
    assert len(batches) == RANGE_CHECK_SAMPLES // 250 - 1  # stopped at the 4th batch, not after 20
    # a smaller pass is judged at its end, over what it saw
    with pytest.raises(SourceError, match="after 20 samples"):
        _drain(GeneratorSource(Sigmoid(), "sigmoid", value_range=None), 20, 7)


def test_declared_ranges_the_data_contradicts_warn_and_are_recorded(tmp_path):
    src = GeneratorSource(Sigmoid(), "sigmoid", value_range="-1,1")  # declared: it may be right
    with pytest.warns(RangeWarning, match="range declared \\[-1, 1\\].*value_range='0,1'"):
        _drain(src, 1200)
    assert "value_range='0,1'" in src.describe()["range_warning"]
    x = np.random.default_rng(0).random((1500, 1, 6, 6)).astype(np.float32)  # [0, 1] images
    np.save(tmp_path / "zero_one.npy", x)
    for declared, likely in (("-1,1", "0,1"), ("0,255", "0,1")):
        arr = ArraySource(str(tmp_path / "zero_one.npy"), value_range=declared)
        with pytest.warns(RangeWarning, match=f"value_range='{likely}'"):
            _drain(arr, 1500)
        assert arr.describe()["range_warning"]
    np.save(tmp_path / "m11.npy", x * 2 - 1)  # [-1, 1] images declared as 0..255
    with pytest.warns(RangeWarning, match="value_range='-1,1'"):
        _drain(ArraySource(str(tmp_path / "m11.npy"), value_range="0,255"), 1500)


def test_legitimate_minus_one_one_data_is_left_alone(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RangeWarning)
        for declared in (None, "-1,1"):
            src = GeneratorSource(Tanh(), "tanh", value_range=declared)  # a real generator's last layer
            _drain(src, 3000)
            assert "range_warning" not in src.describe()
        # real images mapped to [-1, 1] (mostly dark: a Fashion-MNIST-like background of -1)
        u = np.zeros((2000, 1, 8, 8), np.uint8)
        u[:, :, 2:6, 2:6] = np.random.default_rng(1).integers(0, 256, (2000, 1, 4, 4))
        np.save(tmp_path / "real.npy", u.astype(np.float32) / 127.5 - 1)
        arr = ArraySource(str(tmp_path / "real.npy"), value_range="-1,1")
        got = torch.cat([x for x, _ in arr.batches(2000, 250, 0)])
        order = torch.randperm(2000, generator=torch.Generator().manual_seed(0))
        assert torch.equal(got, torch.from_numpy(u)[order])  # the numbers are unchanged
        np.save(tmp_path / "u255.npy", u.astype(np.float32))
        _drain(ArraySource(str(tmp_path / "u255.npy"), value_range="0,255"), 2000)
        if FMNIST:
            real = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test")).images[:1500]
            np.save(tmp_path / "fm.npy", real.numpy().astype(np.float32) / 127.5 - 1)
            _drain(ArraySource(str(tmp_path / "fm.npy"), value_range="-1,1"), 1500)


@needs_fmnist
def test_python_api_refuses_a_zero_one_generator_by_default():
    with pytest.raises(SourceError, match="value_range='0,1'"):
        ganbench.evaluate(Sigmoid((1, 28, 28)), "fashion-mnist", n=1000, n_real=200, cache_dir=None)


@needs_fmnist
def test_cli_names_the_range_flag(tmp_path, capsys):
    (tmp_path / "gen.py").write_text(
        "import torch\n"
        "def make():\n"
        "    lin = torch.nn.Linear(4, 784)\n"
        "    return lambda z: torch.sigmoid(lin(z)).reshape(len(z), 1, 28, 28)\n"
    )
    refused(
        capsys,
        ["eval", f"{tmp_path / 'gen.py'}:make", "--z-dim", "4", "--n", "1000", *REF],
        "gen.py:make: the range defaults to [-1, 1] but after 1000 samples",
        "pass --range=0,1",
    )


# --- 2. --out - -----------------------------------------------------------------------------


@needs_fmnist
def test_out_dash_prints_the_record_on_stdout(tmp_path, capsys):
    x = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test")).images[:300]
    np.save(tmp_path / "s.npy", x.numpy())
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "s.npy"), *REF, "--out", "-"]) == 0
    out, err = capsys.readouterr()
    record = json.loads(out)  # stdout is the record alone
    assert record["kind"] == "eval" and "fid" in record["metrics"]
    assert "| fid" in err and not (tmp_path / "-").exists()
    assert main(["eval", str(tmp_path / "s.npy"), *REF, "--out", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"] == record["metrics"]  # printed once


# --- 3. a torch.save file given as SOURCE ------------------------------------------------------


class Payload:
    """Not a tensor: torch.load(weights_only=True) refuses it."""


def test_state_dicts_and_checkpoints_say_what_they_are(tmp_path, capsys):
    net = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 36))
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    torch.save({"G": net.state_dict(), "step": 10}, tmp_path / "ckpt.pt")
    torch.save(net, tmp_path / "module.pt")
    torch.save({"obj": Payload()}, tmp_path / "payload.pt")
    with pytest.raises(SourceError) as e:
        open_source(str(tmp_path / "sd.pt"))
    msg = str(e.value)
    assert "a torch.save state dict (4 tensors, e.g. '0.weight'), not a TorchScript generator" in msg
    assert "load_state_dict(torch.load(" in msg and "load_g.py:make" in msg and "corrupted" not in msg
    with pytest.raises(SourceError, match="a torch.save checkpoint \\(a dict of 'G', 'step'"):
        open_source(str(tmp_path / "ckpt.pt"))
    for name in ("module.pt", "payload.pt"):
        with pytest.raises(SourceError, match="holding Python objects.*does not unpickle"):
            open_source(str(tmp_path / name))
    assert not hasattr(Payload, "loaded")  # nothing was unpickled
    refused(
        capsys,
        ["eval", str(tmp_path / "sd.pt"), *REF],
        "sd.pt: a torch.save state dict",
        "docs/evaluation.md",
    )


# --- 4. an .npz without 'images' ------------------------------------------------------------


def test_npz_without_images_lists_its_keys(tmp_path, capsys):
    np.savez(tmp_path / "s.npz", samples=np.zeros((5, 1, 28, 28), np.uint8), y=np.arange(5))
    err = refused(
        capsys,
        ["eval", str(tmp_path / "s.npz"), *REF],
        "s.npz: no array 'images'",
        "'samples' uint8 (5, 1, 28, 28), 'y' int64 (5,)",
        "--key=samples",
    )
    assert "unpickling" not in err
    refused(capsys, ["eval", str(tmp_path / "s.npz"), "--key", "imgs", *REF], "no array 'imgs'", "--key=")


# --- 5. a run folder whose checkpoint ganbench will not load -----------------------------------


@pytest.fixture
def toy_run(tmp_path, toy_cfg_dict):
    recipe = tmp_path / "R.yaml"
    recipe.write_text(yaml.safe_dump({**toy_cfg_dict, "train": {**toy_cfg_dict["train"], "steps": 3}}))
    assert main(["train", str(recipe), "--results", str(tmp_path / "res"), "--no-progress"]) == 0
    (run,) = [p.parent for p in (tmp_path / "res").rglob("record.json")]
    return run


def test_refused_run_checkpoint_is_one_line_of_our_advice(toy_run, capsys):
    last = toy_run / "checkpoints" / "last.pt"
    good = last.read_bytes()
    torch.save({"G": Payload(), "step": 3}, last)
    err = refused(
        capsys,
        ["eval", str(toy_run), "--no-progress"],
        "last.pt holds Python objects besides tensors",
        "does not unpickle files it did not write",
        "module:factory",
    )
    assert "weights_only=False" not in err
    last.write_bytes(good[: len(good) // 2])  # an interrupted write
    refused(capsys, ["eval", str(toy_run), "--no-progress"], "last.pt cannot be loaded", "--checkpoint")


# --- 6. flags on the command line, keyword arguments in Python -------------------------------


def test_messages_name_flags_on_the_cli_and_keywords_in_python(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        PIL.Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / f"{i}.png")
    err = refused(
        capsys,
        ["eval", str(folder), "--range=0,1", *REF],
        "--range does not apply to the folder source; its options: --labels",
    )
    assert "value_range" not in err
    refused(
        capsys,
        ["eval", str(folder), "--labels", *REF],
        "--labels but images lie directly in the folder",
        "--no-labels",
    )
    np.save(tmp_path / "f.npy", np.zeros((3, 1, 28, 28), np.float32))
    refused(capsys, ["eval", str(tmp_path / "f.npy"), *REF], "--range=-1,1 / --range=0,1 / --range=0,255")
    refused(capsys, ["eval", str(tmp_path / "f.npy"), "--z-dim", "3", *REF], "--z-dim does not apply")
    with pytest.raises(
        ConfigError, match="value_range does not apply to the folder source; its options: labels"
    ):
        ganbench.evaluate(str(folder), "fashion-mnist", value_range="0,1")
    with pytest.raises(SourceError, match="value_range='-1,1' / value_range='0,1'"):
        ganbench.evaluate(str(tmp_path / "f.npy"), "fashion-mnist")


def test_kind_is_checked_by_the_sources_registry_so_plugins_are_accepted(tmp_path, capsys):
    np.save(tmp_path / "s.npy", np.zeros((3, 1, 28, 28), np.uint8))
    refused(
        capsys,
        ["eval", str(tmp_path / "s.npy"), "--kind", "arrays", *REF],
        "--kind: unknown evaluation source 'arrays'; valid choices:",
        "nvidia-pickle",
    )

    class PluginArray(ArraySource):  # a kind no list in the CLI knows about
        kind = "plugin-array"

    SOURCES.register("plugin-array")(PluginArray)
    try:
        # the plugin kind is built (its own range check speaks), not refused as an unknown --kind
        argv = ["eval", str(tmp_path / "s.npy"), "--kind", "plugin-array", "--range=0,2", *REF]
        err = refused(capsys, argv, "--range")
        assert "unknown evaluation source" not in err
    finally:
        SOURCES.unregister("plugin-array")


@needs_fmnist
def test_extractor_options_name_flags(tmp_path, capsys):
    np.save(tmp_path / "s.npy", np.zeros((10, 1, 28, 28), np.uint8))
    refused(
        capsys,
        ["eval", str(tmp_path / "s.npy"), "--mode", "clean", *REF],
        "--mode does not apply to extractor 'fmnist-classifier'; its options: --weights",
    )


def test_a_missing_weights_file_names_the_flag_on_the_cli_and_the_keyword_in_python(tmp_path, capsys):
    np.save(tmp_path / "s.npy", np.zeros((10, 1, 28, 28), np.uint8))
    missing = tmp_path / "nowhere.pt"
    argv = ["eval", str(tmp_path / "s.npy"), "--extractor", "inception", "--weights", str(missing), *REF]
    refused(capsys, argv, f"--weights={missing}: file not found")
    with pytest.raises(ganbench.errors.WeightsError, match=r"weights='.*nowhere\.pt': file not found"):
        ganbench.evaluate(
            np.zeros((10, 1, 28, 28), np.uint8),
            real="fashion-mnist",
            extractor="inception",
            extractor_params={"weights": str(missing)},
        )


# --- 7. progress of the kNN stage ------------------------------------------------------------


def test_the_knn_stage_shows_progress(tmp_path, capsys):
    from ganbench.evaluation.images import evaluate_source
    from tests.unit.test_eval_sources import FakeImages, _eval_cfg, _images

    np.save(tmp_path / "s.npy", _images(40, 1, 6, seed=3))
    src = ArraySource(str(tmp_path / "s.npy"))
    capsys.readouterr()
    evaluate_source(
        src, FakeImages(), _eval_cfg(metrics=["prdc"]), 0, progress=True, cache_dir=tmp_path / "c"
    )
    err = capsys.readouterr().err
    assert "metrics" in err and "prdc" in err  # a line naming the metric while it runs
    evaluate_source(
        src, FakeImages(), _eval_cfg(metrics=["prdc"]), 0, progress=False, cache_dir=tmp_path / "c"
    )
    assert "prdc" not in capsys.readouterr().err


# --- 8. folders: one sub-folder is no label set; a content hash -------------------------------


def _png(path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(np.full((6, 6), value, np.uint8)).save(path)


def test_a_single_sub_folder_is_not_a_label_set(tmp_path):
    for i in range(4):
        _png(tmp_path / "samples" / "epoch_10" / f"{i}.png", i)
    src = open_source(str(tmp_path / "samples"))
    assert src.labels is None and src.num_classes is None
    assert "unlabelled" in src.describe()["label_rule"] and "epoch_10/" in src.describe()["label_rule"]
    forced = open_source(str(tmp_path / "samples"), labels=True)  # asked for: one class
    assert forced.num_classes == 1 and forced.labels.tolist() == [0, 0, 0, 0]
    _png(tmp_path / "samples" / "epoch_20" / "0.png", 9)
    assert open_source(str(tmp_path / "samples")).num_classes == 2  # two sub-folders: classes


def test_folder_sources_carry_a_content_hash(tmp_path):
    for name, value in (("b/1.png", 1), ("a/0.png", 0), ("a/2.png", 2)):
        _png(tmp_path / "f" / name, value)
    desc = open_source(str(tmp_path / "f")).describe()
    h = hashlib.sha256()
    for rel in ("a/0.png", "a/2.png", "b/1.png"):  # sorted relative paths
        data = (tmp_path / "f" / rel).read_bytes()
        h.update(len(rel).to_bytes(8, "little") + rel.encode() + len(data).to_bytes(8, "little") + data)
    assert desc["sha256"] == h.hexdigest()
    _png(tmp_path / "f" / "a" / "2.png", 3)  # one changed pixel value changes the hash
    assert open_source(str(tmp_path / "f")).describe()["sha256"] != desc["sha256"]


def test_evaluation_settings_are_named_as_the_caller_typed_them(tmp_path, capsys):
    """Validation of the evaluation settings names flags on the CLI, keyword arguments in Python and
    the recipe's eval.* keys in a recipe: one check, three spellings."""
    np.save(tmp_path / "s.npy", np.zeros((10, 1, 28, 28), np.uint8))
    refused(capsys, ["eval", str(tmp_path / "s.npy"), "--n", "0", *REF], "--n must be > 0, got 0")
    refused(
        capsys,
        ["eval", str(tmp_path / "s.npy"), "--metrics", "modes", *REF],
        "--metrics: 'modes' scores points",
    )
    with pytest.raises(ConfigError, match="evaluate: n must be > 0, got 0"):
        ganbench.evaluate(np.zeros((10, 1, 28, 28), np.uint8), real="fashion-mnist", n=0)
    from ganbench.config import EvalConfig, check_eval_config

    with pytest.raises(ConfigError, match="r.yaml: eval.n_samples must be > 0"):
        check_eval_config(EvalConfig(n_samples=0, metrics=["fid"]), "fashion-mnist", "r.yaml")


def test_extractor_params_reach_the_extractor_from_the_cli(tmp_path, capsys):
    """--extractor-param KEY=VALUE passes any extractor option (dinov2's model) and an unknown one is
    refused by its spelling."""
    np.save(tmp_path / "s.npy", np.zeros((10, 1, 28, 28), np.uint8))
    src = str(tmp_path / "s.npy")
    refused(capsys, ["eval", src, "--extractor-param", "nope=1", *REF], "nope does not apply to extractor")
    pytest.importorskip("transformers")
    capsys.readouterr()
    argv = [
        "eval",
        src,
        "--extractor",
        "dinov2",
        "--extractor-param",
        "model=vitb14",
        "--weights",
        str(tmp_path),
    ]
    assert main(argv + REF) == 2
    assert "dinov2-base" in capsys.readouterr().err  # the ViT-B/14 model was asked for
