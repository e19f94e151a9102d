"""``audiocodec eval`` without its command line: plan, run, and write the report.

For each input file and each *run* (a method at a bitrate) it encodes, decodes
and measures (:mod:`audiocodec.eval.metrics`): the actual bitrate (whole file,
all overhead), ViSQOL, SNR and segmental SNR after alignment, our model's
noise-to-mask ratio, pre-echo energy before attacks, encode/decode speed, and
for speech (inputs at 16 kHz or below) PESQ-WB and STOI. Methods:

* ours: ``mdct`` with each quantizer; ``uniform+dither`` when asked;
  ``adaptive-nobs`` (block switching off) on the pre-echo item; ``adpcm``
  (our IMA ADPCM, 4 bits/sample);
* peers via ffmpeg (:mod:`audiocodec.eval.peers`): ``mp3``, ``aac``, ``opus``
  at each bitrate, IMA ``adpcm`` once;
* ``identity`` (the reference itself): the top of every scale.

Results are cached (:mod:`audiocodec.eval.plan` says what the keys hold), so a
re-run only computes what changed. Runs go to ``jobs`` worker processes;
speed figures taken in parallel are indicative only (``audiocodec bench``
measures speed alone).

The report (``report.md``, a self-contained ``report.html``, PNGs) is built
from the cached results plus a few analyses of one item (frame spectrum and
masking threshold, step-size heat map, pre-echo), cached the same way.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .plan import (
    MODES,
    OURS,
    PEER_NAMES,
    Item,
    check_choices,
    codec_hash,
    load_item,
    pick_item,
    plan_runs,
)
from .render import Block, fmt, kbps, label, render_html, render_md
from .tables import delta_rows, full_rows, mean_table, quality_tables


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate (the parsed options of ``audiocodec eval``)."""

    inputs: Sequence[Path]
    bitrates: Sequence[int] = (32000, 64000, 96000, 128000)
    quantizers: Sequence[str] = ("uniform", "nonuniform", "adaptive")
    modes: Sequence[str] = ("mdct", "adpcm")
    peers: Sequence[str] = ("mp3", "aac", "opus", "adpcm")
    dither: bool = False
    out: Path = Path("eval-report")
    jobs: int = 2
    visqol: bool = True
    plots: bool = True
    fresh: bool = False
    pre_echo_item: str | None = None
    focus_item: str | None = None
    quiet: bool = False
    command: str = field(default="")  # the command line, for the report's first paragraph


def evaluate(opts: EvalOptions) -> int:
    """Run the evaluation, write the report into ``opts.out``; 0, or 1 if a run failed."""
    from ..errors import InputError
    from . import metrics, peers
    from .cache import Cache
    from .runner import run_all

    check_choices("quantizer", opts.quantizers, OURS)
    check_choices("mode", opts.modes, MODES)
    check_choices("peer", opts.peers, PEER_NAMES)
    if not opts.bitrates and (opts.quantizers or opts.peers):
        raise InputError("--bitrates is empty")
    if opts.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {opts.jobs}")
    items = [load_item(Path(p)) for p in opts.inputs]
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise InputError("two inputs share a file name; rename one")
    out = opts.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "cache").mkdir(exist_ok=True)
    peer_list = list(opts.peers)
    note = peers.missing_note(peer_list) if peer_list else None
    if note:
        print(note, file=sys.stderr)
        peer_list = [p for p in peer_list if peers.available(p)]
    use_visqol = opts.visqol
    if use_visqol and not metrics.visqol_available():
        print("note: visqol-python is not installed (pip install 'audiocodec[eval]'); "
              "ViSQOL columns will read n/a", file=sys.stderr)
        use_visqol = False
    quants = list(opts.quantizers)
    pre_item = pick_item(items, opts.pre_echo_item, ("castanets",)) if "mdct" in opts.modes else None
    if pre_item is not None and "adaptive" not in quants:
        pre_item = None
    _load_codec()
    runs = plan_runs(items, opts.bitrates, quants, opts.modes, peer_list, opts.dither, pre_item,
                     use_visqol)
    cache = Cache(out / "cache.json", fresh=opts.fresh)
    t0 = time.perf_counter()
    results, errors, computed = run_all(runs, cache, opts.jobs, opts.quiet)
    dt = time.perf_counter() - t0
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    blocks = build_report(results, items, opts, peer_list, pre_item, note, use_visqol, errors)
    (out / "report.md").write_text(render_md(blocks))
    (out / "report.html").write_text(render_html(blocks, out, "audiocodec evaluation"))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    summary = summary_md(results, items, opts.bitrates)
    (out / "summary.md").write_text(summary)
    if not opts.quiet:
        print(summary)
    print(f"{len(runs)} runs ({computed} computed, {len(runs) - computed} cached) in {dt:.1f} s; "
          f"report: {out / 'report.md'}, {out / 'report.html'}", file=sys.stderr)
    return 0 if not errors else 1


