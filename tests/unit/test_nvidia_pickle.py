"""NVIDIA network pickles read without running their code (ganbench/evaluation/sources/nvidia_pickle.py).

Every pickle here is written by the test in NVIDIA's format (the persistence reduce protocol); the
module source they carry would create a marker file and raise if anything executed it.
"""

import hashlib
import pickle
import struct
import sys
import types

import pytest
import torch
from torch import nn

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.sources import open_source
from ganbench.evaluation.sources.as_run import run_record
from ganbench.evaluation.sources.nvidia_pickle import (
    PERSISTENCE_VERSIONS,
    NvidiaPickleSource,
    identify_module,
    load_nvidia_generator,
    read_nvidia_pickle,
    stub_source,
    write_nvidia_pickle,
)
from ganbench.evaluation.sources.open import detect_kind
from ganbench.registries import NVIDIA_NETWORKS, load_all

load_all()
TINY = "training.networks.TinyGenerator"


class Tiny(nn.Module):
    """A small network with a nested module, a buffer and a non-persistent buffer."""

    def __init__(self, z_dim: int = 4, width: int = 3, c_dim: int = 0) -> None:
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.body = nn.Sequential(nn.Linear(z_dim, width), nn.Linear(width, 4))
        self.register_buffer("w_avg", torch.zeros(width))
        self.register_buffer("scratch", torch.ones(2), persistent=False)

    def forward(self, z, y=None, truncation_psi=1.0, noise_mode="random"):
        return torch.tanh(self.body(z) * truncation_psi).reshape(-1, 1, 2, 2)


@pytest.fixture
def tiny_builder():
    NVIDIA_NETWORKS.register(TINY)(lambda args, kwargs: Tiny(*args, **kwargs))
    yield
    NVIDIA_NETWORKS.unregister(TINY)


def marker_source(marker):
    """NVIDIA's training.networks as far as identify_module can tell, but running it leaves a marker."""
    run = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nraise SystemExit('executed')\n"
    return run + stub_source("training.networks") + "\nclass TinyGenerator:\n    pass\n"


def write_tiny(path, marker, net=None, kwargs=None, keys=("G_ema", "G"), **options):
    net = net if net is not None else Tiny()
    kwargs = {"z_dim": 4, "width": 3} if kwargs is None else kwargs
    nets = {k: ("training.networks", "TinyGenerator", kwargs, net) for k in keys}
    return write_nvidia_pickle(path, nets, {"training.networks": marker_source(marker)}, **options)


def call_pickle(module, name, arg="touch /tmp/ganbench-pwned"):
    """A protocol-2 pickle that calls module.name(arg): GLOBAL, the argument, TUPLE1, REDUCE."""
    data = arg.encode()
    return (
        b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X" + struct.pack("<I", len(data)) + data + b"\x85R."
    )


def test_loads_weights_without_executing_the_source(tmp_path, tiny_builder):
    marker = tmp_path / "marker"
    torch.manual_seed(0)
    net = Tiny()
    with torch.no_grad():
        net.w_avg.copy_(torch.tensor([1.0, -2.0, 3.0]))
    path = write_tiny(tmp_path / "network-snapshot-000000.pkl", marker, net)
    G, info = load_nvidia_generator(path)
    assert not marker.exists()
    assert "torch_utils" not in sys.modules and "training" not in sys.modules
    expected = net.state_dict()
    got = G.state_dict()
    assert list(got) == list(expected) and "scratch" not in got  # non-persistent buffers stay out
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    assert info["class"] == TINY and info["network"] == "G_ema" and info["persistence_version"] == 6
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["init_kwargs"] == {"z_dim": 4, "width": 3} and info["c_dim"] == 0
    assert info["keys"] == ["G_ema", "G"]
    assert not G.training and not any(p.requires_grad for p in G.parameters())


