"""The generic typed-config checker: nested dataclasses from YAML mappings, component parameters
checked against a factory's keyword arguments, YAML reading and dotted overrides.

It knows nothing of ganbench's sections: ``config.RunConfig`` and the components use it. Every
error names the place (file and dotted key) and the valid choices.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from ganbench.errors import ConfigError

# YAML 1.1 reads ``1e-3`` (no dot) as a string; a float field takes such text as the number it spells.
_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# A place that already names a key ("file: train"): nested keys continue it with a dot.
_ENDS_WITH_KEY = re.compile(r": [A-Za-z_][\w.\[\]]*$")


def key_place(where: str, key: str) -> str:
    """``where`` and ``key`` as one place: ``A03.yaml: train``, then ``A03.yaml: train.steps``."""
    if not where:
        return key
    if where.endswith(":"):
        return f"{where} {key}"
    return f"{where}.{key}" if _ENDS_WITH_KEY.search(where) else f"{where}: {key}"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check_value(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against annotation ``tp``; return it (ints widened to float where asked)."""
    if tp is Any or tp is inspect.Parameter.empty:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        present = [a for a in args if a is not type(None)]
        if len(present) == 1:  # Optional[X]: X's own message ("expected a number, got 'two'")
            return check_value(value, present[0], where)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return check_value(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(
                f"{where}: {value!r} is not allowed; valid choices: {', '.join(map(str, args))}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(check_value(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        out = [check_value(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    return value


def from_dict(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrong types raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(names)}"
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        key_where = key_place(where, f.name)
        if f.name in data:
            kwargs[f.name] = check_value(data[f.name], hints[f.name], key_where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key_where}: missing required key")
    return cls(**kwargs)


def check_key(cls: type, key: str, where: str) -> None:
    """Raise unless dotted ``key`` names a field of dataclass ``cls`` (any key below a mapping field,
    e.g. ``objective.lipschitz_params.weight``, is allowed: the component checks it)."""
    node: Any = cls
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(node):
            if typing.get_origin(node) is dict or node is dict:
                return
            raise ConfigError(f"{where}: {key!r} is not a config key: {'.'.join(parts[:i])} has no sub-keys")
        hints = typing.get_type_hints(node)
        if part not in hints:
            prefix = ".".join(parts[:i])
            valid = ", ".join(f"{prefix + '.' if prefix else ''}{f.name}" for f in dataclasses.fields(node))
            raise ConfigError(f"{where}: {key!r} is not a config key; valid keys: {valid}")
        node = hints[part]
        if typing.get_origin(node) in (typing.Union, types.UnionType):  # Optional[X]: look into X
            node = next(a for a in typing.get_args(node) if a is not type(None))


def check_params(
    factory: Any, params: dict[str, Any], where: str, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate a ``params`` mapping against the keyword arguments of ``factory``.

    Positional parameters listed in ``skip`` (e.g. the network being wrapped) are not user-settable.
    """
    target = factory.__init__ if inspect.isclass(factory) else factory
    sig = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: fall back to no type checks
        hints = {}
    accepted = {
        n: p
        for n, p in sig.parameters.items()
        if n not in ("self", *skip) and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        valid = ", ".join(accepted) or "(none)"
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(map(repr, unknown))}; valid: {valid}")
    out = {}
    for name, value in params.items():
        out[name] = check_value(value, hints.get(name, Any), key_place(where, name))
    return out


# ---------------------------------------------------------------------------------------------
# YAML and dotted keys


def load_yaml(path: str | Path) -> Any:
    """A YAML file's contents; a missing, unreadable, binary or malformed file is a ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a YAML file; give the path of a .yaml file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text (UTF-8) file; give a YAML recipe or grid file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:  # safe_load refuses tags such as !!python/object here too
        raise ConfigError(f"{path}: malformed YAML: {e}") from None


def set_dotted(d: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, creating mappings on the way."""
    parts = key.split(".")
    node = d
    for p in parts[:-1]:
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        elif not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {key!r}: {p!r} is not a mapping")
        node = nxt
    node[parts[-1]] = copy.deepcopy(value)


def get_dotted(d: dict[str, Any], key: str, default: Any = None) -> Any:
    node: Any = d
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return default
        node = node[p]
    return node


def parse_override(text: str) -> tuple[str, Any]:
    """``train.steps=500`` -> ("train.steps", 500); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. train.steps=500")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:  # includes the tags safe_load refuses (!!python/...)
        problem = str(e).splitlines()[0]
        raise ConfigError(
            f"--set {text!r}: the value is not plain YAML ({problem}); write e.g. --set "
            f"train.steps=500 or --set 'optim.betas=[0.5, 0.9]'"
        ) from None
    return key.strip(), value


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("params",):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out
