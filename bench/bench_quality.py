"""Issue 3, item 7: actual bitrate and ViSQOL of our quantizers next to LAME, AAC and Opus.

For every item in ../shared/audio (or the folder given) at 32, 64, 96 and 128
kbit/s: ``uniform``, ``nonuniform`` and ``adaptive``, and ffmpeg's libmp3lame,
aac and libopus at the same nominal bitrates, in one run, printed as one table
(cells: ViSQOL MOS-LQO / actual kbit/s). It drives ``audiocodec eval`` and
shares its cache, so after ``audiocodec eval ../shared/audio/*.wav --out
eval-report`` this prints at once.

Usage: ``python bench/bench_quality.py [AUDIO_DIR] [--out eval-report] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiocodec.eval.plan import LABELS  # noqa: E402
from audiocodec.eval.report import EvalOptions, evaluate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METHODS = ["uniform", "nonuniform", "adaptive", "peer:mp3", "peer:aac", "peer:opus"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=REPO.parent / "shared" / "audio")
    ap.add_argument("--out", type=Path, default=REPO / "eval-report")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    inputs = sorted(a.audio.glob("*.wav"))
    if not inputs:
        print(f"no .wav files in {a.audio}", file=sys.stderr)
        return 2
    brs = [32000, 64000, 96000, 128000]
    evaluate(EvalOptions(inputs=inputs, bitrates=brs, modes=("mdct",), peers=("mp3", "aac", "opus"),
                         out=a.out, jobs=a.jobs, plots=False, quiet=True,
                         command="python bench/bench_quality.py"))
    results = json.loads((a.out / "results.json").read_text())
    print("| item | method | " + " | ".join(f"{b // 1000}k" for b in brs) + " |")
    print("|---|---|" + "---|" * len(brs))
    for it in inputs:
        for m in METHODS:
            cells = []
            for b in brs:
                hit = [r for r in results if r["item"] == it.stem and r["method"] == m
                       and r["nominal"] == b]
                if hit and hit[0].get("visqol") is not None:
                    cells.append(f"{hit[0]['visqol']:.2f} / {hit[0]['bitrate'] / 1000:.1f}")
                else:
                    cells.append("n/a")
            print(f"| {it.stem} | {LABELS[m]} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
