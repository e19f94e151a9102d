"""Issue 12, item 2: the quality goals, measured at equal actual bitrate, MET or NOT MET.

From the same cache as ``audiocodec eval ../shared/audio/*.wav --out OUT`` (so after
that run this prints at once; otherwise it measures what is missing), in the default
mode (the adaptive quantizer):

* **music**, over the music items: ours >= libopus on the mean of ViSQOL per channel
  and on the mean of Zimtohrli at actual 32/48/64/96/128 kbit/s; on every item at 64k
  and above, ours >= ffmpeg aac and >= LAME on both metrics;
* **speech**, 48 kHz mono: PESQ-WB >= 4.0 at 32k and >= 3.7 at 24k; Zimtohrli within
  0.1 of libopus at 24/32/48k. Other speech items (the 16 kHz ARCTIC clip) are
  reported with the same numbers, without a target.

Each peer is read off its own curve (coded at a ladder of nominal rates) at ours'
*actual* bitrate on each item (:mod:`audiocodec.eval.compare`); ``~`` marks a value
read beyond the peer's measured range (its nearest end).

Usage: ``python bench/bench_quality.py [AUDIO_DIR] [--out eval-report] [--jobs 2]``, or
``python bench/bench_quality.py --results OUT/results.json`` to judge a finished
evaluation's results as they are (its cache keys name the codec sources, so after any
edit to them the first form measures ours again).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiocodec.eval.compare import Cell, mean_versus, versus  # noqa: E402
from audiocodec.eval.plan import SPEECH_NAMES, EvalOptions, Item  # noqa: E402
from audiocodec.eval.report import collect  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BASE = "adaptive"
MUSIC_RATES = (32000, 48000, 64000, 96000, 128000)
SPEECH_RATES = (24000, 32000, 48000)
NAMES = {"visqol": "ViSQOL/ch", "zimtohrli": "Zimtohrli", "pesq": "PESQ-WB"}
HEAD = ["goal", "nominal", "actual kbit/s", "ours", "other", "margin", "verdict"]


def _row(goal: str, nominal: int, c: Cell | None, need: float | None,
         target: float | None = None) -> list[str]:
    """Goal ``ours - other >= need``, where other is ``target`` if given, else the peer's
    score in ``c``; ``need`` None: reported only, no verdict."""
    if c is None or c.base is None or (target is None and c.other is None):
        return [goal, f"{nominal // 1000}k", "", "", "", "", "n/a (not measured)"]
    other = target if target is not None else float(c.other or 0)
    margin = float(c.base) - other
    shown = f"{other:.2f}" + ("" if target is not None or c.inside else "~")
    verdict = "-" if need is None else ("MET" if margin >= need - 1e-9 else "NOT MET")
    return [goal, f"{nominal // 1000}k", f"{c.bitrate / 1000:.1f}", f"{c.base:.2f}", shown,
            f"{margin:+.2f}", verdict]


def music_goals(results: Sequence[dict[str, Any]], music: Sequence[Item]) -> list[list[str]]:
    names = [it.name for it in music]
    rows = []
    for metric in ("visqol", "zimtohrli"):
        for br in MUSIC_RATES:
            c = mean_versus(results, names, BASE, "peer:opus", br, metric)
            rows.append(_row(f"music mean {NAMES[metric]} >= libopus", br, c, 0.0))
    for metric in ("visqol", "zimtohrli"):
        for peer, who in (("peer:aac", "aac"), ("peer:mp3", "LAME")):
            for it in music:
                for br in (b for b in MUSIC_RATES if b >= 64000):
                    c = versus(results, it.name, BASE, peer, br, metric)
                    rows.append(_row(f"{it.name} {NAMES[metric]} >= {who}", br, c, 0.0))
    return rows


def speech_goals(results: Sequence[dict[str, Any]], speech: Sequence[Item]) -> list[list[str]]:
    rows = []
    for it in speech:
        goal = it.rate == 48000 and it.channels == 1  # what the live demo's microphone sends
        tag = "" if goal else " (no target)"
        for br, floor in ((24000, 3.7), (32000, 4.0)):
            c = versus(results, it.name, BASE, "peer:opus", br, "pesq")
            rows.append(_row(f"{it.name} PESQ-WB >= {floor}{tag}", br, c, 0.0 if goal else None,
                             target=floor))
        for br in SPEECH_RATES:
            c = versus(results, it.name, BASE, "peer:opus", br, "pesq")
            rows.append(_row(f"{it.name} PESQ-WB vs libopus (reported)", br, c, None))
        for br in SPEECH_RATES:
            c = versus(results, it.name, BASE, "peer:opus", br, "zimtohrli")
            rows.append(_row(f"{it.name} Zimtohrli >= libopus - 0.1{tag}", br, c,
                             -0.1 if goal else None))
    return rows


def _print(title: str, rows: Sequence[Sequence[str]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(HEAD) + " |")
    print("|" + "---|" * len(HEAD))
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=REPO.parent / "shared" / "audio")
    ap.add_argument("--out", type=Path, default=REPO / "eval-report",
                   help="the eval report folder whose cache to use (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--results", type=Path, default=None,
                    help="judge this results.json of a finished `audiocodec eval` instead")
    a = ap.parse_args(argv)
    if a.results is not None:
        results, items = _from_results(a.results)
    else:
        inputs = sorted(a.audio.glob("*.wav"))
        if not inputs:
            print(f"no .wav files in {a.audio}", file=sys.stderr)
            return 2
        c = collect(EvalOptions(inputs=inputs, bitrates=sorted({*MUSIC_RATES, *SPEECH_RATES}),
                                quantizers=(BASE,), modes=("mdct",), peers=("opus", "aac", "mp3"),
                                out=a.out, jobs=a.jobs, plots=False, quiet=True,
                                command="python bench/bench_quality.py"))
        results, items = c.results, c.items
        for e in c.errors:
            print(f"error: {e}", file=sys.stderr)
    music = [it for it in items if not it.speech]
    speech = [it for it in items if it.speech]
    print(f"Quality goals of issue 12 (ours = {BASE}, default mode), at equal actual bitrate; "
          f"music: {', '.join(it.name for it in music)}; speech: "
          f"{', '.join(it.name for it in speech)}.")
    rows = music_goals(results, music)
    _print("Music", rows)
    srows = speech_goals(results, speech)
    _print("Speech", srows)
    verdicts = [r[-1] for r in [*rows, *srows]]
    print(f"\n{verdicts.count('MET')} met, {verdicts.count('NOT MET')} not met, "
          f"{sum(v.startswith('n/a') for v in verdicts)} not measured.")
    return 0


def _from_results(path: Path) -> tuple[list[dict[str, Any]], list[Item]]:
    """The results in ``path`` and their items (speech by the rule of ``audiocodec eval``)."""
    results = json.loads(path.read_text())
    items = {}
    for r in results:
        name = str(r["item"])
        speech = int(r["rate"]) <= 16000 or any(s in name.lower() for s in SPEECH_NAMES)
        items[name] = Item("", name, "", int(r["rate"]), int(r["channels"]),
                           int(round(float(r["seconds"]) * int(r["rate"]))), speech)
    return results, sorted(items.values(), key=lambda it: it.name)


if __name__ == "__main__":
    sys.exit(main())
