"""The ray executor without a Ray instance: optional import, resource checks, CLI flags."""

import subprocess
import sys

import pytest

from ganbench.config import config_from_dict
from ganbench.errors import ConfigError
from ganbench.runners import ray_executor
from ganbench.runners.ray_executor import read_attempts, run_ray, run_resources


def test_registry_knows_ray_without_importing_it():
    code = (
        "import sys; from ganbench.registries import EXECUTORS, load_all; load_all(); "
        "assert 'ray' in EXECUTORS and 'local' in EXECUTORS; assert 'ray' not in sys.modules, 'ray imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_ray_says_how_to_install(monkeypatch, toy_cfg_dict):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install 'ganbench\[ray\]'"):
        ray_executor.require_ray()
    cfg = config_from_dict(toy_cfg_dict)
    with pytest.raises(ConfigError, match="--executor ray needs Ray"):
        run_ray([cfg], "unused")
    assert run_ray([], "unused") == []  # nothing to do: Ray is not even needed


def test_resources_from_runtime_and_flags(toy_cfg_dict):
    d = dict(toy_cfg_dict, runtime={**toy_cfg_dict["runtime"], "cpus": 2, "gpus": 0.25})
    cfg = config_from_dict(d)
    assert run_resources(cfg) == {"num_cpus": 2.0, "num_gpus": 0.25}
    assert run_resources(cfg, cpus=4, gpus=1) == {"num_cpus": 4.0, "num_gpus": 1.0}
    # resources are runtime settings: they do not change the run id
    assert cfg.run_id == config_from_dict(toy_cfg_dict).run_id
    with pytest.raises(ConfigError, match=r"runtime\.cpus \(--cpus-per-run\) must be > 0"):
        run_resources(cfg, cpus=0)
    with pytest.raises(ConfigError, match=r"fraction in \[0, 1\) or a whole number, got 1.5"):
        run_resources(cfg, gpus=1.5)
    with pytest.raises(ConfigError, match="got -1"):
        run_resources(cfg, gpus=-1)
    with pytest.raises(ConfigError, match="runtime.cpus: expected a number"):
        config_from_dict(dict(toy_cfg_dict, runtime={"cpus": "two"}))


def test_bad_resources_and_retries_fail_before_ray_starts(monkeypatch, toy_cfg_dict):
    monkeypatch.setitem(sys.modules, "ray", None)
    cfg = config_from_dict(toy_cfg_dict)
    with pytest.raises(ConfigError, match="--gpus-per-run"):
        run_ray([cfg], "unused", gpus=2.5)
    with pytest.raises(ConfigError, match="--retries must be >= 0"):
        run_ray([cfg], "unused", retries=-1)


def test_cli_passes_resource_flags_to_the_executor(tmp_path, toy_cfg_dict, monkeypatch, capsys):
    import yaml

    from ganbench.cli import main
    from ganbench.registries import EXECUTORS

    calls = []

    def fake(runs, results_dir, **kw):
        calls.append(kw)
        kw["on_progress"]({"running": 1, "queued": 0})
        for cfg in runs:
            kw["on_result"](
                {"run_id": cfg.run_id, "status": "finished", "error": None, "wall_s": 0.0, "attempt": 2}
            )
        return []

    monkeypatch.setitem(EXECUTORS._entries, "fake", fake)
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump({"name": "g", "base": toy_cfg_dict, "axes": {"seed": [0, 1]}}))
    argv = ["grid", str(grid), "--results", str(tmp_path / "r"), "--executor", "fake", "--address", "auto"]
    assert main([*argv, "--cpus-per-run", "2", "--gpus-per-run", "0.5", "--retries", "5"]) == 0
    assert calls[-1]["cpus"] == 2.0 and calls[-1]["gpus"] == 0.5
    assert calls[-1]["retries"] == 5 and calls[-1]["address"] == "auto"
    out = capsys.readouterr().out
    assert "2 finished" in out and out.count("retried  ") == 2 and "on attempt 2" in out
    assert main(argv) == 0
    assert "cpus" not in calls[-1] and "gpus" not in calls[-1]  # then each run's runtime section decides


def test_attempts_file_is_optional(tmp_path):
    assert read_attempts(tmp_path) == []
    (tmp_path / ray_executor.ATTEMPTS_FILE).write_text("{trunc")
    assert read_attempts(tmp_path) == []  # a damaged bookkeeping file never stops a grid
