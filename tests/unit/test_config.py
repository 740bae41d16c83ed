"""Config loading and validation: every error names the file, the key and the valid choices."""

import pytest

from ganbench.config import config_from_dict, load_config
from ganbench.errors import ConfigError


def write(tmp_path, text, name="recipe.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_recipe_with_base_and_overrides(tmp_path):
    write(tmp_path, "data: {name: grid25}\ntrain: {steps: 100}\n", "base.yaml")
    p = write(tmp_path, "base: base.yaml\nobjective: {loss: hinge}\n")
    cfg = load_config(p, ["train.steps=50", "objective.lipschitz=sn"])
    assert (cfg.data.name, cfg.train.steps, cfg.objective.loss, cfg.objective.lipschitz) == (
        "grid25",
        50,
        "hinge",
        "sn",
    )


def test_malformed_yaml_names_the_file(tmp_path):
    p = write(tmp_path, "data: {name: ring8\ntrain: [")
    with pytest.raises(ConfigError, match=r"recipe\.yaml: malformed YAML"):
        load_config(p)


def test_unknown_loss_lists_choices(tmp_path):
    p = write(tmp_path, "objective: {loss: wgan}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "recipe.yaml" in msg and "objective.loss" in msg and "'wgan'" in msg
    for name in ("hinge", "lsgan", "minimax", "nonsaturating", "wasserstein"):
        assert name in msg


def test_negative_steps(tmp_path):
    with pytest.raises(ConfigError, match=r"recipe\.yaml: train\.steps must be > 0, got -5"):
        load_config(write(tmp_path, "train: {steps: -5}\n"))


def test_wrong_type_and_unknown_key(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.steps: expected an integer, got 'many'"):
        load_config(write(tmp_path, "train: {steps: many}\n"))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'stpes'; valid keys: steps"):
        load_config(write(tmp_path, "train: {stpes: 3}\n"))
    with pytest.raises(ConfigError, match=r"optim\.name: 'sgd' is not allowed; valid choices: adam, rmsprop"):
        load_config(write(tmp_path, "optim: {name: sgd}\n"))


def test_unknown_component_params(tmp_path):
    p = write(tmp_path, "objective: {lipschitz: gp, lipschitz_params: {lambda: 10}}\n")
    with pytest.raises(
        ConfigError, match=r"objective\.lipschitz_params: unknown parameter\(s\) 'lambda'; valid: weight"
    ):
        load_config(p)
    p = write(tmp_path, "model: {g: {widht: 64}}\n")
    with pytest.raises(ConfigError, match=r"model\.g: unknown parameter\(s\) 'widht'; valid: width, depth"):
        load_config(p)


def test_missing_file():
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_config("nope.yaml")


def test_eval_seeds_must_differ():
    with pytest.raises(ConfigError, match="selection_seed must differ"):
        config_from_dict({"eval": {"seed": 3, "selection_seed": 3}})


def test_run_id_is_stable_and_ignores_runtime():
    a = config_from_dict({"data": {"name": "ring8"}, "runtime": {"device": "cpu"}})
    b = config_from_dict(
        {"data": {"name": "ring8"}, "runtime": {"device": "auto", "progress": False}, "name": "x"}
    )
    c = config_from_dict({"data": {"name": "ring8"}, "seed": 1})
    assert a.run_id == b.run_id != c.run_id
    assert a.run_id.startswith("ring8-mlp-nonsaturating-none-s0-")
    # the id of a fixed config never changes between versions: results folders stay valid
    assert config_from_dict({}).config_hash == config_from_dict({}).config_hash
    assert len(a.config_hash) == 64


def test_empty_optional_fields_do_not_change_the_run_id():
    a = config_from_dict({"objective": {"techniques": {}}, "train": {"ema_decay": None}})
    b = config_from_dict({})
    assert a.run_id == b.run_id
    assert config_from_dict({"train": {"ema_decay": 0.999}}).run_id != b.run_id


# --- every key checked at load time (issue 9: validate once, up front) --------------------------


def test_data_params_are_checked_at_load_without_opening_the_dataset(tmp_path):
    # no Fashion-MNIST files are read: the dataset class checks its declared options
    p = write(tmp_path, "data: {name: fashion-mnist, params: {crpo: 4}}\neval: {metrics: [fid]}\n")
    with pytest.raises(ConfigError, match=r"recipe\.yaml: dataset 'fashion-mnist': data\.params: .*'crpo'"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"data\.params\.interpolation: 'box' is not allowed"):
        load_config(p, ["data.params={interpolation: box}"])
    with pytest.raises(ConfigError, match=r"recipe\.yaml: data\.split 'valid' for 'fashion-mnist'"):
        load_config(p, ["data.params={}", "data.split=valid"])
    assert load_config(p, ["data.params={crop: 24}"]).data.params == {"crop": 24}
    with pytest.raises(ConfigError, match=r"dataset 'ring8': data\.params: unknown parameter\(s\) 'size'"):
        config_from_dict({"data": {"params": {"size": 3}}})
    with pytest.raises(ConfigError, match=r"data\.resolution: dataset 'grid25' is a 2-D point mixture"):
        config_from_dict({"data": {"name": "grid25", "resolution": 32}})


def test_nested_key_errors_are_not_glued_to_the_file_name(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "train: {stpes: 3}\n", "A03.yaml"))
    assert str(e.value).startswith(f"{tmp_path / 'A03.yaml'}: train: unknown key(s) 'stpes'")
    with pytest.raises(ConfigError, match=r"/A03\.yaml: train\.steps: expected an integer"):
        load_config(write(tmp_path, "train: {steps: x}\n", "A03.yaml"))


def test_float_keys_accept_yaml_1_1_exponent_text(tmp_path):
    # YAML 1.1 reads 1e-3 (no dot) as a string
    cfg = load_config(write(tmp_path, "optim: {lr_d: 2e-4}\n"), ["optim.lr_g=1e-3"])
    assert cfg.optim.lr_g == 1e-3 and cfg.optim.lr_d == 2e-4
    with pytest.raises(ConfigError, match=r"optim\.lr_g: expected a number, got 'fast'"):
        load_config(write(tmp_path, "{}\n"), ["optim.lr_g=fast"])


@pytest.mark.parametrize(
    "key, value",
    [("betas", [1.5, 0.9]), ("betas", [0.5, -0.1]), ("betas", [0.5, 1.0]), ("weight_decay", -0.1)],
)
def test_optimiser_settings_torch_rejects_are_refused_with_the_recipe(key, value):
    import torch

    settings = {"betas": (0.5, 0.999), "weight_decay": 0.0, key: value}
    with pytest.raises(ValueError):  # torch's own rule, found only at build time before
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3, **settings)
    with pytest.raises(ConfigError, match=rf"optim\.{key}(\[\d\])? must be"):
        config_from_dict({"optim": {key: value}})


@pytest.mark.parametrize("betas, weight_decay", [([0.0, 0.999], 0.0), ([0.9, 0.0], 1e-4)])
def test_optimiser_settings_torch_accepts_are_accepted(betas, weight_decay):
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3, betas=betas, weight_decay=weight_decay)
    config_from_dict({"optim": {"betas": betas, "weight_decay": weight_decay}})