def test_written_pickle_has_nvidias_layout(tmp_path):
    """The dict of persistence records NVIDIA's loader expects: version, type, class, source, state."""
    path = write_tiny(tmp_path / "n.pkl", tmp_path / "marker", keys=("G_ema",), extra={"augment_pipe": None})
    data = read_nvidia_pickle(path)
    assert list(data) == ["G_ema", "augment_pipe"] and data["augment_pipe"] is None
    g = data["G_ema"]
    assert (g.class_name, g.module, g.version) == ("TinyGenerator", "training.networks", 6)
    assert set(g.state["_modules"]) == {"body"} and set(g.state["_buffers"]) == {"w_avg", "scratch"}
    body = g.state["_modules"]["body"]
    assert body.class_name == "Sequential" and set(body.state["_modules"]) == {"0", "1"}
    assert g.state["z_dim"] == 4 and g.state["training"] is True
    raw = path.read_bytes()
    assert b"torch_utils.persistence\n_reconstruct_persistent_obj\n" in raw
    assert b"_load_from_bytes" in raw and b"_rebuild_tensor_v2" in raw  # torch's own tensor reduce


@pytest.mark.parametrize(
    "module,name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("torch", "load"),
        ("subprocess", "Popen"),
        ("builtins", "getattr"),
    ],
)
def test_any_other_global_is_refused_naming_it(tmp_path, module, name):
    path = tmp_path / "evil.pkl"
    path.write_bytes(call_pickle(module, name, f"open({str(tmp_path / 'marker')!r}, 'w')"))
    with pytest.raises(SourceError, match=rf"{path}: the pickle asks for {module}\.{name},"):
        read_nvidia_pickle(path)
    assert not (tmp_path / "marker").exists()


