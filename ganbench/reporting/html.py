"""A leaderboard as one self-contained HTML page: the table (click a column head to sort it), the
failed runs and the figures embedded as data URIs, so the single file can be mailed, attached to a
supplement or opened offline. Built from the same parts as the Markdown table."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; }
table.board { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.board th, table.board td { padding: 3px 9px; border-bottom: 1px solid #ddd; text-align: right; }
table.board th { cursor: pointer; position: sticky; top: 0; background: #f4f4f4; white-space: nowrap; }
table.board th:hover { background: #e4e4e4; }
table.board tr:hover td { background: #fafae6; }
.intro { color: #333; max-width: 70em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; } figcaption { color: #555; }
"""

# Sort on a click: by the leading number of a cell ("42.8 ± 1.2 (n=3)" sorts as 42.8), else as text.
_SORT = """
document.querySelectorAll("table.board th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
  const key = r => { const t = r.cells[col].textContent.trim(), v = parseFloat(t);
                     return isNaN(v) ? t : v; };
  const dir = th.dataset.dir === "asc" ? -1 : 1; th.dataset.dir = dir === 1 ? "asc" : "desc";
  rows.sort((a, b) => { const x = key(a), y = key(b);
    return (typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : typeof x === "number" ? -1 : 1) * dir; });
  rows.forEach(r => body.appendChild(r));
}));
"""


def _inline_code(text: str) -> str:
    """Markdown's `code` spans (the intro is shared with the Markdown page) as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def leaderboard_html(
    title: str,
    intro: str,
    table: pd.DataFrame,
    failed: list[tuple[str, str]],
    figures: list[tuple[str, Path]],
) -> str:
    """The page: ``intro`` and cell text are escaped; ``failed`` is (run id, error) pairs;
    ``figures`` are (caption, PNG path) pairs, embedded."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="intro">{_inline_code(html.escape(intro))}</p>',
        table.to_html(index=False, border=0, classes="board", escape=True),
    ]
    if failed:
        parts.append("<h2>Failed runs (not in the table)</h2><ul>")
        parts += [f"<li><code>{html.escape(r)}</code>: {html.escape(str(e))}</li>" for r, e in failed]
        parts.append("</ul>")
    for caption, path in figures:
        parts.append(
            f'<figure><img src="{_data_uri(path)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append(f"<script>{_SORT}</script></body></html>")
    return "\n".join(parts)
