"""The report model and its two renderings: Markdown and a self-contained HTML page.

A report is a list of blocks: ``("h", level, text)``, ``("p", text)``,
``("table", head, rows)`` and ``("img", file, caption)``. Builders make
blocks; only this module knows the output formats. Also the cell formatters
every table shares.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .plan import LABELS, METHOD_ORDER

Block = tuple[Any, ...]  # ("h", level, text) | ("p", text) | ("table", head, rows) | ("img", file, cap)


def fmt(v: Any, nd: int = 2) -> str:
    """A number for a table cell (``n/a`` for None and NaN)."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "inf"
        return f"{v:.{nd}f}"
    return str(v)


def label(method: str) -> str:
    return LABELS.get(method, method)


def order(methods: Iterable[str]) -> list[str]:
    """``methods`` without repeats, in the report's order (ours, then peers)."""
    return sorted(set(methods), key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99)


def kbps(v: Any) -> str:
    return "n/a" if v is None else f"{v / 1000:.0f}k"


def render_md(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b[0] == "h":
            lines += ["#" * b[1] + " " + b[2], ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "table":
            head, rows = b[1], b[2]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join("---" for _ in head) + "|")
            for r in rows:
                lines.append("| " + " | ".join(str(c) for c in r) + " |")
            lines.append("")
        elif b[0] == "img":
            lines += [f"![{b[2]}]({b[1]})", "", f"*{b[2]}*", ""]
    return "\n".join(lines)


_CSS = [
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}",
    "table{border-collapse:collapse;margin:1em 0;font-size:90%}",
    "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}",
    "td:first-child,th:first-child{text-align:left}th{background:#eee}",
    "img{max-width:100%}figcaption{font-style:italic;color:#444}",
]


def _inline(text: str) -> str:
    import html
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"<a href='\2'>\1</a>", t)  # [text](link)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)


def render_html(blocks: Sequence[Block], folder: Path, title: str) -> str:
    """One HTML page with the figures inlined (base64), so it can be mailed or archived."""
    import base64
    import html

    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}</title><style>", *_CSS, "</style></head><body>"]
    for b in blocks:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            parts.append(f"<p>{_inline(b[1])}</p>")
        elif b[0] == "table":
            parts.append("<table><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in b[1]) + "</tr>")
            for r in b[2]:
                parts.append("<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>")
            parts.append("</table>")
        elif b[0] == "img":
            data = base64.b64encode((folder / b[1]).read_bytes()).decode()
            parts.append(f"<figure><img alt='{html.escape(b[2])}' src='data:image/png;base64,"
                         f"{data}'><figcaption>{_inline(b[2])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
