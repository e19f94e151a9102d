"""``audiocodec eval`` without its command line: plan, run, and write the report.

For each input file and each *run* (a method at a bitrate) it encodes, decodes
and measures (:mod:`audiocodec.eval.metrics`, :mod:`audiocodec.eval.perceptual`):
the actual bitrate (whole file, all overhead), ViSQOL and Zimtohrli per channel,
SNR (whole band and below 2 kHz) and segmental SNR after alignment, our model's
noise-to-mask ratio, pre-echo energy before attacks, encode/decode speed, and
for speech PESQ-WB and STOI. Methods:

* ours: ``mdct`` with each quantizer; ``uniform+dither`` when asked;
  ``adaptive-nobs`` (block switching off) on the pre-echo item; ``adpcm``
  (our IMA ADPCM, 4 bits/sample);
* peers via ffmpeg (:mod:`audiocodec.eval.peers`): ``opus``, ``aac``, ``mp3``,
  ``vorbis`` at a ladder of nominal rates (:func:`~audiocodec.eval.plan.peer_ladder`),
  so that each can be read at our *actual* bitrate (:mod:`audiocodec.eval.compare`);
  IMA ``adpcm`` once;
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

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .plan import (
    MODES,
    OURS,
    PEER_NAMES,
    EvalOptions,
    Item,
    check_choices,
    load_item,
    pick_item,
    plan_runs,
)
from .render import Block, render_html, render_md

__all__ = ["Collected", "EvalOptions", "collect", "evaluate"]


@dataclass
class Collected:
    """Everything one evaluation measured, before it is written up."""

    items: list[Item]
    results: list[dict[str, Any]]
    errors: list[str]
    refused: list[str]
    peers: list[str]  # the requested peers this ffmpeg can run
    pre_item: Item | None
    note: str | None  # what could not be measured, for the report
    use_visqol: bool
    runs: int
    computed: int
    seconds: float

    @property
    def base(self) -> str:
        """The method the others are compared with at its actual bitrate."""
        ours = [r["method"] for r in self.results if r["method"] in OURS]
        return "adaptive" if "adaptive" in ours else (ours[0] if ours else "adaptive")

    @property
    def others(self) -> list[str]:
        """Every rate-varying method but :attr:`base`: our other quantizers, then the peers."""
        ours = [q for q in OURS if q != self.base and any(r["method"] == q for r in self.results)]
        return ours + [f"peer:{p}" for p in self.peers if p != "adpcm"]


def _check(opts: EvalOptions) -> None:
    from ..errors import InputError

    check_choices("quantizer", opts.quantizers, OURS)
    check_choices("mode", opts.modes, MODES)
    check_choices("peer", opts.peers, PEER_NAMES)
    if not opts.bitrates and (opts.quantizers or opts.peers):
        raise InputError("--bitrates is empty")
    if opts.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {opts.jobs}")


def collect(opts: EvalOptions) -> Collected:
    """Plan the runs ``opts`` ask for and measure what the cache does not hold."""
    from ..errors import InputError
    from . import metrics, peers
    from .cache import Cache
    from .runner import run_all

    _check(opts)
    items = [load_item(Path(p), opts.speech_names) for p in opts.inputs]
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise InputError("two inputs share a file name; rename one")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "cache").mkdir(exist_ok=True)
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
    pre_item = pick_item(items, opts.pre_echo_item, ("castanets",)) if "mdct" in opts.modes else None
    if pre_item is not None and "adaptive" not in opts.quantizers:
        pre_item = None
    _load_codec()
    runs = plan_runs(items, opts.bitrates, opts.quantizers, opts.modes, peer_list, opts.dither,
                     pre_item, use_visqol)
    t0 = time.perf_counter()
    got = run_all(runs, Cache(opts.out / "cache.json", fresh=opts.fresh), opts.jobs, opts.quiet)
    for e in got.errors:
        print(f"error: {e}", file=sys.stderr)
    return Collected(items, got.results, got.errors, got.refused, peer_list, pre_item, note,
                     use_visqol, len(runs), got.computed, time.perf_counter() - t0)


def evaluate(opts: EvalOptions) -> int:
    """Run the evaluation, write the report into ``opts.out``; 0, or 1 if a run failed."""
    c = collect(opts)
    out = opts.out
    if opts.listen:  # listen.html and its audio (audiocodec.eval.listen)
        from .listen import write_for_eval

        write_for_eval(c, opts)
    blocks = build_report(c, opts)
    (out / "report.md").write_text(render_md(blocks))
    (out / "report.html").write_text(render_html(blocks, out, "audiocodec evaluation"))
    (out / "results.json").write_text(json.dumps(c.results, indent=1))
    summary = summary_md(c, opts.bitrates)
    (out / "summary.md").write_text(summary)
    if not opts.quiet:
        print(summary)
    print(f"{c.runs} runs ({c.computed} computed, {c.runs - c.computed} cached) in "
          f"{c.seconds:.1f} s; report: {out / 'report.md'}, {out / 'report.html'}", file=sys.stderr)
    return 0 if not c.errors else 1


def _load_codec() -> None:
    """Import the codec before hashing its sources and forking the workers, so the results and
    their cache key describe the same code even while someone edits it."""
    import audiocodec

    for name in ("encode", "decode", "Encoder", "Decoder"):
        getattr(audiocodec, name)


def summary_md(c: Collected, bitrates: Sequence[int]) -> str:
    """The README-sized tables: the headline (music mean, each speech item), every metric side
    by side at equal actual bitrate."""
    from .sections import headline

    return render_md(headline(c.results, c.items, c.base, c.others, bitrates))


def build_report(c: Collected, opts: EvalOptions) -> list[Block]:
    """The whole report as blocks (see :mod:`audiocodec.eval.render`)."""
    from .sections import dither_section, headline, metric_sections, pre_echo_section, preamble
    from .tables import full_rows

    blocks = preamble(c.results, opts, c.note, c.use_visqol, c.errors, c.refused)
    blocks += headline(c.results, c.items, c.base, c.others, opts.bitrates)
    from .listeners import report_blocks  # the link to listen.html, the listeners' table

    blocks += report_blocks(opts.out, opts.listener_results, c.results)
    blocks += metric_sections(c.results, c.items, c.base, c.others, opts.bitrates)
    if opts.plots:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:  # only its absence skips the figures
            blocks.append(("p", "Plots skipped: matplotlib is not installed (pip install matplotlib)."))
        else:
            from .figures import make_figures

            blocks += make_figures(c.results, c.items, opts, c.base, c.others, c.pre_item)
    blocks += pre_echo_section(c.results, c.pre_item, opts.bitrates)
    if opts.dither:
        blocks += dither_section(c.results, c.items, opts.bitrates)
    head, rows = full_rows(c.results)
    blocks += [("h", 2, "All measurements"),
               ("p", f"Speed (x realtime) was measured with {opts.jobs} runs in parallel, so it is "
                     "indicative only; peers are timed as whole ffmpeg processes, ours in-process "
                     "(see `audiocodec bench` for speed measured alone)."),
               ("table", head, rows)]
    return blocks
