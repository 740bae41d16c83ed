"""The HTML leaderboard: the same table as the Markdown one, text escaped, figures embedded (one
file that opens offline), failed runs listed, columns sortable."""

import base64
import html
import re

import numpy as np
import PIL.Image

from ganbench.io import write_json_atomic
from ganbench.reporting.writers import write_leaderboard
from ganbench.training.samples import SAMPLES_NPY


def records(tmp_path):
    results = tmp_path / "results"
    for i, (loss, modes) in enumerate([("hinge", 7.0), ("wasserstein", 8.0), ("<b>minimax</b>", 5.0)]):
        for seed in (0, 1):
            run_id = f"r{i}-s{seed}"
            config = {"seed": seed, "data": {"name": "ring8"}, "objective": {"loss": loss}, "eval": {}}
            rec = {
                "run_id": run_id,
                "status": "finished",
                "config": config,
                "metrics": {"modes": modes + seed},
            }
            write_json_atomic(results / run_id / "record.json", rec)
            np.save(results / run_id / SAMPLES_NPY, np.random.default_rng(seed).standard_normal((40, 2)))
    bad = {"run_id": "broken", "status": "failed", "error": "CUDA out of memory", "config": config}
    write_json_atomic(results / "broken" / "record.json", bad)
    return results


def test_html_page_has_the_table_the_figure_and_the_failures(tmp_path):
    out = tmp_path / "board"
    paths = write_leaderboard(records(tmp_path), out, title="Toy & co")
    page = paths["html"].read_text()
    assert paths["html"] == out / "leaderboard.html"
    assert "<title>Toy &amp; co</title>" in page
    assert "<code>ganbench leaderboard" in page and "`" not in page.split("<script>")[0]
    # the ranked table: header + one row per loss, the same cells as the Markdown table
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    assert body.count("<tr>") == 3
    assert "8.5 ± 0.71 (n=2)" in page and "8.5 ± 0.71 (n=2)" in paths["markdown"].read_text()
    assert body.index("wasserstein") < body.index("hinge")  # ranked by modes, higher first
    # user text is escaped, never markup
    assert "<b>minimax</b>" not in page and html.escape("<b>minimax</b>") in page
    # the failed run, named, with its error
    assert "<code>broken</code>: CUDA out of memory" in page
    # the figures are embedded: data URIs holding the very PNGs written beside the page (the sample
    # figure, and the distribution over seeds, since these rows have 2 seeds)
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(u) for u in uris] == [
        (out / f).read_bytes() for f in ("samples.png", "seeds.png")
    ]
    with PIL.Image.open(out / "samples.png") as im:
        assert im.size[0] > 0
    assert "addEventListener" in page  # sortable column heads


def test_no_figure_no_images(tmp_path):
    paths = write_leaderboard(records(tmp_path), tmp_path / "board", figure=False)
    assert "data:image/png" not in paths["html"].read_text()