def _load_codec() -> None:
    """Import the codec before hashing its sources and forking the workers, so the results and
    their cache key describe the same code even while someone edits it."""
    import audiocodec

    for name in ("encode", "decode", "Encoder", "Decoder"):
        getattr(audiocodec, name)


def summary_md(results: Sequence[dict[str, Any]], items: Sequence[Item],
               bitrates: Sequence[int]) -> str:
    """The README-sized table: mean ViSQOL (actual kbit/s) over the music items, per method."""
    rows = mean_table(results, items, bitrates)
    music = [it.name for it in items if not it.speech]
    head = ["method"] + [kbps(b) for b in bitrates] + ["fixed rate"]
    return render_md([
        ("p", f"Mean ViSQOL MOS-LQO (mean actual kbit/s) over {', '.join(music)}:"),
        ("table", head, rows),
    ])


def _preamble(results: Sequence[dict[str, Any]], opts: EvalOptions, note: str | None,
              use_visqol: bool, errors: Sequence[str]) -> list[Block]:
    import platform

    from .. import __version__
    from . import peers

    hashes = {str(r.get("code")) for r in results
              if r.get("code") and not str(r["method"]).startswith(("peer:", "identity"))}
    blocks: list[Block] = [("h", 1, "audiocodec evaluation")]
    blocks.append(("p", f"Command: `{opts.command}`. "
                        f"audiocodec {__version__} (codec source hash of the results: "
                        f"{', '.join(sorted(hashes)) or 'n/a'}; of the figures: {codec_hash()}), "
                        f"{peers.ffmpeg_version_short()}, Python {platform.python_version()}, "
                        f"{time.strftime('%Y-%m-%d %H:%M')}."))
    if note:
        blocks.append(("p", note))
    if errors:
        blocks.append(("p", "**Runs that failed:** " + "; ".join(errors)))
    blocks.append(("p", "ViSQOL v3 audio mode (visqol-python), MOS-LQO 1..4.73 (4.73 = identical), "
                        "on the mono downmix resampled to 48 kHz. Actual bitrate = whole output "
                        "file (headers, container) over the duration. SNR and segmental SNR "
                        "(20 ms, clamped to -10..35 dB) after aligning by cross-correlation. "
                        "NMR is the noise-to-mask ratio from **our own** psychoacoustic model "
                        "(the one the adaptive quantizer optimises; it flatters that quantizer). "
                        "Pre-echo: coding-error power in the 20 ms before each attack found in "
                        "the reference (dB re full scale, mean over attacks). "
                        + ("" if use_visqol else "ViSQOL was not measured in this run. ")))
    return blocks


def _quality_section(results: list[dict[str, Any]], items: Sequence[Item], opts: EvalOptions,
                     peer_list: Sequence[str]) -> list[Block]:
    bitrates, quants = opts.bitrates, list(opts.quantizers)
    blocks: list[Block] = [("h", 2, "Quality vs bitrate")]
    blocks.append(("p", "Cells: ViSQOL (actual kbit/s). Columns are the nominal bitrates asked "
                        "for; fixed-rate methods (ADPCM, PCM) in the last column."))
    blocks += quality_tables(results, items, bitrates)
    music = [it for it in items if not it.speech]
    if len(music) > 1:
        blocks.append(("h", 3, "Mean over music items"))
        blocks.append(("table", ["method"] + [kbps(b) for b in bitrates] + ["fixed rate"],
                       mean_table(results, items, bitrates)))
    if "adaptive" in quants:
        others = [q for q in quants if q != "adaptive"] + [f"peer:{p}" for p in peer_list
                                                           if p != "adpcm"]
        rows = delta_rows(results, items, bitrates, "adaptive", others)
        if rows:
            blocks.append(("h", 3, "Adaptive against the others"))
            blocks.append(("p", "ViSQOL difference at the same nominal bitrate (actual kbit/s of "
                                "each side in parentheses); in brackets the difference at the "
                                "same *actual* bitrate, the other method's score interpolated "
                                "(linear in log bitrate) at adaptive's actual bitrate, `~` = "
                                "outside its measured range. Negative = adaptive loses."))
            blocks.append(("table", ["item", "comparison"] + [kbps(b) for b in bitrates], rows))
    speech = [it for it in items if it.speech]
    if speech:
        blocks.append(("h", 3, "Speech measures (PESQ-WB, STOI at 16 kHz)"))
        for metric in ("pesq", "stoi"):
            blocks.append(("p", f"{metric.upper()}:"))
            blocks += quality_tables(results, speech, bitrates, metric)[1::2]
    return blocks