def test_absurd_sizes_are_refused_before_training():
    with pytest.raises(
        ConfigError, match=r"eval\.n_samples=1000000000000 is more than evaluation can hold.*10,000,000"
    ):
        config_from_dict({"eval": {"n_samples": 10**12}})
    with pytest.raises(ConfigError, match=r"train\.steps=1000000000000 .* would take [\d,]+ days; the limit"):
        config_from_dict({"train": {"steps": 10**12}})
    assert config_from_dict({"train": {"steps": 10**6}}).train.steps == 10**6


def test_metrics_must_fit_the_datasets_kind():
    with pytest.raises(
        ConfigError,
        match=r"eval\.metrics: .fid. scores images, but dataset .ring8. holds points; metrics for points: mo",
    ):
        config_from_dict({"eval": {"metrics": ["fid"]}})
    with pytest.raises(ConfigError, match=r"'modes' scores points, but dataset 'fashion-mnist' holds images"):
        config_from_dict({"data": {"name": "fashion-mnist"}, "eval": {"metrics": ["modes"]}})
    with pytest.raises(ConfigError, match=r"eval\.metrics is empty"):
        config_from_dict({"eval": {"metrics": []}})


def test_default_metrics_come_from_the_dataset_and_keep_run_ids():
    toy = config_from_dict({})
    assert toy.eval.metrics == ["modes"]
    # the toy default is the old built-in default: the same run id as writing it out
    assert toy.run_id == config_from_dict({"eval": {"metrics": ["modes"]}}).run_id
    # frozen: the id of the default config (metrics [modes]) from before the default moved to the dataset
    assert toy.config_hash.startswith("bddcfbb68bd2")
    assert config_from_dict({"data": {"name": "fashion-mnist"}}).eval.metrics == ["fid"]
    assert config_from_dict({"data": {"name": "stacked-fmnist"}}).eval.metrics == ["stacked_modes"]


def test_runtime_threads_and_cpus_are_checked():
    with pytest.raises(ConfigError, match=r"runtime\.threads must be >= 1 or null"):
        config_from_dict({"runtime": {"threads": 0}})
    with pytest.raises(ConfigError, match=r"runtime\.cpus must be > 0"):
        config_from_dict({"runtime": {"cpus": 0}})
    assert config_from_dict({"runtime": {"threads": 2}}).runtime.threads == 2


def test_unreadable_recipes_are_one_clear_error(tmp_path):
    folder = tmp_path / "d.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"d\.yaml: is a folder, not a YAML file"):
        load_config(folder)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x89PNG\xff\x80")
    with pytest.raises(ConfigError, match=r"b\.yaml: not a text \(UTF-8\) file"):
        load_config(binary)
    with pytest.raises(ConfigError, match=r"e\.yaml: empty recipe"):
        load_config(write(tmp_path, "# nothing here\n", "e.yaml"))


def test_bad_set_values_are_one_clear_error(tmp_path):
    p = write(tmp_path, "{}\n")
    with pytest.raises(ConfigError, match=r"--set 'train\.steps=\[1': the value is not plain YAML"):
        load_config(p, ["train.steps=[1"])
    with pytest.raises(
        ConfigError, match=r"--set 'seed=!!python/object/apply:os\.system \[id\]': .*not plain YAML"
    ):
        load_config(p, ["seed=!!python/object/apply:os.system [id]"])