class Evil:
    """An object whose pickle calls builtins.eval (writing the marker) when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w')",))


@pytest.mark.parametrize("where", ["extra", "init_kwargs"])
def test_a_nested_reduce_of_another_global_is_refused(tmp_path, tiny_builder, where):
    marker = tmp_path / "marker"
    path = tmp_path / "nested.pkl"
    if where == "extra":
        write_tiny(path, marker, extra={"training_set_kwargs": {"path": Evil(marker)}})
    else:
        write_tiny(path, marker, kwargs={"z_dim": 4, "width": 3, "x": Evil(marker)})
    with pytest.raises(SourceError, match=r"asks for builtins\.eval,"):
        load_nvidia_generator(path)
    assert not marker.exists()


def test_storage_bytes_holding_code_are_refused(tmp_path):
    """The nested torch.load of a storage is weights_only: a pickle inside the bytes cannot run."""

    class EvilStorage:
        def __reduce__(self):
            return (torch.storage._load_from_bytes, (call_pickle("os", "system"),))

    path = tmp_path / "s.pkl"
    path.write_bytes(pickle.dumps({"G_ema": EvilStorage()}, protocol=4))
    with pytest.raises(
        SourceError, match=rf"{path}: not an NVIDIA network pickle: a storage that torch.load"
    ):
        read_nvidia_pickle(path)


def test_truncated_pickle(tmp_path):
    path = write_tiny(tmp_path / "t.pkl", tmp_path / "marker")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(SourceError, match=rf"{path}: truncated or corrupt pickle"):
        load_nvidia_generator(path)
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match=rf"{empty}: truncated or corrupt pickle"):
        read_nvidia_pickle(empty)


def test_unknown_class_and_unknown_module(tmp_path):
    path = write_tiny(tmp_path / "u.pkl", tmp_path / "marker")  # TinyGenerator is not registered here
    msg = rf"{path}: G_ema is training\.networks\.TinyGenerator, which ganbench cannot rebuild; it rebuilds "
    with pytest.raises(SourceError, match=msg + r".*training\.networks\.Generator"):
        load_nvidia_generator(path)
    other = write_nvidia_pickle(
        tmp_path / "o.pkl", {"G_ema": ("x", "Net", {}, Tiny())}, "class Net:\n    pass\nclass Helper: pass\n"
    )
    with pytest.raises(
        SourceError, match=r"a Net from a module that is none of NVIDIA's .*defines Helper, Net"
    ):
        load_nvidia_generator(other)
    assert not (tmp_path / "marker").exists()


def test_unknown_persistence_version(tmp_path, tiny_builder):
    path = write_tiny(tmp_path / "v.pkl", tmp_path / "marker", version=7)
    with pytest.raises(
        SourceError, match=rf"{path}: torch_utils.persistence version 7 .*reads version\(s\) 6"
    ):
        load_nvidia_generator(path)
    assert PERSISTENCE_VERSIONS == (6,)


def test_network_keys(tmp_path, tiny_builder):
    path = write_tiny(tmp_path / "k.pkl", tmp_path / "marker", keys=("G_ema",), extra={"D": None})
    with pytest.raises(ConfigError, match=rf"{path}: no 'G' in the pickle; it holds G_ema, D"):
        load_nvidia_generator(path, "G")
    with pytest.raises(ConfigError, match=r"network 'D'; the generators of an NVIDIA pickle: G_ema, G"):
        load_nvidia_generator(path, "D")
    with pytest.raises(ConfigError, match=r"network='D'; valid: network='G_ema', network='G'"):
        NvidiaPickleSource(str(path), network="D")


def test_tensorflow_era_pickle_is_refused_with_the_reason(tmp_path):
    """A fake of what NVIDIA's legacy.py recognises: a tuple (G, D, Gs) of dnnlib.tflib.network.Network."""
    names = ["dnnlib", "dnnlib.tflib", "dnnlib.tflib.network"]
    saved = {n: sys.modules.get(n) for n in names}
    mod = types.ModuleType("dnnlib.tflib.network")

    class Network:
        def __getstate__(self):
            return {"version": 4, "name": "G", "build_module_src": "import os", "variables": []}

    Network.__module__, Network.__qualname__ = "dnnlib.tflib.network", "Network"
    mod.Network = Network
    try:
        sys.modules.update({n: types.ModuleType(n) for n in names[:2]}, **{names[2]: mod})
        raw = pickle.dumps((Network(), Network(), Network()), protocol=2)
    finally:
        for n, m in saved.items():
            sys.modules.pop(n) if m is None else sys.modules.__setitem__(n, m)
    path = tmp_path / "karras2019stylegan-ffhq-1024x1024.pkl"
    path.write_bytes(raw)
    with pytest.raises(SourceError, match=rf"{path}: a TensorFlow-era pickle .*not supported, because its "
                       r"weights are TensorFlow variables.*legacy\.py"):  # fmt: skip
        load_nvidia_generator(path)


def test_state_that_does_not_fit_the_kwargs(tmp_path, tiny_builder):
    path = write_tiny(
        tmp_path / "m.pkl", tmp_path / "marker", net=Tiny(width=5), kwargs={"z_dim": 4, "width": 3}
    )
    msg = (
        rf"{path}: G_ema's weights do not fit the network its kwargs describe \(training\.networks\."
        r"TinyGenerator\): shape \(pickle vs kwargs\): w_avg \(5,\) vs \(3,\), "
        r"body\.0\.weight \(5, 4\) vs \(3, 4\)"
    )
    with pytest.raises(SourceError, match=msg):
        load_nvidia_generator(path)


def test_identify_module_from_source_alone():
    for module in ("training.networks", "training.networks_stylegan2", "training.networks_stylegan3"):
        assert identify_module(stub_source(module))[0] == module
    assert identify_module("\ufeff" + stub_source("training.networks"))[0] == "training.networks"  # a BOM
    assert identify_module("def f(:\n")[0] is None  # not Python: unknown, not an error


