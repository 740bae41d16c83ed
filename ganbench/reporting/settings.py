"""What each leaderboard number was measured with: the evaluation settings of a run record.

A run's settings are every ``eval.*`` config key that can change a reported number (all but
``eval.metrics``, which only says which metrics were computed) and the facts the evaluation
recorded in ``provenance.evaluation``: the extractor actually used (``eval.extractor: null`` means
the dataset's default), its mode and weights hash, the real split and count of the reference
statistics, the generated sample counts. Where the record has the value that was used, that value
is the setting (``eval.n_real: null`` becomes the 60 000 images of the full split).

Checkpoint selection changes the reported number only when ``eval.select_best`` is on; otherwise
the final generator is reported and the selection keys are not settings of the number ("n/a").
Point data (the 2-D toys) is scored against its known mixture, so the extractor and reference keys
are not settings of its numbers either.

**Records whose settings differ are never averaged together**: within a dataset, each distinct set
of settings is its own column group, labelled by the settings that tell it apart
(``fashion-mnist [eval.n_samples=500]``). A value a record does not have (a run that diverged before
its evaluation recorded provenance) is unknown, not different: such a record joins the one group
its known settings agree with, or forms its own when none or several do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ganbench.evaluation.metric import Metric, all_metrics

# Provenance facts, as records_frame stores them (``ev:`` columns). The config key they resolve,
# where there is one, is the name the table uses; the others are named after the provenance field.
_RESOLVES = {
    "ev:extractor": "eval.extractor",
    "ev:n_fake": "eval.n_samples",
    "ev:n_real": "eval.n_real",
    "ev:reference_split": "eval.reference_split",
    "ev:eval_seed": "eval.seed",
}
_PROVENANCE_ONLY = {
    "ev:extractor_mode": "extractor.mode",
    "ev:weights_hash": "extractor.weights",
    "ev:n_fake_labelled": "n_fake_labelled",
}
_SELECTION = ("eval.selection_metric", "eval.selection_seed", "eval.every")
# Point data (the 2-D toys) is scored against its known mixture: no extractor, no reference set.
_REFERENCE = ("eval.extractor", "eval.extractor_params", "eval.reference_split", "eval.n_real")
NOT_APPLICABLE = "n/a"
# Reading order of the settings in the intro line; keys not named here follow alphabetically.
_ORDER = (
    "eval.extractor",
    "extractor.mode",
    "extractor.weights",
    "eval.extractor_params",
    "eval.reference_split",
    "eval.n_real",
    "eval.n_samples",
    "n_fake_labelled",
    "eval.seed",
    "eval.metric_params",
    "eval.use_ema",
    "eval.select_best",
    *_SELECTION,
)


def record_provenance(rec: dict[str, Any]) -> dict[str, Any]:
    """The evaluation facts of one record as ``ev:`` columns (absent ones left out: unknown)."""
    prov = rec.get("provenance") if isinstance(rec.get("provenance"), dict) else {}
    ev = prov.get("evaluation") if isinstance(prov.get("evaluation"), dict) else {}
    extractor = ev.get("extractor") if isinstance(ev.get("extractor"), dict) else {}
    reference = ev.get("reference") if isinstance(ev.get("reference"), dict) else {}
    facts = {
        "ev:extractor": extractor.get("extractor"),
        "ev:extractor_mode": extractor.get("mode"),
        "ev:weights_hash": extractor.get("weights_hash"),
        "ev:reference_split": reference.get("split"),
        "ev:n_real": reference.get("n_real"),
        # image evaluations record counts under provenance.evaluation, toy ones at the top level
        "ev:n_fake": ev.get("n_fake", prov.get("n_fake")),
        "ev:n_fake_labelled": ev.get("n_fake_labelled"),
        "ev:eval_seed": ev.get("eval_seed", prov.get("eval_seed")),
        # a file evaluated by ``ganbench eval --as-run`` (an NVIDIA pickle, TorchScript): no training
        "ev:external": True if prov.get("external") else None,
        "ev:data_kind": (prov.get("dataset") or {}).get("kind")
        if isinstance(prov.get("dataset"), dict)
        else None,
    }
    return {k: v for k, v in facts.items() if v is not None}


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)


# evaluation settings only a training run has: unknown for an external network's record
_TRAINING_ONLY = (
    "eval.use_ema",
    "eval.select_best",
    "eval.every",
    "eval.selection_seed",
    "eval.selection_metric",
)


def key_text(value: Any) -> str:
    """A config value as the table writes it (row keys and settings alike): a key a run lacks
    (None/NaN) reads "—"."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _setting_text(value: Any) -> str:
    # pandas stores an int column with missing values as floats: 2000.0 is the count 2000
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return key_text(value)


