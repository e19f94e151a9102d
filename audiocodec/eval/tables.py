"""Tables of results: per item, mean over the music items, differences, everything.

Each function takes the list of result dicts :func:`audiocodec.eval.runner.run_all`
returns and gives rows (or report blocks) of formatted cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .plan import METHOD_ORDER, Item
from .render import Block, fmt, kbps, label, order


def quality_tables(results: Sequence[dict[str, Any]], items: Sequence[Item],
                   bitrates: Sequence[int], metric: str = "visqol") -> list[Block]:
    """One table per item: method rows, bitrate columns, ``score (actual kbit/s)``."""
    blocks: list[Block] = []
    head = ["method"] + [kbps(b) for b in bitrates] + ["fixed rate"]
    for it in items:
        rs = [r for r in results if r["item"] == it.name]
        rows = []
        for m in order(r["method"] for r in rs):
            row = [label(m)]
            for br in [*bitrates, None]:
                hit = [r for r in rs if r["method"] == m and r["nominal"] == br]
                if hit:
                    r = hit[0]
                    row.append(f"{fmt(r.get(metric))} ({r['bitrate'] / 1000:.1f})")
                else:
                    row.append("")
            rows.append(row)
        blocks += [("h", 3, f"{it.name} ({it.rate} Hz, {it.channels} ch, {it.seconds:.2f} s)"),
                   ("table", head, rows)]
    return blocks


def mean_table(results: Sequence[dict[str, Any]], items: Sequence[Item], bitrates: Sequence[int],
               metric: str = "visqol") -> list[list[str]]:
    """Mean score and mean actual bitrate over the music items (rate > 16 kHz)."""
    music = {it.name for it in items if not it.speech}
    rows = []
    methods = order(r["method"] for r in results if r["item"] in music)
    for m in methods:
        row = [label(m)]
        for br in [*bitrates, None]:
            hit = [r for r in results if r["item"] in music and r["method"] == m
                   and r["nominal"] == br and r.get(metric) is not None]
            if len(hit) == len(music) and hit:
                s = sum(float(r[metric]) for r in hit) / len(hit)
                a = sum(float(r["bitrate"]) for r in hit) / len(hit)
                row.append(f"{s:.2f} ({a / 1000:.1f})")
            else:
                row.append("")
        if any(row[1:]):
            rows.append(row)
    return rows


def interpolate_score(results: Sequence[dict[str, Any]], item: str, method: str, bitrate: float,
                      metric: str = "visqol") -> tuple[float, bool] | None:
    """``method``'s score on ``item`` at an actual ``bitrate``, linear in log(bitrate) between
    its measured points; the flag is False when ``bitrate`` lies outside them (nearest end)."""
    pts = sorted((float(r["bitrate"]), float(r[metric])) for r in results
                 if r["item"] == item and r["method"] == method and r.get(metric) is not None
                 and r["nominal"] is not None)
    if not pts:
        return None
    xs = [math.log(p[0]) for p in pts]
    ys = [p[1] for p in pts]
    x = math.log(bitrate)
    inside = xs[0] <= x <= xs[-1]
    if x <= xs[0]:
        return ys[0], inside
    for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:], strict=True):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0 if x1 > x0 else 1.0), inside
    return ys[-1], inside


def delta_rows(results: Sequence[dict[str, Any]], items: Sequence[Item], bitrates: Sequence[int],
               base: str, others: Sequence[str]) -> list[list[str]]:
    """``base`` minus each of ``others`` in ViSQOL, per item and nominal bitrate.

    Cells: the difference at the same nominal bitrate (actual kbit/s of both), and in
    brackets the difference to ``other`` interpolated at ``base``'s actual bitrate
    (``~`` when that needed extrapolation to the nearest measured point)."""
    idx = {(r["item"], r["method"], r["nominal"]): r for r in results}
    rows = []
    for it in items:
        for o in others:
            row = [it.name, f"{label(base)} - {label(o)}"]
            any_ = False
            for br in bitrates:
                a, b = idx.get((it.name, base, br)), idx.get((it.name, o, br))
                if a and b and a.get("visqol") is not None and b.get("visqol") is not None:
                    d = float(a["visqol"]) - float(b["visqol"])
                    cell = f"{d:+.2f} ({a['bitrate'] / 1000:.0f} vs {b['bitrate'] / 1000:.0f})"
                    at = interpolate_score(results, it.name, o, float(a["bitrate"]))
                    if at is not None:
                        cell += f" [{float(a['visqol']) - at[0]:+.2f}{'' if at[1] else '~'}]"
                    row.append(cell)
                    any_ = True
                else:
                    row.append("")
            if any_:
                rows.append(row)
    return rows


def full_rows(results: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Every measurement of every run, one row each."""
    head = ["item", "method", "nominal", "actual kbit/s", "ViSQOL", "SNR dB", "segSNR dB",
            "NMR dB (ours)", "NMR>0 %", "pre-echo dBFS", "PESQ-WB", "STOI", "delay", "enc xRT",
            "dec xRT"]
    rows = []
    for r in sorted(results, key=lambda r: (r["item"], METHOD_ORDER.index(r["method"])
                                            if r["method"] in METHOD_ORDER else 99,
                                            r["nominal"] or 0)):
        snr = "inf" if r.get("identical") else fmt(r.get("snr"), 1)
        rows.append([r["item"], label(r["method"]), kbps(r["nominal"]) if r["nominal"] else "-",
                     f"{r['bitrate'] / 1000:.1f}", fmt(r.get("visqol")), snr,
                     fmt(r.get("segsnr"), 1), fmt(r.get("nmr"), 1),
                     fmt(100 * r["nmr_audible"] if r.get("nmr_audible") is not None else None, 0),
                     fmt(r.get("pre_echo_db"), 1), fmt(r.get("pesq")), fmt(r.get("stoi")),
                     str(r.get("delay", "")), fmt(r.get("encode_x"), 1),
                     fmt(r.get("decode_x"), 1)])
    return head, rows