def test_source_options_and_detection(tmp_path, tiny_builder):
    path = write_tiny(tmp_path / "network-snapshot-000004.pkl", tmp_path / "marker")
    assert detect_kind(str(path)) == "nvidia-pickle"
    src = open_source(str(path), truncation_psi=0.5)
    images, labels = next(src.batches(6, 6, seed=3))
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))  # the pinned latent protocol
    G, _ = load_nvidia_generator(path)
    want = ((G(z, truncation_psi=0.5) * 127.5 + 128).clamp(0, 255)).to(torch.uint8)
    assert labels is None and torch.equal(images, want)
    desc = src.describe()
    assert desc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and desc["external"] is True
    assert (desc["truncation_psi"], desc["noise_mode"], desc["network"]) == (0.5, "random", "G_ema")
    with pytest.raises(
        ConfigError, match=r"noise_mode='loud'; valid: noise_mode='random', noise_mode='const'"
    ):
        open_source(str(path), noise_mode="loud")
    with pytest.raises(ConfigError, match=r"checkpoint does not apply to the nvidia-pickle source"):
        open_source(str(path), checkpoint="best")
    assert not (tmp_path / "marker").exists()


def test_run_record_of_an_evaluation_is_a_leaderboard_row(tmp_path):
    from ganbench.records import write_record
    from ganbench.reporting.table import records_frame

    evaluation = {"extractor": {"extractor": "fmnist-classifier", "mode": "gray28", "weights_hash": "ab"},
                  "reference": {"split": "train", "n_real": 500}, "n_fake": 100, "eval_seed": 2024,
                  "source": {"kind": "nvidia-pickle", "sha256": "f" * 64, "network": "G_ema",
                             "truncation_psi": 1.0, "noise_mode": "random"}}  # fmt: skip
    settings = {"source": "/x/network-snapshot-000004.pkl", "kind": "nvidia-pickle",
                "reference": "fashion-mnist", "split": "train", "n": 100, "n_real": 500, "seed": 2024,
                "metrics": ["fid"], "metric_params": {}, "extractor": "fmnist-classifier",
                "extractor_params": {}, "resize": False, "batch_size": 250}  # fmt: skip
    eval_record = {"schema_version": 1, "kind": "eval", "metrics": {"fid": 12.5}, "config": settings,
                   "provenance": {"versions": {"torch": "x"}, **evaluation}, "compute": {}}  # fmt: skip
    rec = run_record(eval_record)
    write_record(tmp_path / "ext", rec)
    df = records_frame(tmp_path)
    row = df.iloc[0]
    assert row["cfg:model.name"] == "external" and row["cfg:external.sha256"] == "f" * 64
    assert row["cfg:data.name"] == "fashion-mnist" and row["m:fid"] == 12.5 and row["status"] == "finished"
    assert (row["ev:n_fake"], row["ev:n_real"], row["ev:extractor"]) == (100, 500, "fmnist-classifier")
    assert rec["run_id"].startswith("external-") and run_record(eval_record)["run_id"] == rec["run_id"]
    assert "cfg:eval.resize" not in df  # only resized evaluations have the setting


SG2_KWARGS = {"z_dim": 8, "c_dim": 3, "w_dim": 8, "img_resolution": 8, "img_channels": 1,
              "mapping_kwargs": {"num_layers": 2},
              "synthesis_kwargs": {"channel_base": 64, "channel_max": 16}}  # fmt: skip


