"""docs/protocols.md is the protocol the code cites: every citation points there, and the numbers it
pins are the code's defaults (a change to one without the other fails here)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from ganbench.evaluation import inception_score, kid, metrics, modes, prdc

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocols.md"


def _cited_files() -> list[Path]:
    roots = [ROOT / d for d in ("ganbench", "docs", "tests", "recipes", "scripts")] + [ROOT / "README.md"]
    files = []
    for r in roots:
        if r.is_file():
            files.append(r)
        elif r.is_dir():
            files += [p for p in r.rglob("*") if p.suffix in (".py", ".md", ".yaml") and p.is_file()]
    return files


def test_every_citation_points_to_docs_protocols_md():
    assert DOC.is_file()
    stale = []
    for path in _cited_files():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # the bare name was the out-of-repository copy; docs/protocols.md is the one shipped
            if re.search(r"(?<![/\w])PROTOCOLS\.md", line) and path != Path(__file__):
                stale.append(f"{path.relative_to(ROOT)}:{i}")
    assert stale == [], f"cite docs/protocols.md instead: {stale}"


def _default(fn, name: str):
    return inspect.signature(fn).parameters[name].default


def test_pinned_numbers_are_the_code_defaults():
    text = " ".join(DOC.read_text(encoding="utf-8").split())  # line breaks do not matter
    # toy mixtures: 2500 points, HQ within 3σ
    assert "**2500** generated points" in text and "< 3 (within 3σ)" in text
    assert modes.HQ_THRESHOLD == 3.0
    # KID: 100 subsets of at most 1000
    assert "100 subsets of size m = min(n₁, n₂, 1000)" in text
    assert (_default(kid.kid_subsets, "num_subsets"), _default(kid.kid_subsets, "max_subset_size")) == (
        100,
        1000,
    )
    assert (
        _default(metrics.kid_metric.fn, "num_subsets"),
        _default(metrics.kid_metric.fn, "max_subset_size"),
    ) == (
        100,
        1000,
    )
    # IS: 10 contiguous splits
    assert "10 contiguous splits" in text
    assert (
        _default(inception_score.inception_score, "splits") == _default(metrics.is_metric.fn, "splits") == 10
    )
    # P/R k = 3, D/C k = 5
    assert "- P/R: k = 3;" in text and "- D/C: k = 5, strict <." in text
    assert (_default(prdc.prdc, "k_pr"), _default(prdc.prdc, "k_dc")) == (3, 5)
    assert _default(prdc.precision_recall, "k") == 3 and _default(prdc.density_coverage, "k") == 5
    # stacked mode coverage: 25 600 samples
    from ganbench.data.stacked import stacked_options

    assert "over 25 600 samples" in text and _default(stacked_options, "size") == 25600
