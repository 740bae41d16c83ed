"""Weights resolution: search order, checksums, the offline error, downloads, ``ganbench weights``."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import urllib.error
import urllib.request

import pytest

from ganbench.cli import main
from ganbench.errors import WeightsError
from ganbench.evaluation import weights as W
from ganbench.registries import EXTRACTORS, load_all


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Empty, isolated search folders: nothing of the real machine's caches is seen."""
    out = {name: tmp_path / name for name in ("env", "cache", "torch_home", "extra")}
    for d in out.values():
        d.mkdir()
    monkeypatch.setenv("GANBENCH_WEIGHTS_DIR", str(out["env"]))
    monkeypatch.setenv("GANBENCH_CACHE", str(out["cache"]))
    monkeypatch.setenv("TORCH_HOME", str(out["torch_home"]))
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    return out


def _fake_entry(monkeypatch, key: str, content: bytes) -> W.KnownWeights:
    """Point the table entry ``key`` at the sha256 of ``content`` (a small stand-in file)."""
    entry = dataclasses.replace(W.KNOWN_WEIGHTS[key], sha256=hashlib.sha256(content).hexdigest())
    monkeypatch.setitem(W.KNOWN_WEIGHTS, key, entry)
    return entry


def test_known_digests_match_the_hash_prefixes_in_the_file_names():
    for w in W.KNOWN_WEIGHTS.values():
        assert re.fullmatch(r"[0-9a-f]{64}", w.sha256)
        prefix = re.search(r"-([0-9a-f]{8})\.pth$", w.filename)
        if prefix:  # torch hub convention: the name carries the first 8 hex digits of the sha256
            assert w.sha256.startswith(prefix.group(1))
        assert w.url.startswith("https://") and w.url.endswith(w.filename)


def test_offline_error_names_file_checksum_url_and_where_to_put_it(dirs):
    with pytest.raises(WeightsError) as err:
        W.resolve("vgg16")
    msg = str(err.value)
    w = W.KNOWN_WEIGHTS["vgg16"]
    for part in (
        w.filename,
        w.sha256,
        w.url,
        str(dirs["cache"] / "weights"),
        str(dirs["env"]),
        "GANBENCH_OFFLINE",
    ):
        assert part in msg
    assert str(dirs["torch_home"] / "hub" / "checkpoints") in msg


def test_extractor_factory_raises_the_offline_error(dirs, monkeypatch):
    load_all()
    monkeypatch.setattr(W, "find", lambda w, extra_dirs=(): None)  # hide a clean-fid copy in /tmp, if any
    with pytest.raises(WeightsError, match=r"inception-2015-12-05\.pt(.|\n)*f58cb9b6ec32"):
        EXTRACTORS.get("inception")(mode="clean")


def test_failed_download_is_reported(dirs, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(WeightsError, match=r"download: failed \(URLError.*no network"):
        W.resolve("vgg16", allow_download=True)
    assert list((dirs["cache"] / "weights").iterdir()) == []  # no partial file left behind


def test_download_is_verified_then_moved_into_the_cache(dirs, monkeypatch):
    content = b"weights" * 100
    entry = _fake_entry(monkeypatch, "vgg16", content)
    seen = {}

    def fake_urlopen(url, timeout):
        seen["url"], seen["timeout"] = url, timeout
        return io.BytesIO(content)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    path, digest = W.resolve("vgg16", allow_download=True)
    assert path == dirs["cache"] / "weights" / entry.filename and path.read_bytes() == content
    assert digest == entry.sha256 and seen == {"url": entry.url, "timeout": W.DOWNLOAD_TIMEOUT_S}
    # a corrupted download is an error and leaves nothing behind
    path.unlink()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"truncated"))
    with pytest.raises(WeightsError, match="does not match"):
        W.resolve("vgg16", allow_download=True)
    assert list((dirs["cache"] / "weights").iterdir()) == []


def test_search_order_and_aliases(dirs, monkeypatch):
    content = b"inception weights"
    entry = _fake_entry(monkeypatch, "inception-pytorch-fid", content)
    hub = dirs["torch_home"] / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "weights-inception-2015-12-05-6726825d.pth").write_bytes(content)  # torch-fidelity's name
    assert W.resolve(entry.key)[0] == hub / "weights-inception-2015-12-05-6726825d.pth"
    (dirs["cache"] / "weights").mkdir()
    (dirs["cache"] / "weights" / entry.filename).write_bytes(content)
    assert W.resolve(entry.key)[0] == dirs["cache"] / "weights" / entry.filename
    (dirs["env"] / entry.filename).write_bytes(content)
    assert W.resolve(entry.key)[0] == dirs["env"] / entry.filename
    (dirs["extra"] / entry.filename).write_bytes(content)
    assert W.resolve(entry.key, extra_dirs=[dirs["extra"]])[0] == dirs["extra"] / entry.filename
    explicit = dirs["extra"] / "anywhere.pth"
    explicit.write_bytes(content)
    assert W.resolve(entry.key, path=explicit) == (explicit, entry.sha256)


def test_wrong_checksum_is_an_error_not_a_skip(dirs, monkeypatch):
    entry = W.KNOWN_WEIGHTS["vgg16"]
    bad = dirs["env"] / entry.filename
    bad.write_bytes(b"not the vgg16 weights")
    with pytest.raises(WeightsError) as err:
        W.resolve("vgg16")
    msg = str(err.value)
    assert (
        str(bad) in msg
        and entry.sha256 in msg
        and hashlib.sha256(b"not the vgg16 weights").hexdigest() in msg
    )
    assert entry.url in msg
    with pytest.raises(WeightsError, match="does not match"):
        EXTRACTORS.get("vgg16")(weights=str(bad))
    with pytest.raises(WeightsError, match=r"file not found.*vgg16-397923af\.pth"):
        W.resolve("vgg16", path=dirs["env"] / "nope.pth")


def test_weights_command_lists_and_verifies(dirs, monkeypatch, capsys):
    good = b"good vgg"
    entry = _fake_entry(monkeypatch, "vgg16", good)
    (dirs["extra"] / entry.filename).write_bytes(good)
    assert main(["weights", "--verify", "--dir", str(dirs["extra"])]) == 0
    out = capsys.readouterr().out
    vgg_line = next(line for line in out.splitlines() if line.startswith("vgg16"))
    assert " ok " in vgg_line and str(dirs["extra"]) in vgg_line
    assert "pt_inception-2015-12-05-6726825d.pth" in out and "missing" in out and "file(s) missing" in out
    assert main(["weights", "--dir", str(dirs["extra"]), "--require"]) == 1  # something is missing
    (dirs["extra"] / entry.filename).write_bytes(b"tampered")
    assert main(["weights", "--verify", "--dir", str(dirs["extra"])]) == 1
    assert "CHECKSUM MISMATCH" in capsys.readouterr().out