@pytest.mark.skipif(
    "training.networks.Generator" not in NVIDIA_NETWORKS, reason="the stylegan2 builder is not registered"
)
@pytest.mark.parametrize("module", ["training.networks", "training.networks_stylegan2"])
def test_stylegan2_round_trip_gives_the_same_images(tmp_path, module):
    """ganbench's StyleGAN2 written in NVIDIA's layout loads back into an equal network: the same
    images for fixed z, c, psi and noise mode (random noise from the same torch seed)."""
    builder = NVIDIA_NETWORKS.get(f"{module}.Generator")
    torch.manual_seed(0)
    G = builder((), SG2_KWARGS).eval()
    with torch.no_grad():
        for p in G.parameters():
            p.add_(0.1 * torch.randn_like(p))
        G.mapping.w_avg.normal_()
    path = write_nvidia_pickle(tmp_path / "sg2.pkl", {"G_ema": (module, "Generator", SG2_KWARGS, G)})
    G2, info = load_nvidia_generator(path)
    assert info["class"] == f"{module}.Generator" and info["c_dim"] == 3 and info["resolution"] == 8
    assert type(G2) is type(G)
    z, y = torch.randn(5, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 2, 0])
    for psi, noise in ((1.0, "const"), (0.7, "const"), (0.5, "none")):
        assert torch.equal(
            G(z, y, truncation_psi=psi, noise_mode=noise), G2(z, y, truncation_psi=psi, noise_mode=noise)
        )
    outs = []
    for net in (G, G2):
        torch.manual_seed(5)
        outs.append(net(z, y, truncation_psi=0.7, noise_mode="random"))
    assert torch.equal(*outs)
    torch.manual_seed(5)
    assert not torch.equal(outs[0], G(z, y, truncation_psi=1.0, noise_mode="random"))  # psi matters
    src = NvidiaPickleSource(str(path), noise_mode="const")
    assert src.conditional and src.num_classes == 3 and src.describe()["labels"].startswith("uniform over")


def test_build_on_a_stand_in_does_not_change_it_for_later_loads(tmp_path):
    """The pickle's BUILD opcode sets attributes on what find_class returned: each lookup gets a fresh
    object, so a pickle cannot rewrite the module's stand-ins for the loads after it."""
    import io

    from ganbench.evaluation.sources import nvidia_pickle

    unpickler = nvidia_pickle.SafeUnpickler(io.BytesIO(b""), tmp_path / "x.pkl")
    dtype_cls, rebuild = (
        unpickler.find_class("numpy", "dtype"),
        unpickler.find_class("torch._utils", "_rebuild_parameter"),
    )
    dtype_cls.dtype, rebuild.__defaults__ = "replaced", (1,)
    assert dtype_cls is not nvidia_pickle._NumpyDtype and issubclass(dtype_cls, nvidia_pickle._NumpyDtype)
    assert callable(nvidia_pickle._NumpyDtype.dtype) and nvidia_pickle._rebuild_parameter.__defaults__ == (
        None,
    )
    assert unpickler.find_class("numpy", "dtype") is not dtype_cls


@pytest.mark.skipif(
    "training.networks_stylegan3.Generator" not in NVIDIA_NETWORKS,
    reason="the stylegan3 builder is not registered",
)
def test_stylegan3_round_trip_gives_the_same_images(tmp_path):
    kwargs = {"z_dim": 8, "c_dim": 0, "w_dim": 8, "img_resolution": 16, "img_channels": 1,
              "mapping_kwargs": {"num_layers": 1}, "channel_base": 256, "channel_max": 16}  # fmt: skip
    torch.manual_seed(0)
    G = NVIDIA_NETWORKS.get("training.networks_stylegan3.Generator")((), kwargs).eval()
    nets = {"G_ema": ("training.networks_stylegan3", "Generator", kwargs, G)}
    G2, info = load_nvidia_generator(write_nvidia_pickle(tmp_path / "sg3.pkl", nets))
    assert info["class"] == "training.networks_stylegan3.Generator" and info["resolution"] == 16
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(2))
    assert torch.equal(G(z, truncation_psi=0.7), G2(z, truncation_psi=0.7))
    src = NvidiaPickleSource(str(tmp_path / "sg3.pkl"))
    assert src.describe()["noise_mode"].startswith("n/a") and not src.conditional
    with pytest.raises(ConfigError, match=r"noise_mode='const', but its G_ema .* has no noise inputs"):
        NvidiaPickleSource(str(tmp_path / "sg3.pkl"), noise_mode="const")
