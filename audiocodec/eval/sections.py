"""The report's sections as blocks (:mod:`audiocodec.eval.render`): what was measured
and how, the headline (every metric side by side at equal actual bitrate), one
section per metric, pre-echo and dither."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .plan import EvalOptions, Item, codec_hash
from .render import Block, fmt, kbps, label
from .tables import METRIC_NAMES, equal_rate_rows, headline_rows

MUSIC_METRICS = ("visqol", "zimtohrli")
SPEECH_METRICS = ("pesq", "zimtohrli")  # ViSQOL and STOI: their own sections

HOW = ("Every perceptual score is per channel (each channel of the decode against the same "
       "channel of the reference; the mean over channels is reported, never a mono mix), after "
       "aligning the decode by cross-correlation. ViSQOL v3 audio mode (visqol-python; MOS-LQO, "
       "4.73 = identical) and Zimtohrli (MOS, 5 = no audible difference) at 48 kHz; PESQ-WB "
       "and STOI for speech at 16 kHz. Actual bitrate = the whole output file (headers, "
       "container) over the duration. Peers are coded at a ladder of nominal rates and each "
       "method is compared with ours at **our actual bitrate**: its score is read off its "
       "own curve, linear in log bitrate between the measured points around it (`~` = beyond "
       "its measured range, the nearest end). SNR and SNR below 2 kHz are sanity columns. NMR "
       "is the noise-to-mask ratio from **our own** psychoacoustic model (the one the adaptive "
       "quantizer optimises; it flatters that quantizer). Pre-echo: coding-error power in the "
       "20 ms before each attack found in the reference (dB re full scale, mean over attacks).")


def preamble(results: Sequence[dict[str, Any]], opts: EvalOptions, note: str | None,
             use_visqol: bool, errors: Sequence[str], refused: Sequence[str]) -> list[Block]:
    import platform

    from .. import __version__
    from . import peers
    from .perceptual import versions

    hashes = {str(r.get("code")) for r in results
              if r.get("code") and not str(r["method"]).startswith(("peer:", "identity"))}
    blocks: list[Block] = [("h", 1, "audiocodec evaluation")]
    blocks.append(("p", f"Command: `{opts.command}`. "
                        f"audiocodec {__version__} (codec source hash of the results: "
                        f"{', '.join(sorted(hashes)) or 'n/a'}; of the figures: {codec_hash()}), "
                        f"{peers.ffmpeg_version_short()}, Python {platform.python_version()}, "
                        f"{time.strftime('%Y-%m-%d %H:%M')}. Metrics: "
                        + "; ".join(versions().values()) + "."))
    if note:
        blocks.append(("p", note))
    if errors:
        blocks.append(("p", "**Runs that failed:** " + "; ".join(errors)))
    if refused:
        blocks.append(("p", "Nominal bitrates a peer refused (below its floor; not errors): "
                            + "; ".join(refused) + "."))
    blocks.append(("p", HOW + ("" if use_visqol else " ViSQOL was not measured in this run.")))
    return blocks


def headline(results: Sequence[dict[str, Any]], items: Sequence[Item], base: str,
             others: Sequence[str], bitrates: Sequence[int]) -> list[Block]:
    """Music: the mean over the music items, ViSQOL/ch and Zimtohrli side by side; speech:
    each speech item, PESQ-WB and Zimtohrli side by side."""
    blocks: list[Block] = []
    music = [it for it in items if not it.speech]
    if music:
        head, rows = headline_rows(results, music, base, others, bitrates, MUSIC_METRICS)
        blocks += [("h", 2, f"Headline: music, mean of {len(music)} items at equal actual bitrate"),
                   ("p", f"Items: {', '.join(it.name for it in music)}. Rows: the nominal bitrates "
                         f"of {label(base)} (`ours`) and the mean actual bitrate it produced; "
                         "every other column is read off that method's curve at ours' actual "
                         "bitrate on each item, then averaged."),
                   ("table", head, rows)]
    for it in (it for it in items if it.speech):
        head, rows = headline_rows(results, [it], base, others, bitrates, SPEECH_METRICS)
        blocks += [("h", 2, f"Headline: speech, {it.name} ({it.rate} Hz, {it.channels} ch)"),
                   ("table", head, rows)]
    return blocks


def metric_sections(results: Sequence[dict[str, Any]], items: Sequence[Item], base: str,
                    others: Sequence[str], bitrates: Sequence[int]) -> list[Block]:
    """One section per metric: per item (music with its mean, then speech) at equal actual
    bitrate."""
    blocks: list[Block] = []
    music = [it for it in items if not it.speech]
    speech = [it for it in items if it.speech]
    for metric in ("visqol", "zimtohrli", "pesq", "stoi"):
        if not any(r.get(metric) is not None for r in results):
            continue
        blocks.append(("h", 2, f"{METRIC_NAMES[metric]} at equal actual bitrate"))
        for group, what in ((music, "music"), (speech, "speech")):
            if not group or (metric in ("pesq", "stoi") and what == "music"):
                continue
            head, rows = equal_rate_rows(results, group, base, others, bitrates, metric,
                                         mean=what == "music")
            if rows:
                blocks += [("h", 3, f"{METRIC_NAMES[metric]}, {what}"), ("table", head, rows)]
    return blocks


def pre_echo_section(results: Sequence[dict[str, Any]], pre_item: Item | None,
                     bitrates: Sequence[int]) -> list[Block]:
    if pre_item is None:
        return []
    rs = [r for r in results if r["item"] == pre_item.name]
    methods = [m for m in ("adaptive", "adaptive-nobs", "uniform", "nonuniform", "peer:mp3",
                           "peer:aac", "peer:opus", "peer:vorbis")
               if any(r["method"] == m for r in rs)]
    if not methods:
        return []
    n_att = max((int(r.get("attacks") or 0) for r in rs), default=0)
    rows = []
    for m in methods:
        row = [label(m)]
        for br in bitrates:
            hit = [r for r in rs if r["method"] == m and r["nominal"] == br]
            if hit:
                r = hit[0]
                row.append(f"{fmt(r.get('pre_echo_db'), 1)} / {fmt(r.get('pre_echo_nsr'), 1)} / "
                           f"{fmt(r.get('visqol'))} / {fmt(r.get('zimtohrli'))}")
            else:
                row.append("")
        rows.append(row)
    return [("h", 2, f"Pre-echo and block switching ({pre_item.name})"),
            ("p", f"{n_att} attacks found in the reference. Cells: coding-error power in the "
                  "20 ms before each attack, dBFS / the same relative to the signal in that "
                  "window, dB / ViSQOL per channel / Zimtohrli, at the nominal bitrate. Lower "
                  "error power = less pre-echo."),
            ("table", ["method"] + [kbps(b) for b in bitrates], rows)]


def dither_section(results: Sequence[dict[str, Any]], items: Sequence[Item],
                   bitrates: Sequence[int]) -> list[Block]:
    idx = {(r["item"], r["method"], r["nominal"]): r for r in results}
    rows = []
    same = 0
    total = 0
    for it in items:
        for br in bitrates:
            a, b = idx.get((it.name, "uniform", br)), idx.get((it.name, "uniform+dither", br))
            if not (a and b):
                continue
            total += 1
            identical = a.get("stream_sha") is not None and a.get("stream_sha") == b.get("stream_sha")
            same += identical

            def pair(k: str, nd: int = 2, a: dict[str, Any] = a, b: dict[str, Any] = b) -> str:
                return f"{fmt(a.get(k), nd)} -> {fmt(b.get(k), nd)}"

            rows.append([it.name, kbps(br), pair("visqol"), pair("zimtohrli"), pair("snr", 1),
                         pair("segsnr", 1), pair("nmr", 1), pair("err_corr", 3),
                         "identical stream" if identical else ""])
    if not rows:
        return []
    blocks: list[Block] = [
        ("h", 2, "Dither (uniform quantizer, TPDF)"),
        ("p", "Each cell: without -> with dither. err corr = correlation between the signal and "
              "the coding error (dither's promise is an error independent of the signal)."),
        ("table", ["item", "bitrate", "ViSQOL/ch", "Zimtohrli", "SNR dB", "segSNR dB",
                   "NMR dB (ours)", "err corr", "note"], rows)]
    if same:
        blocks.append(("p", f"**{same} of {total} dithered streams are byte-identical to the "
                            "undithered ones: the encoder ignored `dither=True` in this build, "
                            "so no effect of dither was measured.**"))
    return blocks


