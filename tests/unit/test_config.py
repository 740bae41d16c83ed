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
