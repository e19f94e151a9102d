"""Tables of results: each metric at equal actual bitrate (per item and mean), the
headline with the metrics side by side, and every measurement.

Each function takes the result dicts of :func:`audiocodec.eval.runner.run_all` and
gives a head and rows of formatted cells. A cell marked ``~`` was read off the end of
the other method's measured curve (:mod:`audiocodec.eval.compare`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .compare import Cell, mean_versus, versus
from .plan import METHOD_ORDER, Item
from .render import fmt, kbps, label

METRIC_NAMES = {"visqol": "ViSQOL/ch", "zimtohrli": "Zimtohrli", "pesq": "PESQ-WB",
                "stoi": "STOI", "snr": "SNR dB", "snr_low": "SNR<2k dB"}


def short(method: str, base: str) -> str:
    """Column name: ``ours`` for the base method, the quantizer or peer name otherwise."""
    if method == base:
        return "ours"
    return method.split(":", 1)[1] if method.startswith("peer:") else method


def _cell(c: Cell | None, nd: int = 2) -> str:
    if c is None or c.other is None:
        return ""
    return fmt(c.other, nd) + ("" if c.inside else "~")


def equal_rate_rows(results: Sequence[dict[str, Any]], items: Sequence[Item], base: str,
                    others: Sequence[str], bitrates: Sequence[int], metric: str, *,
                    mean: bool = True) -> tuple[list[str], list[list[str]]]:
    """Per item and nominal bitrate of ``base``: its actual kbit/s and ``metric``, and each
    of ``others`` read off its curve at that actual bitrate; then (``mean``) the mean over
    the items when there are several."""
    methods = [base, *others]
    head = ["item", "nominal", "actual kbit/s"] + [short(m, base) for m in methods]
    rows = []
    for it in items:
        for br in bitrates:
            cells = [versus(results, it.name, base, m, br, metric) for m in methods]
            if cells[0] is None or cells[0].base is None:
                continue
            rows.append([it.name, kbps(br), f"{cells[0].bitrate / 1000:.1f}"]
                        + [_cell(c) for c in cells])
    if mean and len(items) > 1:
        names = [it.name for it in items]
        for br in bitrates:
            cells = [mean_versus(results, names, base, m, br, metric) for m in methods]
            if cells[0] is not None:
                rows.append([f"**mean of {len(items)}**", kbps(br),
                             f"{cells[0].bitrate / 1000:.1f}"] + [_cell(c) for c in cells])
    return head, rows


def headline_rows(results: Sequence[dict[str, Any]], items: Sequence[Item], base: str,
                  others: Sequence[str], bitrates: Sequence[int], metrics: Sequence[str]
                  ) -> tuple[list[str], list[list[str]]]:
    """Mean over ``items`` at equal actual bitrate, every metric side by side: one row per
    nominal bitrate of ``base``, per metric a column for ``base`` and each of ``others``."""
    methods = [base, *others]
    names = [it.name for it in items]
    head = ["nominal", "actual kbit/s"] + [f"{METRIC_NAMES.get(m, m)}: {short(o, base)}"
                                           for m in metrics for o in methods]
    rows = []
    for br in bitrates:
        row: list[str] = []
        rate = None
        for m in metrics:
            for o in methods:
                c = mean_versus(results, names, base, o, br, m)
                rate = rate or (c.bitrate if c is not None else None)
                row.append(_cell(c))
        if rate is not None:
            rows.append([kbps(br), f"{rate / 1000:.1f}", *row])
    return head, rows


def full_rows(results: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Every measurement of every run, one row each."""
    head = ["item", "method", "nominal", "actual kbit/s", "ViSQOL/ch", "ViSQOL L / R", "Zimtohrli",
            "Zimtohrli L / R", "SNR dB", "SNR<2k dB", "segSNR dB", "NMR dB (ours)", "NMR>0 %",
            "pre-echo dBFS", "PESQ-WB", "STOI", "delay", "enc xRT", "dec xRT"]
    rows = []
    for r in sorted(results, key=lambda r: (r["item"], METHOD_ORDER.index(r["method"])
                                            if r["method"] in METHOD_ORDER else 99,
                                            r["nominal"] or 0)):
        snr = "inf" if r.get("identical") else fmt(r.get("snr"), 1)
        rows.append([r["item"], label(r["method"]), kbps(r["nominal"]) if r["nominal"] else "-",
                     f"{r['bitrate'] / 1000:.1f}", fmt(r.get("visqol")), _per_ch(r, "visqol"),
                     fmt(r.get("zimtohrli")), _per_ch(r, "zimtohrli"), snr,
                     "inf" if r.get("identical") else fmt(r.get("snr_low"), 1),
                     fmt(r.get("segsnr"), 1), fmt(r.get("nmr"), 1),
                     fmt(100 * r["nmr_audible"] if r.get("nmr_audible") is not None else None, 0),
                     fmt(r.get("pre_echo_db"), 1), fmt(r.get("pesq")), fmt(r.get("stoi")),
                     str(r.get("delay", "")), fmt(r.get("encode_x"), 1),
                     fmt(r.get("decode_x"), 1)])
    return head, rows


def _per_ch(r: dict[str, Any], metric: str) -> str:
    ch = r.get(f"{metric}_ch")
    return " / ".join(fmt(float(v)) for v in ch) if ch and len(ch) > 1 else ""
