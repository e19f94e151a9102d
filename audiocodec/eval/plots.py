"""Figures for the evaluation report (matplotlib, Agg backend: no display needed).

Imported only by :mod:`audiocodec.eval.report` when it draws; every function
writes one PNG and returns nothing. Quality figures put the legend outside the
axes, the bitrate on a log axis with ticks at the measured rates, and each
metric in its own panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from .plan import LABELS  # noqa: E402

DPI = 110
STYLE = {  # ours solid, peers dashed
    "adaptive": ("C0", "-", "o"), "uniform": ("C1", "-", "s"), "nonuniform": ("C2", "-", "^"),
    "uniform+dither": ("C7", "-", "v"), "adaptive-nobs": ("C9", "-", "x"),
    "adpcm": ("C5", "", "D"), "identity": ("k", "", "*"),
    "peer:mp3": ("C3", "--", "o"), "peer:aac": ("C4", "--", "s"), "peer:opus": ("C6", "--", "^"),
    "peer:vorbis": ("C8", "--", "v"), "peer:adpcm": ("C8", "", "d"),
}


def _db(x: Any) -> NDArray[np.float64]:
    return 10.0 * np.log10(np.maximum(np.asarray(x, dtype=np.float64), 1e-20))


AXIS = {"visqol": "ViSQOL/ch MOS-LQO", "zimtohrli": "Zimtohrli MOS", "pesq": "PESQ-WB MOS-LQO",
        "stoi": "STOI", "segsnr": "segmental SNR, dB"}
TOP = {"visqol": 4.73, "zimtohrli": 5.0, "pesq": 4.64, "stoi": 1.0}  # identical signals


def _bitrate_axis(ax: Any, ticks_kbps: Sequence[float]) -> None:
    """Log-bitrate x axis with ticks (and nothing else) at the measured rates."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(list(ticks_kbps)))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xticklabels([f"{t:.0f}" for t in ticks_kbps])
    ax.set_xlabel("actual bitrate, kbit/s")
    ax.grid(True, alpha=0.3)


def _metric_axis(ax: Any, metric: str) -> None:
    ax.set_ylabel(AXIS.get(metric, metric))
    if metric in TOP:
        ax.axhline(TOP[metric], color="k", lw=0.6, alpha=0.5)


def _legend_outside(fig: Any, axes: Any) -> None:
    handles, names = [], []
    for ax in np.asarray(axes).flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in names:
                handles.append(h)
                names.append(lab)
    if names:
        fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9,
                   frameon=False)