def settings_frame(df: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """Each run's evaluation settings as text, one column per setting; None where unknown.
    Settings that are row keys are left out: the rows already keep those runs apart."""
    out = pd.DataFrame(index=df.index)
    config_keys = [
        c[4:]
        for c in df.columns
        if c.startswith("cfg:eval.") and c != "cfg:eval.metrics" and c[4:] not in row_keys
    ]
    for key in config_keys:
        out[key] = df[f"cfg:{key}"].map(_setting_text)
    for col, key in _RESOLVES.items():
        if key in row_keys:
            continue
        # the value the evaluation used; else the config's, unless the config leaves it to a default
        used = df[col] if col in df else pd.Series(None, index=df.index, dtype=object)
        configured = df[f"cfg:{key}"] if f"cfg:{key}" in df else pd.Series(None, index=df.index, dtype=object)
        out[key] = [
            _setting_text(u) if _known(u) else (_setting_text(c) if _known(c) else None)
            for u, c in zip(used, configured)
        ]
    for col, key in _PROVENANCE_ONLY.items():
        if col in df:
            out[key] = [_setting_text(v) if _known(v) else None for v in df[col]]
    if "ev:data_kind" in df:
        points = df["ev:data_kind"] == "points"
        for key in out.columns:
            if any(key == r or key.startswith(r + ".") for r in _REFERENCE):
                out.loc[points, key] = NOT_APPLICABLE
    if "eval.select_best" in out:
        final = out["eval.select_best"] != "True"
        for key in _SELECTION:
            if key in out:
                out.loc[final, key] = NOT_APPLICABLE
        if "eval.selection_metric" in out and "cfg:eval.metrics" in df:
            # selection_metric null: the trainer selects by the first metric (say which)
            first = df["cfg:eval.metrics"].map(
                lambda m: _setting_text(m[0]) if isinstance(m, tuple) and m else None
            )
            unset = ~final & (out["eval.selection_metric"] == "—") & first.notna()
            out.loc[unset, "eval.selection_metric"] = first[unset]
    if "ev:external" in df:
        # how a training run evaluates (EMA, checkpoint selection, periodic evaluation) is unknown for
        # an external network, not different: it joins the group its measurement settings match
        external = df["ev:external"].fillna(False).astype(bool)
        for key in _TRAINING_ONLY:
            if key in out:
                out.loc[external, key] = None
    # a setting no run applies (selection without select_best) says nothing: leave it out
    keep = [c for c in out.columns if not (out[c] == NOT_APPLICABLE).all()]
    ordered = [k for k in _ORDER if k in keep] + sorted(k for k in keep if k not in _ORDER)
    return out[ordered]


@dataclass
class ColumnGroup:
    """One column group of the table: a dataset and one set of evaluation settings."""

    label: str
    dataset: str
    settings: dict[str, str] = field(default_factory=dict)  # None-free: unknown ones left out
    distinguishing: list[str] = field(default_factory=list)  # the keys its label names


def _compatible(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(x is None or y is None or x == y for x, y in zip(a, b))


def column_groups(
    df: pd.DataFrame, dataset_col: str, row_keys: list[str]
) -> tuple[pd.Series, list[ColumnGroup]]:
    """(each run's column-group label, the groups in table order). See the module docstring."""
    settings = settings_frame(df, row_keys)
    keys = list(settings.columns)
    labels = pd.Series("", index=df.index, dtype=object)
    groups: list[ColumnGroup] = []
    for ds in sorted(df[dataset_col].unique()):
        idx = df.index[df[dataset_col] == ds]
        tuples = [
            tuple(None if pd.isna(v) else v for v in row) for row in settings.loc[idx].itertuples(index=False)
        ]
        # the most complete settings first, so that a record with unknowns joins a complete group
        distinct = sorted(set(tuples), key=lambda t: (sum(v is None for v in t), [str(v) for v in t]))
        heads: list[tuple[Any, ...]] = []
        home: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for t in distinct:
            candidates = [h for h in heads if _compatible(t, h)]
            if len(candidates) == 1:
                home[t] = candidates[0]
            else:
                heads.append(t)
                home[t] = t
        # the settings that tell this dataset's groups apart name them
        # (n/a beside a value is said by the setting that makes it n/a: select_best)
        differing = [
            k
            for i, k in enumerate(keys)
            if len({h[i] for h in heads if h[i] not in (None, NOT_APPLICABLE)}) > 1
        ]
        if len({tuple(h[keys.index(k)] for k in differing) for h in heads}) < len(heads):
            differing = [
                k for i, k in enumerate(keys) if len({h[i] for h in heads}) > 1
            ]  # labels must differ
        ds_groups = {}
        for h in sorted(heads, key=lambda h: [str(v) for v in h]):
            known = {k: v for k, v in zip(keys, h) if v is not None}
            label = ds
            if len(heads) > 1:
                named = ", ".join(f"{k}={show(k, known.get(k, '?'))}" for k in differing)
                label = f"{ds} [{named}]"
            ds_groups[h] = ColumnGroup(label, ds, known, differing if len(heads) > 1 else [])
        groups += ds_groups.values()
        labels.loc[idx] = [ds_groups[home[t]].label for t in tuples]
    return labels, groups


def show(key: str, value: str) -> str:
    """A setting's value as the table writes it: a weights hash abbreviated."""
    return value[:12] if key == "extractor.weights" else value


def shared_settings(groups: list[ColumnGroup]) -> dict[str, str]:
    """The settings every column group has, with the same value (said once, in the intro)."""
    if not groups:
        return {}
    first = groups[0].settings
    return {k: v for k, v in first.items() if all(g.settings.get(k) == v for g in groups[1:])}


def describe(settings: dict[str, str]) -> str:
    return ", ".join(f"{k}={show(k, v)}" for k, v in settings.items())


def _owner(key: str) -> Metric | None:
    """The registered metric that writes record key ``key`` (None: the trainer's or undeclared)."""
    return next((m for m in all_metrics() if m.output(key) is not None), None)


def _count(value: str) -> str:
    """10000 -> 10k: the header stays short; other counts as they are."""
    return f"{int(value) // 1000}k" if value.isdigit() and int(value) % 1000 == 0 and int(value) else value


def header_suffix(key: str, group: ColumnGroup) -> str:
    """`` (feature space, N fake / M real)`` for a score column, from what its metric reads:
    ``fid`` reads features of generated samples and real statistics, ``is`` generated logits only,
    the toy ``modes`` raw points. Empty for keys no metric writes (the Lipschitz estimate)."""
    metric = _owner(key)
    if metric is None:
        return ""
    s = group.settings
    parts = []
    if metric.uses_extractor and s.get("eval.extractor", "—") != "—":
        parts.append(s["eval.extractor"])
    counts = []
    fake = (
        s.get("n_fake_labelled")
        if metric.needs_labels and "n_fake_labelled" in s
        else s.get("eval.n_samples")
    )
    if metric.uses_fake and fake is not None:
        counts.append(f"{_count(fake)} fake")
    if metric.uses_real and s.get("eval.n_real", "—") != "—":
        counts.append(f"{_count(s['eval.n_real'])} real")
    if counts:
        parts.append(" / ".join(counts))
    return f" ({', '.join(parts)})" if parts else ""
