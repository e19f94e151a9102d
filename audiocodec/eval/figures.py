"""The report's figures: which to draw from which results, and the blocks that show them.

Drawing itself is :mod:`audiocodec.eval.plots`; the analyses behind the
per-frame figures are :mod:`audiocodec.eval.analyses`, cached in ``OUT/cache``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .compare import mean_versus
from .plan import LABELS, EvalOptions, Item, codec_hash, pick_item
from .render import Block
from .tables import METRIC_NAMES


def make_figures(results: list[dict[str, Any]], items: Sequence[Item], opts: EvalOptions, base: str,
                 others: Sequence[str], pre_item: Item | None) -> list[Block]:
    """Draw every figure into ``opts.out`` (an :class:`~audiocodec.eval.report.EvalOptions`);
    the blocks that show them."""
    blocks: list[Block] = [("h", 2, "Figures")]
    music = [it for it in items if not it.speech]
    metrics = [m for m in ("visqol", "zimtohrli") if any(r.get(m) is not None for r in results)]
    if music and metrics:
        blocks += _headline_figure(results, music, base, others, opts, metrics)
    blocks += _curves_figure(results, items, opts, metrics)
    br = min(opts.bitrates, key=lambda b: abs(b - 64000)) if opts.bitrates else 64000
    focus = pick_item(items, opts.focus_item, ("glock", "harpsichord"))
    if focus is not None and "mdct" in opts.modes:
        blocks += _focus_figures(focus, opts, br)
    if pre_item is not None:
        blocks += _pre_echo_figure(pre_item, opts.out, br)
    return blocks


def _headline_figure(results: list[dict[str, Any]], music: Sequence[Item], base: str,
                     others: Sequence[str], opts: EvalOptions, metrics: Sequence[str]) -> list[Block]:
    from . import plots

    names = [it.name for it in music]
    series: dict[str, dict[str, list[tuple[float, float, bool]]]] = {}
    for m in [base, *others]:
        series[m] = {}
        for metric in metrics:
            cells = [mean_versus(results, names, base, m, br, metric) for br in opts.bitrates]
            series[m][metric] = [(c.bitrate / 1000, float(c.other), c.inside) for c in cells
                                 if c is not None and c.other is not None]
    name = "equal_rate_music.png"
    plots.equal_rate_means(series, metrics, opts.out / name,
                           f"Music, mean of {len(names)} at equal actual bitrate")
    what = " and ".join(METRIC_NAMES[m] for m in metrics)
    return [("img", name, f"{what}, mean over {', '.join(names)}: every method read off its "
                          f"curve at the actual bitrate of {LABELS.get(base, base)} (the x "
                          "positions)")]


def _curves_figure(results: list[dict[str, Any]], items: Sequence[Item], opts: EvalOptions,
                   metrics: Sequence[str]) -> list[Block]:
    from . import plots

    panels = list(metrics) or ["segsnr"]
    if any(it.speech for it in items) and any(r.get("pesq") is not None for r in results):
        panels.append("pesq")
    name = "quality_vs_bitrate.png"
    plots.quality_vs_bitrate(results, [it.name for it in items], panels, LABELS, opts.out / name,
                             [b / 1000 for b in opts.bitrates])
    what = ", ".join(METRIC_NAMES.get(m, "segmental SNR") for m in panels)
    return [("img", name, f"{what} against actual bitrate, one row per item, one line per "
                          "method and peer (peers at every nominal rate of their ladder)")]


def _focus_figures(focus: Item, opts: EvalOptions, br: int) -> list[Block]:
    import soundfile as sf

    from . import plots
    from .analyses import coded_frames, frame_analysis
    from .cache import cached_npz

    chash = codec_hash()
    ref, rate = sf.read(focus.path, dtype="float32", always_2d=True)
    coded: dict[str, dict[str, Any]] = {}
    quants = list(opts.quantizers)
    for q in [q for q in ("uniform", "adaptive") if q in quants] or quants[:2]:
        key = json.dumps(["frames", focus.digest, q, br, chash])
        coded[q] = cached_npz(opts.out / "cache", key, functools.partial(
            coded_frames, ref, rate, bitrate=br, quantizer=q, serial=1))
    if not coded:
        return []
    fa = frame_analysis(ref, rate, {q: d["pcm"] for q, d in coded.items()})
    plots.frame_spectrum(fa, rate, list(coded), opts.out / "frame_spectrum.png",
                         title=f"{focus.name}, frame {int(fa['frame'])}, {br // 1000} kbit/s")
    plots.allocation_heatmap(coded, rate, opts.out / "allocation.png",
                             title=f"{focus.name}, {br // 1000} kbit/s")
    return [("img", "frame_spectrum.png", f"One frame of {focus.name} (channel 0): signal "
                                          "spectrum, our model's masking threshold, and the "
                                          "coding-noise spectrum of each quantizer (band "
                                          "averages)"),
            ("img", "allocation.png", "Step size per band over time (channel 0, dB; blank = "
                                      "band not coded), and bits per frame")]


def _pre_echo_figure(pre_item: Item, out: Path, br: int) -> list[Block]:
    import soundfile as sf

    from . import metrics, plots
    from .analyses import round_trip
    from .cache import cached_npz

    chash = codec_hash()
    ref, rate = sf.read(pre_item.path, dtype="float32", always_2d=True)
    decs = {}
    for what, extra in (("block switching", {}), ("no block switching",
                                                  {"block_switching": False})):
        key = json.dumps(["pre", pre_item.digest, br, what, chash])
        decs[what] = cached_npz(out / "cache", key, functools.partial(
            round_trip, ref, rate, bitrate=br, quantizer="adaptive", serial=1, **extra))["pcm"]
    attacks = metrics.find_attacks(ref, rate)
    if not attacks.size:
        return []
    plots.pre_echo(ref, decs, attacks, rate, out / "pre_echo.png",
                   title=f"{pre_item.name}, adaptive, {br // 1000} kbit/s")
    return [("img", "pre_echo.png", "Coding error around the strongest attack, with and "
                                    "without block switching; the shaded span is the 20 ms "
                                    "before the attack")]