def quality_vs_bitrate(results: Sequence[Mapping[str, Any]], items: Sequence[str],
                       metrics: Sequence[str], labels: Mapping[str, str], path: Path,
                       ticks_kbps: Sequence[float]) -> None:
    """One row per item, one panel per metric: each method's score against the actual
    bitrates it produced (peers over their whole ladder of nominal rates)."""
    fig, axes = plt.subplots(len(items), len(metrics), squeeze=False,
                             figsize=(4.6 * len(metrics), 3.3 * len(items)))
    for row, item in zip(axes, items, strict=True):
        for ax, metric in zip(row, metrics, strict=True):
            rs = [r for r in results if r["item"] == item and r.get(metric) is not None
                  and r["method"] != "identity" and r["nominal"] is not None]
            if not rs:
                ax.axis("off")
                continue
            for m in dict.fromkeys(r["method"] for r in rs):
                pts = sorted((float(r["bitrate"]) / 1000, float(r[metric])) for r in rs
                             if r["method"] == m)
                color, ls, mk = STYLE.get(m, ("grey", "-", "."))
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, color=color, linestyle=ls or "none", marker=mk, ms=3.5,
                        label=labels.get(m, m))
            _bitrate_axis(ax, ticks_kbps)
            ax.set_xlim(min(ticks_kbps) * 0.7, max(ticks_kbps) * 1.45)
            _metric_axis(ax, metric)
            ax.set_title(f"{item}: {AXIS.get(metric, metric).split(' ')[0]}", fontsize=10)
    _legend_outside(fig, axes)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def equal_rate_means(series: Mapping[str, Mapping[str, Sequence[tuple[float, float, bool]]]],
                     metrics: Sequence[str], path: Path, title: str) -> None:
    """One panel per metric: the mean over items at equal actual bitrate. ``series`` maps a
    method to ``{metric: [(kbit/s, score, inside), ...]}``; a point read off the end of a
    method's measured curve (``inside`` False) is drawn hollow. The ticks are the first
    method's rates."""
    fig, axes = plt.subplots(1, len(metrics), squeeze=False, figsize=(5.0 * len(metrics), 3.8))
    ticks = [p[0] for p in next(iter(series.values()), {}).get(metrics[0], [])]
    for ax, metric in zip(axes[0], metrics, strict=True):
        for m, by_metric in series.items():
            pts = list(by_metric.get(metric, []))
            if not pts:
                continue
            color, ls, mk = STYLE.get(m, ("grey", "-", "."))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=color, linestyle=ls or "-",
                    marker=mk, ms=4, label=LABELS.get(m, m))
            out = [p for p in pts if not p[2]]
            if out:
                ax.plot([p[0] for p in out], [p[1] for p in out], linestyle="none", marker=mk,
                        ms=7, markerfacecolor="white", color=color)
        if ticks:
            _bitrate_axis(ax, ticks)
            ax.set_xlim(min(ticks) * 0.85, max(ticks) * 1.18)
        _metric_axis(ax, metric)
        ax.set_title(AXIS.get(metric, metric), fontsize=10)
    fig.suptitle(title, fontsize=11)
    _legend_outside(fig, axes)
    fig.text(1.0, 0.08, "hollow: beyond that method's\nmeasured range (nearest end)",
             fontsize=8, ha="left", color="0.3")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def frame_spectrum(fa: Mapping[str, Any], rate: int, methods: Sequence[str], path: Path,
                   title: str = "") -> None:
    """Signal spectrum, masking threshold and per-band coding noise of one frame."""
    sig = np.asarray(fa["signal"])
    n = sig.shape[0]
    f = (np.arange(n) + 0.5) * rate / (2 * n) / 1000
    edges = np.asarray(fa["edges"])
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(f, _db(sig), color="0.6", lw=0.6, label="signal (per bin)")
    ax.plot(f, _db(fa["threshold"]), color="k", lw=1.5, label="masking threshold (our model)")
    for m in methods:
        noise = np.asarray(fa[f"noise_{m}"])
        band = np.add.reduceat(noise[edges[0] : edges[-1]], edges[:-1] - edges[0]) / np.diff(edges)
        thr_b = np.asarray(fa["band_threshold"])
        nmr = 10 * math.log10(float(np.mean(band * np.diff(edges) / thr_b)))
        x = np.repeat(edges, 2)[1:-1] * rate / (2 * n) / 1000
        y = np.repeat(_db(band), 2)
        color, _ls, _mk = STYLE.get(m, ("grey", "-", "."))
        ax.plot(x, y, color=color, lw=1.5, label=f"coding noise, {m} (NMR {nmr:+.1f} dB)")
    ax.set_xscale("log")
    ax.set_xlim(f[1], rate / 2000)
    top = float(_db(sig).max())
    ax.set_ylim(top - 120, top + 10)
    ax.set_xlabel("frequency, kHz")
    ax.set_ylabel("energy per MDCT bin, dB")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def allocation_heatmap(coded: Mapping[str, Mapping[str, Any]], rate: int, path: Path,
                       title: str = "") -> None:
    """Per-bin step size over time for each method, with bits per frame below."""
    names = list(coded)
    fig, axes = plt.subplots(len(names) + 1, 1, figsize=(11, 3.2 * len(names) + 2.2),
                             gridspec_kw={"height_ratios": [3] * len(names) + [1.4]})
    finite = [np.asarray(c["steps_db"])[np.isfinite(c["steps_db"])] for c in coded.values()]
    vals = np.concatenate(finite) if finite else np.zeros(1)
    lo, hi = (float(np.percentile(vals, 2)), float(np.percentile(vals, 98))) if vals.size else (0, 1)
    im = None
    for ax, m in zip(axes[:-1], names, strict=True):
        c = coded[m]
        steps = np.asarray(c["steps_db"])
        n = int(c["frame_size"])
        secs = steps.shape[0] * n / rate
        im = ax.imshow(steps.T, origin="lower", aspect="auto", cmap="viridis", vmin=lo, vmax=hi,
                       extent=(0, secs, 0, rate / 2000), interpolation="nearest")
        short = np.nonzero(np.asarray(c["short"]))[0]
        if short.size:
            ax.plot((short + 0.5) * n / rate, np.full(short.size, rate / 2000 * 0.97), "|",
                    color="r", ms=5, label="short blocks")
            ax.legend(loc="upper right", fontsize=7)
        ax.set_ylabel("kHz")
        ax.set_title(f"{title}: {m} quantizer, step size (dB)", fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=list(axes[:-1]), label="step, dB re 1.0", fraction=0.03, pad=0.01)
    ax = axes[-1]
    for m in names:
        c = coded[m]
        n = int(c["frame_size"])
        bits = np.asarray(c["frame_bits"], dtype=np.float64)
        color, _ls, _mk = STYLE.get(m, ("grey", "-", "."))
        ax.plot((np.arange(bits.size) + 0.5) * n / rate, bits / 1000, color=color, lw=0.8, label=m)
    ax.set_xlabel("time, s")
    ax.set_ylabel("kbit per frame")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def pre_echo(ref: Any, decoded: Mapping[str, Any], attacks: NDArray[np.intp], rate: int,
             path: Path, title: str = "", before_ms: float = 40.0, after_ms: float = 25.0,
             window_ms: float = 20.0) -> None:
    """Reference and coding error around the attack with the largest jump."""
    x = np.asarray(ref, dtype=np.float64).mean(axis=1)
    m = int(rate * window_ms / 1000)
    # the attack with the quietest lead-in relative to its peak shows pre-echo best
    best, score = int(attacks[0]), -math.inf
    for a in attacks:
        if a < m + 1 or a + m > x.shape[0]:
            continue
        s = float(np.max(np.abs(x[a : a + m]))) / (float(np.sqrt(np.mean(x[a - m : a] ** 2))) + 1e-9)
        if s > score:
            best, score = int(a), s
    a0 = max(0, best - int(rate * before_ms / 1000))
    a1 = min(x.shape[0], best + int(rate * after_ms / 1000))
    t = (np.arange(a0, a1) - best) / rate * 1000
    fig, axes = plt.subplots(len(decoded) + 1, 1, figsize=(10, 2.3 * (len(decoded) + 1)),
                             sharex=True)
    axes[0].plot(t, x[a0:a1], color="k", lw=0.8)
    axes[0].set_title(f"{title}: reference (mono mix), attack at {best / rate:.3f} s", fontsize=10)
    peak = float(np.max(np.abs(x[a0:a1])))
    for ax, (label, pcm) in zip(axes[1:], decoded.items(), strict=True):
        err = np.asarray(pcm, dtype=np.float64)[: x.shape[0]].mean(axis=1) - x[: len(pcm)]
        e = err[a0:a1]
        pe = 10 * math.log10(float(np.mean(err[best - m : best] ** 2)) + 1e-20)
        ax.plot(t, e, color="C3", lw=0.8)
        ax.set_ylim(-peak * 0.5, peak * 0.5)
        ax.set_title(f"coding error, {label}: {pe:.1f} dBFS in the {window_ms:.0f} ms before",
                     fontsize=10)
    for ax in axes:
        ax.axvspan(-window_ms, 0, color="C1", alpha=0.12)
        ax.axvline(0, color="C1", lw=0.8)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time relative to the attack, ms")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