def build_report(results: list[dict[str, Any]], items: Sequence[Item], opts: EvalOptions,
                 peer_list: Sequence[str], pre_item: Item | None, note: str | None,
                 use_visqol: bool, errors: Sequence[str]) -> list[Block]:
    """The whole report as blocks (see :mod:`audiocodec.eval.render`)."""
    blocks = _preamble(results, opts, note, use_visqol, errors)
    blocks += _quality_section(results, items, opts, peer_list)
    if opts.plots:
        try:
            blocks += make_figures(results, items, opts, pre_item)
        except ImportError as e:
            blocks.append(("p", f"Plots skipped: {e} (pip install matplotlib)."))
    blocks += pre_echo_section(results, pre_item, opts.bitrates)
    if opts.dither:
        blocks += dither_section(results, items, opts.bitrates)
    head, rows = full_rows(results)
    blocks += [("h", 2, "All measurements"),
               ("p", f"Speed (x realtime) was measured with {opts.jobs} runs in parallel, so it is "
                     "indicative only; peers are timed as whole ffmpeg processes, ours in-process "
                     "(see `audiocodec bench` for speed measured alone)."),
               ("table", head, rows)]
    return blocks


def pre_echo_section(results: Sequence[dict[str, Any]], pre_item: Item | None,
                     bitrates: Sequence[int]) -> list[Block]:
    if pre_item is None:
        return []
    rs = [r for r in results if r["item"] == pre_item.name]
    methods = [m for m in ("adaptive", "adaptive-nobs", "uniform", "nonuniform", "peer:mp3",
                           "peer:aac", "peer:opus") if any(r["method"] == m for r in rs)]
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
                           f"{fmt(r.get('visqol'))}")
            else:
                row.append("")
        rows.append(row)
    return [("h", 2, f"Pre-echo and block switching ({pre_item.name})"),
            ("p", f"{n_att} attacks found in the reference. Cells: coding-error power in the "
                  "20 ms before each attack, dBFS / the same relative to the signal in that "
                  "window, dB / ViSQOL. Lower error power = less pre-echo."),
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

            rows.append([it.name, kbps(br), pair("visqol"), pair("snr", 1), pair("segsnr", 1),
                         pair("nmr", 1), pair("err_corr", 3),
                         "identical stream" if identical else ""])
    if not rows:
        return []
    blocks: list[Block] = [
        ("h", 2, "Dither (uniform quantizer, TPDF)"),
        ("p", "Each cell: without -> with dither. err corr = correlation between the signal and "
              "the coding error (dither's promise is an error independent of the signal)."),
        ("table", ["item", "bitrate", "ViSQOL", "SNR dB", "segSNR dB", "NMR dB (ours)",
                   "err corr", "note"], rows)]
    if same:
        blocks.append(("p", f"**{same} of {total} dithered streams are byte-identical to the "
                            "undithered ones: the encoder ignored `dither=True` in this build, "
                            "so no effect of dither was measured.**"))
    return blocks


def make_figures(results: list[dict[str, Any]], items: Sequence[Item], opts: EvalOptions,
                 pre_item: Item | None) -> list[Block]:
    """Draw every figure into ``opts.out``; the blocks that show them."""
    from . import plots
    from .plan import LABELS

    out = opts.out
    blocks: list[Block] = [("h", 2, "Figures")]
    name = "quality_vs_bitrate.png"
    metric = "visqol" if any(r.get("visqol") is not None for r in results) else "segsnr"
    plots.quality_vs_bitrate(results, [it.name for it in items], LABELS, out / name, metric)
    what = "ViSQOL" if metric == "visqol" else "Segmental SNR (ViSQOL not measured)"
    blocks.append(("img", name, f"{what} against actual bitrate, one line per method and peer, "
                                "per item"))
    br = min(opts.bitrates, key=lambda b: abs(b - 64000)) if opts.bitrates else 64000
    focus = pick_item(items, opts.focus_item, ("glock", "harpsichord"))
    if focus is not None and "mdct" in opts.modes:
        blocks += _focus_figures(focus, opts, br)
    if pre_item is not None:
        blocks += _pre_echo_figure(pre_item, out, br)
    return blocks


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
